package io.dbaoperator.migration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.sql.SQLException;
import java.util.Optional;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import io.dbaoperator.api.backup.BackupPolicy;
import io.dbaoperator.api.common.DatabaseRef;
import io.dbaoperator.api.common.LocalRef;
import io.dbaoperator.api.common.SecretRef;
import io.dbaoperator.api.migration.DatabaseMigration;
import io.dbaoperator.api.migration.DatabaseMigrationSpec;
import io.dbaoperator.api.migration.DatabaseMigrationStatus;
import io.dbaoperator.api.migration.MigrationPhase;
import io.dbaoperator.fakes.FakeDatabases;
import io.dbaoperator.fakes.FakeReferences;
import io.dbaoperator.fakes.RecordingEvents;
import io.dbaoperator.fakes.UnitPhaseMoves;
import io.dbaoperator.kube.MaintenanceWindows;
import io.dbaoperator.postgres.Databases;
import io.dbaoperator.problem.Problem;
import io.dbaoperator.problem.ProblemException;
import io.dbaoperator.problem.Reason;
import io.dbaoperator.status.ConditionType;
import io.dbaoperator.status.Conditions;
import io.dbaoperator.status.RecordingWriteAhead;
import io.dbaoperator.status.Workflow.Validated;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;

/**
 * The DatabaseMigration's workflow below the operator's runtime: validation, the problem-to-phase rule, and the
 * handlers that decide without the database (a stored plan that no longer matches, a pause, a rollback request),
 * with fake references and databases. No Quarkus, no PostgreSQL.
 */
@ExtendWith(UnitPhaseMoves.class)
class MigrationWorkflowTest {

    private final RecordingEvents events = new RecordingEvents();

    private DatabaseMigrationReconciler reconciler(FakeReferences refs, Databases databases) {
        return new DatabaseMigrationReconciler(refs, null, null, databases, events, null,
                new MaintenanceWindows(Optional.empty(), Optional.empty(), "UTC"), "5s");
    }

    private static DatabaseRef db(String secret) {
        DatabaseRef ref = new DatabaseRef();
        ref.secretRef = new SecretRef();
        ref.secretRef.name = secret;
        return ref;
    }

    private static DatabaseMigration migration(String expand) {
        DatabaseMigration m = new DatabaseMigration();
        m.setMetadata(new ObjectMetaBuilder().withName("add-email").withNamespace("shop").withUid("uid-1")
                .withGeneration(1L).build());
        DatabaseMigrationSpec spec = MigrationPlannerTest.spec(expand);
        spec.database = db("prod");
        m.setSpec(spec);
        return m;
    }

    /** A status whose stored plan is the one the planner makes for the spec (as Planning would have stored it). */
    private static DatabaseMigrationStatus planned(DatabaseMigration m, MigrationPhase phase) {
        MigrationPlan plan = MigrationPlanner.plan(m.getSpec(), MigrationPlannerTest.CATALOG);
        DatabaseMigrationStatus st = new DatabaseMigrationStatus();
        st.plan = plan.statements().stream().map(MigrationPlan.Planned::toStatus).toList();
        st.findings = plan.findings();
        st.planDigest = plan.digest();
        st.phase = phase;
        return st;
    }

    private static MigrationWork.Inputs inputs(DatabaseMigration m) {
        return MigrationWork.Inputs.of(m.getSpec(), FakeReferences.settings("prod"), null);
    }

    @Test
    void validationResolvesBothDatabasesAndNamesThem() {
        DatabaseMigration m = migration("ALTER TABLE users ADD COLUMN email_lower text");
        m.getSpec().stagingDatabase = db("staging");
        FakeReferences refs = new FakeReferences().database("prod", FakeReferences.settings("prod"), false)
                .database("staging", FakeReferences.settings("staging"), false);
        Validated<MigrationWork.Inputs> v = reconciler(refs, FakeDatabases.unused()).validate(m,
                new DatabaseMigrationStatus());
        assertThat(v.inputs().db().dbname()).isEqualTo("prod");
        assertThat(v.inputs().staging().dbname()).isEqualTo("staging");
        assertThat(v.summary()).startsWith("database ").contains("prod", ", staging ").endsWith(" answer");
    }

