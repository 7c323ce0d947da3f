package io.dbaoperator.postgres;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;

/**
 * What the workflows that write to a managed database (migrations, disposals) decide from a failure's SQLSTATE, the
 * advisory locks that keep two workers off one database, and the upkeep of their own tables there.
 */
public final class SqlStates {

    public static final String LOCK_NOT_AVAILABLE = "55P03";
    public static final String DEADLOCK = "40P01";

    /** Advisory lock keys (classid "dba0", objid per workflow). Advisory locks are per database already. */
    public static final int LOCK_CLASS = 0x64626130;
    public static final int LOCK_MIGRATIONS = 1;
    public static final int LOCK_DISPOSALS = 2;
    public static final int LOCK_MAINTENANCE = 3;

    private SqlStates() {
    }

    /** Another transaction held the lock (lock_timeout) or we deadlocked with it: worth a retry after a pause. */
    public static boolean lockConflict(SQLException e) {
        return LOCK_NOT_AVAILABLE.equals(e.getSQLState()) || DEADLOCK.equals(e.getSQLState());
    }

    /** 08xxx: connection exceptions; 57P01-57P03: the server shut down or terminated the backend. */
    public static boolean connectionLost(SQLException e) {
        String state = e.getSQLState() == null ? "" : e.getSQLState();
        return state.startsWith("08") || state.startsWith("57P0");
    }

    /** Full jitter on an exponential base (100 ms doubling, capped at 5 s), so retries never align. */
    public static Duration lockRetryBackoff(int attempt) {
        long cap = Math.min(5_000, 100L << Math.min(attempt, 10));
        return Duration.ofMillis(cap / 2 + ThreadLocalRandom.current().nextLong(cap / 2 + 1));
    }

    /**
     * Adds {@code column} to one of the operator's own tables ({@code table} and {@code type} are constants of the
     * code, never user input) when an older version created the table without it. Looked up first, so a table that
     * has it takes no lock.
     */
    public static void addColumnIfMissing(Connection c, String table, String column, String type)
            throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT 1 FROM pg_attribute WHERE attrelid = ?::regclass "
                + "AND attname = ? AND NOT attisdropped")) {
            ps.setString(1, table);
            ps.setString(2, column);
            try (ResultSet rs = ps.executeQuery()) {
                if (rs.next()) {
                    return;
                }
            }
        }
        try (var s = c.createStatement()) {
            s.execute("ALTER TABLE " + table + " ADD COLUMN IF NOT EXISTS " + column + " " + type);
        }
    }

    /** Takes the session advisory lock {@code (LOCK_CLASS, objid)}, or returns false when another session holds it. */
    public static boolean tryAdvisoryLock(Connection c, int objid) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT pg_try_advisory_lock(?, ?)")) {
            ps.setInt(1, LOCK_CLASS);
            ps.setInt(2, objid);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getBoolean(1);
            }
        }
    }
}
