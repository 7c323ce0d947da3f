package io.dbaoperator.maintenance;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

import io.dbaoperator.postgres.LockRetries;
import io.dbaoperator.sql.Identifiers;

/**
 * Runs one planned {@link MaintenancePlanner.Task} on the live database, the careful way, and reads the evidence
 * before and after it:
 * <ul>
 * <li>every statement that takes a lock runs under lock_timeout (VACUUM and ANALYZE take SHARE UPDATE EXCLUSIVE,
 * which DDL waits behind and which waits behind DDL; the concurrent index statements take it on the table), retried
 * with backoff on a lock timeout;</li>
 * <li>a VACUUM has no statement_timeout: once it runs it is never cut off midway; the vacuum cost settings are the
 * policy's, for that session only;</li>
 * <li>a REINDEX INDEX CONCURRENTLY that fails leaves no INVALID index behind: the {@code _ccnew}/{@code _ccold}
 * leftovers of that index are dropped (concurrently) before each attempt and after a failed one, also those of an
 * earlier run that was killed midway;</li>
 * <li>"done" only with evidence: fewer dead tuples, a younger freeze age, a newer ANALYZE, a new file behind a valid
 * index; otherwise the outcome says what the database shows and why that may be.</li>
 * </ul>
 */
public final class MaintenanceRunner {

    /**
     * How statements run.
     *
     * @param reindexTimeout the statement_timeout of a REINDEX CONCURRENTLY (zero: none)
     * @param vacuumCostDelay vacuum_cost_delay for the session in ms; null: the server's
     * @param vacuumCostLimit vacuum_cost_limit for the session; null: the server's
     */
    public record Settings(Duration lockTimeout, int maxLockRetries, Duration reindexTimeout, Integer vacuumCostDelay,
            Integer vacuumCostLimit) {

        public static final Settings DEFAULTS = new Settings(Duration.ofSeconds(1), 10, Duration.ZERO, null, null);
    }

    /**
     * One object as the database shows it. For a table: dead tuples, size, ages, modifications since the last
     * ANALYZE and its time; for an index: size, file, validity.
     */
    public record Evidence(long dead, long sizeBytes, long xidAge, long modifiedSinceAnalyze, Instant lastAnalyze,
            long relfilenode, boolean valid, boolean exists) {
    }

    /**
     * What a task did.
     *
     * @param effective the evidence shows the effect the task is for
     * @param note what the evidence says when it does not, or what else happened (a leftover dropped)
     */
    public record Outcome(MaintenancePlanner.Task task, String statement, Evidence before, Evidence after, long millis,
            int attempts, boolean effective, String note) {
    }

    private MaintenanceRunner() {
    }

    /** Runs pg_repack on one table (the caller holds the credentials the program needs). */
    @FunctionalInterface
    public interface Repacker {
        PgRepack.Result repack(String schema, String table) throws SQLException;
    }

    public static Outcome run(Connection c, MaintenancePlanner.Task task, Settings s) throws SQLException {
        return run(c, task, s, (schema, table) -> {
            throw new SQLException("no pg_repack runner was given for " + schema + "." + table);
        });
    }