    @Test
    void validationRefusesAPreMigrationBackupPolicyThatDoesNotExist() {
        DatabaseMigration m = migration("ALTER TABLE users ADD COLUMN a text");
        m.getSpec().preMigrationBackup = new DatabaseMigrationSpec.PreMigrationBackup();
        m.getSpec().preMigrationBackup.backupPolicyRef = new LocalRef();
        m.getSpec().preMigrationBackup.backupPolicyRef.name = "nightly";
        FakeReferences refs = new FakeReferences().database("prod", FakeReferences.settings("prod"), false);
        assertThatThrownBy(() -> reconciler(refs, FakeDatabases.unused()).validate(m, new DatabaseMigrationStatus()))
                .isInstanceOfSatisfying(ProblemException.class, e -> {
                    assertThat(e.problem().reason()).isEqualTo(Reason.ReferenceNotFound);
                    assertThat(e.problem().permanent()).isTrue();
                    assertThat(e.problem().message()).contains("spec.preMigrationBackup.backupPolicyRef",
                            "BackupPolicy nightly");
                });
        BackupPolicy nightly = new BackupPolicy();
        nightly.setMetadata(new ObjectMetaBuilder().withName("nightly").withNamespace("shop").build());
        refs.object(nightly);
        assertThat(reconciler(refs, FakeDatabases.unused()).validate(m, new DatabaseMigrationStatus()).inputs())
                .isNotNull();
    }

    @Test
    void onlyTheTablesTerminalPhasesAreSettled() {
        DatabaseMigrationReconciler r = reconciler(new FakeReferences(), FakeDatabases.unused());
        for (MigrationPhase phase : MigrationPhase.values()) {
            DatabaseMigrationStatus st = new DatabaseMigrationStatus();
            st.phase = phase;
            assertThat(r.settled(migration("SELECT 1"), st)).as(phase.name()).isEqualTo(phase.terminal());
        }
    }

    @Test
    void aProblemDecidesThePhaseOnlyBeforeTheFirstStep() {
        DatabaseMigrationReconciler r = reconciler(new FakeReferences(), FakeDatabases.unused());
        Problem gone = Problem.invalid(Reason.SecretNotFound, "no Secret");
        Problem down = Problem.transientFault(Reason.DatabaseUnreachable, "down");
        assertThat(phaseAfter(r, null, null, gone)).isEqualTo(MigrationPhase.Failed);
        assertThat(phaseAfter(r, MigrationPhase.Pending, null, gone)).isEqualTo(MigrationPhase.Failed);
        assertThat(phaseAfter(r, MigrationPhase.Pending, null, down)).isEqualTo(MigrationPhase.Pending);
        assertThat(phaseAfter(r, MigrationPhase.Failed, null, down)).isEqualTo(MigrationPhase.Pending);
        // once a step ran, a problem is said in status but does not move the phase: it resumes where it was
        assertThat(phaseAfter(r, MigrationPhase.Expanding, null, gone)).isEqualTo(MigrationPhase.Expanding);
        assertThat(phaseAfter(r, MigrationPhase.Failed, "contract", down)).isEqualTo(MigrationPhase.Failed);
    }

    private static MigrationPhase phaseAfter(DatabaseMigrationReconciler r, MigrationPhase phase, String failedStep,
            Problem problem) {
        DatabaseMigrationStatus st = new DatabaseMigrationStatus();
        st.phase = phase;
        st.failedStep = failedStep;
        r.onProblem(migration("SELECT 1"), st, problem);
        return st.phase;
    }

    @Test
    void refusedCredentialsArePermanentAndNameTheTarget() {
        DatabaseMigration m = migration("SELECT 1");
        SQLException refused = new SQLException("password authentication failed", "28P01");
        assertThatThrownBy(() -> reconciler(new FakeReferences(), FakeDatabases.unused())
                .databaseError(m, new DatabaseMigrationStatus(), inputs(m), refused))
                .isInstanceOfSatisfying(ProblemException.class, e -> {
                    assertThat(e.problem().reason()).isEqualTo(Reason.AuthenticationFailed);
                    assertThat(e.problem().permanent()).isTrue();
                    assertThat(e.problem().message()).contains("prod.db:5432").doesNotContain("not-a-real-password");
                });
    }

