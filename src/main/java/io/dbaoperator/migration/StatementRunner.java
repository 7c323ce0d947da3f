package io.dbaoperator.migration;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Optional;

import org.jboss.logging.Logger;
import org.postgresql.util.PSQLException;

import io.dbaoperator.postgres.SqlStates;
import io.dbaoperator.sql.Identifiers;
import io.dbaoperator.sql.Statement;

/**
 * Runs one planned statement exactly once, with the lock discipline pgroll uses: {@code lock_timeout} before every
 * statement, and on a lock timeout (SQLSTATE 55P03) or deadlock (40P01) a retry after a jittered, growing pause, up
 * to {@code maxLockRetries}. A transactional statement commits together with its history row, so it is applied once
 * or not at all. A CONCURRENTLY statement cannot run in a transaction: its row is written as running first, it runs
 * with its own, longer budget (it waits for old transactions without blocking the application), and an INVALID
 * index it leaves behind is dropped before the next try.
 */
public final class StatementRunner {

    private static final Logger LOG = Logger.getLogger(StatementRunner.class);
    static final String QUERY_CANCELED = "57014";
    /** The drop of an INVALID leftover waits at most a minute for its lock (it blocks no reader meanwhile). */
    static final long LEFTOVER_DROP_LOCK_TIMEOUT_MS = 60_000;

    /** How statements run; durations already validated. */
    public record Settings(Duration lockTimeout, int maxLockRetries, Duration statementTimeout,
            Duration concurrentTimeout) {
    }

    /** What happened: skipped (already applied), or applied after {@code attempts} tries. */
    public record Outcome(boolean skipped, int attempts, long millis) {
        public int retries() {
            return Math.max(0, attempts - 1);
        }
    }

    private final Settings settings;

    public StatementRunner(Settings settings) {
        this.settings = settings;
    }

    /**
     * Runs one statement once.
     *
     * @param approval the approval the statement runs under (recorded with it in the history), or null when its
     *        step is not gated
     */
    public Outcome run(Connection c, MigrationStore.RunKey migrationId, MigrationPlan.Planned p, String approval)
            throws StepFailedException, SQLException {
        Optional<MigrationStore.Entry> done = MigrationStore.find(c, migrationId, p.id());
        if (done.isPresent() && !done.get().checksum().equals(p.checksum())) {
            throw new StepFailedException(p.id(), "statement " + p.id() + " was recorded in "
                    + "dba_operator.migration_history on " + done.get().startedAt() + " with checksum "
                    + done.get().checksum() + ", but the spec now says " + p.checksum() + ": a statement that ran must "
                    + "not be edited; create a new DatabaseMigration with a new name for a new change", null, 0, false);
        }
        if (done.isPresent() && done.get().done()) {
            return new Outcome(true, 0, 0);
        }
        return p.classification().transactional() ? transactional(c, migrationId, p, approval)
                : concurrently(c, migrationId, p, approval);
    }

    /** Records that this run found a statement's effects already in the catalog, and so does not run it. */
    public static void present(Connection c, MigrationStore.RunKey run, MigrationPlan.Planned p, String evidence)
            throws SQLException {
        boolean auto = c.getAutoCommit();
        c.setAutoCommit(true);
        try {
            MigrationStore.record(c, run, p, "present", 0, 0, evidence, null);
        } finally {
            c.setAutoCommit(auto);
        }
    }

    private Outcome transactional(Connection c, MigrationStore.RunKey migrationId, MigrationPlan.Planned p, String approval)
            throws StepFailedException, SQLException {
        long start = System.nanoTime();
        for (int attempt = 1;; attempt++) {
            c.setAutoCommit(false);
            try (var s = c.createStatement()) {
                s.execute("SET LOCAL lock_timeout = " + settings.lockTimeout.toMillis());
                s.execute("SET LOCAL statement_timeout = " + millis(settings.statementTimeout));
                s.execute(p.statement().sql());
                long ms = (System.nanoTime() - start) / 1_000_000;
                MigrationStore.record(c, migrationId, p, "applied", ms, attempt, retriesMessage(attempt), approval);
                c.commit();
                return new Outcome(false, attempt, ms);
            } catch (SQLException e) {
                c.rollback();
                if (SqlStates.lockConflict(e) && attempt <= settings.maxLockRetries) {
                    pause(p, attempt, e);
                    continue;
                }
                throw failed(c, migrationId, p, e, attempt, start);
            } finally {
                c.setAutoCommit(true);
            }
        }
    }

