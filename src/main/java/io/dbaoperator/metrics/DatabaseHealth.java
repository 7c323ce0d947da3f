package io.dbaoperator.metrics;

import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * The figures a DBA watches on a database, read in a fixed set of bounded queries on the catalogs and statistics
 * views under a statement timeout (never a scan of a user table), once per sampling interval:
 * <ul>
 * <li>replication lag per standby (on a primary, pg_stat_replication): bytes, {@code pg_current_wal_lsn() -
 * replay_lsn}; seconds, the larger of PostgreSQL's own {@code replay_lag} and the age of the oldest WAL position
 * the standby has not replayed, from this sampler's own record of the primary's position over time (PostgreSQL
 * reports no replay_lag at all once a standby that had caught up stops replaying, so its figure alone would say 0
 * for a paused standby); exact to one sampling interval;</li>
 * <li>dead tuples per table over a size floor (the 20 with the largest share of dead over dead plus live, live as
 * autovacuum counts it: pg_class.reltuples), with the last (auto)vacuum;</li>
 * <li>sessions waiting on a lock longer than a threshold (pg_locks.waitstart), with what blocks them
 * (pg_blocking_pids), and the database's deadlocks since the statistics began;</li>
 * <li>connections against max_connections, long-running and idle-in-transaction sessions;</li>
 * <li>the database's size and its 10 largest tables' (growth over a month is Prometheus's to compute, with
 * {@code offset 30d}: it keeps the history this process does not);</li>
 * <li>transaction ID wraparound: the age of the database's {@code datfrozenxid} and {@code datminmxid} (what
 * autovacuum's forced anti-wraparound vacuum and, at 2^31, the server's refusal of writes are counted on) against
 * {@code autovacuum_freeze_max_age} and {@code autovacuum_multixact_freeze_max_age}, and the table with the oldest
 * {@code relfrozenxid} (a TOAST table named by the table it belongs to).</li>
 * </ul>
 * Query texts in what it reports are cut short and have their literals replaced by {@code ?}: no values.
 */
public final class DatabaseHealth {

    /** The thresholds, from {@code dba.health.*}. */
    public record Thresholds(double deadTupleRatio, long tableSizeFloorBytes, Duration lockWait,
            Duration longRunning, Duration idleInTransaction, double freezeAgeRatio) {

        public static final Thresholds DEFAULTS = new Thresholds(0.2, 8L * 1024 * 1024, Duration.ofSeconds(5),
                Duration.ofMinutes(5), Duration.ofMinutes(1), 0.75);
    }

    /**
     * Transaction ID (and multixact ID) ages: the database's, the settings at which autovacuum forces an
     * anti-wraparound vacuum, and the table whose relfrozenxid is oldest (null when the database has none).
     */
    public record Freeze(long xidAge, long mxidAge, long freezeMaxAge, long multixactFreezeMaxAge,
            String oldestTable, long oldestTableXidAge) {

        /** The larger of the two ages' shares of the age at which autovacuum forces a freeze. */
        public double ratio() {
            return Math.max((double) xidAge / freezeMaxAge, (double) mxidAge / multixactFreezeMaxAge);
        }
    }

    /** One standby's lag. */
    public record StandbyLag(String standby, double bytes, double seconds) {
    }

    /** One table's dead tuples. */
    public record TableTuples(String table, long dead, long live, long sizeBytes, Instant lastVacuum) {

        public double deadRatio() {
            return dead + live == 0 ? 0 : (double) dead / (dead + live);
        }
    }

    /** A session waiting on a lock, and the sessions that block it. */
    public record LockWait(int pid, double waitingSeconds, String query, List<Blocker> blockers) {
    }

    /** A blocking session. */
    public record Blocker(int pid, String state, String query, Double transactionSeconds) {
    }

    /** One sample. */
    public record Sample(boolean primary, List<StandbyLag> standbys, List<TableTuples> tables, List<LockWait> lockWaits,
            long deadlocks, int connections, int maxConnections, int longRunning, int idleInTransaction,
            long databaseBytes, Map<String, Long> largestTables, Freeze freeze, int queries, double millis) {
    }

    private static final Pattern STRING = Pattern.compile("'(?:[^']|'')*'");
    private static final Pattern NUMBER = Pattern.compile("(?<![A-Za-z_0-9$])-?[0-9]+(?:\\.[0-9]+)?(?![A-Za-z_0-9])");
    private static final int QUERY_CHARS = 120;

    private final Deque<long[]> positions = new ArrayDeque<>(); // {epoch ms, lsn}, oldest first
    private final Duration keep;

    /** @param keep how long a record of the primary's WAL position is kept (the longest lag it can measure) */
    public DatabaseHealth(Duration keep) {
        this.keep = keep;
    }

