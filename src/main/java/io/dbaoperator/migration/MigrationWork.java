package io.dbaoperator.migration;

import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;

import io.dbaoperator.api.common.Phase;
import io.dbaoperator.api.migration.DatabaseMigration;
import io.dbaoperator.api.migration.DatabaseMigrationSpec;
import io.dbaoperator.api.migration.DatabaseMigrationStatus;
import io.dbaoperator.api.migration.MigrationPhase;
import io.dbaoperator.approval.ApprovalStep;
import io.dbaoperator.audit.AuditEvent;
import io.dbaoperator.kube.Durations;
import io.dbaoperator.kube.MaintenanceWindows;
import io.dbaoperator.postgres.ConnectionSettings;
import io.dbaoperator.postgres.Databases;
import io.dbaoperator.postgres.SqlStates;
import io.dbaoperator.problem.Problem;
import io.dbaoperator.problem.Reason;
import io.dbaoperator.sql.QualifiedName;
import io.dbaoperator.sql.SqlParser;
import io.dbaoperator.sql.SqlSyntaxException;
import io.dbaoperator.status.ConditionType;
import io.dbaoperator.status.Conditions;
import io.dbaoperator.status.Step;
import io.dbaoperator.status.WriteAhead;

/**
 * One reconcile of a DatabaseMigration: the resource, the status being decided, the validated inputs, the stored
 * plan, and the production connection (opened on demand, holding the database's migration advisory lock). The
 * phase handlers ({@link PlanningStep}, {@link BackupStep}, {@link StatementSteps}, {@link BackfillStep},
 * {@link CutoverSteps}) all work on it; what they share (failing, the lease, audit events) is here.
 */
final class MigrationWork implements AutoCloseable {

    /** What one reconcile found out about the spec. */
    record Inputs(ConnectionSettings db, ConnectionSettings staging, StatementRunner.Settings settings,
            Duration pause, Duration maxLag, Duration backupMaxAge, Duration validationPeriod) {

        static Inputs of(DatabaseMigrationSpec spec, ConnectionSettings db, ConnectionSettings staging) {
            List<String> unknown = MigrationPlanner.unknownRules(spec.lint);
            if (!unknown.isEmpty()) {
                throw Problem.invalid(Reason.InvalidSpec, "spec.lint names unknown rules " + unknown
                        + "; known rules: " + java.util.Arrays.stream(LintRule.values()).map(LintRule::id).toList()).exception();
            }
            List<String> locked = MigrationPlanner.lockedRules(spec.lint);
            if (!locked.isEmpty()) {
                throw Problem.invalid(Reason.InvalidSpec, "spec.lint.allow may not lower " + locked + ": these rules "
                        + "keep the approval gate closed (a destructive statement belongs in contract, where a person "
                        + "approves it)").exception();
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
                    spec.maxLockRetries,
                    spec.statementTimeout == null ? null
                            : Durations.parse("spec.statementTimeout", spec.statementTimeout),
                    Durations.parse("spec.indexBuildTimeout", spec.indexBuildTimeout));
            var b = spec.backfill;
            return new Inputs(db, staging, settings,
                    b == null ? Duration.ZERO
                            : Durations.parse("spec.backfill.pauseBetweenBatches", b.pauseBetweenBatches),
                    b == null ? Duration.ofSeconds(10)
                            : Durations.parse("spec.backfill.maxReplicationLag", b.maxReplicationLag),
                    spec.preMigrationBackup == null ? null
                            : Durations.parse("spec.preMigrationBackup.maxAge", spec.preMigrationBackup.maxAge),
                    Durations.parse("spec.cutover.validationPeriod", spec.cutover.validationPeriod));
        }
    }

    /** Where the step history's summary goes after each reconcile that held the connection (a ConfigMap). */
    @FunctionalInterface
    interface HistorySummary {
        void write(DatabaseMigration m, DatabaseMigrationStatus st, List<MigrationStore.Entry> history);
    }

    private final HistorySummary summary;
    final DatabaseMigration m;
    final DatabaseMigrationStatus st;
    final Inputs in;
    final WriteAhead log;
    /** Where connections come from: the production and staging databases of {@link #in}. */
    final Databases databases;
    final String id;
    /** The stored, digested plan (null before Planning made it): what executes. */
    MigrationPlan plan;
    Connection prod;
    boolean lost;
    /** The maintenance window as the gate of the current production step found it. */
    MaintenanceWindows.State window = MaintenanceWindows.ALWAYS;

