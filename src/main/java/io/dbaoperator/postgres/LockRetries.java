package io.dbaoperator.postgres;

import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;

/**
 * One statement that takes a lock on an application's table, run the careful way: under a lock_timeout, so that it
 * never queues the application behind a long transaction, and a statement_timeout (none: 0), retried with jittered
 * backoff on a lock timeout or deadlock; a clean-up before each attempt and after a failed one (the INVALID leftover
 * of a concurrent index build). Outside a transaction: the connection is put in autocommit.
 */
public final class LockRetries {

    private LockRetries() {
    }

    /** Clean-up before each attempt and after a failed one; true when it removed something. */
    public interface Tidy {
        boolean run() throws SQLException;

        Tidy NONE = () -> false;
    }

    /** What a run took: attempts (1 without a retry), and whether a clean-up removed something. */
    public record Ran(int attempts, boolean tidied) {
    }

    /** A read that may wait on a lock. */
    public interface Read<T> {
        T run() throws SQLException;
    }

    /**
     * A read that takes a lock (a relation's size takes ACCESS SHARE, which waits behind a held or queued ACCESS
     * EXCLUSIVE), under lock_timeout, retried with the same backoff on a lock timeout.
     */
    public static <T> T read(Connection c, Duration lockTimeout, int maxRetries, Read<T> read) throws SQLException {
        for (int attempt = 1;; attempt++) {
            try (var s = c.createStatement()) {
                s.execute("SET lock_timeout = " + Math.max(1, lockTimeout.toMillis()));
                return read.run();
            } catch (SQLException e) {
                if (!SqlStates.lockConflict(e) || attempt > maxRetries) {
                    throw e;
                }
                backoff(attempt, e);
            } finally {
                try (var s = c.createStatement()) {
                    s.execute("RESET lock_timeout");
                }
            }
        }
    }

    private static void backoff(int attempt, SQLException e) throws SQLException {
        try {
            Thread.sleep(SqlStates.lockRetryBackoff(attempt).toMillis());
        } catch (InterruptedException ie) {
            Thread.currentThread().interrupt();
            throw e;
        }
    }

    /** @param timeout the statement_timeout; zero: none (a VACUUM is never cut off midway) */
    public static Ran run(Connection c, Duration lockTimeout, Duration timeout, int maxRetries, Tidy tidy,
            String sql) throws SQLException {
        c.setAutoCommit(true);
        boolean tidied = false;
        for (int attempt = 1;; attempt++) {
            tidied |= tidy.run();
            try (var s = c.createStatement()) {
                s.execute("SET lock_timeout = " + Math.max(1, lockTimeout.toMillis()));
                s.execute("SET statement_timeout = " + Math.max(0, timeout.toMillis()));
                s.execute(sql);
                s.execute("RESET lock_timeout");
                s.execute("RESET statement_timeout");
                return new Ran(attempt, tidied);
            } catch (SQLException e) {
                try (var s = c.createStatement()) {
                    s.execute("RESET lock_timeout");
                    s.execute("RESET statement_timeout");
                }
                tidied |= tidy.run();
                if (SqlStates.lockConflict(e) && attempt <= maxRetries) {
                    backoff(attempt, e);
                    continue;
                }
                throw e;
            }
        }
    }
}
