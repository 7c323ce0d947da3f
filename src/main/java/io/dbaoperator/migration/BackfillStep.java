package io.dbaoperator.migration;

import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.function.Predicate;

import io.dbaoperator.api.migration.DatabaseMigration;
import io.dbaoperator.api.migration.DatabaseMigrationSpec;
import io.dbaoperator.api.migration.DatabaseMigrationStatus;
import io.dbaoperator.status.Step;
import io.dbaoperator.problem.Reason;

/**
 * Backfilling: one slice of batches per call, within the window and {@code dba.migration.slice}; status shows
 * progress between slices.
 */
final class BackfillStep {
    private final Predicate<DatabaseMigration> pausedNow;
    private final io.dbaoperator.metrics.OperatorMetrics metrics;
    private final Duration slice;
    private final StatementSteps statements;
    private final CutoverSteps cutover;
    private final java.time.InstantSource clock;

    /**
     * @param pausedNow asked between batches whether the migration is paused (or asked to roll back) by now
     * @param clock the clock the maintenance window is judged by: a slice ends when it closes on it
     */
    BackfillStep(Predicate<DatabaseMigration> pausedNow, io.dbaoperator.metrics.OperatorMetrics metrics,
            Duration slice, StatementSteps statements, CutoverSteps cutover, java.time.InstantSource clock) {
        this.clock = clock;
        this.pausedNow = pausedNow;
        this.metrics = metrics;
        this.slice = slice;
        this.statements = statements;
        this.cutover = cutover;
    }

    Step backfilling(MigrationWork w) throws SQLException {
        Connection c = w.prod();
        if (c == null) {
            return w.busy();
        }
        DatabaseMigrationSpec spec = w.m.getSpec();
        MigrationPlan.Planned planned = w.plan.step(MigrationPlan.BACKFILL).get(0);
        Backfill backfill = new Backfill(spec.backfill, w.in.settings().lockTimeout(), w.in.settings().maxLockRetries(),
                w.in.pause(), w.in.maxLag());
        Backfill.Progress p;
        try {
            // a slice ends at the window's close at the latest: the next batch waits for the next window
            p = backfill.slice(c, w.run(), planned, w.window.budget(clock.instant(), slice), () -> pausedNow.test(w.m),
                    w.st.backfill == null ? null : w.st.backfill.batchSize);
        } catch (StepFailedException e) {
            return statements.stepFailed(w, MigrationPlan.BACKFILL, e);
        }
        if (p.finished() && p.fromHistory()) {
            Step refused = evidence(w, c, backfill);
            if (refused != null) {
                return refused;
            }
        }
        long doneBefore = w.st.backfill == null || w.st.backfill.rowsDone == null ? 0 : w.st.backfill.rowsDone;
        metrics.backfillRows(w.m.getMetadata().getNamespace(), w.m.getMetadata().getName(), p.rowsDone() - doneBefore);
        DatabaseMigrationStatus.BackfillProgress progress = new DatabaseMigrationStatus.BackfillProgress();
        progress.rowsDone = p.rowsDone();
        progress.rowsEstimated = Math.max(p.rowsEstimated(), p.rowsDone());
        progress.lastKey = p.lastKey();
        progress.percent = p.finished() ? "100%" : progress.rowsEstimated == 0 ? "0%"
                : Math.min(99, p.rowsDone() * 100 / progress.rowsEstimated) + "%";
        // a slice that wrote nothing (throttled, paused) keeps the last rate; never unbox a missing one
        Double lastRate = w.st.backfill == null ? null : w.st.backfill.rowsPerSecond;
        progress.rowsPerSecond = p.rowsPerSecond() > 0 ? Double.valueOf(Math.round(p.rowsPerSecond() * 10) / 10.0)
                : lastRate;
        if (!p.finished() && progress.rowsPerSecond != null && progress.rowsPerSecond > 0) {
            long left = progress.rowsEstimated - p.rowsDone();
            progress.eta = Instant.now().plusSeconds((long) Math.ceil(left / progress.rowsPerSecond)).toString();
        }
        progress.batchSize = p.finished() ? null : p.batchSize();
        progress.throttled = p.finished() ? null : p.paced();
        w.st.backfill = progress;
        if (p.finished()) {
            // keyed: a retry after a 409 or a restart finds the backfill finished and reports it again
            w.log.executed(w.audit("apply", MigrationPlan.BACKFILL, "succeeded",
                    Map.of("rows", p.rowsDone())), "apply/" + MigrationPlan.BACKFILL);
            cutover.enterCutover(w);
            return Step.next();
        }
        if (p.throttled() != null) {
            w.setReady(false, Reason.Throttled, "backfill " + progress.percent + ": " + p.throttled());
            return Step.rest(Duration.ofSeconds(5));
        }
        w.setReady(false, Reason.InProgress, "backfill " + progress.percent + " (" + p.rowsDone() + " of ~"
                + progress.rowsEstimated + " rows, last key " + p.lastKey() + ", batches of " + p.batchSize() + ")"
                + (p.paced() == null ? "" : "; slowed: " + p.paced()));
        return Step.rest(Duration.ofMillis(50));
    }

    /**
     * A backfill this run's history records finished, found again after a restart or a lost status write, is
     * checked against the table before the migration moves to cutover: rows its {@code where} covers must have the
     * columns it sets filled. A mismatch stops the run with the rows counted, never silently.
     */
    private Step evidence(MigrationWork w, Connection c, Backfill backfill) throws SQLException {
        long left;
        String why;
        try {
            left = backfill.unfilled(c);
            why = left + (left >= Backfill.UNFILLED_LIMIT ? " or more" : "") + " row(s) in its where still have "
                    + "NULL in a column it sets (" + String.join(", ", BackfillColumns.assigned(w.m.getSpec().backfill
                    .set)) + ") where the value it assigns is not NULL";
        } catch (SQLException e) {
            if (!c.getAutoCommit()) {
                c.rollback();
            }
            left = -1;
            why = "checking its rows failed: " + e.getSQLState() + " " + e.getMessage();
        }
        if (left == 0) {
            return null;
        }
        return statements.stopped(w, MigrationPlan.BACKFILL, Reason.EvidenceMissing, "backfill is recorded finished "
                + "by this run, but " + why + ". The table was changed outside this migration, or rows arrived "
                + "without the value; nothing more runs until a person looks (run the backfill's UPDATE for those "
                + "rows, or roll back), and cutover is not offered on a half-filled column");
    }

    /**
     * Reads spec.paused again between batches, so a pause takes effect within one batch: from the controller's cache
     * of the migrations, which the watch updates within moments of the edit (a GET per batch before).
     */
    static boolean pausedNow(io.dbaoperator.kube.SharedCaches caches, DatabaseMigration m) {
        DatabaseMigration fresh = caches.get(DatabaseMigration.class, m.getMetadata().getNamespace(),
                m.getMetadata().getName());
        return fresh == null || Boolean.TRUE.equals(fresh.getSpec().paused)
                || fresh.getStatus() != null && Boolean.TRUE.equals(fresh.getStatus().rollbackRequested);
    }
}