    MigrationWork(HistorySummary summary, Databases databases, DatabaseMigration m, DatabaseMigrationStatus st,
            Inputs in, WriteAhead log) {
        this.summary = summary;
        this.databases = databases;
        this.m = m;
        this.st = st;
        this.in = in;
        this.log = log;
        this.id = m.getMetadata().getNamespace() + "/" + m.getMetadata().getName();
        this.plan = MigrationPlanner.stored(m.getSpec(), st.plan, st.findings, st.planDigest).orElse(null);
    }

    /** This run's key in the history: the resource's UID, with the plan it executes. */
    MigrationStore.RunKey run() {
        return new MigrationStore.RunKey(id, m.getMetadata().getUid(), st.planDigest);
    }

    /** The approval a gated step runs under, as its history row names it; null when the step is not gated. */
    String approvalOf(String step) {
        return ApprovalStep.under(st, step, st.planDigest);
    }

    /** The production connection, holding the database's migration advisory lock; null if another holds it. */
    Connection prod() throws SQLException {
        if (prod == null) {
            Connection c = databases.open(in.db(), "dba-operator/migration/" + id);
            if (!SqlStates.tryAdvisoryLock(c, SqlStates.LOCK_MIGRATIONS)) {
                c.close();
                return null;
            }
            MigrationStore.ensureSchema(c);
            String created = m.getMetadata().getCreationTimestamp();
            if (created != null) {
                MigrationStore.adoptLegacy(c, run(), Instant.parse(created));
            }
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
                    summary.write(m, st, MigrationStore.list(prod, run()));
                }
            } finally {
                prod.close();
            }
        }
    }

    Step busy() {
        setReady(false, Reason.WaitingForDatabase, "another operator replica or migration is working on this "
                + "database right now (advisory lock held); trying again shortly");
        return Step.rest(Duration.ofSeconds(2));
    }

    /**
     * Whether this run changed production in a way its rollback undoes: an expand or contract statement it applied
     * (or started), or a backfill over what its own expand added. Statements found already present were not this
     * run's: the rollback SQL, which drops what expand adds, must not run for them.
     */
    boolean appliedAnything() throws SQLException {
        Connection c = prod();
        if (c == null) {
            return false;
        }
        List<MigrationStore.Entry> mine = MigrationStore.list(c, run());
        boolean statements = mine.stream().anyMatch(e -> (e.step().equals(MigrationPlan.EXPAND)
                || e.step().equals(MigrationPlan.CONTRACT)) && (e.outcome().equals("applied")
                        || e.outcome().equals("running")));
        boolean allPresent = mine.stream().anyMatch(MigrationStore.Entry::present)
                && mine.stream().noneMatch(e -> e.step().equals(MigrationPlan.EXPAND) && !e.present());
        return statements || !allPresent && mine.stream().anyMatch(e -> e.step().equals(MigrationPlan.BACKFILL));
    }

    Step fail(String failedStep, Reason reason, String message) throws SQLException {
        if (failedStep.equals("backup")) {
            releaseLease(); // nothing was applied: let the next migration have the database
        }
        st.failedStep = failedStep;
        st.phase = Phase.move(st.phase, MigrationPhase.Failed);
        setReady(false, reason, message);
        return Step.onEvent();
    }

    /**
     * Gives the database's migration lease back. Our own lease row needs no advisory lock to delete, and must not
     * wait for one: the lock may be a queued migration's for the moment (it checks the lease under it), and
     * skipping the release then would leave that migration queued behind a finished one for good.
     */
    void releaseLease() throws SQLException {
        Connection c = prod();
        if (c != null) {
            MigrationStore.releaseLease(c, id, m.getMetadata().getUid());
            return;
        }
        try (Connection plain = databases.open(in.db(), "dba-operator/migration/" + id)) {
            MigrationStore.releaseLease(plain, id, m.getMetadata().getUid());
        }
    }

    /** An audit event of this migration, under its plan's digest. */
    AuditEvent audit(String action, String step, String outcome, Map<String, Object> details) {
        return AuditEvent.byOperator(m, action, step, outcome, st.planDigest, details);
    }
}
