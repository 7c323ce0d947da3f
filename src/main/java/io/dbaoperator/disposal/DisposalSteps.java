package io.dbaoperator.disposal;

import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;

import io.dbaoperator.api.backup.BackupPolicy;
import io.dbaoperator.api.common.ApprovalRecord;
import io.dbaoperator.api.common.Phase;
import io.dbaoperator.api.disposal.DisposalJob;
import io.dbaoperator.api.disposal.DisposalJobSpec;
import io.dbaoperator.api.disposal.DisposalJobStatus;
import io.dbaoperator.api.disposal.DisposalPhase;
import io.dbaoperator.approval.ApprovalStep;
import io.dbaoperator.approval.GateOutcome;
import io.dbaoperator.approval.GatedStep;
import io.dbaoperator.audit.AuditEvent;
import io.dbaoperator.kube.EventRecorder;
import io.dbaoperator.kube.MaintenanceWindows;
import io.dbaoperator.postgres.Databases;
import io.dbaoperator.postgres.SqlStates;
import io.dbaoperator.problem.Reason;
import io.dbaoperator.status.ConditionType;
import io.dbaoperator.status.Conditions;
import io.dbaoperator.status.PhaseMachine;
import io.dbaoperator.status.Step;
import io.dbaoperator.status.WriteAhead;

/**
 * A DisposalJob's phase handlers, one per phase of {@link DisposalPhase}'s table. Disposing is the acting phase
 * (its batches change production): it is entered only with the consumed approval stored. Vacuuming and Reporting
 * repeat harmlessly (VACUUM changes no row; the report and its audit event are keyed by the run).
 */
final class DisposalSteps {

    private final EventRecorder events;
    private final MaintenanceWindows windows;
    private final Duration slice;
    private final io.dbaoperator.metrics.OperatorMetrics metrics;
    private final Covering covering;
    private final PhaseMachine<DisposalPhase, Run> machine;

    /** The BackupPolicies whose backups still hold a job's data (the report says until when). */
    @FunctionalInterface
    interface Covering {
        List<BackupPolicy> of(DisposalJob job, io.dbaoperator.postgres.ConnectionSettings db);
    }

    DisposalSteps(EventRecorder events, MaintenanceWindows windows, Duration slice,
            io.dbaoperator.metrics.OperatorMetrics metrics, Covering covering) {
        this.events = events;
        this.windows = windows;
        this.slice = slice;
        this.metrics = metrics;
        this.covering = covering;
        this.machine = PhaseMachine.<DisposalPhase, Run>of(DisposalPhase.class, DisposalPhase.Pending, r -> r.st.phase)
                .guard(this::rulesChangedOrRunAsked)
                .decides(DisposalPhase.Pending, this::pending)
                .decides(DisposalPhase.Failed, this::failed)
                .decides(DisposalPhase.Completed, this::atRest)
                .decides(DisposalPhase.Scheduled, this::atRest)
                .decides(DisposalPhase.Counting, this::counting)
                .decides(DisposalPhase.AwaitingApproval, this::awaitingApproval)
                .acts(DisposalPhase.Disposing, this::disposing)
                .decides(DisposalPhase.Vacuuming, this::vacuuming)
                .decides(DisposalPhase.Reporting, this::reporting)
                .build();
    }

    PhaseMachine<DisposalPhase, Run> machine() {
        return machine;
    }

    /**
     * One reconcile of a DisposalJob: the job, the status being decided, its inputs, and the database connection
     * and rule plans, opened and planned only by a handler that needs them.
     */
    static final class Run implements AutoCloseable {
        final DisposalJob job;
        final DisposalJobStatus st;
        final DisposalJobReconciler.Inputs in;
        final WriteAhead log;
        final String digest;
        /** When this reconcile looks, on the operator's clock (schedules and windows are judged by it). */
        final Instant now;
        final String jobId;
        private final Databases databases;
        private Connection connection;
        private List<DisposalPlanner.RulePlan> plans;

        Run(DisposalJob job, DisposalJobStatus st, DisposalJobReconciler.Inputs in, WriteAhead log,
                Databases databases, Instant now) {
            this.now = now;
            this.job = job;
            this.st = st;
            this.in = in;
            this.log = log;
            this.databases = databases;
            this.digest = DisposalJobReconciler.rulesDigest(job.getSpec());
            this.jobId = job.getMetadata().getNamespace() + "/" + job.getMetadata().getName() + "/"
                    + job.getMetadata().getUid();
        }