    public Sample sample(Connection c, Thresholds t, Instant now) throws SQLException {
        long start = System.nanoTime();
        int queries = 0;
        try (Statement st = c.createStatement()) {
            st.execute("set statement_timeout = '5s'");
            boolean primary;
            long lsn = 0;
            try (ResultSet rs = st.executeQuery("select not pg_is_in_recovery(), case when pg_is_in_recovery() "
                    + "then 0 else pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0') end")) {
                rs.next();
                primary = rs.getBoolean(1);
                lsn = rs.getLong(2);
            }
            queries += 2;
            List<StandbyLag> standbys = new ArrayList<>();
            if (primary) {
                record(now, lsn);
                try (ResultSet rs = st.executeQuery("select coalesce(nullif(application_name, ''), 'standby') || "
                        + "'@' || coalesce(host(client_addr), 'local') || ':' || pid, coalesce(pg_wal_lsn_diff("
                        + "pg_current_wal_lsn(), replay_lsn), 0), coalesce(extract(epoch from replay_lag), 0), "
                        + "coalesce(pg_wal_lsn_diff(replay_lsn, '0/0'), 0) from pg_stat_replication")) {
                    while (rs.next()) {
                        double bytes = Math.max(0, rs.getDouble(2));
                        double seconds = Math.max(rs.getDouble(3), ageOf((long) rs.getDouble(4), lsn, now));
                        standbys.add(new StandbyLag(rs.getString(1), bytes, seconds));
                    }
                }
                queries++;
            }
            List<TableTuples> tables = new ArrayList<>();
            // live rows as autovacuum counts them: pg_class.reltuples (the last VACUUM's or ANALYZE's count),
            // n_live_tup only before the first; n_live_tup alone drifts with the statistics' flush order
            try (PreparedStatement ps = c.prepareStatement("select schemaname || '.' || relname, n_dead_tup, "
                    + "live, pg_table_size(relid), greatest(last_vacuum, last_autovacuum) from (select s.*, "
                    + "case when c.reltuples >= 0 then c.reltuples::bigint else s.n_live_tup end live from "
                    + "pg_stat_user_tables s join pg_class c on c.oid = s.relid where s.n_dead_tup > 0) t where "
                    + "pg_table_size(relid) >= ? order by n_dead_tup::float8 / greatest(live + n_dead_tup, 1) desc "
                    + "limit 20")) {
                ps.setLong(1, t.tableSizeFloorBytes());
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        var vacuum = rs.getTimestamp(5);
                        tables.add(new TableTuples(rs.getString(1), rs.getLong(2), rs.getLong(3), rs.getLong(4),
                                vacuum == null ? null : vacuum.toInstant()));
                    }
                }
            }
            queries++;
            List<LockWait> waits = lockWaits(c, t.lockWait());
            queries += waits.isEmpty() ? 1 : 2;
            long deadlocks;
            long dbBytes;
            int maxConnections;
            try (ResultSet rs = st.executeQuery("select d.deadlocks, pg_database_size(current_database()), "
                    + "current_setting('max_connections')::int from pg_stat_database d "
                    + "where d.datname = current_database()")) {
                rs.next();
                deadlocks = rs.getLong(1);
                dbBytes = rs.getLong(2);
                maxConnections = rs.getInt(3);
            }
            queries++;
            int connections;
            int longRunning;
            int idleInTx;
            try (PreparedStatement ps = c.prepareStatement("select count(*), count(*) filter (where state = "
                    + "'active' and now() - query_start > ?::interval and datname = current_database()), count(*) "
                    + "filter (where state like 'idle in transaction%' and now() - state_change > ?::interval "
                    + "and datname = current_database()) from pg_stat_activity "
                    + "where backend_type = 'client backend'")) {
                ps.setString(1, t.longRunning().toMillis() + " milliseconds");
                ps.setString(2, t.idleInTransaction().toMillis() + " milliseconds");
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    connections = rs.getInt(1);
                    longRunning = rs.getInt(2);
                    idleInTx = rs.getInt(3);
                }
            }
            queries++;
            Map<String, Long> largest = new LinkedHashMap<>();
            try (ResultSet rs = st.executeQuery("select schemaname || '.' || relname, pg_total_relation_size(relid) "
                    + "from pg_stat_user_tables order by 2 desc limit 10")) {
                while (rs.next()) {
                    largest.put(rs.getString(1), rs.getLong(2));
                }
            }
            queries++;
            Freeze freeze = freeze(st);
            queries += 2;
            return new Sample(primary, standbys, tables, waits, deadlocks, connections, maxConnections, longRunning,
                    idleInTx, dbBytes, largest, freeze, queries, (System.nanoTime() - start) / 1e6);
        }
    }

    private static Freeze freeze(Statement st) throws SQLException {
        long xid;
        long mxid;
        long freezeMax;
        long mxFreezeMax;
        try (ResultSet rs = st.executeQuery("select age(datfrozenxid), mxid_age(datminmxid), "
                + "current_setting('autovacuum_freeze_max_age')::bigint, "
                + "current_setting('autovacuum_multixact_freeze_max_age')::bigint from pg_database "
                + "where datname = current_database()")) {
            rs.next();
            xid = rs.getLong(1);
            mxid = rs.getLong(2);
            freezeMax = rs.getLong(3);
            mxFreezeMax = rs.getLong(4);
        }
        // every relation that has a relfrozenxid (tables, materialized views, TOAST tables), the catalogs too:
        // the database's age is the oldest of them
        try (ResultSet rs = st.executeQuery("select coalesce((select o.oid::regclass::text from pg_class o "
                + "where c.relkind = 't' and o.reltoastrelid = c.oid), c.oid::regclass::text), age(c.relfrozenxid) "
                + "from pg_class c where c.relkind in ('r', 'm', 't') and c.relfrozenxid <> '0'::xid "
                + "order by age(c.relfrozenxid) desc limit 1")) {
            return rs.next() ? new Freeze(xid, mxid, freezeMax, mxFreezeMax, rs.getString(1), rs.getLong(2))
                    : new Freeze(xid, mxid, freezeMax, mxFreezeMax, null, 0);
        }
    }

    private static List<LockWait> lockWaits(Connection c, Duration threshold) throws SQLException {
        List<Object[]> rows = new ArrayList<>();
        List<Integer> blockerPids = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement("select a.pid, extract(epoch from now() - min(l.waitstart)), "
                + "a.query, pg_blocking_pids(a.pid) from pg_locks l join pg_stat_activity a on a.pid = l.pid "
                + "where not l.granted and a.datname = current_database() and l.waitstart < now() - ?::interval "
                + "group by a.pid, a.query order by 2 desc limit 20")) {
            ps.setString(1, threshold.toMillis() + " milliseconds");
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    Integer[] blocking = (Integer[]) rs.getArray(4).getArray();
                    rows.add(new Object[] { rs.getInt(1), rs.getDouble(2), rs.getString(3), blocking });
                    blockerPids.addAll(List.of(blocking));
                }
            }
        }
        if (rows.isEmpty()) {
            return List.of();
        }
        Map<Integer, Blocker> blockers = new HashMap<>();
        try (PreparedStatement ps = c.prepareStatement("select pid, state, query, extract(epoch from now() - "
                + "xact_start) from pg_stat_activity where pid = any(?)")) {
            Array pids = c.createArrayOf("int4", blockerPids.toArray());
            ps.setArray(1, pids);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    double tx = rs.getDouble(4);
                    blockers.put(rs.getInt(1), new Blocker(rs.getInt(1), rs.getString(2), redact(rs.getString(3)),
                            rs.wasNull() ? null : tx));
                }
            }
        }
        List<LockWait> out = new ArrayList<>();
        for (Object[] r : rows) {
            List<Blocker> by = new ArrayList<>();
            for (Integer pid : (Integer[]) r[3]) {
                by.add(blockers.getOrDefault(pid, new Blocker(pid, "gone", "", null)));
            }
            out.add(new LockWait((Integer) r[0], (Double) r[1], redact((String) r[2]), by));
        }
        return out;
    }

    /** A query text cut short with every literal replaced by {@code ?}: what a statement does, never its values. */
    public static String redact(String query) {
        if (query == null) {
            return "";
        }
        String s = NUMBER.matcher(STRING.matcher(query).replaceAll("?")).replaceAll("?").replaceAll("\\s+", " ")
                .strip();
        return s.length() > QUERY_CHARS ? s.substring(0, QUERY_CHARS) + "..." : s;
    }

    private void record(Instant now, long lsn) {
        positions.addLast(new long[] { now.toEpochMilli(), lsn });
        while (positions.size() > 1 && positions.peekFirst()[0] < now.minus(keep).toEpochMilli()) {
            positions.removeFirst();
        }
    }

    /**
     * How long ago the primary was first seen past {@code replayed}: the age of the oldest WAL the standby has not
     * replayed, to within one sampling interval (0 when it has replayed all the primary has written).
     */
    double ageOf(long replayed, long current, Instant now) {
        if (replayed >= current) {
            return 0;
        }
        for (long[] p : positions) {
            if (p[1] > replayed) {
                return Math.max(0, (now.toEpochMilli() - p[0]) / 1000.0);
            }
        }
        return 0;
    }
}