    @Test
    void aStoredPlanThatNoLongerMatchesStopsBeforeAnythingRuns() throws SQLException {
        DatabaseMigration m = migration("ALTER TABLE users ADD COLUMN a text");
        for (MigrationPhase phase : new MigrationPhase[] {MigrationPhase.Queued, MigrationPhase.Expanding,
                MigrationPhase.AwaitingCutover, MigrationPhase.AwaitingApproval}) {
            DatabaseMigrationStatus st = planned(m, phase);
            st.planDigest = "sha256:not-the-plan";
            RecordingWriteAhead log = new RecordingWriteAhead(m, st);
            assertThat(reconciler(new FakeReferences(), FakeDatabases.unused()).advance(m, st, inputs(m), log.log,
                    null)).isNull();
            assertThat(st.phase).as("from " + phase).isEqualTo(MigrationPhase.Failed);
            assertThat(st.failedStep).isEqualTo("plan");
            assertThat(Conditions.find(st.conditions, ConditionType.Ready)).hasValueSatisfying(c -> {
                assertThat(c.reason).isEqualTo(Reason.ChecksumMismatch.name());
                assertThat(c.message).contains("sha256:not-the-plan", "nothing more runs");
            });
        }
    }

    @Test
    void aPausedMigrationWaitsWithoutTheDatabase() throws SQLException {
        DatabaseMigration m = migration("ALTER TABLE users ADD COLUMN a text");
        m.getSpec().paused = true;
        DatabaseMigrationStatus st = planned(m, MigrationPhase.Backfilling);
        assertThat(reconciler(new FakeReferences(), FakeDatabases.unused()).advance(m, st, inputs(m),
                new RecordingWriteAhead(m, st).log, null)).isNull();
        assertThat(st.phase).isEqualTo(MigrationPhase.Backfilling);
        assertThat(st.message).contains("paused in phase Backfilling", "spec.paused");
    }

    @Test
    void aRollbackRequestIsStoredAsRollingBackBeforeTheDatabaseIsAsked() {
        for (MigrationPhase phase : new MigrationPhase[] {MigrationPhase.Queued, MigrationPhase.BackingUp,
                MigrationPhase.AwaitingCutover, MigrationPhase.AwaitingApproval, MigrationPhase.Failed}) {
            DatabaseMigration m = migration("ALTER TABLE users ADD COLUMN a text");
            DatabaseMigrationStatus st = planned(m, phase);
            st.failedStep = phase == MigrationPhase.Failed ? "contract" : null;
            st.rollbackRequested = true;
            RecordingWriteAhead log = new RecordingWriteAhead(m, st);
            events.events.clear();
            // the database is down: the rollback's statements cannot run, but the decision to roll back is stored
            assertThatThrownBy(() -> reconciler(new FakeReferences(), FakeDatabases.down()).advance(m, st, inputs(m),
                    log.log, null)).isInstanceOfSatisfying(ProblemException.class,
                            e -> assertThat(e.problem().reason()).isEqualTo(Reason.DatabaseUnreachable));
            assertThat(log.persistedPhases).as("from " + phase).containsExactly("RollingBack");
            assertThat(st.phase).isEqualTo(MigrationPhase.RollingBack);
            assertThat(st.rollbackRequested).isNull();
            assertThat(events.events).singleElement().asString().contains("RollbackRequested", phase.name());
        }
    }

    @Test
    void aRollbackRequestAfterTheLastStepIsNotTakenUp() throws SQLException {
        DatabaseMigration m = migration("ALTER TABLE users ADD COLUMN a text");
        DatabaseMigrationStatus st = planned(m, MigrationPhase.Contracting);
        st.rollbackRequested = true;
        m.getSpec().paused = true; // so the handler waits instead of asking the database
        reconciler(new FakeReferences(), FakeDatabases.unused()).advance(m, st, inputs(m),
                new RecordingWriteAhead(m, st).log, null);
        assertThat(st.phase).isEqualTo(MigrationPhase.Contracting);
        assertThat(st.rollbackRequested).isTrue();
    }

    @Test
    void aMigrationThatFailedValidationPlansAgainOnceItValidates() {
        DatabaseMigration m = migration("ALTER TABLE users ADD COLUMN a text");
        DatabaseMigrationStatus st = new DatabaseMigrationStatus();
        st.phase = MigrationPhase.Failed; // failedStep null: no step ran, validation failed
        assertThatThrownBy(() -> reconciler(new FakeReferences(), FakeDatabases.down()).advance(m, st, inputs(m),
                new RecordingWriteAhead(m, st).log, null)).isInstanceOf(ProblemException.class);
        assertThat(st.phase).isEqualTo(MigrationPhase.Planning);
    }
}