        Connection db() throws SQLException {
            if (connection == null) {
                connection = databases.open(in.db(), "dba-operator/disposal/" + jobId);
            }
            return connection;
        }

        List<DisposalPlanner.RulePlan> plans() throws SQLException {
            if (plans == null) {
                plans = DisposalPlanner.plan(db(), job.getSpec());
            }
            return plans;
        }

        void ready(boolean ready, Reason reason, String message) {
            DisposalSteps.ready(job, st, ready, reason, message);
        }

        @Override
        public void close() throws SQLException {
            if (connection != null) {
                connection.close();
            }
        }
    }

    /**
     * Before every handler: a run asked for by annotation is consumed (Completed and Scheduled start it), and rules
     * that changed mid-run or while waiting are counted again and asked for again.
     */
    private Step rulesChangedOrRunAsked(Run r) {
        DisposalJobStatus st = r.st;
        boolean resting = st.phase == DisposalPhase.Completed || st.phase == DisposalPhase.Scheduled;
        if (!resting && DisposalJobReconciler.runRequested(r.job, st)) {
            st.lastRunRequest = r.job.getMetadata().getAnnotations().get(DisposalJobReconciler.RUN_NOW);
        }
        if (st.rulesDigest != null && !st.rulesDigest.equals(r.digest) && !resting && st.phase != null
                && st.phase != DisposalPhase.Pending && st.phase != DisposalPhase.Failed
                && st.phase != DisposalPhase.Counting) {
            events.normal(r.job, "RulesChanged", "the rules changed (" + r.digest + "); counting again");
            st.phase = Phase.move(st.phase, DisposalPhase.Counting);
            return Step.next();
        }
        return null;
    }

    private Step pending(Run r) {
        r.st.phase = Phase.move(r.st.phase, DisposalPhase.Counting);
        startRun(r.st, r.now);
        return Step.next();
    }

    /** Looked at again (the data or the rules may have changed): the same run counts again. */
    private Step failed(Run r) {
        r.st.phase = Phase.move(r.st.phase, DisposalPhase.Counting);
        return Step.next();
    }

    /** Completed or Scheduled: a new run when it is due, asked for, or the rules changed. */
    private Step atRest(Run r) {
        DisposalJobStatus st = r.st;
        boolean due = r.in.schedule() != null && st.nextRunAt != null && !r.now.isBefore(Instant.parse(st.nextRunAt));
        boolean rulesChanged = st.rulesDigest != null && !st.rulesDigest.equals(r.digest);
        boolean asked = DisposalJobReconciler.runRequested(r.job, st);
        if (!due && !asked && !rulesChanged) {
            return Step.rest(untilNext(st, r.now));
        }
        if (rulesChanged) {
            events.normal(r.job, "RulesChanged", "the rules changed (" + r.digest + "): counting them now, and the "
                    + "run waits for a new approval");
        }
        if (asked) {
            st.lastRunRequest = r.job.getMetadata().getAnnotations().get(DisposalJobReconciler.RUN_NOW);
        }
        st.phase = Phase.move(st.phase, DisposalPhase.Counting);
        startRun(st, r.now);
        return Step.next();
    }

