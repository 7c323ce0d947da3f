package io.dbaoperator.agent;

import java.io.IOException;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.json.JsonMapper;

import io.dbaoperator.backup.catalog.RestoreRecord;
import io.dbaoperator.contract.AgentEnvironment;
import io.dbaoperator.masking.Masker;
import io.dbaoperator.masking.PiiDiscovery;
import io.dbaoperator.postgres.ConnectionSettings;
import io.dbaoperator.postgres.PostgresConnector;
import io.dbaoperator.problem.Problem;
import io.dbaoperator.problem.Reason;

/**
 * A masked restore's step, on the copy before it takes the target's name (nobody is served it yet; CONNECT is
 * revoked from PUBLIC until the end): the rules checked against the copy, each table masked in bulk and checked
 * against a sample of its original values (one found fails the restore), then the PII discovery over the masked copy:
 * a column that looks personal and no rule masks fails it too ({@code unmaskedColumns: Refuse}, the default) or is
 * reported ({@code Warn}). The evidence goes into the restore record: counts and names, never a value.
 */
final class MaskingStep {

    /** Sampled values per column: the originals checked after masking, and the discovery's. */
    static final int SAMPLE = 200;

    private MaskingStep() {
    }

    /** The rules the Job was given, or null when the restore masks nothing. */
    static List<Masker.Rule> rules(Map<String, String> env) throws IOException {
        String json = env.get(AgentEnvironment.MASKING_RULES);
        return json == null ? null : JsonMapper.builder().build().readValue(json, new TypeReference<>() {
        });
    }

    /** A logical restore's copy: the database {@code database} on the instance of the Job's target Secret. */
    static RestoreRecord.Masking run(Map<String, String> env, List<Masker.Rule> rules, String database,
            RestoreRecord record) {
        ConnectionSettings instance = AgentEnvironment.database(env);
        return run(env, rules, new ConnectionSettings(instance.hosts(), database, instance.user(),
                instance.password(), instance.sslMode(), instance.sslRootCert()), record);
    }

    /** The copy at {@code copy}: a logical restore's database, or a physical restore's private server. */
    static RestoreRecord.Masking run(Map<String, String> env, List<Masker.Rule> rules, ConnectionSettings copy,
            RestoreRecord record) {
        String key = env.getOrDefault(AgentEnvironment.MASKING_KEY, "");
        String policy = env.getOrDefault(AgentEnvironment.MASKING_UNMASKED, "Refuse");
        RestoreRecord.Masking m = new RestoreRecord.Masking();
        m.unmaskedColumns = policy;
        rules.forEach(r -> {
            Map<String, String> cols = new LinkedHashMap<>();
            r.columns().forEach((c, s) -> cols.put(c, s.strategy.name()));
            m.rules.put(r.table(), cols);
        });
        try (Connection c = PostgresConnector.open(copy, "dba-operator-masking")) {
            for (Masker.TablePlan p : Masker.plan(c, rules, "spec.masking.rules")) {
                Masker.Masked done = Masker.mask(c, p, key, SAMPLE);
                RestoreRecord.MaskedTable t = new RestoreRecord.MaskedTable();
                t.table = done.table();
                t.rows = done.rows();
                t.seconds = done.millis() / 1000.0;
                t.bytesBefore = done.bytesBefore();
                t.bytesAfter = done.bytesAfter();
                m.tables.add(t);
                m.originalsChecked += done.checked();
                m.originalsFound += done.leaked();
                if (done.leaked() > 0) {
                    record.masking = m;
                    throw Problem.invalid(Reason.RestoreCheckFailed, done.leaked() + " row(s) of " + done.table()
                            + " still hold one of " + done.checked() + " sampled original values after masking: the "
                            + "copy is not served").exception();
                }
                // the UPDATE left the original rows behind as dead tuples in the table's files: rewritten, they are
                // gone from the copy's disk too, and the copy is as small as the masked data
                long t0 = System.nanoTime();
                String table = p.table().quoted();
                try (var st = c.createStatement()) {
                    st.execute("VACUUM (FULL, ANALYZE) " + table);
                    try (var rs = st.executeQuery("select pg_total_relation_size('" + table.replace("'", "''")
                            + "'::regclass)")) {
                        rs.next();
                        t.bytesAfter = rs.getLong(1);
                    }
                }
                t.seconds += (System.nanoTime() - t0) / 1e9;
            }
            List<String> uncovered = new ArrayList<>();
            for (PiiDiscovery.Finding f : PiiDiscovery.discover(c, List.of(), SAMPLE)) {
                String line = f.qualifiedColumn() + " (" + f.kind() + "): " + f.evidence();
                m.findings.add(line);
                if (!covered(rules, f)) {
                    m.uncovered.add(line);
                    uncovered.add(f.qualifiedColumn() + " (" + f.kind() + ")");
                }
            }
            if (!uncovered.isEmpty() && !"Warn".equals(policy)) {
                record.masking = m;
                throw Problem.invalid(Reason.UnmaskedPersonalData, uncovered.size() + " column(s) look personal and "
                        + "no masking rule covers them: " + String.join(", ", uncovered) + "; the copy is not served "
                        + "(add rules, or set spec.masking.unmaskedColumns: Warn)").exception();
            }
            if (!uncovered.isEmpty()) {
                record.warning = (record.warning == null ? "" : record.warning + "; ") + uncovered.size()
                        + " column(s) look personal and no masking rule covers them: " + String.join(", ", uncovered);
            }
        } catch (SQLException e) {
            throw PostgresConnector.classify(e, copy).exception();
        }
        return m;
    }

    /** Whether a rule masks the finding's column: its table named with or without the schema. */
    static boolean covered(List<Masker.Rule> rules, PiiDiscovery.Finding f) {
        return rules.stream().anyMatch(r -> (r.table().equals(f.schema() + "." + f.table())
                || r.table().equals(f.table()) && f.schema().equals("public")) && r.columns().containsKey(f.column()));
    }
}
