package io.dbaoperator.migration;

import static io.dbaoperator.fakes.FakeJdbc.row;
import static org.assertj.core.api.Assertions.assertThat;

import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import io.dbaoperator.api.common.DatabaseRef;
import io.dbaoperator.api.common.SecretRef;
import io.dbaoperator.api.migration.DatabaseMigration;
import io.dbaoperator.api.migration.DatabaseMigrationSpec;
import io.dbaoperator.api.migration.DatabaseMigrationStatus;
import io.dbaoperator.api.migration.MigrationPhase;
import io.dbaoperator.fakes.Approver;
import io.dbaoperator.fakes.FakeJdbc;
import io.dbaoperator.fakes.FakeReferences;
import io.dbaoperator.fakes.RecordingEvents;
import io.dbaoperator.fakes.UnitPhaseMoves;
import io.dbaoperator.kube.MaintenanceWindows;
import io.dbaoperator.problem.Reason;
import io.dbaoperator.status.ConditionType;
import io.dbaoperator.status.Conditions;
import io.dbaoperator.status.PhaseMachine;
import io.dbaoperator.status.RecordingWriteAhead;
import io.dbaoperator.status.Step;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;

/**
 * Each DatabaseMigration phase handler alone, on a scripted connection (no Quarkus, no PostgreSQL): the advisory
 * lock and the lease that let one migration at a time touch a database, the cutover and contract gates, and that an
 * acting phase is stored before its first statement.
 */
@ExtendWith(UnitPhaseMoves.class)
class MigrationHandlersTest {

    private final FakeJdbc db = new FakeJdbc();
    private final RecordingEvents events = new RecordingEvents();
    private final DatabaseMigrationReconciler reconciler = new DatabaseMigrationReconciler(new FakeReferences(), null,
            null, db.databases(), events, null, new MaintenanceWindows(Optional.empty(), Optional.empty(), "UTC"),
            "5s");
    private final DatabaseMigration m = migration();
    private DatabaseMigrationStatus st;
    private RecordingWriteAhead log;
    /** The step history each reconcile summarised (into a ConfigMap in a cluster), by size. */
    private final List<Integer> summaries = new ArrayList<>();

    private static DatabaseMigration migration() {
        DatabaseMigration m = new DatabaseMigration();
        m.setMetadata(new ObjectMetaBuilder().withName("add-email").withNamespace("shop").withUid("uid-1")
                .withGeneration(1L).build());
        DatabaseMigrationSpec spec = MigrationPlannerTest.spec("ALTER TABLE users ADD COLUMN a text");
        spec.contract = new DatabaseMigrationSpec.SqlStep("ALTER TABLE users DROP COLUMN email");
        spec.database = new DatabaseRef();
        spec.database.secretRef = new SecretRef();
        spec.database.secretRef.name = "prod";
        m.setSpec(spec);
        return m;
    }

    /** The status Planning would have stored for the spec, in {@code phase}. */
    private void planned(MigrationPhase phase) {
        MigrationPlan plan = MigrationPlanner.plan(m.getSpec(), MigrationPlannerTest.CATALOG);
        st = new DatabaseMigrationStatus();
        st.plan = plan.statements().stream().map(MigrationPlan.Planned::toStatus).toList();
        st.findings = plan.findings();
        st.planDigest = plan.digest();
        st.phase = phase;
    }

    private MigrationWork work() {
        log = new RecordingWriteAhead(m, st);
        return new MigrationWork((mig, status, history) -> summaries.add(history.size()), db.databases(), m, st,
                MigrationWork.Inputs.of(m.getSpec(), FakeReferences.settings("prod"), null), log.log);
    }

    private Step decide(MigrationPhase phase) throws SQLException {
        try (MigrationWork w = work()) {
            return reconciler.machine.handler(phase).decide(w);
        }
    }

