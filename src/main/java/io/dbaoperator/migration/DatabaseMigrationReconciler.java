package io.dbaoperator.migration;

import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.Set;

import org.eclipse.microprofile.config.inject.ConfigProperty;

import io.dbaoperator.api.backup.BackupPolicy;
import io.dbaoperator.api.common.Phase;
import io.dbaoperator.api.migration.DatabaseMigration;
import io.dbaoperator.api.migration.DatabaseMigrationSpec;
import io.dbaoperator.api.migration.DatabaseMigrationStatus;
import io.dbaoperator.api.migration.MigrationPhase;
import io.dbaoperator.kube.Durations;
import io.dbaoperator.kube.EventRecorder;
import io.dbaoperator.kube.MaintenanceWindows;
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
import io.dbaoperator.status.PhaseMachine;
import io.dbaoperator.status.Step;
import io.dbaoperator.status.WriteAhead;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.ControllerConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.Reconciler;
import io.javaoperatorsdk.operator.api.reconciler.UpdateControl;

/**
 * Reconciles DatabaseMigration through its phases (see {@link MigrationPhase}, whose table {@link Phase#move}
 * enforces). Each reconcile validates, then advances as far as it can without waiting, one handler per phase
 * ({@link PlanningStep}, Queued here, {@link BackupStep}, {@link StatementSteps}, {@link BackfillStep},
 * {@link CutoverSteps}), the maintenance window gating the phases that change production: it plans (PostgreSQL's
 * grammar checks the SQL, {@link MigrationPlanner} classifies and lints it), rehearses on staging, takes the database's migration lease, has the pre-migration backup
 * taken, runs expand with {@link StatementRunner}, runs the backfill in slices of {@code dba.migration.slice} (status
 * shows progress between slices), waits for cutover and approvals, contracts, or rolls back. Everything it did is in
 * {@code dba_operator.migration_history} of the database, which is what makes a step run once even across restarts;
 * status is the user's view of it.
 */
