package io.dbaoperator.disposal;

import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.eclipse.microprofile.config.inject.ConfigProperty;

import io.dbaoperator.api.backup.BackupPolicy;
import io.dbaoperator.api.common.Phase;
import io.dbaoperator.api.disposal.DisposalJob;
import io.dbaoperator.api.disposal.DisposalJobSpec.ColumnStrategy.Strategy;
import io.dbaoperator.api.disposal.DisposalJobSpec;
import io.dbaoperator.api.disposal.DisposalJobStatus;
import io.dbaoperator.api.disposal.DisposalPhase;
import io.dbaoperator.approval.ApprovalStep;
import io.dbaoperator.approval.GateOutcome;
import io.dbaoperator.approval.GatedStep;
import io.dbaoperator.approval.PlanDigest;
import io.dbaoperator.audit.AuditEvent;
import io.dbaoperator.kube.CronSchedule;
import io.dbaoperator.kube.Durations;
import io.dbaoperator.kube.EventRecorder;
import io.dbaoperator.kube.MaintenanceWindows;
import io.dbaoperator.references.ReferenceChecks;
import io.dbaoperator.kube.SecretReader;
import io.dbaoperator.postgres.ConnectionSettings;
import io.dbaoperator.postgres.Databases;
import io.dbaoperator.postgres.PostgresConnector;
import io.dbaoperator.postgres.SqlStates;
import io.dbaoperator.problem.Problem;
import io.dbaoperator.problem.Reason;
import io.dbaoperator.status.ConditionType;
import io.dbaoperator.status.Conditions;
import io.dbaoperator.status.StatusPatcher;
import io.dbaoperator.status.Workflow;
import io.dbaoperator.status.WorkflowRunner;
import io.dbaoperator.status.WriteAhead;
import io.dbaoperator.storage.S3Location;
import io.dbaoperator.storage.StorageDefaults;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.ControllerConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.Reconciler;
import io.javaoperatorsdk.operator.api.reconciler.UpdateControl;

/**
 * Reconciles DisposalJob: validates the rules against the catalog ({@link DisposalPlanner}), counts what they match
 * (the dry run, in status), waits for a person to approve the rules' digest (a scheduled run with unchanged rules
 * does not ask again), disposes in short batches ({@link DisposalRunner}) with progress in status, vacuums, and
 * writes the disposal report to S3 and the audit store ({@link DisposalReport}). A run asks for
 * {@code kubectl annotate dsp NAME dbaoperator.io/run-now=$(date +%s) --overwrite} or comes from the schedule.
 */
