package io.dbaoperator.migration;

import io.dbaoperator.postgres.BatchPacer;
import io.dbaoperator.kube.Durations;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Types;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.function.BooleanSupplier;

import org.jboss.logging.Logger;

import io.dbaoperator.api.migration.DatabaseMigrationSpec;
import io.dbaoperator.postgres.SqlStates;
import io.dbaoperator.sql.Identifiers;
import io.dbaoperator.sql.QualifiedName;

/**
 * The backfill: key-ordered batches, each its own short transaction that also advances the history row's
 * {@code last_key} and {@code rows_done}, so a batch is committed with its progress or not at all, and a restarted
 * operator resumes after the last committed batch without touching a row twice. Works in slices: at most
 * {@code sliceLength} per call, so the reconciler can write progress to status, honour {@code paused}, and yield.
 * Batches wait while a replica replays more than {@code maxReplicationLag} behind. Each batch is paced by a
 * {@link BatchPacer} (spec.backfill.pacing): its size follows how long the last one took against the target, between
 * a floor and batchSize, and the loop backs off while the batches make the application wait or the server is busy.
 */
public final class Backfill {

    private static final Logger LOG = Logger.getLogger(Backfill.class);

    private final DatabaseMigrationSpec.Backfill spec;
    private final QualifiedName table;
    private final Duration lockTimeout;
    private final int maxLockRetries;
    private final Duration pause;
    private final Duration maxLag;
    private final BatchPacer.Settings pacing;

    public Backfill(DatabaseMigrationSpec.Backfill spec, Duration lockTimeout, int maxLockRetries, Duration pause,
            Duration maxLag) {
        this.spec = spec;
        this.table = QualifiedName.parse(spec.table);
        this.lockTimeout = lockTimeout;
        this.maxLockRetries = maxLockRetries;
        this.pause = pause;
        this.maxLag = maxLag;
        this.pacing = BatchPacer.Settings.of(spec.batchSize, pause, spec.pacing, Durations.parse(
                "spec.backfill.pacing.targetBatchDuration", spec.pacing == null || spec.pacing.targetBatchDuration
                        == null ? "100ms" : spec.pacing.targetBatchDuration));
    }

    /** The backfill as the plan shows it (and checksums it). */
    public static String describe(DatabaseMigrationSpec.Backfill b) {
        return "UPDATE " + b.table + " SET " + b.set + (b.where == null ? "" : " WHERE " + b.where) + " -- in batches of "
                + b.batchSize + " ordered by " + b.keyColumn;
    }

    /**
     * The batch's upper key: the batchSize-th matching key after the last one (an index range scan of batchSize
     * keys), or no row when fewer are left. The text form gets its own name: an output column named like the key
     * would make ORDER BY sort by the text (10 before 9), which is a full scan and sort per batch, and batches far
     * larger than batchSize.
     */
    String upperKeySql(boolean first, int size) {
        String key = Identifiers.quote(spec.keyColumn);
        return "SELECT " + key + "::text AS dba_upper_key FROM " + table.quoted() + where(first, false) + " ORDER BY "
                + key + " OFFSET " + (size - 1) + " LIMIT 1";
    }

    /**
     * The batch: an UPDATE over a key range, so that PostgreSQL plans an index range scan rather than joining a
     * key list against the whole table; returns the rows it changed and the last key.
     */
    String batchSql(boolean first, boolean bounded) {
        String key = Identifiers.quote(spec.keyColumn);
        return "WITH dba_updated AS (UPDATE " + table.quoted() + " SET " + spec.set + where(first, bounded)
                + " RETURNING " + key + " AS dba_key) SELECT count(*), max(dba_key)::text FROM dba_updated";
    }

    private String where(boolean first, boolean bounded) {
        String key = Identifiers.quote(spec.keyColumn);
        List<String> parts = new java.util.ArrayList<>();
        if (!first) {
            parts.add(key + " > ?");
        }
        if (bounded) {
            parts.add(key + " <= ?");
        }
        if (spec.where != null) {
            parts.add("(" + spec.where + ")");
        }
        return parts.isEmpty() ? "" : " WHERE " + String.join(" AND ", parts);
    }

    /**
     * Progress after a slice: {@code throttled} when it stopped for a replica's lag; {@code batchSize} the size
     * the pacer holds now, {@code paced} why it throttled the last batch (null when it did not).
     */
    public record Progress(long rowsDone, long rowsEstimated, String lastKey, boolean finished, double rowsPerSecond,
            String throttled, boolean fromHistory, int batchSize, String paced) {

        Progress(long rowsDone, long rowsEstimated, String lastKey, boolean finished, double rowsPerSecond,
                String throttled, BatchPacer pacer, String paced) {
            this(rowsDone, rowsEstimated, lastKey, finished, rowsPerSecond, throttled, false, pacer.batchSize(),
                    paced);
        }
    }

