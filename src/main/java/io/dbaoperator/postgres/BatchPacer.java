package io.dbaoperator.postgres;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;

/**
 * Paces batched background work (a migration's backfill, a disposal) so that the application keeps its latency. A
 * fixed batch size cannot be right everywhere: a size that takes 20 ms on an idle primary takes 2 s on a busy one,
 * holding its rows' locks all that time. After each batch the pacer is told how many rows it changed, how long it
 * took and what the application showed at its end, and decides the next batch:
 * <ul>
 * <li><b>size</b>: multiplied by target / took (at most x2, at least /2: one odd batch does not swing it), only
 * after a full batch (a short last batch says nothing of the size), kept between the floor and the configured
 * batchSize, which is the start and the cap;</li>
 * <li><b>sessions blocked by the batch</b> (waiting on a lock it held just before its commit): the application
 * waited for the work; the size halves and the next batch waits (target x (blocked + 1), at most
 * {@link #MAX_PAUSE});</li>
 * <li><b>active sessions</b> above {@code maxActiveSessions} (the server's cores): the server is busy; the pause
 * grows with the excess (target x active / max, at most {@link #MAX_PAUSE}).</li>
 * </ul>
 * The configured pause between batches is the least pause. Replica lag is watched by the engines as before (they
 * stop the slice). Pure but for {@link #observe}: the decisions are unit-tested over synthetic timings.
 */
public final class BatchPacer {

    /** The longest pause a throttle asks for between two batches. */
    public static final Duration MAX_PAUSE = Duration.ofSeconds(5);

    /**
     * @param start the first batch's size and the largest (the spec's batchSize)
     * @param min the smallest batch
     * @param target how long a batch should take
     * @param pause the least pause between batches (the spec's pauseBetweenBatches)
     * @param maxActiveSessions active sessions above which the server counts as busy; 0: not watched
     */
    public record Settings(int start, int min, Duration target, Duration pause, int maxActiveSessions) {
        public Settings {
            min = Math.max(1, Math.min(min, start));
        }

        /** From a spec's batchSize, pause and pacing; the floor defaults to 1% of batchSize, at least 10 rows. */
        public static Settings of(int batchSize, Duration pause, io.dbaoperator.api.common.Pacing pacing,
                Duration target) {
            int min = pacing != null && pacing.minBatchSize != null ? pacing.minBatchSize
                    : Math.max(10, batchSize / 100);
            int active = pacing == null || pacing.maxActiveSessions == null ? 0 : pacing.maxActiveSessions;
            return new Settings(batchSize, min, target, pause, active);
        }
    }

    /** What the application showed at the end of a batch: sessions the batch blocked, active sessions. */
    public record Load(int blockedByBatch, int activeSessions) {
        public static final Load QUIET = new Load(0, 0);
    }

    /** The next batch: its size, the pause before it, and why it is throttled (null when it is not). */
    public record Pace(int batchSize, Duration pause, String throttled) {
    }

    /**
     * In the batch's transaction, after its change and before its commit (its row locks still held): sessions
     * waiting on a lock this session holds, and sessions running a query, on the whole server.
     */
    public static final String LOAD_SQL = "SELECT count(*) FILTER (WHERE wait_event_type = 'Lock' "
            + "AND pg_backend_pid() = ANY (pg_blocking_pids(pid))), count(*) FILTER (WHERE state = 'active' "
            + "AND backend_type = 'client backend') FROM pg_stat_activity WHERE pid <> pg_backend_pid()";

    private final Settings settings;
    private double size;

    public BatchPacer(Settings settings) {
        this.settings = settings;
        this.size = settings.start();
    }

    /** Resumes at {@code size} (the last size a slice used, from status), kept within the bounds. */
    public BatchPacer(Settings settings, Integer size) {
        this(settings);
        if (size != null) {
            this.size = Math.max(settings.min(), Math.min(settings.start(), size));
        }
    }

    /** The size of the next batch. */
    public int batchSize() {
        return (int) Math.round(size);
    }

    /** Reads the application's load: run inside the batch's transaction, before its commit. */
    public static Load observe(Connection c) throws SQLException {
        try (var s = c.createStatement(); ResultSet rs = s.executeQuery(LOAD_SQL)) {
            rs.next();
            return new Load(rs.getInt(1), rs.getInt(2));
        }
    }

    /** After a batch asked for {@code asked} rows, changed {@code rows}, took {@code took} and saw {@code load}. */
    public Pace next(long rows, int asked, Duration took, Load load) {
        double tookMs = Math.max(0.1, took.toNanos() / 1e6);
        double targetMs = Math.max(1, settings.target().toNanos() / 1e6);
        if (rows >= asked) {
            size *= Math.max(0.5, Math.min(2.0, targetMs / tookMs));
        }
        size = Math.max(settings.min(), Math.min(settings.start(), size)); // a throttle halves what is in bounds
        Duration pause = settings.pause();
        String throttled = null;
        if (load.blockedByBatch() > 0) {
            size /= 2;
            pause = longest(pause, settings.target().multipliedBy(load.blockedByBatch() + 1L));
            throttled = load.blockedByBatch() + " session(s) waited on the batch's locks";
        } else if (settings.maxActiveSessions() > 0 && load.activeSessions() > settings.maxActiveSessions()) {
            pause = longest(pause, Duration.ofNanos((long) (settings.target().toNanos()
                    * (double) load.activeSessions() / settings.maxActiveSessions())));
            throttled = load.activeSessions() + " active session(s), more than maxActiveSessions "
                    + settings.maxActiveSessions();
        }
        size = Math.max(settings.min(), Math.min(settings.start(), size));
        if (throttled != null) {
            throttled += ": batches of " + batchSize() + " rows, " + pause.toMillis() + " ms apart";
        } else if (rows >= asked && batchSize() == settings.min() && tookMs > 3 * targetMs) {
            throttled = "a batch of " + asked + " rows (the floor) took " + Math.round(tookMs) + " ms against a "
                    + Math.round(targetMs) + " ms target: the table or the server is slow";
        }
        return new Pace(batchSize(), pause, throttled);
    }

    private static Duration longest(Duration a, Duration b) {
        Duration d = a.compareTo(b) >= 0 ? a : b;
        return d.compareTo(MAX_PAUSE) > 0 ? MAX_PAUSE : d;
    }
}