@ControllerConfiguration(name = "databasemigration", generationAwareEventProcessing = false)
public class DatabaseMigrationReconciler implements Reconciler<DatabaseMigration>,
        Workflow<DatabaseMigration, DatabaseMigrationStatus, MigrationWork.Inputs> {

    static final String SHORT_NAME = "dbm";
    static final String KIND = "DatabaseMigration";

    private final ReferenceChecks checks;
    private final WorkflowRunner runner;
    private final KubernetesClient client;
    private final Databases databases;
    private final EventRecorder events;
    private final MaintenanceWindows windows;
    private final BackupStep backup;
    private final CutoverSteps cutover;
    private final StatementSteps statements;
    private final BackfillStep backfill;
    final PhaseMachine<MigrationPhase, MigrationWork> machine;

    public DatabaseMigrationReconciler(ReferenceChecks checks, WorkflowRunner runner, KubernetesClient client,
            Databases databases, EventRecorder events, io.dbaoperator.metrics.OperatorMetrics metrics,
            MaintenanceWindows windows,
            @ConfigProperty(name = "dba.migration.slice", defaultValue = "5s") String slice) {
        this.windows = windows;
        this.databases = databases;
        this.checks = checks;
        this.runner = runner;
        this.client = client;
        this.events = events;
        this.backup = new BackupStep(BackupPolicies.of(checks.caches(), client), events);
        this.cutover = new CutoverSteps(client, events);
        this.statements = new StatementSteps(events, cutover);
        this.backfill = new BackfillStep(m -> BackfillStep.pausedNow(checks.caches(), m), metrics, Durations.parse("dba.migration.slice", slice),
                statements, cutover, windows::instant);
        this.machine = machine();
    }

    /**
     * No event source of its own: the controller's cache of the migrations is shared, so a backfill asks it (not the
     * API server) between batches whether it was paused, and a lease's holder is looked up there.
     */
    @Override
    public java.util.List<io.javaoperatorsdk.operator.processing.event.source.EventSource<?, DatabaseMigration>>
            prepareEventSources(io.javaoperatorsdk.operator.api.reconciler.EventSourceContext<DatabaseMigration>
                    context) {
        checks.caches().share(DatabaseMigration.class, context.getPrimaryCache());
        return java.util.List.of();
    }

    @Override
    public UpdateControl<DatabaseMigration> reconcile(DatabaseMigration m, Context<DatabaseMigration> context) {
        return runner.run(m, context, StatusPatcher.copy(m.getStatus(), DatabaseMigrationStatus.class), this);
    }

    @Override
    public Validated<MigrationWork.Inputs> validate(DatabaseMigration m, DatabaseMigrationStatus status) {
        DatabaseMigrationSpec spec = m.getSpec();
        String ns = m.getMetadata().getNamespace();
        var dbs = checks.productionAndStaging(ns, spec.database, spec.stagingDatabase);
        if (spec.preMigrationBackup != null) {
            checks.exists(ns, BackupPolicy.class, spec.preMigrationBackup.backupPolicyRef.name,
                    "spec.preMigrationBackup.backupPolicyRef");
        }
        if (spec.cutover != null && spec.cutover.deploymentRef != null) {
            checks.exists(ns, Deployment.class, spec.cutover.deploymentRef.name, "spec.cutover.deploymentRef");
        }
        return new Validated<>(MigrationWork.Inputs.of(spec, dbs.production(), dbs.staging()), dbs.summary());
    }

    @Override
    public Duration databaseError(DatabaseMigration m, DatabaseMigrationStatus status, MigrationWork.Inputs in,
            SQLException e) {
        throw PostgresConnector.classify(e, in.db()).exception();
    }

    @Override
    public void onProblem(DatabaseMigration m, DatabaseMigrationStatus status, Problem problem) {
        if (status.phase == null || status.phase == MigrationPhase.Pending
                || (status.phase == MigrationPhase.Failed && status.failedStep == null)) {
            status.phase = Phase.move(status.phase,
                    problem.permanent() ? MigrationPhase.Failed : MigrationPhase.Pending);
        }
    }

    @Override
    public Duration advance(DatabaseMigration m, DatabaseMigrationStatus st, MigrationWork.Inputs in,
            WriteAhead log, Context<DatabaseMigration> context) throws SQLException {
        if (st.phase == MigrationPhase.Failed && st.failedStep == null) {
            st.phase = Phase.move(st.phase, MigrationPhase.Pending); // it failed validation, which passes now
        }
        MigrationWork.HistorySummary summary = (mig, status, history) -> MigrationLogWriter.write(client, mig,
                status, history);
        try (MigrationWork w = new MigrationWork(summary, databases, m, st, in, log)) {
            try {
                return phases(w);
            } catch (SQLException e) {
                if (!SqlStates.connectionLost(e)) {
                    throw e;
                }
                w.lost = true;
                return connectionLost(m, st, e);
            }
        } catch (SQLException e) {
            // lost after the phases' work, when closing reads the history for the log summary: the same answer
            if (!SqlStates.connectionLost(e)) {
                throw e;
            }
            return connectionLost(m, st, e);
        }
    }

    private static Duration connectionLost(DatabaseMigration m, DatabaseMigrationStatus st, SQLException e) {
        st.message = "lost the connection to the database in phase " + st.phase + " (" + e.getSQLState() + "); what "
                + "was committed is recorded in dba_operator.migration_history, and the migration resumes from there";
        st.conditions = Conditions.set(st.conditions, ConditionType.Ready, false, Reason.DatabaseUnreachable,
                st.message, m.getMetadata().getGeneration() == null ? 0 : m.getMetadata().getGeneration(),
                Instant.now());
        return Duration.ofSeconds(3);
    }

    /**
     * The phase table's handlers. Queued, BackingUp, Expanding, Backfilling, Contracting and RollingBack act (on
     * the lease, a policy, production): each is entered only with its status stored.
     */
    private PhaseMachine<MigrationPhase, MigrationWork> machine() {
        return PhaseMachine.<MigrationPhase, MigrationWork>of(MigrationPhase.class, MigrationPhase.Pending, w -> w.st.phase)
                .guard(this::beforeEachPhase)
                .decides(MigrationPhase.Pending, w -> {
                    w.st.phase = Phase.move(w.st.phase, MigrationPhase.Planning);
                    return Step.next();
                })
                .decides(MigrationPhase.Planning, PlanningStep::planning)
                .acts(MigrationPhase.Queued, this::queued)
                .acts(MigrationPhase.BackingUp, backup::backingUp)
                .acts(MigrationPhase.Expanding, statements::expanding)
                .acts(MigrationPhase.Backfilling, backfill::backfilling)
                .decides(MigrationPhase.AwaitingCutover, cutover::awaitingCutover)
                .decides(MigrationPhase.AwaitingApproval, cutover::awaitingApproval)
                .acts(MigrationPhase.Contracting, statements::contracting)
                .acts(MigrationPhase.RollingBack, statements::rollingBack)
                .decides(MigrationPhase.Failed, w -> Step.onEvent()) // rests until a person asks for a rollback
                .build();
    }

    private Duration phases(MigrationWork w) throws SQLException {
        return machine.drive(w, w.log);
    }

    /**
     * Before every phase's handler: a rollback request is taken up (stored as RollingBack before anything rolls
     * back), a pause holds, a stored plan is checked against its digest, and a windowed phase waits for its window.
     */
    private Step beforeEachPhase(MigrationWork w) {
        DatabaseMigration m = w.m;
        DatabaseMigrationStatus st = w.st;
        MigrationPhase before = st.phase;
        if (Boolean.TRUE.equals(st.rollbackRequested) && rollbackAllowed(st.phase)) {
            st.rollbackRequested = null;
            st.phase = Phase.move(st.phase, MigrationPhase.RollingBack);
            // decide, persist, act: the request consumed and the phase that rolls back are stored before the Event
            // and the first rollback statement (a 409 here leaves the reconcile with nothing run)
            return Step.act(() -> {
                events.normal(m, "RollbackRequested", "a person asked for a rollback in phase " + before);
                return Step.next();
            });
        }
        if (Boolean.TRUE.equals(m.getSpec().paused) && st.phase != null && st.phase != MigrationPhase.Pending
                && st.phase != MigrationPhase.Planning && st.phase != MigrationPhase.Failed) {
            w.setReady(false, Reason.Paused, "paused in phase " + st.phase + " (spec.paused); set it to false "
                    + "to go on");
            return Step.onEvent();
        }
        if (w.plan == null && needsPlan(st.phase)) {
            return storedPlanUnusable(w);
        }
        if (WINDOWED.contains(st.phase)) {
            Instant now = windows.instant();
            var window = windows.stateAt(m, m.getSpec().maintenanceWindow, now);
            w.window = window;
            var gate = MaintenanceWindows.gate(String.valueOf(st.phase), window, ddlEstimate(st),
                    now, at -> windows.stateAt(m, m.getSpec().maintenanceWindow, at));
            if (!gate.go()) {
                // stored phase and approvals stay as they are; the step starts in the next (whole) window
                w.setReady(false, Reason.OutsideMaintenanceWindow, gate.waiting());
                st.waitingForWindow = String.valueOf(gate.opensAt());
                return Step.rest(gate.requeue());
            }
            st.waitingForWindow = null;
            if (st.maintenance == null && window.closesAt() != null) {
                // SLO 1: the window the first production step starts in is the one to finish in
                st.maintenance = new DatabaseMigrationStatus.WindowOutcome();
                st.maintenance.windowOpenedAt = window.opensAt().toString();
                st.maintenance.windowClosesAt = window.closesAt().toString();
            }
        }
        return null;
    }

    /**
     * How long the DDL of the step about to run should take: expand's or contract's time in the staging rehearsal's
     * second pass (the pass production repeats); null for the backfill (it stops between batches when the window
     * closes) and without a rehearsal. A step resumed after a crash is held to its whole time: waiting between two
     * statements is a safe point.
     */
    static Duration ddlEstimate(DatabaseMigrationStatus st) {
        if (st.rehearsal == null) {
            return null;
        }
        Long ms = st.phase == MigrationPhase.Expanding ? st.rehearsal.expandMs
                : st.phase == MigrationPhase.Contracting ? st.rehearsal.contractMs : null;
        return ms == null ? null : Duration.ofMillis(ms);
    }

    /** SLO 1: a migration that started in a window records whether it completed before that window closed. */
    static void completedForSlo(DatabaseMigrationStatus st) {
        if (st.maintenance != null && st.maintenance.completedAt == null) {
            Instant now = Instant.now();
            st.maintenance.completedAt = now.toString();
            st.maintenance.completedInWindow = !now.isAfter(Instant.parse(st.maintenance.windowClosesAt));
        }
    }

    /** The phases that change production and so run only inside the maintenance window. */
    static final Set<MigrationPhase> WINDOWED = java.util.EnumSet.of(MigrationPhase.Expanding,
            MigrationPhase.Backfilling, MigrationPhase.Contracting);

    private static boolean needsPlan(MigrationPhase phase) {
        return phase != null && phase != MigrationPhase.Pending && phase != MigrationPhase.Planning
                && phase != MigrationPhase.Failed;
    }

    /** status.plan no longer matches its digest and the spec: what was approved cannot be shown to be what runs. */
    private Step storedPlanUnusable(MigrationWork w) {
        w.st.phase = Phase.move(w.st.phase, MigrationPhase.Failed);
        w.st.failedStep = "plan";
        w.setReady(false, Reason.ChecksumMismatch, "status.plan does not match status.planDigest " + w.st.planDigest
                + " and the spec: the plan that was approved cannot be proven to be the one that would run, so "
                + "nothing more runs; what ran is in dba_operator.migration_history. Create a new DatabaseMigration "
                + "for what is left to do");
        return Step.onEvent();
    }

    private static boolean rollbackAllowed(MigrationPhase phase) {
        return phase == MigrationPhase.Queued || phase == MigrationPhase.BackingUp || phase == MigrationPhase.Expanding
                || phase == MigrationPhase.Backfilling || phase == MigrationPhase.AwaitingCutover
                || phase == MigrationPhase.AwaitingApproval || phase == MigrationPhase.Failed;
    }

    // --- Queued: one migration per database at a time ---

    private Step queued(MigrationWork w) throws SQLException {
        Connection c = w.prod();
        if (c == null) {
            return w.busy();
        }
        MigrationStore.Lease lease = MigrationStore.acquireLease(c, w.id, w.m.getMetadata().getUid());
        if (!lease.migrationId().equals(w.id) || !lease.uid().equals(w.m.getMetadata().getUid())) {
            if (holderGone(lease)) {
                MigrationStore.breakLease(c, lease);
                events.warning(w.m, "StaleLeaseReleased", "DatabaseMigration " + lease.migrationId() + " held the "
                        + "database's migration lease but no longer exists; released it");
                return Step.next();
            }
            w.setReady(false, Reason.WaitingForDatabase, "queued: DatabaseMigration " + lease.migrationId()
                    + " is migrating this database (since " + lease.acquiredAt() + "); migrations on one database run "
                    + "one at a time");
            return Step.rest(Duration.ofSeconds(10));
        }
        w.st.phase = Phase.move(w.st.phase, w.m.getSpec().preMigrationBackup != null ? MigrationPhase.BackingUp
                : MigrationPhase.Expanding);
        return Step.next();
    }

    private boolean holderGone(MigrationStore.Lease lease) {
        String[] parts = lease.migrationId().split("/", 2);
        if (parts.length != 2) {
            return false;
        }
        DatabaseMigration holder = checks.caches().get(DatabaseMigration.class, parts[0], parts[1]);
        return holder == null || !lease.uid().equals(holder.getMetadata().getUid());
    }
}