    /** At most this many unfilled rows are counted: the evidence needs one, the message a rough size. */
    static final int UNFILLED_LIMIT = 1000;

    /**
     * The rows a finished backfill should have filled and did not: in its {@code where}, a column its {@code set}
     * assigns is NULL while the expression it assigns has a value. Null-only, so that volatile expressions (now())
     * and later writes by the application do not count as missing; tuple assignments ({@code (a, b) = ...}) are not
     * checked. Null when there is nothing to check.
     */
    String unfilledSql() {
        List<String> missing = new java.util.ArrayList<>();
        for (BackfillColumns.Assignment a : BackfillColumns.simple(spec.set)) {
            missing.add("(" + a.column() + " IS NULL AND (" + a.expression() + ") IS NOT NULL)");
        }
        if (missing.isEmpty()) {
            return null;
        }
        return "SELECT count(*) FROM (SELECT 1 FROM " + table.quoted() + " WHERE "
                + (spec.where == null ? "" : "(" + spec.where + ") AND ") + "(" + String.join(" OR ", missing)
                + ") LIMIT " + UNFILLED_LIMIT + ") dba_unfilled";
    }

    /** How many rows {@link #unfilledSql} finds (up to {@link #UNFILLED_LIMIT}); 0 when nothing can be checked. */
    public long unfilled(Connection c) throws SQLException {
        String sql = unfilledSql();
        if (sql == null) {
            return 0;
        }
        try (var s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        }
    }

