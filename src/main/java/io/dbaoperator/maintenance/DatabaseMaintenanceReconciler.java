package io.dbaoperator.maintenance;

import java.io.IOException;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import io.dbaoperator.api.common.Phase;
import io.dbaoperator.api.maintenance.DatabaseMaintenance;
import io.dbaoperator.api.maintenance.DatabaseMaintenanceSpec;
import io.dbaoperator.api.maintenance.DatabaseMaintenanceStatus;
import io.dbaoperator.api.maintenance.MaintenancePhase;
import io.dbaoperator.approval.PlanDigest;
import io.dbaoperator.kube.CronSchedule;
import io.dbaoperator.kube.Durations;
import io.dbaoperator.kube.EventRecorder;
import io.dbaoperator.kube.MaintenanceWindows;
import io.dbaoperator.metrics.OperatorMetrics;
import io.dbaoperator.postgres.ConnectionSettings;
import io.dbaoperator.postgres.Databases;
import io.dbaoperator.postgres.PostgresConnector;
import io.dbaoperator.postgres.SqlStates;
import io.dbaoperator.problem.Problem;
import io.dbaoperator.problem.Reason;
import io.dbaoperator.references.ReferenceChecks;
import io.dbaoperator.status.ConditionType;
import io.dbaoperator.status.Conditions;
import io.dbaoperator.status.StatusPatcher;
import io.dbaoperator.status.Workflow;
import io.dbaoperator.status.WorkflowRunner;
import io.dbaoperator.status.WriteAhead;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.ControllerConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.Reconciler;
import io.javaoperatorsdk.operator.api.reconciler.UpdateControl;

/**
 * Reconciles DatabaseMaintenance: surveys the database ({@link MaintenanceSurvey}), writes the plan to status
 * ({@link MaintenancePlanner}) before anything runs, then runs one task at a time inside the maintenance window
 * ({@link MaintenanceRunner}), each recorded with its evidence before and after; the tasks that rewrite large
 * objects wait for a person's approval. A run comes from the schedule, from
 * {@code kubectl annotate mnt NAME dbaoperator.io/run-now=$(date +%s) --overwrite}, or from a table's freeze age
 * passing the urgent threshold.
 */