    /** The database's migration lock is free and the lease is this migration's. */
    private void leaseHeldByThisMigration() {
        db.answer("pg_try_advisory_lock", row("locked", true))
                .answer("r.relname = 'migration_lease'", row("one", 1))
                .answer("FROM pg_attribute WHERE attrelid", row("one", 1))
                .answer("SELECT migration_id, uid, acquired_at", row("migration_id", "shop/add-email", "uid",
                        "uid-1", "acquired_at", Timestamp.from(Instant.parse("2026-12-04T04:00:00Z"))));
    }

    @Test
    void everyPhaseThatIsNotTerminalHasAHandlerAndThoseThatTouchProductionAct() {
        PhaseMachine<MigrationPhase, MigrationWork> machine = reconciler.machine;
        Set<MigrationPhase> open = EnumSet.noneOf(MigrationPhase.class);
        for (MigrationPhase p : MigrationPhase.values()) {
            if (!p.terminal()) {
                open.add(p);
            }
        }
        assertThat(machine.handled()).isEqualTo(open);
        assertThat(machine.acting()).containsExactlyInAnyOrder(MigrationPhase.Queued, MigrationPhase.BackingUp,
                MigrationPhase.Expanding, MigrationPhase.Backfilling, MigrationPhase.Contracting,
                MigrationPhase.RollingBack);
    }

    @Test
    void aQueuedMigrationWaitsWhileAnotherSessionHoldsTheDatabase() throws SQLException {
        planned(MigrationPhase.Queued);
        db.answer("pg_try_advisory_lock", row("locked", false));
        assertThat(decide(MigrationPhase.Queued)).isEqualTo(Step.rest(Duration.ofSeconds(2)));
        assertThat(st.phase).isEqualTo(MigrationPhase.Queued);
        assertThat(Conditions.find(st.conditions, ConditionType.Ready)).hasValueSatisfying(c -> {
            assertThat(c.reason).isEqualTo(Reason.WaitingForDatabase.name());
            assertThat(c.message).contains("advisory lock held");
        });
        assertThat(db.sent).singleElement().asString().startsWith("SELECT pg_try_advisory_lock");
    }

    @Test
    void theLeaseTakenMovesAQueuedMigrationToExpandOrToItsBackup() throws SQLException {
        planned(MigrationPhase.Queued);
        leaseHeldByThisMigration();
        assertThat(decide(MigrationPhase.Queued)).isEqualTo(Step.next());
        assertThat(st.phase).isEqualTo(MigrationPhase.Expanding);
        assertThat(db.sent("INSERT INTO dba_operator.migration_lease")).singleElement().asString()
                .endsWith("[shop/add-email, uid-1]");
        assertThat(db.sent("ALTER TABLE")).as("nothing of the plan runs in Queued").isEmpty();
        assertThat(summaries).as("the history is summarised after a reconcile that held the database")
                .containsExactly(0);
    }

    @Test
    void expandingSendsNoStatementWithoutTheDatabasesMigrationLock() throws SQLException {
        planned(MigrationPhase.Expanding);
        db.answer("pg_try_advisory_lock", row("locked", false));
        assertThat(decide(MigrationPhase.Expanding)).isEqualTo(Step.rest(Duration.ofSeconds(2)));
        assertThat(st.phase).isEqualTo(MigrationPhase.Expanding);
        assertThat(db.sent("ALTER TABLE")).isEmpty();
    }

