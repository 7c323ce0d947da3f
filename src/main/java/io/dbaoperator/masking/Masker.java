package io.dbaoperator.masking;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import io.dbaoperator.api.disposal.DisposalJobSpec;
import io.dbaoperator.problem.Problem;
import io.dbaoperator.problem.Reason;
import io.dbaoperator.sql.Identifiers;
import io.dbaoperator.sql.QualifiedName;

/**
 * Masks a private copy in bulk: one UPDATE per table with every masked column's expression (the disposal engine's
 * strategies: Null, Hash, Redact, Fake, Partial), where batches would only be slower (nobody else uses the copy;
 * the rewrite is fine there). Hash and Fake are keyed (SHA-256 of the key and the value, the key from a Secret):
 * the same value gives the same output in every table and every run with the same key, so joins on a masked
 * e-mail still match and references stay consistent. Before the UPDATE, up to {@code sample} original values of
 * each masked column are taken, as keyed hashes only (never in clear, never stored); after it, the check counts the
 * rows whose value still has one of those hashes: any means an original value survived. Rules are checked against
 * the catalog first (unknown table or column, a strategy that does not fit the column's type) and refused with the
 * reason before anything is changed.
 */
public final class Masker {

    private Masker() {
    }

    /** The columns of one table to mask, by strategy. */
    public record Rule(String table, Map<String, DisposalJobSpec.ColumnStrategy> columns) {
    }

    /** A rule checked against the catalog: the table, its SET list, the masked columns. */
    public record TablePlan(QualifiedName table, String setList, List<String> columns) {
    }

    /** One table masked: rows, time, size before and after, sampled originals checked and found. */
    public record Masked(String table, long rows, long millis, long bytesBefore, long bytesAfter, int checked,
            long leaked) {
    }

    /** Every rule checked; the first bad one refused with its reason (InvalidSpec), nothing changed. */
    public static List<TablePlan> plan(Connection c, List<Rule> rules, String field) throws SQLException {
        List<TablePlan> out = new ArrayList<>();
        for (int i = 0; i < rules.size(); i++) {
            Rule rule = rules.get(i);
            String where = field + "[" + i + "]";
            QualifiedName table = QualifiedName.parse(rule.table());
            Map<String, Strategies.Column> columns = Strategies.columns(c, table);
            if (columns.isEmpty()) {
                throw Problem.invalid(Reason.InvalidSpec, where + ".table: there is no table " + rule.table()
                        + " in the copy").exception();
            }
            if (rule.columns() == null || rule.columns().isEmpty()) {
                throw Problem.invalid(Reason.InvalidSpec, where + ".columns: name at least one column").exception();
            }
            String set = Strategies.setList(rule.columns(), columns, where + ".columns");
            out.add(new TablePlan(table, set, List.copyOf(rule.columns().keySet())));
        }
        return out;
    }

    /** One table masked with {@code key}, then checked against a sample of its original values. */
    public static Masked mask(Connection c, TablePlan p, String key, int sample) throws SQLException {
        String t = p.table().quoted();
        boolean auto = c.getAutoCommit();
        c.setAutoCommit(false);
        try {
            try (PreparedStatement ps = c.prepareStatement("select set_config('" + Strategies.SALT_SETTING
                    + "', ?, true)")) {
                ps.setString(1, key);
                ps.execute();
            }
            long before = size(c, t);
            Map<String, String[]> originals = new LinkedHashMap<>();
            for (String col : p.columns()) {
                String q = Identifiers.quote(col);
                try (ResultSet rs = c.createStatement().executeQuery("select array(select " + Strategies.hash(q)
                        + " from " + t + " where " + q + " is not null limit " + sample + ")")) {
                    rs.next();
                    originals.put(col, (String[]) rs.getArray(1).getArray());
                }
            }
            long t0 = System.nanoTime();
            long rows;
            try (Statement st = c.createStatement()) {
                rows = st.executeUpdate("UPDATE " + t + " SET " + p.setList());
            }
            long millis = (System.nanoTime() - t0) / 1_000_000;
            long leaked = 0;
            int checked = 0;
            for (var e : originals.entrySet()) {
                checked += e.getValue().length;
                try (PreparedStatement ps = c.prepareStatement("select count(*) from " + t + " where "
                        + Strategies.hash(Identifiers.quote(e.getKey())) + " = any (?)")) {
                    ps.setArray(1, c.createArrayOf("text", e.getValue()));
                    try (ResultSet rs = ps.executeQuery()) {
                        rs.next();
                        leaked += rs.getLong(1);
                    }
                }
            }
            c.commit();
            return new Masked(p.table().toString(), rows, millis, before, size(c, t), checked, leaked);
        } catch (SQLException | RuntimeException e) {
            c.rollback();
            throw e;
        } finally {
            c.setAutoCommit(auto);
        }
    }

    private static long size(Connection c, String quotedTable) throws SQLException {
        try (ResultSet rs = c.createStatement().executeQuery("select pg_total_relation_size('" + quotedTable
                .replace("'", "''") + "'::regclass)")) {
            rs.next();
            return rs.getLong(1);
        }
    }
}