    /** The dry run: exact counts and what the foreign keys imply; then Reporting (dryRun) or the gate. */
    private Step counting(Run r) throws SQLException {
        DisposalJobStatus st = r.st;
        List<DisposalPlanner.RulePlan> plans = r.plans();
        List<DisposalRunner.Count> counts = DisposalRunner.count(r.db(), plans, true);
        List<DisposalJobStatus.RuleProgress> rules = new ArrayList<>();
        for (int i = 0; i < plans.size(); i++) {
            DisposalPlanner.RulePlan p = plans.get(i);
            DisposalRunner.Count n = counts.get(i);
            DisposalJobStatus.RuleProgress rule = new DisposalJobStatus.RuleProgress();
            rule.name = p.name();
            rule.table = p.table().toString();
            rule.action = p.rule().action.name();
            rule.matched = n.matched();
            rule.done = 0L;
            rule.notes = n.notes().isEmpty() ? null : n.notes();
            rules.add(rule);
            if (n.blockedBy() != null) {
                st.rules = rules;
                return refuse(r, "rule " + p.name() + " would delete rows that " + n.blockedBy() + " still "
                        + "references: nothing was deleted. Dispose of the referencing rows first, or set deleteChildren: "
                        + "true on the rule to delete them in the same batches");
            }
            if (n.total() > 0 && n.matched() == n.total() && !Boolean.TRUE.equals(p.rule().allowAll)) {
                st.rules = rules;
                return refuse(r, "rule " + p.name() + " matches every row of " + p.table() + " (" + n.total()
                        + "): nothing was touched. If that is meant, set allowAll: true on the rule");
            }
        }
        st.rules = rules;
        st.rulesDigest = r.digest;
        st.piiFindings = Boolean.TRUE.equals(r.job.getSpec().dryRun) ? piiFindings(r.db(), plans) : null;
        // a dry run's report has counts only and changes nothing; a real run waits for a person
        st.phase = Phase.move(st.phase, Boolean.TRUE.equals(r.job.getSpec().dryRun) ? DisposalPhase.Reporting
                : DisposalPhase.AwaitingApproval);
        return Step.next();
    }

    /** Samples per column for a dry run's PII discovery. */
    static final int PII_SAMPLE = 200;

    /**
     * The database's columns that look personal ({@link io.dbaoperator.masking.PiiDiscovery}), each with the
     * anonymize rule that covers it: what a team writes its rules from.
     */
    static List<DisposalJobStatus.PiiFinding> piiFindings(java.sql.Connection db,
            List<DisposalPlanner.RulePlan> plans) throws SQLException {
        List<DisposalJobStatus.PiiFinding> out = new ArrayList<>();
        for (var f : io.dbaoperator.masking.PiiDiscovery.discover(db, List.of(), PII_SAMPLE)) {
            DisposalJobStatus.PiiFinding x = new DisposalJobStatus.PiiFinding();
            x.column = f.qualifiedColumn();
            x.type = f.type();
            x.kind = f.kind().name();
            x.evidence = f.evidence();
            x.coveredBy = plans.stream().filter(p -> p.rule().anonymize != null && p.rule().anonymize.columns != null
                    && p.rule().anonymize.columns.containsKey(f.column()) && f.table().equals(p.table().name())
                    && f.schema().equals(p.table().schema() == null ? "public" : p.table().schema()))
                    .map(DisposalPlanner.RulePlan::name).findFirst().orElse(null);
            out.add(x);
        }
        return out;
    }

    /** Stops before anything is touched; the Event comes with the condition's transition, once. */
    private static Step refuse(Run r, String message) {
        r.st.phase = Phase.move(r.st.phase, DisposalPhase.Failed);
        r.ready(false, Reason.RuleRefused, message);
        return Step.rest(Duration.ofMinutes(5));
    }

    /** The rules' digest is what a person approves; approved, the run moves to Disposing (stored before a batch). */
    private Step awaitingApproval(Run r) {
        DisposalJobStatus st = r.st;
        long total = st.rules.stream().mapToLong(x -> x.matched == null ? 0 : x.matched).sum();
        StringBuilder what = new StringBuilder();
        for (var x : st.rules) {
            what.append(what.length() == 0 ? "" : "; ").append(x.action).append(' ').append(x.matched)
                    .append(" row(s) of ").append(x.table);
        }
        var result = ApprovalStep.check(r.job, st, new GatedStep(DisposalJobReconciler.STEP, what + " (" + total
                + " in all)", r.digest, null, DisposalJobReconciler.generation(r.job)),
                DisposalJobReconciler.SHORT_NAME, Instant.now());
        r.log.decided(result.audit());
        if (result.outcome() == GateOutcome.REJECTED) {
            st.phase = Phase.move(st.phase, DisposalPhase.Rejected);
            r.ready(false, Reason.Rejected, "rejected by " + st.rejection.approvedBy + "; nothing was disposed of");
            return Step.onEvent();
        }
        if (result.outcome() == GateOutcome.WAIT) {
            st.message = Conditions.find(st.conditions, ConditionType.Approved).map(x -> x.message).orElse(null);
            return Step.onEvent();
        }
        st.phase = Phase.move(st.phase, DisposalPhase.Disposing);
        if (st.runStartedAt == null) {
            // the batches start now, after the approval this reconcile consumed (and recorded with its own time),
            // never at the reconcile's start: the report's startedAt is never before its approvedAt
            Instant started = Instant.now();
            for (ApprovalRecord a : st.approvals == null ? List.<ApprovalRecord>of() : st.approvals) {
                if (a.approvedAt != null && Instant.parse(a.approvedAt).isAfter(started)) {
                    started = Instant.parse(a.approvedAt);
                }
            }
            st.runStartedAt = started.toString();
        }
        return Step.next();
    }

