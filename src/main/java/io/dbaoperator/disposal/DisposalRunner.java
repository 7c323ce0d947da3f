package io.dbaoperator.disposal;

import io.dbaoperator.postgres.BatchPacer;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Types;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.function.BooleanSupplier;

import io.dbaoperator.postgres.SqlStates;
import io.dbaoperator.sql.Identifiers;

/**
 * Runs a disposal: exact counts in one read-only snapshot, then short batches ordered by the rule's key, each
 * committed together with its progress row in {@code dba_operator.disposal_progress}, so that a run interrupted
 * anywhere resumes after its last committed batch and never touches a row twice. Tables without a usable key
 * (Delete only) are worked through by ctid: a deleted row cannot be deleted twice.
 */
public final class DisposalRunner {

    private static final String DDL = """
            CREATE SCHEMA IF NOT EXISTS dba_operator;
            CREATE TABLE IF NOT EXISTS dba_operator.disposal_progress (
              job_id     text NOT NULL,
              run_id     text NOT NULL,
              rule       text NOT NULL,
              rows_done  bigint NOT NULL DEFAULT 0,
              last_key   text,
              finished   boolean NOT NULL DEFAULT false,
              started_at timestamptz NOT NULL DEFAULT clock_timestamp(),
              updated_at timestamptz NOT NULL DEFAULT clock_timestamp(),
              approval   text,
              PRIMARY KEY (job_id, run_id, rule)
            );
            """;

    private final Duration lockTimeout;
    private final Duration pause;
    private final io.dbaoperator.api.common.Pacing pacing;
    private final Duration target;

    public DisposalRunner(Duration lockTimeout, Duration pause) {
        this(lockTimeout, pause, null);
    }

    /** With each rule's batches paced by {@code pacing} (spec.pacing; null: the defaults). */
    public DisposalRunner(Duration lockTimeout, Duration pause, io.dbaoperator.api.common.Pacing pacing) {
        this.lockTimeout = lockTimeout;
        this.pause = pause;
        this.pacing = pacing;
        this.target = io.dbaoperator.kube.Durations.parse("spec.pacing.targetBatchDuration",
                pacing == null || pacing.targetBatchDuration == null ? "100ms" : pacing.targetBatchDuration);
    }

    public static void ensureSchema(Connection c) throws SQLException {
        try (var s = c.createStatement()) {
            ResultSet rs = s.executeQuery("SELECT to_regclass('dba_operator.disposal_progress') IS NOT NULL");
            rs.next();
            if (!rs.getBoolean(1)) {
                s.execute(DDL);
            }
            // progress tables created before each run recorded the approval it ran under
            SqlStates.addColumnIfMissing(c, "dba_operator.disposal_progress", "approval", "text");
        }
    }

    /** What a rule matches, counted exactly, and what the foreign keys pointing at it imply. */
    public record Count(long matched, long total, List<String> notes, String blockedBy) {
    }

    /** Counts every rule in one REPEATABLE READ, READ ONLY snapshot. */
    public static List<Count> count(Connection c, List<DisposalPlanner.RulePlan> plans, boolean deleteChildrenCheck)
            throws SQLException {
        boolean auto = c.getAutoCommit();
        c.setAutoCommit(false);
        try (var s = c.createStatement()) {
            s.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY");
            List<Count> counts = new java.util.ArrayList<>();
            for (DisposalPlanner.RulePlan p : plans) {
                long matched = scalar(s, "SELECT count(*) FROM " + p.table().quoted() + " WHERE " + p.predicate());
                long total = scalar(s, "SELECT count(*) FROM " + p.table().quoted());
                List<String> notes = new java.util.ArrayList<>();
                String blockedBy = null;
                if (p.delete()) {
                    for (DisposalPlanner.Reference r : p.references()) {
                        long children = scalar(s, "SELECT count(*) FROM " + r.child().quoted() + " c WHERE EXISTS "
                                + "(SELECT 1 FROM " + p.table().quoted() + " p WHERE " + join(r) + " AND "
                                + qualified(p.predicate()) + ")");
                        notes.add(r.describe() + ": " + children + " referencing row(s)");
                        if (children > 0 && r.blocks() && !Boolean.TRUE.equals(p.rule().deleteChildren)) {
                            blockedBy = r.constraint();
                        }
                        if (children > 0 && r.blocks() && Boolean.TRUE.equals(p.rule().deleteChildren)
                                && r.childColumns().size() != 1) {
                            blockedBy = r.constraint() + " (deleteChildren handles single-column keys only)";
                        }
                    }
                }
                counts.add(new Count(matched, total, notes, blockedBy));
            }
            return counts;
        } finally {
            c.rollback();
            c.setAutoCommit(auto);
        }
    }

    /** The predicate evaluated on alias p: unqualified column names resolve to p inside the subquery anyway. */
    /** At most this many rows are counted by {@link #stillMatching}. */
    public static final int STILL_MATCHING_LIMIT = 1000;

