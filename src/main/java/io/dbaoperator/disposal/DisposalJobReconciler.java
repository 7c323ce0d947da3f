package io.dbaoperator.disposal;

import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
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
import io.dbaoperator.approval.PlanDigest;
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
    private final MaintenanceWindows windows;
    private final SecretReader secrets;
    private final WorkflowRunner runner;
    private final Databases databases;
    private final StorageDefaults storageDefaults;
    private final DisposalSteps steps;

    public DisposalJobReconciler(ReferenceChecks checks, SecretReader secrets, WorkflowRunner runner,
            Databases databases, EventRecorder events,
            io.dbaoperator.metrics.OperatorMetrics metrics, StorageDefaults storageDefaults, MaintenanceWindows windows,
            @ConfigProperty(name = "dba.migration.slice", defaultValue = "5s") String slice) {
        this.databases = databases;
        this.storageDefaults = storageDefaults;
        this.checks = checks;
        this.secrets = secrets;
        this.runner = runner;
        this.windows = windows;
        this.steps = new DisposalSteps(events, windows, Durations.parse("dba.migration.slice", slice), metrics,
                this::coveringPolicies);
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

    static long generation(DisposalJob job) {
        return job.getMetadata().getGeneration() == null ? 0 : job.getMetadata().getGeneration();
    }

    static boolean runRequested(DisposalJob job, DisposalJobStatus status) {
        return io.dbaoperator.status.ScheduledRuns.asked(job, RUN_NOW, status.lastRunRequest);
    }

    /** The digest an approval binds to: the rules alone (not the schedule, not the pause). */
    static String rulesDigest(DisposalJobSpec spec) {
        return PlanDigest.of(Map.of("rules", spec.rules, "dryRun", spec.dryRun));
    }

    @Override
    public Duration advance(DisposalJob job, DisposalJobStatus st, Inputs in, WriteAhead log,
            Context<DisposalJob> context) throws SQLException {
        try (DisposalSteps.Run run = new DisposalSteps.Run(job, st, in, log, databases,
                windows.instant())) {
            return steps.machine().drive(run, log);
        }
    }

    /** BackupPolicies in the namespace whose database is this one (same hosts and database name). */
    private List<BackupPolicy> coveringPolicies(DisposalJob job, ConnectionSettings db) {
        List<BackupPolicy> covering = new ArrayList<>();
        for (BackupPolicy p : checks.caches().list(BackupPolicy.class, job.getMetadata().getNamespace())) {
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


}