    @Test
    void aManualCutoverWaitsForAPersonThenContractWaitsForItsOwnApproval() throws SQLException {
        planned(MigrationPhase.AwaitingCutover);
        assertThat(decide(MigrationPhase.AwaitingCutover)).isEqualTo(Step.onEvent());
        assertThat(st.approvalRequest.step).isEqualTo("cutover");
        assertThat(st.approvalRequest.planDigest).isEqualTo(st.planDigest);

        Approver.approve(st, "alice");
        assertThat(decide(MigrationPhase.AwaitingCutover)).isEqualTo(Step.next());
        assertThat(st.phase).isEqualTo(MigrationPhase.AwaitingApproval);
        assertThat(st.approvals).extracting(a -> a.step).containsExactly("cutover");
        assertThat(db.opened()).as("the cutover gate needs no database").isZero();

        // contract drops a column: its approval is bound to the live definition of the table it locks
        db.answer("FROM pg_attribute", row("attname", "email", "type", "character varying(100)"));
        assertThat(decide(MigrationPhase.AwaitingApproval)).isEqualTo(Step.onEvent());
        assertThat(st.phase).isEqualTo(MigrationPhase.AwaitingApproval);
        assertThat(st.approvalRequest.step).isEqualTo("contract");
        assertThat(st.approvalRequest.reason).contains("destructive", "DROP COLUMN email");
        assertThat(st.approvalRequest.schemaFingerprint).isNotBlank();
        assertThat(db.sent("DROP COLUMN")).isEmpty();

        Approver.approve(st, "alice");
        assertThat(decide(MigrationPhase.AwaitingApproval)).isEqualTo(Step.next());
        assertThat(st.phase).isEqualTo(MigrationPhase.Contracting);
        assertThat(db.sent("DROP COLUMN")).isEmpty();
        assertThat(log.log.persisted()).as("the handler decides; the machine persists").isZero();
    }

    @Test
    void aRejectedContractRunsNothingAndRollsBackWhatExpandApplied() throws SQLException {
        planned(MigrationPhase.AwaitingApproval);
        decide(MigrationPhase.AwaitingApproval);
        Approver.reject(st, "bob");
        leaseHeldByThisMigration();
        db.answer("FROM dba_operator.migration_history", row("migration_id", "shop/add-email", "step_id", "expand-0",
                "step", "expand", "checksum", "sha256:1", "statement", "ALTER TABLE users ADD COLUMN a text",
                "outcome", "applied", "started_at", Timestamp.from(Instant.now()), "finished_at",
                Timestamp.from(Instant.now()), "duration_ms", 12L, "attempts", 1, "rows_done", null,
                "rows_estimated", null, "last_key", null, "message", null, "approval", null));
        assertThat(decide(MigrationPhase.AwaitingApproval)).isEqualTo(Step.next());
        assertThat(st.phase).isEqualTo(MigrationPhase.RollingBack);
        assertThat(events.events).singleElement().asString().contains("rejected by bob; rolling back");
        assertThat(db.sent("DROP COLUMN")).isEmpty();
    }

    @Test
    void aCutoverRejectedBeforeAnyProductionChangeEndsRejected() throws SQLException {
        planned(MigrationPhase.AwaitingCutover);
        decide(MigrationPhase.AwaitingCutover);
        Approver.reject(st, "bob");
        leaseHeldByThisMigration();
        assertThat(decide(MigrationPhase.AwaitingCutover)).isEqualTo(Step.onEvent());
        assertThat(st.phase).isEqualTo(MigrationPhase.Rejected);
        assertThat(st.message).contains("rejected by bob before any production change");
        assertThat(db.sent("DELETE FROM dba_operator.migration_lease")).as("the lease is given back").hasSize(1);
    }

    @Test
    void theMachineStoresQueuedBeforeTheLeaseIsTakenAndExpandingBeforeItsFirstStatement() throws SQLException {
        planned(MigrationPhase.Planning);
        st.phase = MigrationPhase.Queued;
        db.answer("pg_try_advisory_lock", row("locked", true))
                .answer("r.relname = 'migration_lease'", row("one", 1))
                .answer("FROM pg_attribute WHERE attrelid", row("one", 1))
                .answer("SELECT migration_id, uid, acquired_at", row("migration_id", "shop/add-email", "uid",
                        "uid-1", "acquired_at", Timestamp.from(Instant.now())));
        List<String> atPersist = new ArrayList<>();
        try (MigrationWork w = work()) {
            log.onPersist = () -> atPersist.add(st.phase + " after " + db.sent("migration_lease (migration_id")
                    .size() + " lease insert(s), " + db.sent("ALTER TABLE users").size() + " ALTER(s)");
            reconciler.machine.drive(w, log.log);
        }
        assertThat(atPersist).startsWith("Queued after 0 lease insert(s), 0 ALTER(s)",
                "Expanding after 1 lease insert(s), 0 ALTER(s)");
    }
}