@ControllerConfiguration(name = "databasemaintenance", generationAwareEventProcessing = false)
public class DatabaseMaintenanceReconciler implements Reconciler<DatabaseMaintenance>,
        Workflow<DatabaseMaintenance, DatabaseMaintenanceStatus, DatabaseMaintenanceReconciler.Inputs> {

    public static final String RUN_NOW = "dbaoperator.io/run-now";
    static final String SHORT_NAME = "mnt";
    static final String STEP = "maintain";
    /** pgstatindex and pgstattuple_approx read objects of at least this size; smaller ones are estimated. */
    static final long MEASURE_FLOOR = 1024 * 1024;

    private final ReferenceChecks checks;
    private final WorkflowRunner runner;
    private final Databases databases;
    private final MaintenanceWindows windows;
    private final MaintenanceSteps steps;

    public DatabaseMaintenanceReconciler(ReferenceChecks checks, WorkflowRunner runner, Databases databases,
            EventRecorder events, OperatorMetrics metrics, MaintenanceWindows windows) {
        this.checks = checks;
        this.runner = runner;
        this.databases = databases;
        this.windows = windows;
        this.steps = new MaintenanceSteps(events, windows, metrics, DatabaseMaintenanceReconciler::repack);
    }

    /**
     * What validation resolved.
     *
     * @param specDigest what a plan is made from: a change plans the run again
     */
    record Inputs(ConnectionSettings db, MaintenancePlanner.Policy policy, MaintenanceRunner.Settings settings,
            CronSchedule schedule, String specDigest) {
    }

    @Override
    public UpdateControl<DatabaseMaintenance> reconcile(DatabaseMaintenance resource,
            Context<DatabaseMaintenance> context) {
        return runner.run(resource, context, StatusPatcher.copy(resource.getStatus(), DatabaseMaintenanceStatus.class),
                this);
    }

    @Override
    public Validated<Inputs> validate(DatabaseMaintenance resource, DatabaseMaintenanceStatus status) {
        DatabaseMaintenanceSpec spec = resource.getSpec();
        CronSchedule schedule = spec.schedule == null ? null
                : CronSchedule.parse("spec.schedule", spec.schedule, spec.timeZone);
        MaintenancePlanner.Policy policy = policy(spec);
        List<String> problems = MaintenancePlanner.thresholdProblems(policy);
        if (!problems.isEmpty()) {
            throw Problem.invalid(Reason.InvalidSpec, String.join("; ", problems) + ": nothing was touched")
                    .exception();
        }
        Duration lockTimeout = Durations.parse("spec.lockTimeout", spec.lockTimeout);
        var settings = new MaintenanceRunner.Settings(lockTimeout, spec.maxLockRetries == null ? 10
                : spec.maxLockRetries, Duration.ZERO, spec.vacuum == null ? null : spec.vacuum.costDelayMs,
                spec.vacuum == null ? null : spec.vacuum.costLimit);
        var db = checks.database(resource.getMetadata().getNamespace(), spec.database, "spec.database");
        return new Validated<>(new Inputs(db.settings(), policy, settings, schedule, specDigest(spec)),
                "database " + db.describe() + " answers");
    }

    /** The planner's policy from the spec; names and sizes that cannot be read are refused here. */
    static MaintenancePlanner.Policy policy(DatabaseMaintenanceSpec spec) {
        Set<MaintenancePlanner.Duty> duties = EnumSet.noneOf(MaintenancePlanner.Duty.class);
        for (var t : spec.tasks == null || spec.tasks.isEmpty() ? new DatabaseMaintenanceSpec().tasks : spec.tasks) {
            duties.add(MaintenancePlanner.Duty.valueOf(t.name()));
        }
        MaintenancePlanner.Thresholds defaults = thresholds(spec.thresholds, MaintenancePlanner.Thresholds.DEFAULTS,
                "spec.thresholds");
        Map<String, MaintenancePlanner.Thresholds> perTable = new LinkedHashMap<>();
        for (var t : spec.tables == null ? List.<DatabaseMaintenanceSpec.TableThresholds>of() : spec.tables) {
            name(t.name, "spec.tables[].name");
            if (perTable.put(t.name, thresholds(t.thresholds, defaults, "spec.tables[" + t.name + "].thresholds"))
                    != null) {
                throw Problem.invalid(Reason.InvalidSpec, "spec.tables names " + t.name + " twice").exception();
            }
        }
        List<String> include = spec.include == null ? List.of() : spec.include;
        List<String> exclude = spec.exclude == null ? List.of() : spec.exclude;
        include.forEach(n -> name(n, "spec.include"));
        exclude.forEach(n -> name(n, "spec.exclude"));
        long approvalBytes = bytes(spec.approval == null ? "1Gi" : spec.approval.reindexApprovalSize,
                "spec.approval.reindexApprovalSize");
        if (spec.approval != null && spec.approval.policy == DatabaseMaintenanceSpec.Approval.Policy.Always) {
            approvalBytes = 0; // every reindex; the steps gate the other tasks too
        }
        return new MaintenancePlanner.Policy(duties, defaults, perTable, include, exclude, approvalBytes);
    }

    private static MaintenancePlanner.Thresholds thresholds(DatabaseMaintenanceSpec.Thresholds t,
            MaintenancePlanner.Thresholds base, String field) {
        if (t == null) {
            return base;
        }
        return new MaintenancePlanner.Thresholds(
                t.deadTuplePercent == null ? base.deadTupleRatio() : t.deadTuplePercent / 100.0,
                t.minDeadTuples == null ? base.minDeadTuples() : t.minDeadTuples,
                t.analyzePercent == null ? base.analyzeRatio() : t.analyzePercent / 100.0,
                t.minModifications == null ? base.minModifications() : t.minModifications,
                t.freezeAge == null ? base.freezeAge() : t.freezeAge,
                t.urgentFreezeAge == null ? base.urgentFreezeAge() : t.urgentFreezeAge,
                t.indexBloatPercent == null ? base.indexBloatPercent() : t.indexBloatPercent,
                t.minIndexSize == null ? base.minIndexBytes() : bytes(t.minIndexSize, field + ".minIndexSize"),
                t.tableBloatPercent == null ? base.tableBloatPercent() : t.tableBloatPercent,
                t.minTableSize == null ? base.minTableBytes() : bytes(t.minTableSize, field + ".minTableSize"));
    }

    private static void name(String pattern, String field) {
        if (pattern == null || !pattern.matches("[A-Za-z0-9_$*]+(\\.[A-Za-z0-9_$*]+)?")) {
            throw Problem.invalid(Reason.InvalidSpec, field + ": '" + pattern + "' is not a table name ('schema.table'"
                    + " or 'table'; letters, digits, _ and $, with * for any run of characters)").exception();
        }
    }

    /** "8Mi" -> 8388608; bytes without a suffix. */
    static long bytes(String size, String field) {
        return io.dbaoperator.status.Sizes.parse(size, field);
    }

    /** What a run is planned from: every field but the schedule's (which only says when). */
    static String specDigest(DatabaseMaintenanceSpec spec) {
        Map<String, Object> plan = new LinkedHashMap<>();
        plan.put("tasks", spec.tasks);
        plan.put("thresholds", spec.thresholds);
        plan.put("tables", spec.tables);
        plan.put("include", spec.include);
        plan.put("exclude", spec.exclude);
        plan.put("approval", spec.approval);
        plan.put("dryRun", spec.dryRun);
        plan.put("maxTasksPerRun", spec.maxTasksPerRun);
        return PlanDigest.of(plan);
    }

    @Override
    public Duration databaseError(DatabaseMaintenance resource, DatabaseMaintenanceStatus status, Inputs in,
            SQLException e) {
        if (SqlStates.connectionLost(e)) {
            status.message = "lost the connection to the database in phase " + status.phase + " ("
                    + e.getSQLState() + "); the run resumes with the task it was on, judged by its evidence";
            status.conditions = Conditions.set(status.conditions, ConditionType.Ready, false,
                    Reason.DatabaseUnreachable, status.message, generation(resource), Instant.now());
            return Duration.ofSeconds(3);
        }
        throw PostgresConnector.classify(e, in.db()).exception();
    }

    @Override
    public void onProblem(DatabaseMaintenance resource, DatabaseMaintenanceStatus status, Problem problem) {
        if (status.phase == null || status.phase == MaintenancePhase.Pending || status.phase == MaintenancePhase.Failed
                || status.phase == MaintenancePhase.Planning) {
            status.phase = Phase.move(status.phase,
                    problem.permanent() ? MaintenancePhase.Failed : MaintenancePhase.Pending);
        }
    }

    @Override
    public Duration advance(DatabaseMaintenance resource, DatabaseMaintenanceStatus st, Inputs in, WriteAhead log,
            Context<DatabaseMaintenance> context) throws SQLException {
        try (MaintenanceSteps.Run run = new MaintenanceSteps.Run(resource, st, in, log, databases,
                windows.instant())) {
            return steps.machine().drive(run, log);
        }
    }

    static long generation(DatabaseMaintenance resource) {
        return resource.getMetadata().getGeneration() == null ? 0 : resource.getMetadata().getGeneration();
    }

    static boolean runRequested(DatabaseMaintenance resource, DatabaseMaintenanceStatus status) {
        return io.dbaoperator.status.ScheduledRuns.asked(resource, RUN_NOW, status.lastRunRequest);
    }

    /** pg_repack with the resource's credentials, for as long as the task may take (a day at most). */
    private static PgRepack.Result repack(ConnectionSettings db, MaintenanceRunner.Settings s, String schema,
            String table) throws SQLException {
        try {
            return PgRepack.run(db, schema, table, s.lockTimeout().multipliedBy(5), Duration.ofHours(24),
                    System.getenv());
        } catch (IOException e) {
            throw new SQLException("could not run pg_repack: " + e.getMessage(), "58000", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new SQLException("interrupted while pg_repack ran", "57014", e);
        } catch (IllegalStateException e) {
            throw new SQLException(e.getMessage(), "58000", e);
        }
    }

    /** Runs pg_repack for the steps (the reconciler holds the credentials it needs). */
    @FunctionalInterface
    interface Repack {
        PgRepack.Result run(ConnectionSettings db, MaintenanceRunner.Settings s, String schema, String table)
                throws SQLException;
    }

    static List<String> names(List<DatabaseMaintenanceStatus.TaskStatus> tasks) {
        List<String> out = new ArrayList<>();
        for (var t : tasks) {
            out.add(t.kind + " " + t.object);
        }
        return out;
    }
}