    /**
     * The evidence behind "deleted": rows a Delete rule still matches after its batches finished (up to
     * {@link #STILL_MATCHING_LIMIT}).
     */
    public static long stillMatching(Connection c, DisposalPlanner.RulePlan p) throws SQLException {
        try (var s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT count(*) FROM (SELECT 1 FROM "
                + p.table().quoted() + " WHERE " + p.predicate() + " LIMIT " + STILL_MATCHING_LIMIT + ") dba_left")) {
            rs.next();
            return rs.getLong(1);
        }
    }

    private static String qualified(String predicate) {
        return predicate;
    }

    private static String join(DisposalPlanner.Reference r) {
        StringBuilder on = new StringBuilder();
        for (int i = 0; i < r.childColumns().size(); i++) {
            on.append(i == 0 ? "" : " AND ").append("c.").append(Identifiers.quote(r.childColumns().get(i)))
                    .append(" = p.").append(Identifiers.quote(r.parentColumns().get(i)));
        }
        return on.toString();
    }

    private static long scalar(java.sql.Statement s, String sql) throws SQLException {
        try (ResultSet rs = s.executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        }
    }

    /**
     * Progress of one rule in one run; {@code batchSize} and {@code paced} (why the last batch was slowed) once a
     * slice ran its batches, else 0 and null.
     */
    public record Progress(long rowsDone, String lastKey, boolean finished, int batchSize, String paced) {
        public Progress(long rowsDone, String lastKey, boolean finished) {
            this(rowsDone, lastKey, finished, 0, null);
        }

        /** Into the rule's status: the rows done, and while it runs its batch size and why it was slowed. */
        public void report(io.dbaoperator.api.disposal.DisposalJobStatus.RuleProgress rule) {
            rule.done = rowsDone;
            rule.batchSize = finished ? null : batchSize > 0 ? Integer.valueOf(batchSize) : rule.batchSize;
            rule.throttled = finished ? null : paced;
        }
    }