    /** One writer per database: a disposal that changes rows holds the disposals' advisory lock. */
    private static Step lockedOut(Run r) throws SQLException {
        if (!SqlStates.tryAdvisoryLock(r.db(), SqlStates.LOCK_DISPOSALS)) {
            r.ready(false, Reason.WaitingForDatabase, "another disposal is working on this database; trying again "
                    + "shortly");
            return Step.rest(Duration.ofSeconds(2));
        }
        DisposalRunner.ensureSchema(r.db());
        return null;
    }

    /** Batches, resumable, inside the maintenance window; progress in status. */
    private Step disposing(Run r) throws SQLException {
        Step locked = lockedOut(r);
        if (locked != null) {
            return locked;
        }
        DisposalJobStatus st = r.st;
        var window = windows.stateAt(r.job, r.job.getSpec().maintenanceWindow, r.now);
        var gate = MaintenanceWindows.gate("disposing", window, null, r.now, null);
        if (!gate.go()) {
            // the approval is kept (consumed and recorded); the batches wait for the next window
            r.ready(false, Reason.OutsideMaintenanceWindow, gate.waiting());
            st.waitingForWindow = String.valueOf(gate.opensAt());
            return Step.rest(gate.requeue());
        }
        st.waitingForWindow = null;
        String approval = ApprovalStep.under(st, DisposalJobReconciler.STEP, r.digest);
        DisposalRunner runner = new DisposalRunner(Duration.ofMillis(500), r.in.pause(), r.job.getSpec().pacing);
        // a slice ends at the window's close at the latest: the next batch waits for the next window
        Instant sliceEnd = Instant.now().plus(window.budget(windows.instant(), slice));
        List<DisposalPlanner.RulePlan> plans = r.plans();
        long affected = 0;
        boolean all = true;
        for (int i = 0; i < plans.size(); i++) {
            DisposalPlanner.RulePlan p = plans.get(i);
            var rule = st.rules.get(i);
            DisposalRunner.Progress progress = Instant.now().isBefore(sliceEnd) ? runner.slice(r.db(), r.jobId,
                    st.runId, p, r.in.salt(), approval, sliceEnd, () -> false, rule.batchSize)
                    : DisposalRunner.progress(r.db(), r.jobId, st.runId, p.name());
            progress.report(rule);
            affected += progress.rowsDone();
            all &= progress.finished();
        }
        metrics.disposalRows(r.job.getMetadata().getNamespace(), r.job.getMetadata().getName(),
                affected - (st.rowsAffected == null ? 0 : st.rowsAffected));
        st.rowsAffected = affected;
        if (!all) {
            long matched = st.rules.stream().mapToLong(x -> x.matched == null ? 0 : x.matched).sum();
            r.ready(false, Reason.InProgress, "disposing: " + affected + " of " + matched + " row(s)");
            return Step.rest(Duration.ofMillis(50));
        }
        // the evidence behind "deleted": what a Delete rule still matches once its batches are done
        for (int i = 0; i < plans.size(); i++) {
            if (plans.get(i).delete()) {
                long left = DisposalRunner.stillMatching(r.db(), plans.get(i));
                st.rules.get(i).stillMatching = left == 0 ? null : left;
            }
        }
        st.phase = Phase.move(st.phase, DisposalPhase.Vacuuming);
        return Step.next();
    }

