package io.dbaoperator.migration;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.Map;

import io.dbaoperator.api.common.Phase;
import io.dbaoperator.api.migration.DatabaseMigrationStatus;
import io.dbaoperator.api.migration.MigrationPhase;
import io.dbaoperator.kube.EventRecorder;
import io.dbaoperator.status.Step;
import io.dbaoperator.problem.Reason;

/** Expanding, Contracting and RollingBack: a step's statements with the lock discipline, once each. */
final class StatementSteps {
    private final EventRecorder events;
    private final CutoverSteps cutover;

    StatementSteps(EventRecorder events, CutoverSteps cutover) {
        this.events = events;
        this.cutover = cutover;
    }

    Step expanding(MigrationWork w) throws SQLException {
        MigrationPhase before = w.st.phase;
        Step n = runStep(w, MigrationPlan.EXPAND);
        if (!(n instanceof Step.Next) || w.st.phase != before) {
            return n; // waiting, or it failed and chose the next phase
        }
        if (w.m.getSpec().backfill != null) {
            w.st.phase = Phase.move(w.st.phase, MigrationPhase.Backfilling);
        } else {
            cutover.enterCutover(w);
        }
        return Step.next();
    }

    Step contracting(MigrationWork w) throws SQLException {
        MigrationPhase before = w.st.phase;
        Step n = runStep(w, MigrationPlan.CONTRACT);
        if (!(n instanceof Step.Next) || w.st.phase != before) {
            return n; // waiting, or it failed and chose the next phase
        }
        w.st.phase = Phase.move(w.st.phase, MigrationPhase.Completed);
        DatabaseMigrationReconciler.completedForSlo(w.st);
        w.setReady(true, Reason.MigrationCompleted, "completed: expand, " + (w.m.getSpec().backfill != null
                ? "backfill, " : "") + "cutover and contract applied");
        w.releaseLease();
        return Step.onEvent();
    }

    Step rollingBack(MigrationWork w) throws SQLException {
        Connection c = w.prod();
        if (c == null) {
            return w.busy();
        }
        if (!w.appliedAnything()) {
            w.st.phase = Phase.move(w.st.phase, MigrationPhase.RolledBack);
            w.setReady(false, Reason.RolledBack, "rolled back: nothing had been applied to production, so the "
                    + "rollback SQL did not run");
            w.releaseLease();
            return Step.onEvent();
        }
        w.setReady(false, Reason.RollingBack, "rolling back");
        MigrationPhase before = w.st.phase;
        Step n = runStep(w, MigrationPlan.ROLLBACK);
        if (!(n instanceof Step.Next) || w.st.phase != before) {
            return n; // waiting, or it failed and chose the next phase
        }
        w.st.phase = Phase.move(w.st.phase, MigrationPhase.RolledBack);
        w.setReady(false, Reason.RolledBack, "rolled back: the rollback SQL ran"
                + (w.st.failedStep != null ? " after " + w.st.failedStep + " failed" : "")
                + (w.st.preMigrationBackupId != null ? "; pre-migration backup " + w.st.preMigrationBackupId
                        + " remains available" : ""));
        w.releaseLease();
        return Step.onEvent();
    }

    /** Runs every statement of a step once; on failure decides between rollback and Failed. */
    private Step runStep(MigrationWork w, String step) throws SQLException {
        Connection c = w.prod();
        if (c == null) {
            return w.busy();
        }
        StatementRunner statements = new StatementRunner(w.in.settings());
        String verb = step.equals(MigrationPlan.ROLLBACK) ? "rollback" : "apply";
        for (MigrationPlan.Planned p : w.plan.step(step)) {
            w.setReady(false, Reason.InProgress, step + ": running " + p.id());
            try {
                StatementRunner.Outcome o = statements.run(c, w.id, p, w.approvalOf(step));
                // keyed: a statement found applied in the history (the process died before this line) is audited
                // then, and one audited already is not audited twice
                w.log.executed(w.audit(verb, p.id(), "succeeded", o.skipped()
                        ? Map.of("foundIn", "dba_operator.migration_history")
                        : Map.of("durationMs", o.millis(), "retries", o.retries(), "lock",
                                p.classification().lock().sqlName())), verb + "/" + p.id());
            } catch (StepFailedException e) {
                w.log.executed(w.audit(verb, p.id(), "failed",
                        Map.of("sqlState", e.sqlState() == null ? "" : e.sqlState())), null);
                return stepFailed(w, step, e);
            }
        }
        return Step.next();
    }

    Step stepFailed(MigrationWork w, String step, StepFailedException e) throws SQLException {
        DatabaseMigrationStatus st = w.st;
        st.failedStep = e.stepId();
        boolean checksum = e.sqlState() == null;
        Reason reason = checksum ? Reason.ChecksumMismatch : Reason.StepFailed;
        if (!checksum && !step.equals(MigrationPlan.CONTRACT) && !step.equals(MigrationPlan.ROLLBACK)
                && Boolean.TRUE.equals(w.m.getSpec().rollbackOnFailure)) {
            events.warning(w.m, reason.name(), e.getMessage() + "; rolling back (rollbackOnFailure)");
            st.phase = Phase.move(st.phase, MigrationPhase.RollingBack);
            return Step.next();
        }
        String advice = switch (step) {
            case MigrationPlan.CONTRACT -> "; contract is not rolled back automatically (old columns may be gone)"
                    + (st.preMigrationBackupId != null ? ": the pre-migration backup is " + st.preMigrationBackupId : "");
            case MigrationPlan.ROLLBACK -> "; the rollback itself failed: fix the database by hand"
                    + (st.preMigrationBackupId != null ? " (pre-migration backup " + st.preMigrationBackupId + ")" : "");
            default -> checksum ? "" : "; ask for the rollback with: kubectl patch " + DatabaseMigrationReconciler.SHORT_NAME + " "
                    + w.m.getMetadata().getName() + " -n " + w.m.getMetadata().getNamespace()
                    + " --subresource=status --type=merge -p '{\"status\":{\"rollbackRequested\":true}}'";
        };
        st.phase = Phase.move(st.phase, MigrationPhase.Failed);
        w.setReady(false, reason, e.getMessage() + advice);
        return Step.onEvent();
    }
}
