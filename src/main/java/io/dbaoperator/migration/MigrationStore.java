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
 * the operator: {@code dba_operator.migration_history} (one row per statement, committed in the same transaction as
 * the statement itself where PostgreSQL allows), {@code dba_operator.migration_lease} (which migration owns the
 * database until it ends: two migrations never interleave), and a session advisory lock held while a reconcile
 * works on the database (two operator replicas never run the same step at once).
 */
public final class MigrationStore {

    private static final String DDL = """
            CREATE SCHEMA IF NOT EXISTS dba_operator;
            CREATE TABLE IF NOT EXISTS dba_operator.migration_history (
              migration_id  text NOT NULL,
              step_id       text NOT NULL,
              step          text NOT NULL,
              checksum      text NOT NULL,
              statement     text NOT NULL,
              outcome       text NOT NULL CHECK (outcome IN ('running', 'applied', 'failed')),
              started_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
              finished_at   timestamptz,
              duration_ms   bigint,
              attempts      integer NOT NULL DEFAULT 1,
              rows_done     bigint,
              rows_estimated bigint,
              last_key      text,
              message       text,
              approval      text,
              PRIMARY KEY (migration_id, step_id)
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
        } finally {
            c.setAutoCommit(auto);
        }
    }

    /** One history row. */
    public record Entry(String migrationId, String stepId, String step, String checksum, String statement,
            String outcome, Instant startedAt, Instant finishedAt, Long durationMs, int attempts, Long rowsDone,
            Long rowsEstimated, String lastKey, String message, String approval) {
    }

    public static Optional<Entry> find(Connection c, String migrationId, String stepId) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(SELECT + " WHERE migration_id = ? AND step_id = ?")) {
            ps.setString(1, migrationId);
            ps.setString(2, stepId);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? Optional.of(entry(rs)) : Optional.empty();
            }
        }
    }

    public static List<Entry> list(Connection c, String migrationId) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(SELECT + " WHERE migration_id = ? ORDER BY started_at, step_id")) {
            ps.setString(1, migrationId);
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
    public static void record(Connection c, String migrationId, MigrationPlan.Planned p, String outcome,
            long durationMs, int attempts, String message, String approval) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("""
                INSERT INTO dba_operator.migration_history AS h
                  (migration_id, step_id, step, checksum, statement, outcome, finished_at, duration_ms, attempts, message,
                   approval)
                VALUES (?, ?, ?, ?, ?, ?, CASE WHEN ? = 'running' THEN NULL ELSE clock_timestamp() END, ?, ?, ?, ?)
                ON CONFLICT (migration_id, step_id) DO UPDATE SET outcome = excluded.outcome,
                  finished_at = excluded.finished_at, duration_ms = excluded.duration_ms,
                  attempts = h.attempts + excluded.attempts, message = excluded.message,
                  checksum = excluded.checksum, statement = excluded.statement,
                  approval = coalesce(excluded.approval, h.approval)""")) {
            ps.setString(1, migrationId);
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
            ps.executeUpdate();
        }
    }

    /** Records a committed backfill batch, in the batch's own transaction. */
    public static void recordBatch(Connection c, String migrationId, long rows, String lastKey, long millis)
            throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("UPDATE dba_operator.migration_history SET rows_done = "
                + "coalesce(rows_done, 0) + ?, last_key = coalesce(?, last_key), duration_ms = coalesce(duration_ms, 0) "
                + "+ ? WHERE migration_id = ? AND step_id = ?")) {
            ps.setLong(1, rows);
            ps.setString(2, lastKey);
            ps.setLong(3, millis);
            ps.setString(4, migrationId);
            ps.setString(5, MigrationPlan.BACKFILL);
            if (ps.executeUpdate() != 1) {
                throw new SQLException("backfill history row missing for " + migrationId);
            }
        }
    }

    /** Starts the backfill's row (once), with the row estimate. */
    public static void startBackfill(Connection c, String migrationId, MigrationPlan.Planned p, long estimate)
            throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("""
                INSERT INTO dba_operator.migration_history
                  (migration_id, step_id, step, checksum, statement, outcome, rows_done, rows_estimated, duration_ms)
                VALUES (?, ?, ?, ?, ?, 'running', 0, ?, 0) ON CONFLICT (migration_id, step_id) DO NOTHING""")) {
            ps.setString(1, migrationId);
            ps.setString(2, p.id());
            ps.setString(3, p.step());
            ps.setString(4, p.checksum());
            ps.setString(5, p.statement().sql());
            ps.setLong(6, estimate);
            ps.executeUpdate();
        }
    }

    public static void finishBackfill(Connection c, String migrationId) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("UPDATE dba_operator.migration_history SET outcome = 'applied', "
                + "finished_at = clock_timestamp() WHERE migration_id = ? AND step_id = ?")) {
            ps.setString(1, migrationId);
            ps.setString(2, MigrationPlan.BACKFILL);
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