    private Step vacuuming(Run r) throws SQLException {
        Step locked = lockedOut(r);
        if (locked != null) {
            return locked;
        }
        r.ready(false, Reason.InProgress, "vacuum (" + r.job.getSpec().vacuum + ")");
        DisposalRunner.vacuum(r.db(), r.job.getSpec().vacuum, r.plans());
        r.st.phase = Phase.move(r.st.phase, DisposalPhase.Reporting);
        return Step.next();
    }

    /** The report (to S3 when asked) and its audit event, keyed by the run; then Completed or Scheduled. */
    private Step reporting(Run r) throws SQLException {
        DisposalJobStatus st = r.st;
        DisposalJobSpec spec = r.job.getSpec();
        boolean dry = Boolean.TRUE.equals(spec.dryRun);
        DisposalReport report = DisposalReport.build(r.job, st, r.plans(), covering.of(r.job, r.in.db()), r.now);
        if (r.in.report() != null) {
            st.reportLocation = DisposalReport.write(r.in.report(), r.job, report);
        }
        st.backupsHoldDataUntil = report.backupsHoldDataUntil();
        // keyed by the run: a retry after a 409 or a restart reports the same run again (and rewrites its report
        // under the same key)
        r.log.executed(AuditEvent.byOperator(r.job, "disposal", DisposalJobReconciler.STEP, "succeeded", r.digest,
                report.asMap()), "disposal/" + st.runId);
        st.lastRunAt = r.now.toString();
        st.runStartedAt = null;
        if (r.in.schedule() != null) {
            st.phase = Phase.move(st.phase, DisposalPhase.Scheduled);
            st.nextRunAt = r.in.schedule().next(r.now.atZone(ZoneOffset.UTC)).map(z -> z.toInstant().toString())
                    .orElse(null);
        } else {
            st.phase = Phase.move(st.phase, DisposalPhase.Completed);
        }
        List<String> left = st.rules.stream().filter(x -> x.stillMatching != null && !dry)
                .map(x -> x.stillMatching + (x.stillMatching >= DisposalRunner.STILL_MATCHING_LIMIT ? " or more" : "")
                        + " row(s) of rule " + x.name).toList();
        List<String> uncovered = st.piiFindings == null ? List.of() : st.piiFindings.stream()
                .filter(x -> x.coveredBy == null).map(x -> x.column + " (" + x.kind + ")").toList();
        r.ready(true, left.isEmpty() ? Reason.DisposalCompleted : Reason.RowsStillMatch, (dry ? "dry run: the rules match "
                + st.rules.stream().mapToLong(x -> x.matched).sum() + " row(s); nothing was changed"
                + (uncovered.isEmpty() ? "" : "; " + uncovered.size() + " column(s) look personal and no anonymize "
                        + "rule covers them: " + String.join(", ", uncovered.size() > 10 ? uncovered.subList(0, 10)
                                : uncovered) + (uncovered.size() > 10 ? ", ..." : "") + " (status.piiFindings)")
                : "disposed of " + st.rowsAffected + " row(s)")
                + (st.reportLocation != null ? "; report " + st.reportLocation : "")
                + (st.backupsHoldDataUntil != null ? "; backups still hold the data until "
                        + st.backupsHoldDataUntil : "")
                + (left.isEmpty() ? "" : "; still matching after the batches: " + String.join(", ", left)
                        + " (aged past the cutoff or written since the batches passed them: the approval covered the "
                        + "rows counted before; the next run, on schedule or with annotation "
                        + DisposalJobReconciler.RUN_NOW + ", counts and asks again)"));
        return Step.rest(untilNext(st, r.now));
    }

    private static Duration untilNext(DisposalJobStatus st, Instant now) {
        return io.dbaoperator.status.ScheduledRuns.untilNext(st.nextRunAt, now);
    }

    private static void startRun(DisposalJobStatus st, Instant now) {
        st.runId = io.dbaoperator.status.ScheduledRuns.next(now, st.runId);
        st.rowsAffected = 0L;
        st.runStartedAt = null;
        st.reportLocation = null;
    }

    static void ready(DisposalJob job, DisposalJobStatus st, boolean ready, Reason reason, String message) {
        st.message = message;
        st.conditions = Conditions.set(st.conditions, ConditionType.Ready, ready, reason, message,
                DisposalJobReconciler.generation(job), Instant.now());
    }
}
