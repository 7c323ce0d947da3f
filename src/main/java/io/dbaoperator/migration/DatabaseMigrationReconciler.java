package io.dbaoperator.migration;

import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;

import io.dbaoperator.api.common.Phase;
import io.dbaoperator.api.backup.BackupInfo;
import io.dbaoperator.api.backup.BackupPolicy;
import io.dbaoperator.api.migration.DatabaseMigration;
import io.dbaoperator.api.migration.DatabaseMigrationSpec;
import io.dbaoperator.api.migration.DatabaseMigrationStatus;
import io.dbaoperator.api.migration.MigrationPhase;
import io.dbaoperator.approval.ApprovalStep;
import io.dbaoperator.approval.GateOutcome;
import io.dbaoperator.approval.GatedStep;
import io.dbaoperator.audit.AuditEvent;
import io.dbaoperator.backup.BackupPolicyReconciler;
import io.dbaoperator.kube.Durations;
import io.dbaoperator.kube.EventRecorder;
import io.dbaoperator.kube.MaintenanceWindows;
import io.dbaoperator.kube.ReferenceChecks;
import io.dbaoperator.postgres.ConnectionSettings;
import io.dbaoperator.postgres.PostgresConnector;
import io.dbaoperator.postgres.SqlStates;
import io.dbaoperator.sql.QualifiedName;
import io.dbaoperator.sql.SqlParser;
import io.dbaoperator.sql.SqlSyntaxException;
import io.dbaoperator.sql.Statement;
import io.dbaoperator.status.ConditionType;
import io.dbaoperator.status.Conditions;
import io.dbaoperator.status.Problem;
import io.dbaoperator.status.Reason;
import io.dbaoperator.status.StatusPatcher;
import io.dbaoperator.status.ValidationRunner;
import io.dbaoperator.status.WriteAhead;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.ControllerConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.Reconciler;
import io.javaoperatorsdk.operator.api.reconciler.UpdateControl;

/**
 * Reconciles DatabaseMigration through its phases (see {@link MigrationPhase}). Each reconcile validates, then
 * advances as far as it can without waiting: it plans (PostgreSQL's grammar checks the SQL, {@link MigrationPlanner}
 * classifies and lints it), rehearses on staging, takes the database's migration lease, has the pre-migration backup
 * taken, runs expand with {@link StatementRunner}, runs the backfill in slices of {@code dba.migration.slice} (status
 * shows progress between slices), waits for cutover and approvals, contracts, or rolls back. Everything it did is in
 * {@code dba_operator.migration_history} of the database, which is what makes a step run once even across restarts;
 * status is the user's view of it.
 */
@ControllerConfiguration(name = "databasemigration", generationAwareEventProcessing = false)
public class DatabaseMigrationReconciler implements Reconciler<DatabaseMigration> {

    private static final Logger LOG = Logger.getLogger(DatabaseMigrationReconciler.class);
    static final String SHORT_NAME = "dbm";
    static final String KIND = "DatabaseMigration";

    private final ReferenceChecks checks;
    private final ValidationRunner runner;
    private final KubernetesClient client;
    private final EventRecorder events;
    private final Duration slice;

    private final io.dbaoperator.metrics.OperatorMetrics metrics;

    private final MaintenanceWindows windows;

    public DatabaseMigrationReconciler(ReferenceChecks checks, ValidationRunner runner, KubernetesClient client,
            EventRecorder events, io.dbaoperator.metrics.OperatorMetrics metrics,
            MaintenanceWindows windows,
            @ConfigProperty(name = "dba.migration.slice", defaultValue = "5s") String slice) {
        this.windows = windows;
        this.metrics = metrics;
        this.checks = checks;
        this.runner = runner;
        this.client = client;
        this.events = events;
        this.slice = Durations.parse("dba.migration.slice", slice);
    }

    /** What one reconcile found out about the spec. */
    private record Inputs(ConnectionSettings db, ConnectionSettings staging, StatementRunner.Settings settings,
            Duration pause, Duration maxLag, Duration backupMaxAge, Duration validationPeriod) {
    }

    @Override
    public UpdateControl<DatabaseMigration> reconcile(DatabaseMigration m, Context<DatabaseMigration> context) {
        DatabaseMigrationSpec spec = m.getSpec();
        String ns = m.getMetadata().getNamespace();
        DatabaseMigrationStatus desired = StatusPatcher.copy(m.getStatus(), DatabaseMigrationStatus.class);
        if (isFinal(desired.phase)) {
            return UpdateControl.noUpdate();
        }
        Inputs[] inputs = new Inputs[1];
        WriteAhead log = runner.writeAhead(m, desired);
        return runner.runThen(m, desired, () -> {
            var db = checks.database(ns, spec.database, "spec.database");
            String summary = "database " + db.describe();
            ConnectionSettings staging = null;
            if (spec.stagingDatabase != null) {
                var s = checks.database(ns, spec.stagingDatabase, "spec.stagingDatabase");
                staging = s.settings();
                summary += ", staging " + s.describe();
            }
            if (spec.preMigrationBackup != null) {
                checks.exists(ns, BackupPolicy.class, spec.preMigrationBackup.backupPolicyRef.name,
                        "spec.preMigrationBackup.backupPolicyRef");
            }
            if (spec.cutover != null && spec.cutover.deploymentRef != null) {
                checks.exists(ns, Deployment.class, spec.cutover.deploymentRef.name, "spec.cutover.deploymentRef");
            }
            inputs[0] = inputs(spec, db.settings(), staging);
            return summary + " answer" + (spec.stagingDatabase != null ? "" : "s");
        }, (status, summary) -> {
            try {
                return advance(m, status, inputs[0], log);
            } catch (SQLException e) {
                throw PostgresConnector.classify(e, inputs[0].db()).exception();
            }
        }, (status, problem) -> {
            if (status.phase == null || status.phase == MigrationPhase.Pending
                    || (status.phase == MigrationPhase.Failed && status.failedStep == null)) {
                status.phase = Phase.move(status.phase, problem.permanent() ? MigrationPhase.Failed : MigrationPhase.Pending);
            }
        }, log);
    }

