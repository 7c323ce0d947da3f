package io.dbaoperator.tuning;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;

import io.dbaoperator.postgres.LockRetries;
import io.dbaoperator.sql.Identifiers;

/**
 * Creates a recommended index on production the way a careful DBA does: CREATE INDEX CONCURRENTLY (no write is
 * blocked), outside a transaction, with a lock_timeout so it never queues the application behind a long
 * transaction, retried with jittered backoff on a lock timeout; an INVALID leftover of a failed earlier build (which
 * IF NOT EXISTS would accept) is dropped first, and said so.
 */
public final class IndexApplier {

    private IndexApplier() {
    }

    /** What the apply did; {@code existed}: a valid index of that name was there already (an earlier attempt). */
    public record Applied(int attempts, boolean leftoverDropped, long millis, boolean existed) {
    }

    /** @param ddl the recommendation's CREATE INDEX CONCURRENTLY statement, creating index {@code name} */
    public static Applied apply(Connection c, String name, String ddl, Duration lockTimeout, int maxRetries,
            Duration buildTimeout) throws SQLException {
        c.setAutoCommit(true);
        long start = System.nanoTime();
        if (validExists(c, name)) {
            return new Applied(0, false, 0, true);
        }
        LockRetries.Ran ran = LockRetries.run(c, lockTimeout, buildTimeout, maxRetries, () -> dropInvalid(c, name),
                ddl.replaceFirst("^CREATE INDEX CONCURRENTLY ", "CREATE INDEX CONCURRENTLY IF NOT EXISTS "));
        return new Applied(ran.attempts(), ran.tidied(), (System.nanoTime() - start) / 1_000_000, false);
    }

    /**
     * DROP INDEX CONCURRENTLY, the same careful way: reads and writes go on, a lock_timeout keeps it from queueing
     * the application behind a long transaction, retried with backoff on a lock timeout. Returns the attempts, 0
     * when the index was not there.
     */
    public static int drop(Connection c, String schema, String name, Duration lockTimeout, int maxRetries,
            Duration timeout) throws SQLException {
        c.setAutoCommit(true);
        if (!exists(c, schema, name)) {
            return 0;
        }
        return LockRetries.run(c, lockTimeout, timeout, maxRetries, LockRetries.Tidy.NONE, "DROP INDEX CONCURRENTLY IF EXISTS "
                + Identifiers.quote(schema) + "." + Identifiers.quote(name)).attempts();
    }

    private static boolean exists(Connection c, String schema, String name) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("select 1 from pg_class x join pg_namespace n on "
                + "n.oid = x.relnamespace where n.nspname = ? and x.relname = ? and x.relkind in ('i', 'I')")) {
            ps.setString(1, schema);
            ps.setString(2, name);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next();
            }
        }
    }

    private static boolean validExists(Connection c, String name) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("select 1 from pg_index i join pg_class x on "
                + "x.oid = i.indexrelid where x.relname = ? and i.indisvalid")) {
            ps.setString(1, name);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next();
            }
        }
    }

    /** Drops the index of this name if it exists and is INVALID; true when it did. */
    static boolean dropInvalid(Connection c, String name) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("select n.nspname from pg_index i join pg_class x on "
                + "x.oid = i.indexrelid join pg_namespace n on n.oid = x.relnamespace where x.relname = ? "
                + "and not i.indisvalid")) {
            ps.setString(1, name);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    return false;
                }
                try (var s = c.createStatement()) {
                    s.execute("DROP INDEX CONCURRENTLY IF EXISTS " + Identifiers.quote(rs.getString(1)) + "."
                            + Identifiers.quote(name));
                }
                return true;
            }
        }
    }

    /** idx_scan, size and validity (1 valid, 0 INVALID) of the index, or null when it does not exist. */
    public static long[] usage(Connection c, String indexName) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("select s.idx_scan, pg_relation_size(s.indexrelid), "
                + "i.indisvalid from pg_stat_user_indexes s join pg_index i on i.indexrelid = s.indexrelid "
                + "where s.indexrelname = ?")) {
            ps.setString(1, indexName);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? new long[] { rs.getLong(1), rs.getLong(2), rs.getBoolean(3) ? 1 : 0 } : null;
            }
        }
    }
}