    public static Outcome run(Connection c, MaintenancePlanner.Task task, Settings s, Repacker repacker)
            throws SQLException {
        c.setAutoCommit(true);
        if (task.kind() == MaintenancePlanner.Kind.Repack) {
            return repack(c, task, s, repacker);
        }
        String object = quoted(task.object());
        Evidence before = evidence(c, task, s);
        long start = System.nanoTime();
        String[] parts = split(task.object());
        String sql = switch (task.kind()) {
            case Freeze -> "VACUUM (FREEZE, ANALYZE) " + object;
            case Vacuum -> "VACUUM (ANALYZE) " + object;
            case Analyze -> "ANALYZE " + object;
            case DropLeftover -> "DROP INDEX CONCURRENTLY IF EXISTS " + object;
            case Reindex -> "REINDEX INDEX CONCURRENTLY " + object;
            case Repack -> throw new IllegalStateException("a repack runs the pg_repack program");
        };
        boolean vacuum = task.kind() == MaintenancePlanner.Kind.Freeze || task.kind() == MaintenancePlanner.Kind.Vacuum;
        boolean reindex = task.kind() == MaintenancePlanner.Kind.Reindex;
        LockRetries.Ran ran;
        try {
            if (vacuum) {
                try (var st = c.createStatement()) {
                    if (s.vacuumCostDelay() != null) {
                        st.execute("SET vacuum_cost_delay = " + s.vacuumCostDelay());
                    }
                    if (s.vacuumCostLimit() != null) {
                        st.execute("SET vacuum_cost_limit = " + s.vacuumCostLimit());
                    }
                }
            }
            // only a rebuild has a statement_timeout: a VACUUM, once running, is never cut off midway
            ran = LockRetries.run(c, s.lockTimeout(), reindex ? s.reindexTimeout() : Duration.ZERO,
                    s.maxLockRetries(), reindex ? () -> dropLeftovers(c, parts[0], parts[1]) : LockRetries.Tidy.NONE,
                    sql);
        } finally {
            if (vacuum) {
                try (var st = c.createStatement()) {
                    st.execute("RESET vacuum_cost_delay");
                    st.execute("RESET vacuum_cost_limit");
                }
            }
        }
        long millis = (System.nanoTime() - start) / 1_000_000;
        Evidence after = evidence(c, task, s);
        String note = ran.tidied() ? "dropped the INVALID leftover of an earlier REINDEX CONCURRENTLY that did not "
                + "finish" : null;
        String missing = missing(task, before, after);
        return new Outcome(task, sql, before, after, millis, ran.attempts(), missing == null,
                missing == null ? note : note == null ? missing : note + "; " + missing);
    }

