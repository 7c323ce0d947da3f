package io.dbaoperator.tuning;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;

/**
 * Costs candidate indexes without building them: each becomes a HypoPG hypothetical index (visible only to this
 * session's planner, no lock, no disk), the query is planned again with plain EXPLAIN, and the candidate is kept
 * only if the planner uses it and the estimated cost falls by the threshold. Hypothetical indexes live in the
 * backend's memory, not in a transaction: every one is dropped again before returning.
 */
public final class HypoCosting {

    private HypoCosting() {
    }

    /** One candidate's effect on the planner's estimate. */
    public record Costed(IndexCandidates.Candidate candidate, double costBefore, double costAfter, boolean used,
            long sizeBytes) {

        public Costed(IndexCandidates.Candidate candidate, double costBefore, double costAfter, boolean used) {
            this(candidate, costBefore, costAfter, used, 0);
        }

        public double improvementPercent() {
            return costBefore <= 0 ? 0 : Math.round((costBefore - costAfter) / costBefore * 1000) / 10.0;
        }
    }

    /** Whether HypoPG is installed in this database; with {@code mayCreate}, installs it when it can. */
    public static boolean available(Connection c, boolean mayCreate) {
        try (Statement st = c.createStatement()) {
            try (ResultSet rs = st.executeQuery("select 1 from pg_extension where extname = 'hypopg'")) {
                if (rs.next()) {
                    return true;
                }
            }
            if (mayCreate) {
                st.execute("create extension if not exists hypopg");
                return true;
            }
        } catch (SQLException e) {
            // not installed, or not ours to install: the caller falls back to building on staging
        }
        return false;
    }

    /** @param parameters the values, or null to cost the generic plan */
    public static List<Costed> cost(Connection c, QueryText query, List<String> parameters,
            List<IndexCandidates.Candidate> candidates, int timeoutMs) throws SQLException {
        double before = query.plan(c, parameters, timeoutMs).totalCost();
        List<Costed> out = new ArrayList<>();
        try {
            for (IndexCandidates.Candidate cand : candidates) {
                Costed one = costOne(c, query, parameters, cand, before, timeoutMs, null);
                if (one != null) {
                    out.add(one);
                }
            }
        } finally {
            reset(c);
        }
        return out;
    }

    /**
     * One candidate as a hypothetical index, the query planned with it, the index dropped again. With
     * {@code refused} non-null, a candidate PostgreSQL will not index (SQLSTATE class 42: an expression that is not
     * immutable, an operator class that does not fit the type) is noted there and null returned.
     */
    static Costed costOne(Connection c, QueryText query, List<String> parameters, IndexCandidates.Candidate cand,
            double before, int timeoutMs, List<String> refused) throws SQLException {
        Hypothetical h;
        try {
            h = create(c, cand);
        } catch (SQLException e) {
            if (refused == null || e.getSQLState() == null || !e.getSQLState().startsWith("42")) {
                throw e;
            }
            String first = e.getMessage() == null ? e.getSQLState() : e.getMessage().lines().findFirst().orElse("");
            refused.add(cand.ddlBody() + ": " + first);
            return null;
        }
        try {
            ExplainPlan plan = query.plan(c, parameters, timeoutMs);
            return new Costed(cand, before, plan.totalCost(), plan.usesIndex(h.name()), h.sizeBytes());
        } catch (SQLException e) {
            // HypoPG 1.3 can fail to deparse a hypothetical index in EXPLAIN VERBOSE ("invalid attnum", XX000);
            // the candidate is left out, the search goes on
            if (refused == null || !"XX000".equals(e.getSQLState())) {
                throw e;
            }
            refused.add(cand.ddlBody() + ": EXPLAIN failed with it: " + e.getMessage().lines().findFirst().orElse(""));
            return null;
        } finally {
            drop(c, h.oid());
        }
    }

    /** A hypothetical index as HypoPG made it: its oid, the name plans show, its estimated size. */
    record Hypothetical(long oid, String name, long sizeBytes) {
    }

    /** The candidate as a hypothetical index of this session (no lock, no disk). */
    static Hypothetical create(Connection c, IndexCandidates.Candidate cand) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("select indexrelid, indexname, "
                + "hypopg_relation_size(indexrelid) from hypopg_create_index(?)")) {
            ps.setString(1, cand.plainDdl());
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return new Hypothetical(rs.getLong(1), rs.getString(2), rs.getLong(3));
            }
        }
    }

    static void drop(Connection c, long oid) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("select hypopg_drop_index(?)")) {
            ps.setLong(1, oid);
            ps.execute();
        }
    }

    /** Every hypothetical index of this session dropped. */
    static void reset(Connection c) throws SQLException {
        try (Statement st = c.createStatement()) {
            st.execute("select hypopg_reset()");
        }
    }
}
