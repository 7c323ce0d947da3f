package io.dbaoperator.agent;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import io.dbaoperator.backup.catalog.RestoreRecord;
import io.dbaoperator.masking.Masker;
import io.dbaoperator.postgres.ConnectionSettings;
import io.dbaoperator.postgres.PostgresTools;
import io.dbaoperator.problem.Problem;
import io.dbaoperator.problem.Reason;
import io.dbaoperator.sql.Identifiers;

/**
 * A physical restore masked (BackupRestore spec.masking with a base backup), on the recovered cluster while it
 * still runs privately in the restore Job, before the instance that serves it starts: every database but the masked
 * one (and {@code postgres}) is dropped, since no rule masks them; the masked database goes through
 * {@link MaskingStep} (mask, sample check, table rewrite, PII discovery) over the pod's loopback as a superuser role
 * made for this run alone and dropped after it. Once the server has stopped, {@link #removeOldWal} removes the WAL
 * of the recovery, which holds production's pages as they were.
 */
final class PhysicalMasking {

    private static final Pattern SEGMENT = Pattern.compile("[0-9A-F]{24}");
    private static final Pattern REDO = Pattern.compile("Latest checkpoint's REDO WAL file:\\s*([0-9A-F]{24})");

    private PhysicalMasking() {
    }

    static RestoreRecord.Masking run(Psql admin, Map<String, String> env, List<Masker.Rule> rules, String database,
            RestoreRecord record) throws IOException, InterruptedException {
        String keep = admin.query("postgres", "select count(*) from pg_database where datname = '"
                + database.replace("'", "''") + "'").trim();
        if (!"1".equals(keep)) {
            throw Problem.invalid(Reason.RestoreCheckFailed, "the masking rules are for database " + database
                    + ", which the restored cluster does not hold: nothing is served").exception();
        }
        List<String> others = admin.query("postgres", "select datname from pg_database where datallowconn and "
                + "datname not in ('postgres', 'template1', '" + database.replace("'", "''") + "') order by 1")
                .lines().map(String::trim).filter(l -> !l.isEmpty()).toList();
        for (String other : others) {
            admin.run("postgres", "DROP DATABASE " + Identifiers.quote(other) + " WITH (FORCE);\n");
        }
        String role = "dba_masking_" + HexFormat.of().formatHex(random(6));
        String password = HexFormat.of().formatHex(random(24));
        admin.run("postgres", "SET log_statement = 'none';\nSET password_encryption = 'scram-sha-256';\n"
                + "CREATE ROLE " + role + " LOGIN SUPERUSER PASSWORD '" + password + "';\n");
        try {
            RestoreRecord.Masking m = MaskingStep.run(env, rules, new ConnectionSettings("127.0.0.1:5432", database,
                    role, password, "disable", null), record);
            m.droppedDatabases.addAll(others);
            if (!database.equals("postgres")) {
                maintenanceDatabase(env, m, new ConnectionSettings("127.0.0.1:5432", "postgres", role, password,
                        "disable", null), record);
            }
            return m;
        } catch (RuntimeException e) {
            if (record.masking != null) {
                record.masking.droppedDatabases.addAll(others);
            }
            throw e;
        } finally {
            admin.run("postgres", "DROP ROLE IF EXISTS " + role + ";\n");
        }
    }

    /**
     * The {@code postgres} database stays (tools connect to it) and no rule masks it: the discovery scans it too, and
     * a column there that looks personal refuses the copy as an unmasked one would ({@code Warn}: listed).
     */
    private static void maintenanceDatabase(Map<String, String> env, RestoreRecord.Masking m,
            ConnectionSettings postgres, RestoreRecord record) {
        List<String> uncovered = new java.util.ArrayList<>();
        try (java.sql.Connection c = io.dbaoperator.postgres.PostgresConnector.open(postgres,
                "dba-operator-masking")) {
            for (var f : io.dbaoperator.masking.PiiDiscovery.discover(c, List.of(), MaskingStep.SAMPLE)) {
                String line = "postgres: " + f.qualifiedColumn() + " (" + f.kind() + "): " + f.evidence();
                m.findings.add(line);
                m.uncovered.add(line);
                uncovered.add("postgres: " + f.qualifiedColumn() + " (" + f.kind() + ")");
            }
        } catch (java.sql.SQLException e) {
            throw io.dbaoperator.postgres.PostgresConnector.classify(e, postgres).exception();
        }
        if (uncovered.isEmpty()) {
            return;
        }
        if (!"Warn".equals(env.getOrDefault(io.dbaoperator.contract.AgentEnvironment.MASKING_UNMASKED, "Refuse"))) {
            record.masking = m;
            throw Problem.invalid(Reason.UnmaskedPersonalData, uncovered.size() + " column(s) of database postgres, "
                    + "which a masked physical copy keeps as it is, look personal: " + String.join(", ", uncovered)
                    + "; the copy is not served (move that data, or set spec.masking.unmaskedColumns: Warn)")
                    .exception();
        }
        record.warning = (record.warning == null ? "" : record.warning + "; ") + uncovered.size() + " column(s) of "
                + "database postgres look personal and stay unmasked: " + String.join(", ", uncovered);
    }

    /**
     * After a clean shutdown the cluster needs no WAL before its last checkpoint's REDO segment: every other segment
     * file goes (those of the recovery, and recycled ones, which keep old contents under future names).
     */
    static void removeOldWal(Path dataDir, Map<String, String> env)
            throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder(PostgresTools.binary("pg_controldata", env).toString(),
                dataDir.toString()).redirectErrorStream(true);
        pb.environment().put("LC_ALL", "C");
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        p.waitFor();
        Matcher m = REDO.matcher(out);
        if (p.exitValue() != 0 || !m.find() || !out.contains("shut down")) {
            throw Problem.invalid(Reason.RestoreFailed, "pg_controldata does not show a cleanly shut down masked "
                    + "copy: " + BackupCommand.lastLines(out, 3)).exception();
        }
        String redo = m.group(1);
        try (Stream<Path> wal = Files.list(dataDir.resolve("pg_wal"))) {
            for (Path f : wal.toList()) {
                String name = f.getFileName().toString();
                if (SEGMENT.matcher(name).matches() && !name.equals(redo)) {
                    Files.delete(f);
                }
            }
        }
    }

    private static byte[] random(int n) {
        byte[] b = new byte[n];
        new SecureRandom().nextBytes(b);
        return b;
    }
}