    /**
     * pg_repack, tried again while it gives up waiting for a lock (it never kills the sessions holding one), with
     * what an earlier run killed midway left removed first. Effective when the table is on a new file.
     */
    private static Outcome repack(Connection c, MaintenancePlanner.Task task, Settings s, Repacker repacker)
            throws SQLException {
        String[] parts = split(task.object());
        Evidence before = evidence(c, task, s);
        long start = System.nanoTime();
        boolean tidied = false;
        PgRepack.Result result;
        int attempt = 0;
        do {
            attempt++;
            int tries = attempt;
            tidied |= LockRetries.read(c, s.lockTimeout(), s.maxLockRetries(),
                    () -> PgRepack.tidy(c, parts[0], parts[1]));
            result = repacker.repack(parts[0], parts[1]);
            if (result.exit() == 0 || !result.timedOut() || tries > s.maxLockRetries()) {
                break;
            }
            try {
                Thread.sleep(io.dbaoperator.postgres.SqlStates.lockRetryBackoff(tries).toMillis());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        } while (true);
        long millis = (System.nanoTime() - start) / 1_000_000;
        Evidence after = evidence(c, task, s);
        List<String> notes = new ArrayList<>();
        if (tidied) {
            notes.add("removed the trigger and tables an earlier pg_repack that did not finish left");
        }
        if (result.exit() != 0) {
            notes.add("pg_repack exited with " + result.exit() + (result.output().isEmpty() ? ""
                    : ": " + result.output()));
        }
        String missing = missing(task, before, after);
        if (missing != null) {
            notes.add(missing);
        }
        return new Outcome(task, "pg_repack --no-order --no-kill-backend --table " + task.object(), before, after,
                millis, attempt, missing == null, notes.isEmpty() ? null : String.join("; ", notes));
    }

    /** Null when the evidence shows the task's effect; else what it shows. */
    static String missing(MaintenancePlanner.Task task, Evidence before, Evidence after) {
        return switch (task.kind()) {
            case Freeze -> after.xidAge() < before.xidAge() ? null : "the freeze age did not fall (" + before.xidAge()
                    + " before, " + after.xidAge() + " after): an old transaction, prepared transaction or "
                    + "replication slot holds the horizon back";
            case Vacuum -> after.dead() < before.dead() ? null : "dead tuples did not fall (" + before.dead()
                    + " before, " + after.dead() + " after): an old transaction, prepared transaction or replication "
                    + "slot still sees them";
            case Analyze -> after.lastAnalyze() != null && (before.lastAnalyze() == null
                    || after.lastAnalyze().isAfter(before.lastAnalyze())) ? null : "no newer ANALYZE is recorded";
            case DropLeftover -> after.exists() ? "the index is still there" : null;
            case Reindex -> after.exists() && after.valid() && after.relfilenode() != before.relfilenode() ? null
                    : "the index was not rebuilt (exists " + after.exists() + ", valid " + after.valid()
                            + ", same file " + (after.relfilenode() == before.relfilenode()) + ")";
            case Repack -> after.exists() && after.relfilenode() != before.relfilenode() ? null
                    : "the table was not rewritten (it is on the same file)";
        };
    }

    /**
     * The object as the database shows it now. Its size is read under an ACCESS SHARE lock, which waits behind a
     * held or queued ACCESS EXCLUSIVE one: under lock_timeout, retried like the statements.
     */
    static Evidence evidence(Connection c, MaintenancePlanner.Task task, Settings s) throws SQLException {
        return LockRetries.read(c, s.lockTimeout(), s.maxLockRetries(), () -> evidence(c, task));
    }

    private static Evidence evidence(Connection c, MaintenancePlanner.Task task) throws SQLException {
        String[] parts = split(task.object());
        boolean index = task.kind() == MaintenancePlanner.Kind.Reindex
                || task.kind() == MaintenancePlanner.Kind.DropLeftover;
        String sql = index ? "select 0, pg_relation_size(x.oid), 0, 0, null::timestamptz, pg_relation_filenode(x.oid), "
                + "i.indisvalid from pg_index i join pg_class x on x.oid = i.indexrelid join pg_namespace n on "
                + "n.oid = x.relnamespace where n.nspname = ? and x.relname = ?"
                : "select s.n_dead_tup, pg_table_size(s.relid), greatest(age(c.relfrozenxid), coalesce(age("
                        + "t.relfrozenxid), 0), mxid_age(c.relminmxid)), s.n_mod_since_analyze, greatest("
                        + "s.last_analyze, s.last_autoanalyze), pg_relation_filenode(c.oid), true from "
                        + "pg_stat_user_tables s join pg_class c on c.oid = s.relid left join pg_class t on "
                        + "t.oid = c.reltoastrelid where s.schemaname = ? and s.relname = ?";
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            ps.setString(1, parts[0]);
            ps.setString(2, parts[1]);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    return new Evidence(0, 0, 0, 0, null, 0, false, false);
                }
                var analyzed = rs.getTimestamp(5);
                return new Evidence(rs.getLong(1), rs.getLong(2), rs.getLong(3), rs.getLong(4),
                        analyzed == null ? null : analyzed.toInstant(), rs.getLong(6), rs.getBoolean(7), true);
            }
        }
    }

    /**
     * Drops the INVALID {@code <index>_ccnew[N]} and {@code <index>_ccold[N]} indexes of {@code schema}: what a
     * REINDEX CONCURRENTLY of that index leaves when it fails or is killed. True when it dropped one.
     */
    static boolean dropLeftovers(Connection c, String schema, String index) throws SQLException {
        List<String> leftovers = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement("select x.relname from pg_index i join pg_class x on x.oid = "
                + "i.indexrelid join pg_namespace n on n.oid = x.relnamespace where n.nspname = ? and not "
                + "i.indisvalid and x.relname ~ ('^' || regexp_replace(?, '([^A-Za-z0-9_])', '\\\\\\1', 'g') || "
                + "'_cc(new|old)[0-9]*$')")) {
            ps.setString(1, schema);
            ps.setString(2, index);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    leftovers.add(rs.getString(1));
                }
            }
        }
        for (String leftover : leftovers) {
            try (var st = c.createStatement()) {
                st.execute("DROP INDEX CONCURRENTLY IF EXISTS " + Identifiers.quote(schema) + "."
                        + Identifiers.quote(leftover));
            }
        }
        return !leftovers.isEmpty();
    }

    private static String quoted(String qualified) {
        String[] parts = split(qualified);
        return Identifiers.quote(parts[0]) + "." + Identifiers.quote(parts[1]);
    }

    /** "schema.name" as the survey wrote it (schema names here have no dot). */
    private static String[] split(String qualified) {
        int dot = qualified.indexOf('.');
        return new String[] { qualified.substring(0, dot), qualified.substring(dot + 1) };
    }
}