    /** Rows the backfill is expected to touch: the planner's estimate, or an exact count on small tables. */
    public long estimate(Connection c) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT c.reltuples::bigint FROM pg_class c "
                + "WHERE c.oid = to_regclass(?)")) {
            ps.setString(1, table.quoted());
            try (ResultSet rs = ps.executeQuery()) {
                long reltuples = rs.next() ? rs.getLong(1) : -1;
                if (reltuples >= 100_000) {
                    return reltuples;
                }
            }
        }
        try (var s = c.createStatement();
                ResultSet rs = s.executeQuery("SELECT count(*) FROM " + table.quoted()
                        + (spec.where == null ? "" : " WHERE (" + spec.where + ")"))) {
            rs.next();
            return rs.getLong(1);
        }
    }

    /**
     * Runs batches until done, the slice ends, or {@code stop} says so (paused). Returns the progress as committed.
     */
    public Progress slice(Connection c, MigrationStore.RunKey migrationId, MigrationPlan.Planned planned, Duration sliceLength,
            BooleanSupplier stop) throws SQLException, StepFailedException {
        return slice(c, migrationId, planned, sliceLength, stop, null);
    }

    /** As above, the pacer resuming at {@code resumeSize} (the size the last slice ended with; null: batchSize). */
    public Progress slice(Connection c, MigrationStore.RunKey migrationId, MigrationPlan.Planned planned,
            Duration sliceLength, BooleanSupplier stop, Integer resumeSize) throws SQLException, StepFailedException {
        BatchPacer pacer = new BatchPacer(pacing, resumeSize);
        MigrationStore.Entry entry = MigrationStore.find(c, migrationId, planned.id()).orElse(null);
        if (entry == null) {
            MigrationStore.startBackfill(c, migrationId, planned, estimate(c));
            entry = MigrationStore.find(c, migrationId, planned.id()).orElseThrow();
        }
        if (!entry.checksum().equals(planned.checksum())) {
            throw new StepFailedException(planned.id(), "the backfill was started with checksum " + entry.checksum()
                    + " but the spec now says " + planned.checksum() + ": a running backfill must not be edited",
                    null, 0, false);
        }
        long done = entry.rowsDone() == null ? 0 : entry.rowsDone();
        long estimated = entry.rowsEstimated() == null ? 0 : entry.rowsEstimated();
        String lastKey = entry.lastKey();
        if ("applied".equals(entry.outcome())) {
            return new Progress(done, estimated, lastKey, true, 0, null, true, pacer.batchSize(), null);
        }
        Instant sliceEnd = Instant.now().plus(sliceLength);
        long sliceRows = 0;
        long sliceStart = System.nanoTime();
        String paced = null;
        while (Instant.now().isBefore(sliceEnd) && !stop.getAsBoolean()) {
            String lag = replicationLag(c);
            if (lag != null) {
                return new Progress(done, estimated, lastKey, false, rate(sliceRows, sliceStart), lag, pacer, paced);
            }
            int size = pacer.batchSize();
            long started = System.nanoTime();
            Batch b = batch(c, migrationId, planned, lastKey, size);
            done += b.rows;
            sliceRows += b.rows;
            lastKey = b.lastKey;
            if (b.last) {
                MigrationStore.finishBackfill(c, migrationId);
                return new Progress(done, estimated, lastKey, true, rate(sliceRows, sliceStart), null, pacer, null);
            }
            BatchPacer.Pace pace = pacer.next(b.rows, size, Duration.ofNanos(System.nanoTime() - started), b.load);
            paced = pace.throttled();
            sleep(pace.pause());
        }
        return new Progress(done, estimated, lastKey, false, rate(sliceRows, sliceStart), null, pacer, paced);
    }

    /**
     * A committed batch; {@code last} when it reached the end of the table; {@code load} what the application
     * showed just before its commit.
     */
    private record Batch(long rows, String lastKey, boolean last, BatchPacer.Load load) {
    }

    private Batch batch(Connection c, MigrationStore.RunKey migrationId, MigrationPlan.Planned planned, String lastKey,
            int size) throws SQLException, StepFailedException {
        for (int attempt = 1;; attempt++) {
            long start = System.nanoTime();
            c.setAutoCommit(false);
            try (var s = c.createStatement()) {
                s.execute("SET LOCAL lock_timeout = " + lockTimeout.toMillis());
                // a batch is background work: never fan out into parallel workers that take the application's cores
                s.execute("SET LOCAL max_parallel_workers_per_gather = 0");
                String upper = null;
                try (PreparedStatement ps = c.prepareStatement(upperKeySql(lastKey == null, size))) {
                    if (lastKey != null) {
                        ps.setObject(1, lastKey, Types.OTHER);
                    }
                    try (ResultSet rs = ps.executeQuery()) {
                        upper = rs.next() ? rs.getString(1) : null;
                    }
                }
                try (PreparedStatement ps = c.prepareStatement(batchSql(lastKey == null, upper != null))) {
                    int i = 1;
                    if (lastKey != null) {
                        ps.setObject(i++, lastKey, Types.OTHER);
                    }
                    if (upper != null) {
                        ps.setObject(i, upper, Types.OTHER);
                    }
                    try (ResultSet rs = ps.executeQuery()) {
                        rs.next();
                        long rows = rs.getLong(1);
                        String key = rs.getString(2);
                        MigrationStore.recordBatch(c, migrationId, rows, key, (System.nanoTime() - start) / 1_000_000);
                        // the sessions this batch's row locks hold up, read while they are still held
                        BatchPacer.Load load = BatchPacer.observe(c);
                        c.commit();
                        return new Batch(rows, key == null ? lastKey : key, upper == null, load);
                    }
                }
            } catch (SQLException e) {
                c.rollback();
                boolean lock = SqlStates.lockConflict(e);
                if (lock && attempt <= maxLockRetries) {
                    sleep(SqlStates.lockRetryBackoff(attempt));
                    continue;
                }
                String message = "backfill batch after key " + lastKey + " failed: " + StatementRunner.serverMessage(e);
                LOG.info(message);
                throw new StepFailedException(planned.id(), message, e.getSQLState(), StatementRunner.position(e), lock);
            } finally {
                c.setAutoCommit(true);
            }
        }
    }

    /** A message when some replica replays further behind than allowed, else null. */
    private String replicationLag(Connection c) throws SQLException {
        // Only standbys that replay count: a WAL archiver (pg_receivewal: ours, barman's) never replays, and its
        // replay_lag only grows while it streams; holding a backfill for it would hold it forever.
        try (var s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT application_name, "
                + "extract(epoch FROM replay_lag) FROM pg_stat_replication WHERE replay_lag IS NOT NULL "
                + "AND replay_lsn IS NOT NULL AND application_name NOT IN ('dba-operator-wal-archiver', "
                + "'pg_receivewal', 'barman_receive_wal') ORDER BY replay_lag DESC LIMIT 1")) {
            if (rs.next() && rs.getDouble(2) * 1000 > maxLag.toMillis()) {
                return "replica " + rs.getString(1) + " replays " + Math.round(rs.getDouble(2)) + " s behind (more "
                        + "than maxReplicationLag " + maxLag.toSeconds() + " s): waiting";
            }
        }
        return null;
    }

    private static double rate(long rows, long startNanos) {
        double seconds = (System.nanoTime() - startNanos) / 1e9;
        return seconds <= 0 ? 0 : rows / seconds;
    }

    private static void sleep(Duration d) {
        if (d.isZero()) {
            return;
        }
        try {
            Thread.sleep(d.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