    private static Inputs inputs(DatabaseMigrationSpec spec, ConnectionSettings db, ConnectionSettings staging) {
        List<String> unknown = MigrationPlanner.unknownRules(spec.lint);
        if (!unknown.isEmpty()) {
            throw Problem.invalid(Reason.InvalidSpec, "spec.lint names unknown rules " + unknown + "; known rules: "
                    + java.util.Arrays.stream(LintRule.values()).map(LintRule::id).toList()).exception();
        }
        if (spec.backfill != null) {
            try {
                QualifiedName.parse(spec.backfill.table);
                SqlParser.expression(spec.backfill.set);
                if (spec.backfill.where != null) {
                    SqlParser.expression(spec.backfill.where);
                }
            } catch (SqlSyntaxException e) {
                throw Problem.invalid(Reason.InvalidSpec, "spec.backfill: " + e.getMessage()).exception();
            }
        }
        var settings = new StatementRunner.Settings(Durations.parse("spec.lockTimeout", spec.lockTimeout),
                spec.maxLockRetries == null ? 10 : spec.maxLockRetries,
                spec.statementTimeout == null ? null : Durations.parse("spec.statementTimeout", spec.statementTimeout),
                Durations.parse("spec.indexBuildTimeout", spec.indexBuildTimeout));
        var b = spec.backfill;
        return new Inputs(db, staging, settings,
                b == null ? Duration.ZERO : Durations.parse("spec.backfill.pauseBetweenBatches", b.pauseBetweenBatches),
                b == null ? Duration.ofSeconds(10) : Durations.parse("spec.backfill.maxReplicationLag", b.maxReplicationLag),
                spec.preMigrationBackup == null ? null
                        : Durations.parse("spec.preMigrationBackup.maxAge", spec.preMigrationBackup.maxAge),
                Durations.parse("spec.cutover.validationPeriod", spec.cutover.validationPeriod));
    }

    static boolean isFinal(MigrationPhase phase) {
        return phase == MigrationPhase.Completed || phase == MigrationPhase.RolledBack
                || phase == MigrationPhase.Rejected;
    }

    /** A phase handler's answer: go on to the next phase now, or look again after {@code requeue} (null: on events). */
    private record Next(boolean proceed, Duration requeue) {
        static final Next PROCEED = new Next(true, null);

        static Next after(Duration d) {
            return new Next(false, d);
        }

        static Next onEvent() {
            return new Next(false, null);
        }
    }

    /** Work of one reconcile, with the production connection opened on demand. */
    private final class Work implements AutoCloseable {
        final DatabaseMigration m;
        final DatabaseMigrationStatus st;
        final Inputs in;
        final WriteAhead log;
        final String id;
        /** The stored, digested plan (null before Planning made it): what executes. */
        MigrationPlan plan;
        Connection prod;
        boolean lost;
        /** The maintenance window as the gate of the current production step found it. */
        MaintenanceWindows.State window = MaintenanceWindows.ALWAYS;

        Work(DatabaseMigration m, DatabaseMigrationStatus st, Inputs in, WriteAhead log) {
            this.m = m;
            this.st = st;
            this.in = in;
            this.log = log;
            this.id = m.getMetadata().getNamespace() + "/" + m.getMetadata().getName();
            this.plan = MigrationPlanner.stored(m.getSpec(), st.plan, st.findings, st.planDigest).orElse(null);
        }

        /** The approval a gated step runs under, as its history row names it; null when the step is not gated. */
        String approvalOf(String step) {
            return ApprovalStep.under(st, step, st.planDigest);
        }

        /** The production connection, holding the database's migration advisory lock; null if another holds it. */
        Connection prod() throws SQLException {
            if (prod == null) {
                Connection c = PostgresConnector.open(in.db(), "dba-operator/migration/" + id);
                if (!SqlStates.tryAdvisoryLock(c, SqlStates.LOCK_MIGRATIONS)) {
                    c.close();
                    return null;
                }
                MigrationStore.ensureSchema(c);
                prod = c;
            }
            return prod;
        }

        long generation() {
            return m.getMetadata().getGeneration() == null ? 0 : m.getMetadata().getGeneration();
        }

        void setReady(boolean ready, Reason reason, String message) {
            st.message = message;
            st.conditions = Conditions.set(st.conditions, ConditionType.Ready, ready, reason, message, generation(),
                    Instant.now());
        }

        @Override
        public void close() throws SQLException {
            if (prod != null) {
                try {
                    if (!lost) {
                        // also when nothing ran now: a retried reconcile (after a 409) must not keep a stale summary
                        MigrationLogWriter.write(client, m, st, MigrationStore.list(prod, id));
                    }
                } finally {
                    prod.close();
                }
            }
        }
    }

