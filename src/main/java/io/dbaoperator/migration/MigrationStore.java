package io.dbaoperator.migration;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import io.dbaoperator.postgres.SqlStates;

/**
 * The migration's own state inside the target database, so that every step runs exactly once whatever happens to
 * the operator: {@code dba_operator.migration_history} (one row per statement of one run, committed in the same
 * transaction as the statement itself where PostgreSQL allows; a run is the resource, keyed by its UID, so a
 * DatabaseMigration created anew under an old name never inherits the rows of the one before), {@code dba_operator.migration_lease} (which migration owns the
 * database until it ends: two migrations never interleave), and a session advisory lock held while a reconcile
 * works on the database (two operator replicas never run the same step at once).
 */
public final class MigrationStore {

    private static final String DDL = """
            CREATE SCHEMA IF NOT EXISTS dba_operator;
            CREATE TABLE IF NOT EXISTS dba_operator.migration_history (
              migration_id  text NOT NULL,
              run_uid       text NOT NULL,
              plan_digest   text,
              step_id       text NOT NULL,
              step          text NOT NULL,
              checksum      text NOT NULL,
              statement     text NOT NULL,
              outcome       text NOT NULL CONSTRAINT migration_history_outcome_check
                            CHECK (outcome IN ('running', 'applied', 'failed', 'present')),
              started_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
              finished_at   timestamptz,
              duration_ms   bigint,
              attempts      integer NOT NULL DEFAULT 1,
              rows_done     bigint,
              rows_estimated bigint,
              last_key      text,
              message       text,
              approval      text,
              CONSTRAINT migration_history_pkey PRIMARY KEY (migration_id, run_uid, step_id)
            );
            CREATE TABLE IF NOT EXISTS dba_operator.migration_lease (
              singleton     boolean PRIMARY KEY DEFAULT true CHECK (singleton),
              migration_id  text NOT NULL,
              uid           text NOT NULL,
              acquired_at   timestamptz NOT NULL DEFAULT clock_timestamp()
            );
            """;

    private MigrationStore() {
    }

    /** Creates the schema and tables if missing. Call with the advisory lock held. */
    public static void ensureSchema(Connection c) throws SQLException {
        boolean auto = c.getAutoCommit();
        c.setAutoCommit(true);
        try (Statement s = c.createStatement()) {
            s.execute("SELECT 1 FROM pg_namespace n JOIN pg_class r ON r.relnamespace = n.oid "
                    + "WHERE n.nspname = 'dba_operator' AND r.relname = 'migration_lease'");
            if (!s.getResultSet().next()) {
                s.execute(DDL);
            }
            // histories created before approvals were recorded with the statements they authorised
            SqlStates.addColumnIfMissing(c, "dba_operator.migration_history", "approval", "text");
            keyByRun(c, s);
        } finally {
            c.setAutoCommit(auto);
        }
    }

    /**
     * A history made before runs were keyed by UID: its rows get an empty run_uid (adopted by the run that wrote
     * them, see {@link #adoptLegacy}), the key takes run_uid, and outcome 'present' is allowed. One transaction.
     */
    private static void keyByRun(Connection c, Statement s) throws SQLException {
        if (keyedByRun(s)) {
            return;
        }
        c.setAutoCommit(false);
        try {
            // looked at again under the lock: another replica may have converted it meanwhile
            s.execute("LOCK TABLE dba_operator.migration_history IN ACCESS EXCLUSIVE MODE");
            if (!keyedByRun(s)) {
                s.execute("ALTER TABLE dba_operator.migration_history ADD COLUMN run_uid text NOT NULL DEFAULT '', "
                        + "ADD COLUMN plan_digest text, DROP CONSTRAINT IF EXISTS migration_history_pkey, "
                        + "ADD CONSTRAINT migration_history_pkey PRIMARY KEY (migration_id, run_uid, step_id), "
                        + "DROP CONSTRAINT IF EXISTS migration_history_outcome_check, "
                        + "ADD CONSTRAINT migration_history_outcome_check "
                        + "CHECK (outcome IN ('running', 'applied', 'failed', 'present'))");
                s.execute("ALTER TABLE dba_operator.migration_history ALTER COLUMN run_uid DROP DEFAULT");
            }
            c.commit();
        } catch (SQLException e) {
            c.rollback();
            throw e;
        }
    }

    private static boolean keyedByRun(Statement s) throws SQLException {
        s.execute("SELECT 1 FROM pg_attribute WHERE attrelid = 'dba_operator.migration_history'::regclass "
                + "AND attname = 'run_uid' AND NOT attisdropped");
        return s.getResultSet().next();
    }

    /**
     * One run of a DatabaseMigration: the resource (its UID), not its name.
     *
     * @param migrationId namespace/name, for people reading the history
     * @param uid the resource's UID: the key
     * @param planDigest the digest of the plan the run executes, recorded with each row
     */
    public record RunKey(String migrationId, String uid, String planDigest) {
    }