@ControllerConfiguration(name = "disposaljob", generationAwareEventProcessing = false)
public class DisposalJobReconciler implements Reconciler<DisposalJob>,
        Workflow<DisposalJob, DisposalJobStatus, DisposalJobReconciler.Inputs> {

    public static final String RUN_NOW = "dbaoperator.io/run-now";
    static final String SHORT_NAME = "dsp";
    static final String STEP = "dispose";

    private final ReferenceChecks checks;
    private final SecretReader secrets;
    private final WorkflowRunner runner;
    private final Databases databases;
    private final KubernetesClient client;
    private final EventRecorder events;
    private final Duration slice;
    private final io.dbaoperator.metrics.OperatorMetrics metrics;
    private final StorageDefaults storageDefaults;
    private final MaintenanceWindows windows;

    public DisposalJobReconciler(ReferenceChecks checks, SecretReader secrets, WorkflowRunner runner,
            KubernetesClient client, Databases databases, EventRecorder events,
            io.dbaoperator.metrics.OperatorMetrics metrics, StorageDefaults storageDefaults, MaintenanceWindows windows,
            @ConfigProperty(name = "dba.migration.slice", defaultValue = "5s") String slice) {
        this.databases = databases;
        this.windows = windows;
        this.metrics = metrics;
        this.storageDefaults = storageDefaults;
        this.checks = checks;
        this.secrets = secrets;
        this.runner = runner;
        this.client = client;
        this.events = events;
        this.slice = Durations.parse("dba.migration.slice", slice);
    }

    record Inputs(ConnectionSettings db, String salt, S3Location report, CronSchedule schedule,
            Duration pause) {
    }

    @Override
    public UpdateControl<DisposalJob> reconcile(DisposalJob job, Context<DisposalJob> context) {
        return runner.run(job, context, StatusPatcher.copy(job.getStatus(), DisposalJobStatus.class), this);
    }

    /** Also at rest: a completed job that has nothing to run again (no run asked for, the same rules). */
    @Override
    public boolean settled(DisposalJob job, DisposalJobStatus status) {
        return Workflow.super.settled(job, status)
                || status.phase == DisposalPhase.Completed && !runRequested(job, status)
                        && rulesDigest(job.getSpec()).equals(status.rulesDigest);
    }

    @Override
    public Validated<Inputs> validate(DisposalJob job, DisposalJobStatus status) {
        DisposalJobSpec spec = job.getSpec();
        String ns = job.getMetadata().getNamespace();
        CronSchedule schedule = spec.schedule == null ? null
                : CronSchedule.parse("spec.schedule", spec.schedule, spec.timeZone);
        Set<String> names = new HashSet<>();
        boolean needsSalt = false;
        for (var rule : spec.rules) {
            String name = DisposalPlanner.ruleName(rule);
            if (!names.add(name)) {
                throw Problem.invalid(Reason.InvalidSpec, "two rules are named '" + name
                        + "': give each rule a distinct name").exception();
            }
            if (rule.anonymize != null && rule.anonymize.columns != null) {
                needsSalt |= rule.anonymize.columns.values().stream()
                        .anyMatch(c -> c.strategy == Strategy.Hash || c.strategy == Strategy.Fake);
            }
        }
        String salt = null;
        if (needsSalt) {
            if (spec.saltSecretRef == null) {
                throw Problem.invalid(Reason.InvalidSpec, "rules use the Hash or Fake strategy, which need a salt: "
                        + "set spec.saltSecretRef to a Secret with key 'salt'").exception();
            }
            Map<String, String> data = secrets.read(ns, spec.saltSecretRef.name, "spec.saltSecretRef");
            salt = data.get("salt");
            if (salt == null || salt.length() < 16) {
                throw Problem.invalid(Reason.SecretKeyMissing, "Secret " + spec.saltSecretRef.name
                        + " needs key 'salt' with at least 16 characters").exception();
            }
        }
        var db = checks.database(ns, spec.database, "spec.database");
        String summary = "database " + db.describe();
        S3Location report = null;
        // the report goes where spec.report.storage says, else to the operator's default storage if it has one
        if (spec.report != null || storageDefaults.configured()) {
            report = checks.storage(ns, storageDefaults.resolve(spec.report == null ? null : spec.report.storage,
                    "spec.report.storage"), "spec.report.storage");
            summary += ", report bucket " + report.bucket();
        }
        return new Validated<>(new Inputs(db.settings(), salt, report, schedule,
                Durations.parse("spec.pauseBetweenBatches", spec.pauseBetweenBatches)),
                summary + " answer" + (report != null ? "" : "s"));
    }

    @Override
    public Duration databaseError(DisposalJob job, DisposalJobStatus status, Inputs in, SQLException e) {
        if (SqlStates.connectionLost(e)) {
            status.message = "lost the connection to the database in phase " + status.phase + " ("
                    + e.getSQLState() + "); the run resumes after its last committed batch";
            status.conditions = Conditions.set(status.conditions, ConditionType.Ready, false,
                    Reason.DatabaseUnreachable, status.message, generation(job), Instant.now());
            return Duration.ofSeconds(3);
        }
        throw PostgresConnector.classify(e, in.db()).exception();
    }

    @Override
    public void onProblem(DisposalJob job, DisposalJobStatus status, Problem problem) {
        if (status.phase == null || status.phase == DisposalPhase.Pending || status.phase == DisposalPhase.Failed
                || status.phase == DisposalPhase.Counting) {
            status.phase = Phase.move(status.phase,
                    problem.permanent() ? DisposalPhase.Failed : DisposalPhase.Pending);
        }
    }

    private static long generation(DisposalJob job) {
        return job.getMetadata().getGeneration() == null ? 0 : job.getMetadata().getGeneration();
    }

    private static boolean runRequested(DisposalJob job, DisposalJobStatus status) {
        var annotations = job.getMetadata().getAnnotations();
        String asked = annotations == null ? null : annotations.get(RUN_NOW);
        return asked != null && !asked.equals(status.lastRunRequest);
    }

    /** The digest an approval binds to: the rules alone (not the schedule, not the pause). */
    static String rulesDigest(DisposalJobSpec spec) {
        return PlanDigest.of(Map.of("rules", spec.rules, "dryRun", spec.dryRun));
    }

    @Override
    public Duration advance(DisposalJob job, DisposalJobStatus st, Inputs in, WriteAhead log,
            Context<DisposalJob> context) throws SQLException {
        DisposalJobSpec spec = job.getSpec();
        String digest = rulesDigest(spec);
        Instant now = Instant.now();
        if (st.phase == null || st.phase == DisposalPhase.Pending) {
            st.phase = Phase.move(st.phase, DisposalPhase.Counting);
            startRun(job, st, now);
        } else if (st.phase == DisposalPhase.Failed) {
            // look again (the data or the rules may have changed), same run
            st.phase = Phase.move(st.phase, DisposalPhase.Counting);
        }
        if (st.phase == DisposalPhase.Completed || st.phase == DisposalPhase.Scheduled) {
            boolean due = in.schedule() != null && st.nextRunAt != null && !now.isBefore(Instant.parse(st.nextRunAt));
            boolean rulesChanged = st.rulesDigest != null && !st.rulesDigest.equals(digest);
            if (!due && !runRequested(job, st) && !rulesChanged) {
                return untilNext(st, now);
            }
            if (rulesChanged) {
                events.normal(job, "RulesChanged", "the rules changed (" + digest + "): counting them now, and the "
                        + "run waits for a new approval");
            }
            st.phase = Phase.move(st.phase, DisposalPhase.Counting);
            startRun(job, st, now);
        }
        if (runRequested(job, st)) {
            st.lastRunRequest = job.getMetadata().getAnnotations().get(RUN_NOW);
        }
        if (st.rulesDigest != null && !st.rulesDigest.equals(digest) && st.phase != DisposalPhase.Counting) {
            // the rules changed mid-run or while waiting: count again and ask again
            events.normal(job, "RulesChanged", "the rules changed (" + digest + "); counting again");
            st.phase = Phase.move(st.phase, DisposalPhase.Counting);
        }
        String jobId = job.getMetadata().getNamespace() + "/" + job.getMetadata().getName() + "/"
                + job.getMetadata().getUid();
        try (Connection c = databases.open(in.db(), "dba-operator/disposal/" + jobId)) {
            List<DisposalPlanner.RulePlan> plans = DisposalPlanner.plan(c, spec);
            if (st.phase == DisposalPhase.Counting) {
                Duration d = counting(job, st, c, plans, digest);
                if (d != null) {
                    return d;
                }
            }
            if (st.phase == DisposalPhase.AwaitingApproval) {
                GateOutcome g = gate(job, st, digest, log);
                if (g == GateOutcome.REJECTED) {
                    st.phase = Phase.move(st.phase, DisposalPhase.Rejected);
                    ready(job, st, false, Reason.Rejected, "rejected by " + st.rejection.approvedBy + "; nothing was "
                            + "disposed of");
                    return null;
                }
                if (g == GateOutcome.WAIT) {
                    st.message = Conditions.find(st.conditions, ConditionType.Approved).map(x -> x.message).orElse(null);
                    return null;
                }
                st.phase = Phase.move(st.phase, DisposalPhase.Disposing);
                if (st.runStartedAt == null) {
                    st.runStartedAt = now.toString();
                }
                // decide, persist, act: the consumed approval and the run it starts are stored before the first
                // batch; a 409 leaves with nothing deleted or changed
                log.persist();
            }
            // one disposal writes to a database at a time; a report (a dry run's counts) writes nothing there
            if (st.phase == DisposalPhase.Disposing || st.phase == DisposalPhase.Vacuuming) {
                if (!SqlStates.tryAdvisoryLock(c, SqlStates.LOCK_DISPOSALS)) {
                    ready(job, st, false, Reason.WaitingForDatabase, "another disposal is working on this database; "
                            + "trying again shortly");
                    return Duration.ofSeconds(2);
                }
                DisposalRunner.ensureSchema(c);
            }
            if (st.phase == DisposalPhase.Disposing) {
                var window = windows.now(job, spec.maintenanceWindow);
                var gate = MaintenanceWindows.gate("disposing", window, null, now, null);
                if (!gate.go()) {
                    // the approval is kept (consumed and recorded); the batches wait for the next window
                    ready(job, st, false, Reason.OutsideMaintenanceWindow, gate.waiting());
                    st.waitingForWindow = String.valueOf(gate.opensAt());
                    return gate.requeue();
                }
                st.waitingForWindow = null;
                Duration d = disposing(job, st, c, plans, in, jobId, ApprovalStep.under(st, STEP, digest), window);
                if (d != null) {
                    return d;
                }
            }
            if (st.phase == DisposalPhase.Vacuuming) {
                ready(job, st, false, Reason.InProgress, "vacuum (" + spec.vacuum + ")");
                DisposalRunner.vacuum(c, spec.vacuum, plans);
                st.phase = Phase.move(st.phase, DisposalPhase.Reporting);
            }
            if (st.phase == DisposalPhase.Reporting) {
                boolean dry = Boolean.TRUE.equals(spec.dryRun);
                DisposalReport report = DisposalReport.build(job, st, plans, coveringPolicies(job, in.db()), now);
                if (in.report() != null) {
                    st.reportLocation = DisposalReport.write(in.report(), job, report);
                }
                st.backupsHoldDataUntil = report.backupsHoldDataUntil();
                // keyed by the run: a retry after a 409 or a restart reports the same run again (and rewrites its
                // report under the same key)
                log.executed(AuditEvent.byOperator(job, "disposal", STEP, "succeeded", digest, report.asMap()),
                        "disposal/" + st.runId);
                st.lastRunAt = now.toString();
                st.runStartedAt = null;
                if (in.schedule() != null) {
                    st.phase = Phase.move(st.phase, DisposalPhase.Scheduled);
                    st.nextRunAt = in.schedule().next(now.atZone(ZoneOffset.UTC)).map(z -> z.toInstant().toString())
                            .orElse(null);
                } else {
                    st.phase = Phase.move(st.phase, DisposalPhase.Completed);
                }
                ready(job, st, true, Reason.DisposalCompleted, (dry ? "dry run: the rules match "
                        + st.rules.stream().mapToLong(r -> r.matched).sum() + " row(s); nothing was changed"
                        : "disposed of " + st.rowsAffected + " row(s)")
                        + (st.reportLocation != null ? "; report " + st.reportLocation : "")
                        + (st.backupsHoldDataUntil != null ? "; backups still hold the data until "
                                + st.backupsHoldDataUntil : ""));
                return untilNext(st, now);
            }
        }
        return null;
    }

    private static Duration untilNext(DisposalJobStatus st, Instant now) {
        if (st.nextRunAt == null) {
            return null;
        }
        Duration d = Duration.between(now, Instant.parse(st.nextRunAt));
        return d.isNegative() ? Duration.ofSeconds(1) : d.plusMillis(200);
    }

    private static void startRun(DisposalJob job, DisposalJobStatus st, Instant now) {
        st.runId = now.toString().replace(":", "").replace("-", "").replaceAll("\\.\\d+", "");
        st.rowsAffected = 0L;
        st.runStartedAt = null;
        st.reportLocation = null;
    }

    /** The dry run: exact counts and what the foreign keys imply; then Completed (dryRun) or the gate. */
    private Duration counting(DisposalJob job, DisposalJobStatus st, Connection c,
            List<DisposalPlanner.RulePlan> plans, String digest) throws SQLException {
        List<DisposalRunner.Count> counts = DisposalRunner.count(c, plans, true);
        List<DisposalJobStatus.RuleProgress> rules = new ArrayList<>();
        for (int i = 0; i < plans.size(); i++) {
            DisposalPlanner.RulePlan p = plans.get(i);
            DisposalRunner.Count n = counts.get(i);
            DisposalJobStatus.RuleProgress r = new DisposalJobStatus.RuleProgress();
            r.name = p.name();
            r.table = p.table().toString();
            r.action = p.rule().action.name();
            r.matched = n.matched();
            r.done = 0L;
            r.notes = n.notes().isEmpty() ? null : n.notes();
            rules.add(r);
            if (n.blockedBy() != null) {
                st.rules = rules;
                return refuse(job, st, "rule " + p.name() + " would delete rows that " + n.blockedBy() + " still "
                        + "references: nothing was deleted. Dispose of the referencing rows first, or set deleteChildren: "
                        + "true on the rule to delete them in the same batches");
            }
            if (n.total() > 0 && n.matched() == n.total() && !Boolean.TRUE.equals(p.rule().allowAll)) {
                st.rules = rules;
                return refuse(job, st, "rule " + p.name() + " matches every row of " + p.table() + " (" + n.total()
                        + "): nothing was touched. If that is meant, set allowAll: true on the rule");
            }
        }
        st.rules = rules;
        st.rulesDigest = digest;
        long total = rules.stream().mapToLong(r -> r.matched).sum();
        if (Boolean.TRUE.equals(job.getSpec().dryRun)) {
            // the dry run's report: counts only, nothing changed
            st.phase = Phase.move(st.phase, DisposalPhase.Reporting);
            return null;
        }
        st.phase = Phase.move(st.phase, DisposalPhase.AwaitingApproval);
        return null;
    }

    /** Stops before anything is touched; the Event comes with the condition's transition, once. */
    private Duration refuse(DisposalJob job, DisposalJobStatus st, String message) {
        st.phase = Phase.move(st.phase, DisposalPhase.Failed);
        ready(job, st, false, Reason.RuleRefused, message);
        return Duration.ofMinutes(5);
    }

    private GateOutcome gate(DisposalJob job, DisposalJobStatus st, String digest, WriteAhead log) {
        long total = st.rules.stream().mapToLong(r -> r.matched == null ? 0 : r.matched).sum();
        StringBuilder what = new StringBuilder();
        for (var r : st.rules) {
            what.append(what.length() == 0 ? "" : "; ").append(r.action).append(' ').append(r.matched)
                    .append(" row(s) of ").append(r.table);
        }
        var result = ApprovalStep.check(job, st, new GatedStep(STEP, what + " (" + total + " in all)", digest, null,
                generation(job)), SHORT_NAME, Instant.now());
        log.decided(result.audit());
        return result.outcome();
    }

    private Duration disposing(DisposalJob job, DisposalJobStatus st, Connection c,
            List<DisposalPlanner.RulePlan> plans, Inputs in, String jobId, String approval,
            MaintenanceWindows.State window) throws SQLException {
        DisposalRunner runner = new DisposalRunner(Duration.ofMillis(500), in.pause());
        // a slice ends at the window's close at the latest: the next batch waits for the next window
        Instant sliceEnd = Instant.now().plus(window.budget(Instant.now(), slice));
        long affected = 0;
        boolean all = true;
        for (int i = 0; i < plans.size(); i++) {
            DisposalPlanner.RulePlan p = plans.get(i);
            DisposalRunner.Progress progress = Instant.now().isBefore(sliceEnd)
                    ? runner.slice(c, jobId, st.runId, p, in.salt(), approval, sliceEnd, () -> false)
                    : DisposalRunner.progress(c, jobId, st.runId, p.name());
            st.rules.get(i).done = progress.rowsDone();
            affected += progress.rowsDone();
            all &= progress.finished();
        }
        metrics.disposalRows(job.getMetadata().getNamespace(), job.getMetadata().getName(),
                affected - (st.rowsAffected == null ? 0 : st.rowsAffected));
        st.rowsAffected = affected;
        if (!all) {
            long matched = st.rules.stream().mapToLong(r -> r.matched == null ? 0 : r.matched).sum();
            ready(job, st, false, Reason.InProgress, "disposing: " + affected + " of " + matched + " row(s)");
            return Duration.ofMillis(50);
        }
        st.phase = Phase.move(st.phase, DisposalPhase.Vacuuming);
        return null;
    }

    /** BackupPolicies in the namespace whose database is this one (same hosts and database name). */
    private List<BackupPolicy> coveringPolicies(DisposalJob job, ConnectionSettings db) {
        List<BackupPolicy> covering = new ArrayList<>();
        for (BackupPolicy p : client.resources(BackupPolicy.class).inNamespace(job.getMetadata().getNamespace()).list()
                .getItems()) {
            try {
                ConnectionSettings s = secrets.connection(p.getMetadata().getNamespace(), p.getSpec().database,
                        "BackupPolicy " + p.getMetadata().getName());
                if (s.hosts().equals(db.hosts()) && s.dbname().equals(db.dbname())) {
                    covering.add(p);
                }
            } catch (RuntimeException e) {
                // a policy whose Secret cannot be read does not cover anything we can tell
            }
        }
        return covering;
    }

    private static void ready(DisposalJob job, DisposalJobStatus st, boolean ready, Reason reason, String message) {
        st.message = message;
        st.conditions = Conditions.set(st.conditions, ConditionType.Ready, ready, reason, message, generation(job),
                Instant.now());
    }

}