    private Duration advance(DatabaseMigration m, DatabaseMigrationStatus st, Inputs in, WriteAhead log)
            throws SQLException {
        if (st.phase == MigrationPhase.Failed && st.failedStep == null) {
            st.phase = Phase.move(st.phase, MigrationPhase.Pending); // it failed validation, which passes now
        }
        try (Work w = new Work(m, st, in, log)) {
            try {
                return phases(w);
            } catch (SQLException e) {
                if (!SqlStates.connectionLost(e)) {
                    throw e;
                }
                w.lost = true;
                w.setReady(false, Reason.DatabaseUnreachable, "lost the connection to the database in phase "
                        + st.phase + " (" + e.getSQLState() + "); what was committed is recorded in "
                        + "dba_operator.migration_history, and the migration resumes from there");
                return Duration.ofSeconds(3);
            }
        }
    }

    private Duration phases(Work w) throws SQLException {
        DatabaseMigration m = w.m;
        DatabaseMigrationStatus st = w.st;
        {
            for (int transitions = 0; transitions < 20; transitions++) {
                MigrationPhase before = st.phase;
                if (Boolean.TRUE.equals(st.rollbackRequested) && rollbackAllowed(st.phase)) {
                    st.rollbackRequested = null;
                    st.phase = Phase.move(st.phase, MigrationPhase.RollingBack);
                    events.normal(m, "RollbackRequested", "a person asked for a rollback in phase " + before);
                    continue;
                }
                if (Boolean.TRUE.equals(m.getSpec().paused) && st.phase != null && st.phase != MigrationPhase.Pending
                        && st.phase != MigrationPhase.Planning && st.phase != MigrationPhase.Failed) {
                    w.setReady(false, Reason.Paused, "paused in phase " + st.phase + " (spec.paused); set it to false "
                            + "to go on");
                    return null;
                }
                if (w.plan == null && needsPlan(st.phase)) {
                    return storedPlanUnusable(w);
                }
                if (WINDOWED.contains(st.phase)) {
                    var window = windows.now(m, m.getSpec().maintenanceWindow);
                    w.window = window;
                    var gate = MaintenanceWindows.gate(String.valueOf(st.phase), window, ddlEstimate(st),
                            Instant.now(), at -> windows.stateAt(m, m.getSpec().maintenanceWindow, at));
                    if (!gate.go()) {
                        // stored phase and approvals stay as they are; the step starts in the next (whole) window
                        w.setReady(false, Reason.OutsideMaintenanceWindow, gate.waiting());
                        st.waitingForWindow = String.valueOf(gate.opensAt());
                        return gate.requeue();
                    }
                    st.waitingForWindow = null;
                    if (st.maintenance == null && window.closesAt() != null) {
                        // SLO 1: the window the first production step starts in is the one to finish in
                        st.maintenance = new DatabaseMigrationStatus.WindowOutcome();
                        st.maintenance.windowOpenedAt = window.opensAt().toString();
                        st.maintenance.windowClosesAt = window.closesAt().toString();
                    }
                }
                Next next = switch (st.phase == null ? MigrationPhase.Pending : st.phase) {
                    case Pending -> {
                        st.phase = Phase.move(st.phase, MigrationPhase.Planning);
                        yield Next.PROCEED;
                    }
                    case Planning -> planning(w);
                    case Queued -> queued(w);
                    case BackingUp -> backingUp(w);
                    case Expanding -> expanding(w);
                    case Backfilling -> backfilling(w);
                    case AwaitingCutover -> awaitingCutover(w);
                    case AwaitingApproval -> awaitingApproval(w);
                    case Contracting -> contracting(w);
                    case RollingBack -> rollingBack(w);
                    case Failed -> Next.onEvent();
                    default -> Next.onEvent();
                };
                if (!next.proceed()) {
                    return next.requeue();
                }
                if (st.phase != before && ACTING.contains(st.phase)) {
                    // decide, persist, act: the phase that enters a step (and an approval it consumed) is stored
                    // before the step's first statement; a 409 here leaves the reconcile with nothing run. A
                    // waiting phase is written together with its approval request, never shown without one.
                    w.log.persist();
                }
            }
            return Duration.ofMillis(100);
        }
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

    /** The phases whose handlers change something outside status (the database, the lease, a policy). */
    static final Set<MigrationPhase> ACTING = java.util.EnumSet.of(MigrationPhase.Queued, MigrationPhase.BackingUp,
            MigrationPhase.Expanding, MigrationPhase.Backfilling, MigrationPhase.Contracting,
            MigrationPhase.RollingBack);

    private static boolean needsPlan(MigrationPhase phase) {
        return phase != null && phase != MigrationPhase.Pending && phase != MigrationPhase.Planning
                && phase != MigrationPhase.Failed;
    }

    /** status.plan no longer matches its digest and the spec: what was approved cannot be shown to be what runs. */
    private Duration storedPlanUnusable(Work w) {
        w.st.phase = Phase.move(w.st.phase, MigrationPhase.Failed);
        w.st.failedStep = "plan";
        w.setReady(false, Reason.ChecksumMismatch, "status.plan does not match status.planDigest " + w.st.planDigest
                + " and the spec: the plan that was approved cannot be proven to be the one that would run, so "
                + "nothing more runs; what ran is in dba_operator.migration_history. Create a new DatabaseMigration "
                + "for what is left to do");
        return null;
    }

    private static boolean rollbackAllowed(MigrationPhase phase) {
        return phase == MigrationPhase.Queued || phase == MigrationPhase.BackingUp || phase == MigrationPhase.Expanding
                || phase == MigrationPhase.Backfilling || phase == MigrationPhase.AwaitingCutover
                || phase == MigrationPhase.AwaitingApproval || phase == MigrationPhase.Failed;
    }

    // --- Planning ---

    private Next planning(Work w) throws SQLException {
        DatabaseMigrationSpec spec = w.m.getSpec();
        DatabaseMigrationStatus st = w.st;
        MigrationPlan plan;
        try (Connection c = PostgresConnector.open(w.in.db(), "dba-operator/plan/" + w.id)) {
            String syntax = syntaxErrors(c, spec);
            if (syntax != null) {
                return fail(w, "planning", Reason.SyntaxError, syntax);
            }
            try {
                plan = MigrationPlanner.plan(spec, new LiveCatalog(c));
            } catch (MigrationPlanner.PlanningException e) {
                return fail(w, "planning", Reason.SyntaxError, "spec." + e.step() + ".sql: " + e.getMessage() + " at "
                        + SyntaxCheck.where(stepSql(spec, e.step()), e.position() + 1));
            }
        }
        st.plan = plan.statements().stream().map(MigrationPlan.Planned::toStatus).toList();
        st.findings = plan.findings();
        st.planDigest = plan.digest();
        w.plan = plan;
        String unnamed = plan.statements().stream()
                .filter(p -> p.statement() instanceof Statement.CreateIndex ci && ci.concurrently() && ci.name() == null)
                .map(MigrationPlan.Planned::id).findFirst().orElse(null);
        if (unnamed != null) {
            return fail(w, "planning", Reason.InvalidSpec, unnamed + " creates an index CONCURRENTLY without a name: "
                    + "name it, so that an INVALID leftover of a failed build can be found and dropped before a retry");
        }
        if (plan.hasErrors()) {
            var first = plan.errors().get(0);
            return fail(w, "planning", Reason.LintFailed, plan.errors().size() + " lint error(s), nothing was applied. "
                    + "First: " + first.rule + " in " + first.step + ": " + first.message + ". See status.findings; "
                    + "spec.lint.allow accepts a rule knowingly");
        }
        if (w.in.staging() != null && (st.rehearsal == null || !"Passed".equals(st.rehearsal.result))) {
            Rehearsal.Result r = new Rehearsal(w.in.staging(), w.id, plan, spec, w.in.settings(), w.in.pause())
                    .run();
            st.rehearsal = new DatabaseMigrationStatus.Rehearsal();
            st.rehearsal.result = r.passed() ? "Passed" : "Failed";
            st.rehearsal.message = r.message();
            st.rehearsal.finishedAt = Instant.now().toString();
            st.rehearsal.durationMs = r.millis();
            st.rehearsal.expandMs = r.expandMs();
            st.rehearsal.backfillMs = r.backfillMs();
            st.rehearsal.contractMs = r.contractMs();
            st.conditions = Conditions.set(st.conditions, ConditionType.Rehearsed, r.passed(),
                    r.passed() ? Reason.RehearsalPassed : Reason.RehearsalFailed, r.message(), w.generation(),
                    Instant.now());
            if (!r.passed()) {
                return fail(w, "rehearsal", Reason.RehearsalFailed, "the staging rehearsal failed, production was "
                        + "not touched: " + r.message());
            }
        }
        if (Boolean.TRUE.equals(spec.paused)) {
            w.setReady(false, Reason.Paused, "planned; paused before touching production (spec.paused)");
            return Next.onEvent();
        }
        if (spec.approval.policy == DatabaseMigrationSpec.ApprovalPolicy.Policy.Always) {
            st.phase = Phase.move(st.phase, MigrationPhase.AwaitingApproval); // the expand step's gate
            return Next.PROCEED;
        }
        st.phase = Phase.move(st.phase, MigrationPhase.Queued);
        return Next.PROCEED;
    }

    /** Every step's SQL through PostgreSQL's grammar; null when all parse. */
    private static String syntaxErrors(Connection c, DatabaseMigrationSpec spec) throws SQLException {
        Map<String, String> steps = new java.util.LinkedHashMap<>();
        steps.put(MigrationPlan.EXPAND, spec.expand == null ? null : spec.expand.sql);
        steps.put(MigrationPlan.CONTRACT, spec.contract == null ? null : spec.contract.sql);
        steps.put(MigrationPlan.ROLLBACK, spec.rollback == null ? null : spec.rollback.sql);
        for (var e : steps.entrySet()) {
            if (e.getValue() == null) {
                continue;
            }
            var error = SyntaxCheck.check(c, e.getValue());
            if (error != null) {
                return "spec." + e.getKey() + ".sql does not parse: " + error.message() + " at "
                        + SyntaxCheck.where(e.getValue(), error.position()) + "; nothing was applied";
            }
        }
        if (spec.backfill != null) {
            var b = spec.backfill;
            String update = "UPDATE " + b.table + " SET " + b.set + (b.where == null ? "" : " WHERE " + b.where);
            var error = SyntaxCheck.check(c, update);
            if (error != null) {
                return "spec.backfill does not parse as " + update + ": " + error.message() + "; nothing was applied";
            }
        }
        return null;
    }

    private static String stepSql(DatabaseMigrationSpec spec, String step) {
        DatabaseMigrationSpec.SqlStep s = switch (step) {
            case MigrationPlan.EXPAND -> spec.expand;
            case MigrationPlan.CONTRACT -> spec.contract;
            default -> spec.rollback;
        };
        return s == null ? "" : s.sql;
    }

    // --- Queued: one migration per database at a time ---

    private Next queued(Work w) throws SQLException {
        Connection c = w.prod();
        if (c == null) {
            return busy(w);
        }
        MigrationStore.Lease lease = MigrationStore.acquireLease(c, w.id, w.m.getMetadata().getUid());
        if (!lease.migrationId().equals(w.id) || !lease.uid().equals(w.m.getMetadata().getUid())) {
            if (holderGone(lease)) {
                MigrationStore.breakLease(c, lease);
                events.warning(w.m, "StaleLeaseReleased", "DatabaseMigration " + lease.migrationId() + " held the "
                        + "database's migration lease but no longer exists; released it");
                return Next.PROCEED;
            }
            w.setReady(false, Reason.WaitingForDatabase, "queued: DatabaseMigration " + lease.migrationId()
                    + " is migrating this database (since " + lease.acquiredAt() + "); migrations on one database run "
                    + "one at a time");
            return Next.after(Duration.ofSeconds(10));
        }
        w.st.phase = Phase.move(w.st.phase, w.m.getSpec().preMigrationBackup != null ? MigrationPhase.BackingUp : MigrationPhase.Expanding);
        return Next.PROCEED;
    }

    private boolean holderGone(MigrationStore.Lease lease) {
        String[] parts = lease.migrationId().split("/", 2);
        if (parts.length != 2) {
            return false;
        }
        DatabaseMigration holder = client.resources(DatabaseMigration.class).inNamespace(parts[0]).withName(parts[1])
                .get();
        return holder == null || !lease.uid().equals(holder.getMetadata().getUid());
    }

    private Next busy(Work w) {
        w.setReady(false, Reason.WaitingForDatabase, "another operator replica or migration is working on this "
                + "database right now (advisory lock held); trying again shortly");
        return Next.after(Duration.ofSeconds(2));
    }

    // --- BackingUp ---

    private Next backingUp(Work w) throws SQLException {
        DatabaseMigrationStatus st = w.st;
        String ns = w.m.getMetadata().getNamespace();
        String policyName = w.m.getSpec().preMigrationBackup.backupPolicyRef.name;
        BackupPolicy policy = client.resources(BackupPolicy.class).inNamespace(ns).withName(policyName).get();
        if (policy == null) {
            w.setReady(false, Reason.ReferenceNotFound, "BackupPolicy " + policyName + " is gone; the pre-migration "
                    + "backup cannot be taken");
            return Next.after(Duration.ofSeconds(30));
        }
        Instant now = Instant.now();
        List<BackupInfo> backups = policy.getStatus() == null || policy.getStatus().backups == null ? List.of()
                : policy.getStatus().backups;
        Instant requestedAt = st.backupRequest == null ? null : Instant.parse(st.backupRequest.requestedAt);
        // young enough, or the very backup this migration asked for (which may end more than maxAge ago by the
        // time it is seen, when maxAge is short)
        Optional<BackupInfo> usable = backups.stream()
                .filter(b -> Boolean.TRUE.equals(b.verified) && b.completedAt != null)
                .filter(b -> Duration.between(Instant.parse(b.completedAt), now).compareTo(w.in.backupMaxAge()) <= 0
                        || requestedAt != null && b.startedAt != null
                                && !Instant.parse(b.startedAt).isBefore(requestedAt.minusSeconds(5)))
                .max(Comparator.comparing(b -> b.completedAt));
        if (usable.isPresent()) {
            st.preMigrationBackupId = usable.get().backupId;
            events.normal(w.m, "BackupReady", "pre-migration backup " + usable.get().backupId + " (completed "
                    + usable.get().completedAt + ", verified) recorded for the rollback runbook");
            st.phase = Phase.move(st.phase, MigrationPhase.Expanding);
            return Next.PROCEED;
        }
        if (requestedAt != null) {
            Optional<BackupInfo> failed = backups.stream().filter(b -> "failed".equals(b.state) && b.startedAt != null
                    && !Instant.parse(b.startedAt).isBefore(requestedAt.minusSeconds(5))).findFirst();
            if (failed.isPresent()) {
                return fail(w, "backup", Reason.BackupFailed, "the pre-migration backup " + failed.get().backupId
                        + " failed (" + failed.get().error + "); nothing was applied. Fix the BackupPolicy and create "
                        + "the migration again");
            }
            var asked = policy.getMetadata().getAnnotations();
            if (!st.backupRequest.requestId.equals(asked == null ? null : asked.get(BackupPolicyReconciler.BACKUP_NOW))
                    && (policy.getStatus() == null
                            || !st.backupRequest.requestId.equals(policy.getStatus().lastOnDemandRequest))) {
                // recorded here, but the request never reached the policy (a crash or a 409 in between): the same id
                askForBackup(ns, policyName, st.backupRequest.requestId);
            }
            w.setReady(false, Reason.BackupRequested, "waiting for the pre-migration backup requested from BackupPolicy "
                    + policyName + " at " + st.backupRequest.requestedAt);
            return Next.after(Duration.ofSeconds(5));
        }
        String requestId = "dbm-" + w.m.getMetadata().getName() + "-" + now.getEpochSecond();
        st.backupRequest = new DatabaseMigrationStatus.BackupRequest();
        st.backupRequest.requestId = requestId;
        st.backupRequest.requestedAt = now.toString();
        w.log.persist(); // the request's id is stored before the policy is asked: a retry asks with the same id
        askForBackup(ns, policyName, requestId);
        w.setReady(false, Reason.BackupRequested, "asked BackupPolicy " + policyName + " for a backup ("
                + BackupPolicyReconciler.BACKUP_NOW + "=" + requestId + "); no verified backup younger than "
                + w.m.getSpec().preMigrationBackup.maxAge + " exists");
        return Next.after(Duration.ofSeconds(5));
    }

    /** A merge patch of the one annotation: nothing else of the policy is sent, so nothing else is overwritten. */
    private void askForBackup(String ns, String policyName, String requestId) {
        client.resources(BackupPolicy.class).inNamespace(ns).withName(policyName).patch(
                io.fabric8.kubernetes.client.dsl.base.PatchContext.of(
                        io.fabric8.kubernetes.client.dsl.base.PatchType.JSON_MERGE),
                "{\"metadata\":{\"annotations\":{\"" + BackupPolicyReconciler.BACKUP_NOW + "\":\"" + requestId
                        + "\"}}}");
    }

    // --- Expanding, Contracting, RollingBack: statements with the lock discipline ---

    private Next expanding(Work w) throws SQLException {
        MigrationPhase before = w.st.phase;
        Next n = runStep(w, MigrationPlan.EXPAND);
        if (!n.proceed() || w.st.phase != before) {
            return n; // waiting, or it failed and chose the next phase
        }
        if (w.m.getSpec().backfill != null) {
            w.st.phase = Phase.move(w.st.phase, MigrationPhase.Backfilling);
        } else {
            enterCutover(w);
        }
        return Next.PROCEED;
    }

    private Next contracting(Work w) throws SQLException {
        MigrationPhase before = w.st.phase;
        Next n = runStep(w, MigrationPlan.CONTRACT);
        if (!n.proceed() || w.st.phase != before) {
            return n; // waiting, or it failed and chose the next phase
        }
        w.st.phase = Phase.move(w.st.phase, MigrationPhase.Completed);
        completedForSlo(w.st);
        w.setReady(true, Reason.MigrationCompleted, "completed: expand, " + (w.m.getSpec().backfill != null
                ? "backfill, " : "") + "cutover and contract applied");
        releaseLease(w);
        return Next.onEvent();
    }

    private Next rollingBack(Work w) throws SQLException {
        Connection c = w.prod();
        if (c == null) {
            return busy(w);
        }
        if (!appliedAnything(w)) {
            w.st.phase = Phase.move(w.st.phase, MigrationPhase.RolledBack);
            w.setReady(false, Reason.RolledBack, "rolled back: nothing had been applied to production, so the "
                    + "rollback SQL did not run");
            releaseLease(w);
            return Next.onEvent();
        }
        w.setReady(false, Reason.RollingBack, "rolling back");
        MigrationPhase before = w.st.phase;
        Next n = runStep(w, MigrationPlan.ROLLBACK);
        if (!n.proceed() || w.st.phase != before) {
            return n; // waiting, or it failed and chose the next phase
        }
        w.st.phase = Phase.move(w.st.phase, MigrationPhase.RolledBack);
        w.setReady(false, Reason.RolledBack, "rolled back: the rollback SQL ran"
                + (w.st.failedStep != null ? " after " + w.st.failedStep + " failed" : "")
                + (w.st.preMigrationBackupId != null ? "; pre-migration backup " + w.st.preMigrationBackupId
                        + " remains available" : ""));
        releaseLease(w);
        return Next.onEvent();
    }

    /** Runs every statement of a step once; on failure decides between rollback and Failed. */
    private Next runStep(Work w, String step) throws SQLException {
        Connection c = w.prod();
        if (c == null) {
            return busy(w);
        }
        StatementRunner statements = new StatementRunner(w.in.settings());
        String verb = step.equals(MigrationPlan.ROLLBACK) ? "rollback" : "apply";
        for (MigrationPlan.Planned p : w.plan.step(step)) {
            w.setReady(false, Reason.InProgress, step + ": running " + p.id());
            try {
                StatementRunner.Outcome o = statements.run(c, w.id, p, w.approvalOf(step));
                // keyed: a statement found applied in the history (the process died before this line) is audited
                // then, and one audited already is not audited twice
                w.log.executed(auditEvent(w, verb, p.id(), "succeeded", o.skipped()
                        ? Map.of("foundIn", "dba_operator.migration_history")
                        : Map.of("durationMs", o.millis(), "retries", o.retries(), "lock",
                                p.classification().lock().sqlName())), verb + "/" + p.id());
            } catch (StepFailedException e) {
                w.log.executed(auditEvent(w, verb, p.id(), "failed",
                        Map.of("sqlState", e.sqlState() == null ? "" : e.sqlState())), null);
                return stepFailed(w, step, e);
            }
        }
        return Next.PROCEED;
    }

    private Next stepFailed(Work w, String step, StepFailedException e) throws SQLException {
        DatabaseMigrationStatus st = w.st;
        st.failedStep = e.stepId();
        boolean checksum = e.sqlState() == null;
        Reason reason = checksum ? Reason.ChecksumMismatch : Reason.StepFailed;
        if (!checksum && !step.equals(MigrationPlan.CONTRACT) && !step.equals(MigrationPlan.ROLLBACK)
                && Boolean.TRUE.equals(w.m.getSpec().rollbackOnFailure)) {
            events.warning(w.m, reason.name(), e.getMessage() + "; rolling back (rollbackOnFailure)");
            st.phase = Phase.move(st.phase, MigrationPhase.RollingBack);
            return Next.PROCEED;
        }
        String advice = switch (step) {
            case MigrationPlan.CONTRACT -> "; contract is not rolled back automatically (old columns may be gone)"
                    + (st.preMigrationBackupId != null ? ": the pre-migration backup is " + st.preMigrationBackupId : "");
            case MigrationPlan.ROLLBACK -> "; the rollback itself failed: fix the database by hand"
                    + (st.preMigrationBackupId != null ? " (pre-migration backup " + st.preMigrationBackupId + ")" : "");
            default -> checksum ? "" : "; ask for the rollback with: kubectl patch " + SHORT_NAME + " "
                    + w.m.getMetadata().getName() + " -n " + w.m.getMetadata().getNamespace()
                    + " --subresource=status --type=merge -p '{\"status\":{\"rollbackRequested\":true}}'";
        };
        st.phase = Phase.move(st.phase, MigrationPhase.Failed);
        w.setReady(false, reason, e.getMessage() + advice);
        return Next.onEvent();
    }

    /** Whether any expand, backfill or contract statement reached production (applied or partly). */
    private boolean appliedAnything(Work w) throws SQLException {
        Connection c = w.prod();
        return c != null && MigrationStore.list(c, w.id).stream()
                .anyMatch(e -> !e.step().equals(MigrationPlan.ROLLBACK) && !e.outcome().equals("failed")
                        || e.step().equals(MigrationPlan.BACKFILL));
    }

    private Next fail(Work w, String failedStep, Reason reason, String message) throws SQLException {
        if (failedStep.equals("backup")) {
            releaseLease(w); // nothing was applied: let the next migration have the database
        }
        w.st.failedStep = failedStep;
        w.st.phase = Phase.move(w.st.phase, MigrationPhase.Failed);
        w.setReady(false, reason, message);
        return Next.onEvent();
    }

    /**
     * Gives the database's migration lease back. Our own lease row needs no advisory lock to delete, and must not
     * wait for one: the lock may be a queued migration's for the moment (it checks the lease under it), and
     * skipping the release then would leave that migration queued behind a finished one for good.
     */
    private void releaseLease(Work w) throws SQLException {
        Connection c = w.prod();
        if (c != null) {
            MigrationStore.releaseLease(c, w.id, w.m.getMetadata().getUid());
            return;
        }
        try (Connection plain = PostgresConnector.open(w.in.db(), "dba-operator/migration/" + w.id)) {
            MigrationStore.releaseLease(plain, w.id, w.m.getMetadata().getUid());
        }
    }

    // --- Backfilling ---

    private Next backfilling(Work w) throws SQLException {
        Connection c = w.prod();
        if (c == null) {
            return busy(w);
        }
        DatabaseMigrationSpec spec = w.m.getSpec();
        MigrationPlan.Planned planned = w.plan.step(MigrationPlan.BACKFILL).get(0);
        Backfill backfill = new Backfill(spec.backfill, w.in.settings().lockTimeout(), w.in.settings().maxLockRetries(),
                w.in.pause(), w.in.maxLag());
        Backfill.Progress p;
        try {
            // a slice ends at the window's close at the latest: the next batch waits for the next window
            p = backfill.slice(c, w.id, planned, w.window.budget(Instant.now(), slice), () -> pausedNow(w.m));
        } catch (StepFailedException e) {
            return stepFailed(w, MigrationPlan.BACKFILL, e);
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
        w.st.backfill = progress;
        if (p.finished()) {
            // keyed: a retry after a 409 or a restart finds the backfill finished and reports it again
            w.log.executed(auditEvent(w, "apply", MigrationPlan.BACKFILL, "succeeded",
                    Map.of("rows", p.rowsDone())), "apply/" + MigrationPlan.BACKFILL);
            enterCutover(w);
            return Next.PROCEED;
        }
        if (p.throttled() != null) {
            w.setReady(false, Reason.Throttled, "backfill " + progress.percent + ": " + p.throttled());
            return Next.after(Duration.ofSeconds(5));
        }
        w.setReady(false, Reason.InProgress, "backfill " + progress.percent + " (" + p.rowsDone() + " of ~"
                + progress.rowsEstimated + " rows, last key " + p.lastKey() + ")");
        return Next.after(Duration.ofMillis(50));
    }

    /** Re-reads spec.paused from the API server between batches, so a pause takes effect within one batch. */
    private boolean pausedNow(DatabaseMigration m) {
        DatabaseMigration fresh = client.resources(DatabaseMigration.class).inNamespace(m.getMetadata().getNamespace())
                .withName(m.getMetadata().getName()).get();
        return fresh == null || Boolean.TRUE.equals(fresh.getSpec().paused)
                || fresh.getStatus() != null && Boolean.TRUE.equals(fresh.getStatus().rollbackRequested);
    }

    // --- Cutover and contract approval ---

    private void enterCutover(Work w) {
        w.st.phase = Phase.move(w.st.phase, MigrationPhase.AwaitingCutover);
        if (w.m.getSpec().cutover.mode == DatabaseMigrationSpec.CutoverMode.Auto) {
            Deployment d = deployment(w);
            w.st.cutover = new DatabaseMigrationStatus.CutoverProgress();
            w.st.cutover.baselineGeneration = d == null ? 0L : d.getMetadata().getGeneration();
        }
    }

    private Deployment deployment(Work w) {
        return client.apps().deployments().inNamespace(w.m.getMetadata().getNamespace())
                .withName(w.m.getSpec().cutover.deploymentRef.name).get();
    }

    private Next awaitingCutover(Work w) throws SQLException {
        DatabaseMigrationSpec spec = w.m.getSpec();
        if (spec.cutover.mode == DatabaseMigrationSpec.CutoverMode.Manual) {
            GateOutcome g = gate(w, "cutover", "confirm the application now reads and writes the new schema "
                    + "(cutover); contract may follow", null);
            if (g != GateOutcome.PROCEED) {
                return waitForApproval(w, g, MigrationPhase.AwaitingCutover);
            }
        } else {
            Next n = autoCutover(w);
            if (!n.proceed()) {
                return n;
            }
        }
        if (w.plan.step(MigrationPlan.CONTRACT).isEmpty()) {
            w.st.phase = Phase.move(w.st.phase, MigrationPhase.Completed);
            completedForSlo(w.st);
            w.setReady(true, Reason.MigrationCompleted, "completed: expand" + (spec.backfill != null ? ", backfill" : "")
                    + " and cutover done; no contract step");
            releaseLease(w);
            return Next.onEvent();
        }
        w.st.phase = Phase.move(w.st.phase, MigrationPhase.AwaitingApproval);
        return Next.PROCEED;
    }

    private Next autoCutover(Work w) {
        if (w.st.cutover == null) {
            enterCutover(w);
        }
        AutoCutover.Decision d = AutoCutover.decide(deployment(w), w.m.getSpec().cutover.deploymentRef.name,
                w.st.cutover, w.in.validationPeriod(), Instant.now());
        if (d.done()) {
            return Next.PROCEED;
        }
        w.setReady(false, Reason.CutoverPending, "waiting for cutover: " + d.waitingFor());
        return Next.after(d.lookAgain());
    }

    /** Contract waits here when destructive (or always under policy Always). */
    private Next awaitingApproval(Work w) throws SQLException {
        if (w.m.getSpec().approval.policy == DatabaseMigrationSpec.ApprovalPolicy.Policy.Always
                && !io.dbaoperator.approval.ApprovalGate.alreadyApproved(w.st, expandStep(w))) {
            GateOutcome g = gate(w, MigrationPlan.EXPAND, expandStep(w).reason(), null);
            if (g != GateOutcome.PROCEED) {
                return waitForApproval(w, g, MigrationPhase.AwaitingApproval);
            }
            w.st.phase = Phase.move(w.st.phase, MigrationPhase.Queued);
            return Next.PROCEED;
        }
        boolean gated = w.plan.destructive(MigrationPlan.CONTRACT)
                || w.m.getSpec().approval.policy == DatabaseMigrationSpec.ApprovalPolicy.Policy.Always;
        if (gated) {
            List<MigrationPlan.Planned> contract = w.plan.step(MigrationPlan.CONTRACT);
            GateOutcome g = gate(w, MigrationPlan.CONTRACT, "run contract on production: " + contract.size()
                    + " statement(s)" + (w.plan.destructive(MigrationPlan.CONTRACT) ? ", destructive ("
                            + String.join("; ", contract.stream().filter(p -> p.classification().destructive())
                                    .map(p -> p.statement().sql().strip()).toList()) + ")" : ""),
                    touchedTables(w, MigrationPlan.CONTRACT));
            if (g != GateOutcome.PROCEED) {
                return waitForApproval(w, g, MigrationPhase.AwaitingApproval);
            }
        }
        w.st.phase = Phase.move(w.st.phase, MigrationPhase.Contracting);
        return Next.PROCEED;
    }

    /** The existing tables a step locks: their live definition is what its approval is bound to. */
    private static Set<QualifiedName> touchedTables(Work w, String step) {
        Set<QualifiedName> tables = new LinkedHashSet<>();
        w.plan.step(step).forEach(p -> tables.addAll(p.classification().tables()));
        return tables;
    }

    private static GatedStep expandStep(Work w) {
        return new GatedStep(MigrationPlan.EXPAND, "approval policy Always: run expand ("
                + w.plan.step(MigrationPlan.EXPAND).size() + " statements) on production", w.st.planDigest, null,
                w.generation());
    }

    private GateOutcome gate(Work w, String step, String reason, Set<QualifiedName> fingerprintTables)
            throws SQLException {
        String fingerprint = null;
        if (fingerprintTables != null && !fingerprintTables.isEmpty()) {
            try (Connection c = PostgresConnector.open(w.in.db(), "dba-operator/plan/" + w.id)) {
                fingerprint = new LiveCatalog(c).fingerprint(fingerprintTables);
            }
        }
        var result = ApprovalStep.check(w.m, w.st, new GatedStep(step, reason, w.st.planDigest, fingerprint,
                w.generation()), SHORT_NAME, Instant.now());
        w.log.decided(result.audit());
        return result.outcome();
    }

    private Next waitForApproval(Work w, GateOutcome g, MigrationPhase waitingPhase) throws SQLException {
        if (g == GateOutcome.REJECTED) {
            if (appliedAnything(w)) {
                w.st.phase = Phase.move(w.st.phase, MigrationPhase.RollingBack);
                events.warning(w.m, "Rejected", "rejected by " + w.st.rejection.approvedBy + "; rolling back");
                return Next.PROCEED;
            }
            w.st.phase = Phase.move(w.st.phase, MigrationPhase.Rejected);
            w.setReady(false, Reason.Rejected, "rejected by " + w.st.rejection.approvedBy + " before any production "
                    + "change");
            releaseLease(w);
            return Next.onEvent();
        }
        w.st.phase = Phase.move(w.st.phase, waitingPhase);
        w.st.message = Conditions.find(w.st.conditions, ConditionType.Approved).map(x -> x.message).orElse(null);
        return Next.onEvent();
    }

    private static AuditEvent auditEvent(Work w, String action, String step, String outcome,
            Map<String, Object> details) {
        var meta = w.m.getMetadata();
        return new AuditEvent(Instant.now(), meta.getNamespace(), KIND, meta.getName(), meta.getUid(), action, step,
                "dba-operator", outcome, w.st.planDigest, details);
    }
}