    /**
     * Rows written before runs were keyed by UID belong to the run that exists now only if they were written after it
     * was created (an earlier resource of the same name wrote its rows before this one existed): those are taken
     * over, the others stay the earlier run's. Returns how many were taken over.
     */
    public static int adoptLegacy(Connection c, RunKey run, Instant createdAt) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("UPDATE dba_operator.migration_history SET run_uid = ? "
                + "WHERE migration_id = ? AND run_uid = '' AND started_at >= ?")) {
            ps.setString(1, run.uid());
            ps.setString(2, run.migrationId());
            ps.setTimestamp(3, java.sql.Timestamp.from(createdAt));
            return ps.executeUpdate();
        }
    }

    /** An earlier run of the same name in this database: when it ran and how it ended. */
    public record EarlierRun(String uid, Instant startedAt, Instant finishedAt, int applied, int failed,
            int statements, String last) {
    }

    /** The runs of {@code migrationId} other than {@code run}, oldest first. */
    public static List<EarlierRun> earlierRuns(Connection c, RunKey run) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("""
                SELECT run_uid, min(started_at), max(finished_at), count(*) FILTER (WHERE outcome = 'applied'),
                       count(*) FILTER (WHERE outcome = 'failed'), count(*),
                       (array_agg(step_id || ' ' || outcome ORDER BY started_at DESC, step_id DESC))[1]
                FROM dba_operator.migration_history WHERE migration_id = ? AND run_uid <> ?
                GROUP BY run_uid ORDER BY min(started_at)""")) {
            ps.setString(1, run.migrationId());
            ps.setString(2, run.uid());
            List<EarlierRun> runs = new ArrayList<>();
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    var finished = rs.getTimestamp(3);
                    runs.add(new EarlierRun(rs.getString(1), rs.getTimestamp(2).toInstant(),
                            finished == null ? null : finished.toInstant(), rs.getInt(4), rs.getInt(5), rs.getInt(6),
                            rs.getString(7)));
                }
            }
            return runs;
        }
    }

    /** One history row. */
    public record Entry(String migrationId, String stepId, String step, String checksum, String statement,
            String outcome, Instant startedAt, Instant finishedAt, Long durationMs, int attempts, Long rowsDone,
            Long rowsEstimated, String lastKey, String message, String approval) {

        /** Whether this run found the statement's effects already in the catalog, and so did not run it. */
        public boolean present() {
            return "present".equals(outcome);
        }

        /** Whether the statement needs no run: this run applied it, or found it present. */
        public boolean done() {
            return "applied".equals(outcome) || present();
        }

        /** The outcome as a person reads it; a statement found present did not run, so it has no duration. */
        public String shown() {
            return present() ? "already present"
                    : outcome + (durationMs == null ? "" : " in " + durationMs + " ms");
        }
    }

    public static Optional<Entry> find(Connection c, RunKey run, String stepId) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(SELECT + " WHERE migration_id = ? AND run_uid = ? "
                + "AND step_id = ?")) {
            ps.setString(1, run.migrationId());
            ps.setString(2, run.uid());
            ps.setString(3, stepId);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? Optional.of(entry(rs)) : Optional.empty();
            }
        }
    }

    public static List<Entry> list(Connection c, RunKey run) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(SELECT + " WHERE migration_id = ? AND run_uid = ? "
                + "ORDER BY started_at, step_id")) {
            ps.setString(1, run.migrationId());
            ps.setString(2, run.uid());
            List<Entry> entries = new ArrayList<>();
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    entries.add(entry(rs));
                }
            }
            return entries;
        }
    }

    private static final String SELECT = "SELECT migration_id, step_id, step, checksum, statement, outcome, started_at, "
            + "finished_at, duration_ms, attempts, rows_done, rows_estimated, last_key, message, approval "
            + "FROM dba_operator.migration_history";

    private static Entry entry(ResultSet rs) throws SQLException {
        var started = rs.getTimestamp(7);
        var finished = rs.getTimestamp(8);
        return new Entry(rs.getString(1), rs.getString(2), rs.getString(3), rs.getString(4), rs.getString(5),
                rs.getString(6), started == null ? null : started.toInstant(),
                finished == null ? null : finished.toInstant(), (Long) rs.getObject(9), rs.getInt(10),
                (Long) rs.getObject(11), (Long) rs.getObject(12), rs.getString(13), rs.getString(14), rs.getString(15));
    }

    /** Inserts or replaces a statement's row (in the caller's transaction). */
    public static void record(Connection c, RunKey run, MigrationPlan.Planned p, String outcome,
            long durationMs, int attempts, String message, String approval) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("""
                INSERT INTO dba_operator.migration_history AS h
                  (migration_id, step_id, step, checksum, statement, outcome, finished_at, duration_ms, attempts, message,
                   approval, run_uid, plan_digest)
                VALUES (?, ?, ?, ?, ?, ?, CASE WHEN ? = 'running' THEN NULL ELSE clock_timestamp() END, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (migration_id, run_uid, step_id) DO UPDATE SET outcome = excluded.outcome,
                  finished_at = excluded.finished_at, duration_ms = excluded.duration_ms,
                  attempts = h.attempts + excluded.attempts, message = excluded.message,
                  checksum = excluded.checksum, statement = excluded.statement,
                  approval = coalesce(excluded.approval, h.approval)""")) {
            ps.setString(1, run.migrationId());
            ps.setString(2, p.id());
            ps.setString(3, p.step());
            ps.setString(4, p.checksum());
            ps.setString(5, p.statement().sql());
            ps.setString(6, outcome);
            ps.setString(7, outcome);
            ps.setLong(8, durationMs);
            ps.setInt(9, attempts);
            ps.setString(10, message);
            ps.setString(11, approval);
            ps.setString(12, run.uid());
            ps.setString(13, run.planDigest());
            ps.executeUpdate();
        }
    }

    /** Records a committed backfill batch, in the batch's own transaction. */
    public static void recordBatch(Connection c, RunKey run, long rows, String lastKey, long millis)
            throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("UPDATE dba_operator.migration_history SET rows_done = "
                + "coalesce(rows_done, 0) + ?, last_key = coalesce(?, last_key), duration_ms = coalesce(duration_ms, 0) "
                + "+ ? WHERE migration_id = ? AND run_uid = ? AND step_id = ?")) {
            ps.setLong(1, rows);
            ps.setString(2, lastKey);
            ps.setLong(3, millis);
            ps.setString(4, run.migrationId());
            ps.setString(5, run.uid());
            ps.setString(6, MigrationPlan.BACKFILL);
            if (ps.executeUpdate() != 1) {
                throw new SQLException("backfill history row missing for " + run.migrationId());
            }
        }
    }

    /** Starts the backfill's row (once), with the row estimate. */
    public static void startBackfill(Connection c, RunKey run, MigrationPlan.Planned p, long estimate)
            throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("""
                INSERT INTO dba_operator.migration_history
                  (migration_id, step_id, step, checksum, statement, outcome, rows_done, rows_estimated, duration_ms,
                   run_uid, plan_digest)
                VALUES (?, ?, ?, ?, ?, 'running', 0, ?, 0, ?, ?) ON CONFLICT (migration_id, run_uid, step_id) DO NOTHING""")) {
            ps.setString(1, run.migrationId());
            ps.setString(2, p.id());
            ps.setString(3, p.step());
            ps.setString(4, p.checksum());
            ps.setString(5, p.statement().sql());
            ps.setLong(6, estimate);
            ps.setString(7, run.uid());
            ps.setString(8, run.planDigest());
            ps.executeUpdate();
        }
    }

    public static void finishBackfill(Connection c, RunKey run) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("UPDATE dba_operator.migration_history SET outcome = 'applied', "
                + "finished_at = clock_timestamp() WHERE migration_id = ? AND run_uid = ? AND step_id = ?")) {
            ps.setString(1, run.migrationId());
            ps.setString(2, run.uid());
            ps.setString(3, MigrationPlan.BACKFILL);
            ps.executeUpdate();
        }
    }

    /** Who holds the lease. */
    public record Lease(String migrationId, String uid, Instant acquiredAt) {
    }

    public static Optional<Lease> lease(Connection c) throws SQLException {
        try (Statement s = c.createStatement();
                ResultSet rs = s.executeQuery("SELECT migration_id, uid, acquired_at FROM dba_operator.migration_lease")) {
            return rs.next() ? Optional.of(new Lease(rs.getString(1), rs.getString(2), rs.getTimestamp(3).toInstant()))
                    : Optional.empty();
        }
    }

    /** Takes the lease if free (autocommit); returns the holder afterwards. */
    public static Lease acquireLease(Connection c, String migrationId, String uid) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO dba_operator.migration_lease (migration_id, uid) "
                + "VALUES (?, ?) ON CONFLICT (singleton) DO NOTHING")) {
            ps.setString(1, migrationId);
            ps.setString(2, uid);
            ps.executeUpdate();
        }
        return lease(c).orElseThrow();
    }

    /** Releases the lease if this migration holds it. */
    public static void releaseLease(Connection c, String migrationId, String uid) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(
                "DELETE FROM dba_operator.migration_lease WHERE migration_id = ? AND uid = ?")) {
            ps.setString(1, migrationId);
            ps.setString(2, uid);
            ps.executeUpdate();
        }
    }

    /** Removes a lease whose holder no longer exists. */
    public static void breakLease(Connection c, Lease stale) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(
                "DELETE FROM dba_operator.migration_lease WHERE migration_id = ? AND uid = ?")) {
            ps.setString(1, stale.migrationId());
            ps.setString(2, stale.uid());
            ps.executeUpdate();
        }
    }
}
