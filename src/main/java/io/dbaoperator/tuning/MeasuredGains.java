package io.dbaoperator.tuning;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;

import io.dbaoperator.api.tuning.QueryTuningRequestStatus.MeasuredGain;

/**
 * The closed loop: a statement's real mean execution time before and after its index, from pg_stat_statements.
 * When the index is created, the statement's cumulative calls and total time are kept (the baseline: its mean so
 * far); at the end of the follow-up, the calls and time added since give the mean with the index. Counters that went
 * backwards mean the statistics were reset in between: nothing is concluded from them. The verdict is pure
 * ({@link #judge}).
 */
public final class MeasuredGains {

    /** Fewer calls than this during the follow-up measure noise, not the index. */
    static final long MIN_CALLS = 5;

    private MeasuredGains() {
    }

    /** Calls and total ms of the statement in this database, summed over roles; {0, 0} when it is not there. */
    static double[] counters(Connection c, String queryId) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("select coalesce(sum(calls), 0), coalesce(sum(total_exec_time), "
                + "0) from pg_stat_statements where dbid = (select oid from pg_database where datname = "
                + "current_database()) and queryid = ?::bigint and toplevel")) {
            ps.setString(1, queryId);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return new double[] { rs.getDouble(1), rs.getDouble(2) };
            }
        } catch (SQLException e) {
            if ("42P01".equals(e.getSQLState())) {
                return null; // pg_stat_statements is not installed in this database
            }
            throw e;
        }
    }

    /** The baseline, read just before the index is created; {@code queryId} null: nothing can be measured. */
    public static MeasuredGain baseline(Connection c, String queryId) throws SQLException {
        MeasuredGain m = new MeasuredGain();
        m.queryId = queryId;
        if (queryId == null) {
            m.verdict = "not measured: the statement has no queryid (compute_query_id is off)";
            return m;
        }
        double[] now = counters(c, queryId);
        if (now == null) {
            m.verdict = "not measured: pg_stat_statements is not installed in this database";
            return m;
        }
        m.callsBefore = (long) now[0];
        m.totalMsAtApply = round(now[1]);
        m.meanMsBefore = now[0] == 0 ? null : round(now[1] / now[0]);
        return m;
    }

    /** Reads the counters again at the end of the follow-up and judges; {@code used}: the index had scans. */
    public static void measure(Connection c, MeasuredGain m, boolean used, int minGainPercent) throws SQLException {
        if (m.queryId == null || m.callsBefore == null) {
            if (!used) {
                m.verdict = "unused";
            }
            return;
        }
        double[] now = counters(c, m.queryId);
        judge(m, now == null ? null : (long) now[0], now == null ? null : now[1], used, minGainPercent);
    }

    /** Pure: fills callsAfter, meanMsAfter, gainPercent and the verdict from the counters read now. */
    static void judge(MeasuredGain m, Long calls, Double totalMs, boolean used, int minGainPercent) {
        if (!used) {
            m.verdict = "unused";
        }
        if (calls == null || totalMs == null) {
            m.verdict = used ? "not measured: pg_stat_statements is no longer installed" : m.verdict;
            return;
        }
        long after = calls - m.callsBefore;
        if (after < 0 || totalMs < m.totalMsAtApply) {
            m.verdict = used ? "not measured: the statistics were reset during the follow-up" : m.verdict;
            return;
        }
        m.callsAfter = after;
        if (after < MIN_CALLS || m.meanMsBefore == null) {
            if (used) {
                m.verdict = m.meanMsBefore == null ? "not measured: the statement had not run before the index"
                        : "not measured: " + after + " call(s) during the follow-up, fewer than " + MIN_CALLS;
            }
            return;
        }
        m.meanMsAfter = round((totalMs - m.totalMsAtApply) / after);
        m.gainPercent = m.meanMsBefore == 0 ? 0 : round(100 * (m.meanMsBefore - m.meanMsAfter) / m.meanMsBefore);
        if (used) {
            m.verdict = m.gainPercent >= minGainPercent ? "improved"
                    : m.gainPercent <= -minGainPercent ? "regression" : "no gain";
        }
    }

    /** Whether the follow-up found the index not worth its writes: unused, no gain, or a regression. */
    public static boolean noGain(MeasuredGain m, boolean used) {
        return !used || m != null && m.verdict != null
                && (m.verdict.equals("no gain") || m.verdict.equals("regression"));
    }

    /**
     * The share of the estimated improvement the index really delivered, in [0, 1], for the ranking: 0 when unused,
     * 1 when used but not measured (the old evidence: it was used), else the measured gain over the estimate.
     */
    public static double realized(MeasuredGain m, boolean used, Double estimatedPercent) {
        if (!used) {
            return 0;
        }
        if (m == null || m.gainPercent == null || estimatedPercent == null || estimatedPercent <= 0) {
            return 1;
        }
        return Math.max(0, Math.min(1, m.gainPercent / estimatedPercent));
    }

    private static double round(double v) {
        return Math.round(v * 1000) / 1000.0;
    }
}