    public static Progress progress(Connection c, String jobId, String runId, String rule) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT rows_done, last_key, finished FROM "
                + "dba_operator.disposal_progress WHERE job_id = ? AND run_id = ? AND rule = ?")) {
            ps.setString(1, jobId);
            ps.setString(2, runId);
            ps.setString(3, rule);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? new Progress(rs.getLong(1), rs.getString(2), rs.getBoolean(3))
                        : new Progress(0, null, false);
            }
        }
    }

    /**
     * Works on one rule until it is done, {@code sliceEnd} passes, or {@code stop} says so. Returns the committed
     * progress.
     *
     * @param approval the approval the run executes under, recorded in its progress row
     */
    public Progress slice(Connection c, String jobId, String runId, DisposalPlanner.RulePlan p, String salt,
            String approval, Instant sliceEnd, BooleanSupplier stop) throws SQLException {
        return slice(c, jobId, runId, p, salt, approval, sliceEnd, stop, null);
    }

    /** As above, the rule's pacer resuming at {@code resumeSize} (the last slice's size; null: its batchSize). */
    public Progress slice(Connection c, String jobId, String runId, DisposalPlanner.RulePlan p, String salt,
            String approval, Instant sliceEnd, BooleanSupplier stop, Integer resumeSize) throws SQLException {
        BatchPacer pacer = new BatchPacer(BatchPacer.Settings.of(p.rule().batchSize, pause, pacing, target),
                resumeSize);
        Progress done = progress(c, jobId, runId, p.name());
        String paced = null;
        while (!done.finished() && Instant.now().isBefore(sliceEnd) && !stop.getAsBoolean()) {
            int size = pacer.batchSize();
            long started = System.nanoTime();
            BatchPacer.Load[] load = { BatchPacer.Load.QUIET };
            long before = done.rowsDone();
            done = batch(c, jobId, runId, p, salt, approval, done, size, load);
            if (!done.finished()) {
                BatchPacer.Pace pace = pacer.next(done.rowsDone() - before, size,
                        Duration.ofNanos(System.nanoTime() - started), load[0]);
                paced = pace.throttled();
                if (!pace.pause().isZero()) {
                    try {
                        Thread.sleep(pace.pause().toMillis());
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        break;
                    }
                }
            }
        }
        return new Progress(done.rowsDone(), done.lastKey(), done.finished(), pacer.batchSize(), paced);
    }

    /** One batch of {@code size} rows; {@code load} gets what the application showed just before its commit. */
    private Progress batch(Connection c, String jobId, String runId, DisposalPlanner.RulePlan p, String salt,
            String approval, Progress before, int size, BatchPacer.Load[] load) throws SQLException {
        String t = p.table().quoted();
        for (int attempt = 1;; attempt++) {
            c.setAutoCommit(false);
            try (var s = c.createStatement()) {
                s.execute("SET LOCAL lock_timeout = " + lockTimeout.toMillis());
                // background work, as a migration's backfill: never parallel workers on the application's cores
                s.execute("SET LOCAL max_parallel_workers_per_gather = 0");
                if (salt != null) {
                    try (PreparedStatement ps = c.prepareStatement("SELECT set_config('" + DisposalPlanner.SALT_SETTING
                            + "', ?, true)")) {
                        ps.setString(1, salt);
                        ps.execute();
                    }
                }
                long rows;
                String lastKey = before.lastKey();
                if (p.key() == null) {
                    rows = s.executeUpdate("DELETE FROM " + t + " WHERE ctid = ANY (ARRAY(SELECT ctid FROM " + t
                            + " WHERE " + p.predicate() + " LIMIT " + size + "))");
                } else {
                    String k = Identifiers.quote(p.key());
                    String batch = "SELECT " + k + " FROM " + t + " WHERE " + (lastKey == null ? "" : k + " > ? AND ")
                            + p.predicate() + " ORDER BY " + k + " LIMIT " + size;
                    String children = childDeletes(p, batch);
                    String change = p.delete() ? "DELETE FROM " + t + " WHERE " + k + " IN (SELECT " + k
                            + " FROM dba_batch)"
                            : "UPDATE " + t + " SET " + p.set() + " WHERE " + k + " IN (SELECT " + k + " FROM dba_batch)";
                    String sql = "WITH dba_batch AS MATERIALIZED (" + batch + ")" + children + ", dba_changed AS ("
                            + change + " RETURNING " + k + ") SELECT count(*), max(" + k + ")::text FROM dba_changed";
                    try (PreparedStatement ps = c.prepareStatement(sql)) {
                        if (lastKey != null) {
                            ps.setObject(1, lastKey, Types.OTHER);
                        }
                        try (ResultSet rs = ps.executeQuery()) {
                            rs.next();
                            rows = rs.getLong(1);
                            if (rs.getString(2) != null) {
                                lastKey = rs.getString(2);
                            }
                        }
                    }
                }
                boolean finished = rows < size;
                try (PreparedStatement ps = c.prepareStatement("INSERT INTO dba_operator.disposal_progress AS d "
                        + "(job_id, run_id, rule, rows_done, last_key, finished, approval) VALUES (?, ?, ?, ?, ?, ?, ?) "
                        + "ON CONFLICT (job_id, run_id, rule) DO UPDATE SET rows_done = d.rows_done + excluded.rows_done, "
                        + "last_key = excluded.last_key, finished = excluded.finished, updated_at = clock_timestamp(), "
                        + "approval = coalesce(d.approval, excluded.approval)")) {
                    ps.setString(1, jobId);
                    ps.setString(2, runId);
                    ps.setString(3, p.name());
                    ps.setLong(4, rows);
                    ps.setString(5, lastKey);
                    ps.setBoolean(6, finished);
                    ps.setString(7, approval);
                    ps.executeUpdate();
                }
                // the sessions this batch's row locks hold up, read while they are still held
                load[0] = BatchPacer.observe(c);
                c.commit();
                return new Progress(before.rowsDone() + rows, lastKey, finished);
            } catch (SQLException e) {
                c.rollback();
                if (SqlStates.lockConflict(e) && attempt <= 20) {
                    try {
                        Thread.sleep(SqlStates.lockRetryBackoff(attempt).toMillis());
                    } catch (InterruptedException ie) {
                        Thread.currentThread().interrupt();
                    }
                    continue;
                }
                throw e;
            } finally {
                c.setAutoCommit(true);
            }
        }
    }

    /** With deleteChildren, the rows of single-column foreign keys that block the delete go first, in the batch. */
    private static String childDeletes(DisposalPlanner.RulePlan p, String batch) {
        if (!p.delete() || !Boolean.TRUE.equals(p.rule().deleteChildren)) {
            return "";
        }
        StringBuilder out = new StringBuilder();
        int n = 0;
        for (DisposalPlanner.Reference r : p.references()) {
            if (!r.blocks() || r.childColumns().size() != 1) {
                continue;
            }
            out.append(", dba_children_").append(n++).append(" AS (DELETE FROM ").append(r.child().quoted())
                    .append(" WHERE ").append(Identifiers.quote(r.childColumns().get(0))).append(" IN (SELECT ")
                    .append(Identifiers.quote(r.parentColumns().get(0))).append(" FROM ").append(p.table().quoted())
                    .append(" WHERE ").append(Identifiers.quote(p.key())).append(" IN (SELECT ")
                    .append(Identifiers.quote(p.key())).append(" FROM dba_batch)))");
        }
        return out.toString();
    }

    /** VACUUM / ANALYZE of every table the run changed, as the spec asks. Runs outside a transaction. */
    public static void vacuum(Connection c, io.dbaoperator.api.disposal.DisposalJobSpec.Vacuum mode,
            List<DisposalPlanner.RulePlan> plans) throws SQLException {
        if (mode == null || mode == io.dbaoperator.api.disposal.DisposalJobSpec.Vacuum.None) {
            return;
        }
        c.setAutoCommit(true);
        String verb = switch (mode) {
            case Analyze -> "ANALYZE ";
            case Vacuum -> "VACUUM (ANALYZE) ";
            default -> "VACUUM (FULL, ANALYZE) ";
        };
        java.util.Set<String> done = new java.util.HashSet<>();
        try (var s = c.createStatement()) {
            for (DisposalPlanner.RulePlan p : plans) {
                if (done.add(p.table().quoted())) {
                    s.execute(verb + p.table().quoted());
                }
            }
        }
    }
}