    private Outcome concurrently(Connection c, MigrationStore.RunKey migrationId, MigrationPlan.Planned p, String approval)
            throws StepFailedException, SQLException {
        c.setAutoCommit(true);
        long start = System.nanoTime();
        MigrationStore.record(c, migrationId, p, "running", 0, 0, null, approval);
        for (int attempt = 1;; attempt++) {
            dropInvalidLeftover(c, p);
            try (var s = c.createStatement()) {
                s.execute("SET lock_timeout = " + settings.concurrentTimeout.toMillis());
                s.execute("SET statement_timeout = " + settings.concurrentTimeout.toMillis());
                s.execute(p.statement().sql());
                s.execute("RESET lock_timeout");
                s.execute("RESET statement_timeout");
                long ms = (System.nanoTime() - start) / 1_000_000;
                MigrationStore.record(c, migrationId, p, "applied", ms, attempt, retriesMessage(attempt), approval);
                return new Outcome(false, attempt, ms);
            } catch (SQLException e) {
                if ((SqlStates.lockConflict(e) || QUERY_CANCELED.equals(e.getSQLState())) && attempt <= settings.maxLockRetries) {
                    pause(p, attempt, e);
                    continue;
                }
                dropInvalidLeftover(c, p);
                throw failed(c, migrationId, p, e, attempt, start);
            }
        }
    }

    /** A failed CREATE INDEX CONCURRENTLY leaves an INVALID index that IF NOT EXISTS would then accept: drop it. */
    static void dropInvalidLeftover(Connection c, MigrationPlan.Planned p) throws SQLException {
        if (!(p.statement() instanceof Statement.CreateIndex ci) || ci.name() == null) {
            return;
        }
        try (PreparedStatement ps = c.prepareStatement("SELECT n.nspname FROM pg_index i "
                + "JOIN pg_class x ON x.oid = i.indexrelid JOIN pg_namespace n ON n.oid = x.relnamespace "
                + "WHERE x.relname = ? AND NOT i.indisvalid AND n.nspname = coalesce(?, current_schema())")) {
            ps.setString(1, ci.name());
            ps.setString(2, ci.table().schema());
            try (ResultSet rs = ps.executeQuery()) {
                if (rs.next()) {
                    String schema = rs.getString(1);
                    LOG.infof("dropping INVALID index %s.%s left by an earlier try of %s", schema, ci.name(), p.id());
                    try (var s = c.createStatement()) {
                        s.execute("SET lock_timeout = " + LEFTOVER_DROP_LOCK_TIMEOUT_MS);
                        s.execute("DROP INDEX CONCURRENTLY IF EXISTS " + Identifiers.quote(schema) + "."
                                + Identifiers.quote(ci.name()));
                        s.execute("RESET lock_timeout");
                    }
                }
            }
        }
    }

    private static void pause(MigrationPlan.Planned p, int attempt, SQLException e) {
        Duration d = SqlStates.lockRetryBackoff(attempt);
        LOG.infof("%s: %s (try %d), retrying in %d ms", p.id(), SqlStates.DEADLOCK.equals(e.getSQLState()) ? "deadlock"
                : "lock timeout", attempt, d.toMillis());
        try {
            Thread.sleep(d.toMillis());
        } catch (InterruptedException ie) {
            Thread.currentThread().interrupt();
        }
    }

    private StepFailedException failed(Connection c, MigrationStore.RunKey migrationId, MigrationPlan.Planned p, SQLException e,
            int attempts, long start) throws SQLException {
        boolean lock = SqlStates.lockConflict(e);
        String message = lock ? p.id() + " could not get its lock within lock_timeout " + settings.lockTimeout.toMillis()
                + " ms in " + attempts + " tries (another transaction holds the table); nothing was applied"
                : p.id() + " failed: " + serverMessage(e);
        c.setAutoCommit(true);
        MigrationStore.record(c, migrationId, p, "failed", (System.nanoTime() - start) / 1_000_000, attempts, message,
                null);
        return new StepFailedException(p.id(), message, e.getSQLState(), position(e), lock);
    }

    static String serverMessage(SQLException e) {
        if (e instanceof PSQLException pe && pe.getServerErrorMessage() != null) {
            var m = pe.getServerErrorMessage();
            return m.getMessage() + " (SQLSTATE " + m.getSQLState() + (m.getPosition() > 0 ? ", position "
                    + m.getPosition() : "") + ")" + (m.getDetail() != null ? ": " + m.getDetail() : "");
        }
        return e.getMessage();
    }

    static int position(SQLException e) {
        return e instanceof PSQLException pe && pe.getServerErrorMessage() != null
                ? pe.getServerErrorMessage().getPosition() : 0;
    }

    private static String retriesMessage(int attempts) {
        return attempts > 1 ? "applied after " + (attempts - 1) + " lock timeout" + (attempts > 2 ? "s" : "") : "applied";
    }

    private static String millis(Duration d) {
        return d == null ? "0" : String.valueOf(d.toMillis());
    }
}
