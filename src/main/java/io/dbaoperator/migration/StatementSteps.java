package io.dbaoperator.migration;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
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
        Step refused = evidence(w, step, c);
        if (refused != null) {
            return refused;
        }
        StatementRunner statements = new StatementRunner(w.in.settings());
        String verb = step.equals(MigrationPlan.ROLLBACK) ? "rollback" : "apply";
        for (MigrationPlan.Planned p : w.plan.step(step)) {
            w.setReady(false, Reason.InProgress, step + ": running " + p.id());
            try {
                StatementRunner.Outcome o = statements.run(c, w.run(), p, w.approvalOf(step));
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

    /**
     * Before a step's statements run, the live catalog is the evidence. A statement this run's history records as
     * applied must show its effect (expand: what it adds is there; contract: what it drops is gone), or the run stops
     * and says so. When this run has not touched expand yet, what the catalog already shows decides: an earlier run of
     * the same name is reported; effects all present are recorded "already present" (with the evidence), not run and
     * not called applied; effects partly present stop the run before anything runs.
     */
    private Step evidence(MigrationWork w, String step, Connection c) throws SQLException {
        if (step.equals(MigrationPlan.ROLLBACK)) {
            return null;
        }
        SchemaEvidence catalog = new SchemaEvidence(c);
        Map<String, MigrationStore.Entry> mine = new java.util.HashMap<>();
        MigrationStore.list(c, w.run()).forEach(e -> mine.put(e.stepId(), e));
        List<MigrationPlan.Planned> statements = w.plan.step(step);
        for (MigrationPlan.Planned p : statements) {
            MigrationStore.Entry e = mine.get(p.id());
            if (e != null && e.outcome().equals("applied")) {
                SchemaEvidence.Verdict v = step.equals(MigrationPlan.EXPAND) ? catalog.added(p.statement())
                        : catalog.dropped(p.statement());
                if (v.state() == SchemaEvidence.State.ABSENT || v.state() == SchemaEvidence.State.PARTIAL) {
                    return stopped(w, p.id(), Reason.EvidenceMissing, p.id() + " is recorded applied by this run at "
                            + e.finishedAt() + ", but the database does not show it: " + v.evidence() + ". The schema "
                            + "was changed outside this migration; nothing more runs until a person looks (the "
                            + "history is in dba_operator.migration_history)");
                }
            }
        }
        if (!step.equals(MigrationPlan.EXPAND) || statements.stream().anyMatch(p -> mine.containsKey(p.id()))) {
            return null;
        }
        earlierRuns(w, c);
        List<String> present = new ArrayList<>();
        List<String> absent = new ArrayList<>();
        Map<MigrationPlan.Planned, SchemaEvidence.Verdict> found = new java.util.LinkedHashMap<>();
        for (MigrationPlan.Planned p : statements) {
            SchemaEvidence.Verdict v = catalog.added(p.statement());
            found.put(p, v);
            switch (v.state()) {
                case PRESENT -> present.add(p.id() + " (" + v.evidence() + ")");
                case ABSENT -> absent.add(p.id() + " (" + v.evidence() + ")");
                case PARTIAL -> {
                    present.add(p.id() + " partly (" + v.evidence() + ")");
                    absent.add(p.id() + " partly");
                }
                default -> {
                }
            }
        }
        if (!present.isEmpty() && !absent.isEmpty()) {
            return stopped(w, "expand", Reason.PartlyPresent, "the database already shows part of what expand adds, "
                    + "so nothing was run: present " + String.join(", ", present) + "; missing "
                    + String.join(", ", absent) + ". Finish or undo the earlier change by hand (compare with "
                    + "dba_operator.migration_history" + (w.st.earlierRuns == null ? "" : " and status.earlierRuns")
                    + "), then create the migration again");
        }
        for (var f : found.entrySet()) {
            if (f.getValue().state() == SchemaEvidence.State.PRESENT) {
                StatementRunner.present(c, w.run(), f.getKey(), f.getValue().evidence());
            }
        }
        if (!present.isEmpty()) {
            events.normal(w.m, Reason.AlreadyPresent.name(), "expand found already in the database, not run and not "
                    + "counted as applied: " + String.join(", ", present));
        }
        return null;
    }

    /** Earlier runs of this name, said once: this run inherits none of their history. */
    private void earlierRuns(MigrationWork w, Connection c) throws SQLException {
        List<MigrationStore.EarlierRun> runs = MigrationStore.earlierRuns(c, w.run());
        if (runs.isEmpty() || w.st.earlierRuns != null) {
            return;
        }
        List<DatabaseMigrationStatus.EarlierRun> said = new ArrayList<>();
        for (MigrationStore.EarlierRun r : runs) {
            DatabaseMigrationStatus.EarlierRun e = new DatabaseMigrationStatus.EarlierRun();
            e.uid = r.uid().isEmpty() ? "(before runs were keyed by UID)" : r.uid();
            e.startedAt = r.startedAt().toString();
            e.finishedAt = r.finishedAt() == null ? null : r.finishedAt().toString();
            e.outcome = r.applied() + " of " + r.statements() + " statement(s) applied" + (r.failed() > 0 ? ", "
                    + r.failed() + " failed" : "") + ", last: " + r.last();
            said.add(e);
        }
        w.st.earlierRuns = said;
        DatabaseMigrationStatus.EarlierRun last = said.get(said.size() - 1);
        events.normal(w.m, Reason.EarlierRun.name(), "an earlier " + DatabaseMigrationReconciler.SHORT_NAME + " named "
                + w.m.getMetadata().getName() + " (uid " + last.uid + ") ran here from " + last.startedAt + ": "
                + last.outcome + ". This one is a new run: it inherits none of that history, and the live catalog "
                + "decides what is still to do");
    }

    Step stopped(MigrationWork w, String failedStep, Reason reason, String message) throws SQLException {
        w.st.failedStep = failedStep;
        w.st.phase = Phase.move(w.st.phase, MigrationPhase.Failed);
        w.setReady(false, reason, message);
        events.warning(w.m, reason.name(), message);
        return Step.onEvent();
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
