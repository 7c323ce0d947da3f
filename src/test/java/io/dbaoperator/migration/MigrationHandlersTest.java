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
import java.util.Map;
import java.util.Optional;
import java.util.Set;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import io.dbaoperator.api.backup.BackupInfo;
import io.dbaoperator.api.backup.BackupPolicy;
import io.dbaoperator.api.backup.BackupPolicyStatus;
import io.dbaoperator.api.common.DatabaseRef;
import io.dbaoperator.api.common.LocalRef;
import io.dbaoperator.api.common.SecretRef;
import io.dbaoperator.api.migration.DatabaseMigration;
import io.dbaoperator.api.migration.DatabaseMigrationSpec;
import io.dbaoperator.api.migration.DatabaseMigrationStatus;
import io.dbaoperator.api.migration.MigrationPhase;
import io.dbaoperator.backup.BackupPolicyReconciler;
import io.dbaoperator.fakes.Approver;
import io.dbaoperator.fakes.FakeJdbc;
import io.dbaoperator.fakes.FakeReferences;
import io.dbaoperator.fakes.RecordingEvents;
import io.dbaoperator.fakes.UnitPhaseMoves;
import io.dbaoperator.kube.MaintenanceWindows;
import io.dbaoperator.metrics.OperatorMetrics;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
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

    /** The policy a pre-migration backup is asked of, in memory: its status as a test sets it, and each request. */
    private static final class Policies implements BackupPolicies {
        BackupPolicy policy;
        final List<String> asked = new ArrayList<>();

        @Override
        public BackupPolicy get(String namespace, String name) {
            return policy != null && "shop".equals(namespace) && name.equals(policy.getMetadata().getName()) ? policy
                    : null;
        }

        @Override
        public void ask(String namespace, String name, String requestId) {
            asked.add(namespace + "/" + name + " " + requestId);
            policy.getMetadata().setAnnotations(Map.of(BackupPolicyReconciler.BACKUP_NOW, requestId));
        }
    }

    private final Policies policies = new Policies();
    private final BackupStep backingUp = new BackupStep(policies, events);

    /** The migration asks BackupPolicy nightly for a backup no older than an hour; the policy lists {@code backups}. */
    private void withPreMigrationBackup(BackupInfo... backups) {
        m.getSpec().preMigrationBackup = new DatabaseMigrationSpec.PreMigrationBackup();
        m.getSpec().preMigrationBackup.backupPolicyRef = new LocalRef();
        m.getSpec().preMigrationBackup.backupPolicyRef.name = "nightly";
        policies.policy = new BackupPolicy();
        policies.policy.setMetadata(new ObjectMetaBuilder().withName("nightly").withNamespace("shop").build());
        policies.policy.setStatus(new BackupPolicyStatus());
        policies.policy.getStatus().backups = List.of(backups);
        planned(MigrationPhase.BackingUp);
    }

    private static BackupInfo backup(String id, String state, Boolean verified, Instant started, Instant completed) {
        BackupInfo b = new BackupInfo();
        b.backupId = id;
        b.state = state;
        b.verified = verified;
        b.startedAt = started.toString();
        b.completedAt = completed == null ? null : completed.toString();
        b.error = "failed".equals(state) ? "pg_basebackup: could not connect" : null;
        return b;
    }

    private Step backingUp() throws SQLException {
        try (MigrationWork w = work()) {
            return backingUp.backingUp(w);
        }
    }

    @Test
    void aVerifiedBackupYoungEnoughIsRecordedAndExpandBeginsWithoutAskingForAnother() throws SQLException {
        Instant now = Instant.now();
        withPreMigrationBackup(
                backup("old", "completed", true, now.minus(Duration.ofHours(3)), now.minus(Duration.ofHours(2))),
                backup("unverified", "completed", false, now.minusSeconds(600), now.minusSeconds(500)),
                backup("fresh", "completed", true, now.minusSeconds(1200), now.minusSeconds(1100)));
        assertThat(backingUp()).isEqualTo(Step.next());
        assertThat(st.phase).isEqualTo(MigrationPhase.Expanding);
        assertThat(st.preMigrationBackupId).isEqualTo("fresh");
        assertThat(policies.asked).isEmpty();
        assertThat(events.events).anySatisfy(e -> assertThat(e).startsWith("Normal BackupReady: pre-migration backup fresh"));
        assertThat(db.sent).as("BackingUp sends nothing to production").isEmpty();
    }

    @Test
    void withoutOneTheRequestIsStoredFirstAndThePolicyAskedOnlyWhenTheStepActs() throws SQLException {
        Instant now = Instant.now();
        withPreMigrationBackup(
                backup("old", "completed", true, now.minus(Duration.ofHours(3)), now.minus(Duration.ofHours(2))));
        Step step = backingUp();
        assertThat(step).isInstanceOf(Step.Act.class);
        assertThat(st.backupRequest.requestId).startsWith("dbm-add-email-");
        assertThat(policies.asked).as("decided, not yet stored: the policy is not asked").isEmpty();

        Step after = ((Step.Act) step).effect().run();
        assertThat(policies.asked).containsExactly("shop/nightly " + st.backupRequest.requestId);
        assertThat(after).isEqualTo(Step.rest(Duration.ofSeconds(5)));
        assertThat(st.phase).isEqualTo(MigrationPhase.BackingUp);
        assertThat(Conditions.find(st.conditions, ConditionType.Ready)).hasValueSatisfying(c -> {
            assertThat(c.reason).isEqualTo(Reason.BackupRequested.name());
            assertThat(c.message).contains("nightly").contains("younger than 1h");
        });
    }

    @Test
    void aRequestThatNeverReachedThePolicyIsAskedAgainWithTheSameIdAndTheBackupItMadeIsUsed() throws SQLException {
        Instant requested = Instant.now().minusSeconds(60);
        withPreMigrationBackup();
        st.backupRequest = new DatabaseMigrationStatus.BackupRequest();
        st.backupRequest.requestId = "dbm-add-email-1";
        st.backupRequest.requestedAt = requested.toString();
        // stored, then a crash before the annotation was patched: the same id is asked for, in place
        assertThat(backingUp()).isEqualTo(Step.rest(Duration.ofSeconds(5)));
        assertThat(policies.asked).containsExactly("shop/nightly dbm-add-email-1");
        assertThat(backingUp()).as("seen by the policy: not asked a third time")
                .isEqualTo(Step.rest(Duration.ofSeconds(5)));
        assertThat(policies.asked).hasSize(1);

        // the requested backup completed; with a short maxAge it is already "old", and still the one used
        m.getSpec().preMigrationBackup.maxAge = "1s";
        policies.policy.getStatus().backups = List.of(backup("requested", "completed", true,
                requested.plusSeconds(2), requested.plusSeconds(30)));
        assertThat(backingUp()).isEqualTo(Step.next());
        assertThat(st.preMigrationBackupId).isEqualTo("requested");
        assertThat(st.phase).isEqualTo(MigrationPhase.Expanding);
    }

    @Test
    void aRequestedBackupThatFailedFailsTheMigrationBeforeAnythingIsApplied() throws SQLException {
        Instant requested = Instant.now().minusSeconds(60);
        withPreMigrationBackup(backup("requested", "failed", false, requested.plusSeconds(1), null));
        st.backupRequest = new DatabaseMigrationStatus.BackupRequest();
        st.backupRequest.requestId = "dbm-add-email-1";
        st.backupRequest.requestedAt = requested.toString();
        leaseHeldByThisMigration();
        backingUp();
        assertThat(st.phase).isEqualTo(MigrationPhase.Failed);
        assertThat(db.sent("DELETE FROM dba_operator.migration_lease")).as("the database is free for the next one")
                .hasSize(1);
        assertThat(Conditions.find(st.conditions, ConditionType.Ready)).hasValueSatisfying(c -> {
            assertThat(c.reason).isEqualTo(Reason.BackupFailed.name());
            assertThat(c.message).contains("requested").contains("could not connect").contains("nothing was applied");
        });
        assertThat(db.sent("ALTER TABLE")).isEmpty();
    }

    @Test
    void aPolicyDeletedWhileTheMigrationWaitsIsSaidAndWaitedFor() throws SQLException {
        withPreMigrationBackup();
        policies.policy = null;
        assertThat(backingUp()).isEqualTo(Step.rest(Duration.ofSeconds(30)));
        assertThat(st.phase).isEqualTo(MigrationPhase.BackingUp);
        assertThat(Conditions.find(st.conditions, ConditionType.Ready)).hasValueSatisfying(c -> {
            assertThat(c.reason).isEqualTo(Reason.ReferenceNotFound.name());
            assertThat(c.message).contains("BackupPolicy nightly is gone");
        });
    }

    /** Batches as the reconciler runs them, with no pause asked, a one-second slice and metrics kept in memory. */
    private final CutoverSteps cutoverSteps = new CutoverSteps(null, events);
    private final BackfillStep backfilling = new BackfillStep(mig -> false,
            new OperatorMetrics(new SimpleMeterRegistry()), Duration.ofSeconds(1),
            new StatementSteps(events, cutoverSteps), cutoverSteps, java.time.InstantSource.system());

    /** A migration whose backfill fills users.a; its history row says {@code rowsDone} of 10000 up to {@code lastKey}. */
    private void backfillUnderWay(String checksum, long rowsDone, String lastKey) {
        backfillRecorded("running", checksum, rowsDone, lastKey);
    }

    private void backfillRecorded(String outcome, String checksum, long rowsDone, String lastKey) {
        m.getSpec().backfill = new DatabaseMigrationSpec.Backfill();
        m.getSpec().backfill.table = "users";
        m.getSpec().backfill.set = "a = lower(email)";
        planned(MigrationPhase.Backfilling);
        MigrationPlan.Planned step = MigrationPlanner.plan(m.getSpec(), MigrationPlannerTest.CATALOG)
                .step(MigrationPlan.BACKFILL).get(0);
        leaseHeldByThisMigration();
        // the pacer's look at the application inside each batch: nobody waits, one session active
        db.answer("pg_blocking_pids", row("blocked", 0, "active", 1));
        db.answer("FROM dba_operator.migration_history WHERE migration_id = ? AND run_uid = ? AND step_id = ?",
                row("migration_id", "shop/add-email", "step_id", step.id(), "step", MigrationPlan.BACKFILL,
                        "checksum", checksum == null ? step.checksum() : checksum, "statement", "UPDATE users",
                        "outcome", outcome, "started_at", Timestamp.from(Instant.now().minusSeconds(60)),
                        "finished_at", null, "duration_ms", 1000L, "attempts", 1, "rows_done", rowsDone,
                        "rows_estimated", 10_000L, "last_key", lastKey, "message", null, "approval", null));
    }

    private Step backfilling() throws SQLException {
        try (MigrationWork w = work()) {
            return backfilling.backfilling(w);
        }
    }

    @Test
    void aReplicaReplayingTooFarBehindHoldsTheBackfillBeforeItsNextBatch() throws SQLException {
        backfillUnderWay(null, 3000, "3000");
        st.backfill = new DatabaseMigrationStatus.BackfillProgress();
        st.backfill.rowsDone = 3000L;
        st.backfill.rowsPerSecond = 250.0;
        db.answer("FROM pg_stat_replication", row("application_name", "replica-1", "lag", 12.4));
        assertThat(backfilling()).isEqualTo(Step.rest(Duration.ofSeconds(5)));
        assertThat(db.sent("UPDATE \"users\"")).as("no batch while the replica lags").isEmpty();
        assertThat(st.phase).isEqualTo(MigrationPhase.Backfilling);
        assertThat(st.backfill.percent).isEqualTo("30%");
        assertThat(st.backfill.rowsPerSecond).as("a slice that wrote nothing keeps the last rate").isEqualTo(250.0);
        assertThat(Instant.parse(st.backfill.eta)).isBetween(Instant.now().plusSeconds(27),
                Instant.now().plusSeconds(29));
        assertThat(Conditions.find(st.conditions, ConditionType.Ready)).hasValueSatisfying(c -> {
            assertThat(c.reason).isEqualTo(Reason.Throttled.name());
            assertThat(c.message).contains("replica replica-1 replays 12 s behind");
        });
    }

    @Test
    void theLastBatchFinishesTheBackfillOnceAndTheMigrationWaitsForCutover() throws SQLException {
        backfillUnderWay(null, 9000, "9000");
        db.answer("WITH dba_updated AS (UPDATE \"users\" SET a = lower(email) WHERE \"id\" > ?",
                row("count", 1000L, "max", "10000"))
                .answer("SET rows_done = coalesce(rows_done, 0) + ?", row("updated", 1));
        assertThat(backfilling()).isEqualTo(Step.next());
        assertThat(db.sent("WITH dba_updated")).singleElement().asString().endsWith("[9000]");
        assertThat(db.sent("SET LOCAL lock_timeout")).hasSize(1);
        assertThat(db.sent("SET outcome = 'applied'")).hasSize(1);
        assertThat(st.backfill.rowsDone).isEqualTo(10_000L);
        assertThat(st.backfill.percent).isEqualTo("100%");
        assertThat(st.backfill.eta).isNull();
        assertThat(st.phase).isEqualTo(MigrationPhase.AwaitingCutover);
        assertThat(log.executed).singleElement().satisfies(e -> assertThat(e.toString()).contains("succeeded"));
    }

    @Test
    void batchesTheApplicationWaitsOnAreHalvedAndStatusSaysWhy() throws SQLException {
        db.answer("pg_blocking_pids", row("blocked", 2, "active", 3)); // the first answer given is the one used
        backfillUnderWay(null, 2000, "2000");
        db.answer("dba_upper_key", row("dba_upper_key", "3000"))
                .answer("WITH dba_updated AS (UPDATE \"users\" SET a = lower(email) WHERE \"id\" > ?",
                        row("count", 1000L, "max", "3000"))
                .answer("SET rows_done = coalesce(rows_done, 0) + ?", row("updated", 1));
        backfilling(); // a one-second slice: 1000 rows, then halved while two sessions wait on each batch
        assertThat(db.sent("dba_upper_key").get(0)).as("the first batch is batchSize").contains("OFFSET 999 ");
        assertThat(db.sent("dba_upper_key").get(1)).as("halved after sessions waited on it").contains("OFFSET 499 ");
        assertThat(st.backfill.batchSize).isLessThan(1000);
        assertThat(st.backfill.throttled).startsWith("2 session(s) waited on the batch's locks: batches of ");
        assertThat(Conditions.find(st.conditions, ConditionType.Ready)).hasValueSatisfying(c -> assertThat(c.message)
                .contains("batches of " + st.backfill.batchSize, "slowed: 2 session(s) waited"));
        int stored = st.backfill.batchSize;
        db.sent.clear();
        backfilling();
        assertThat(db.sent("dba_upper_key").get(0)).as("the next slice resumes at the stored size")
                .contains("OFFSET " + (stored - 1) + " ");
    }

    @Test
    void aBackfillFoundFinishedInTheHistoryIsCheckedAgainstTheTableBeforeCutover() throws SQLException {
        backfillRecorded("applied", null, 10_000, "10000");
        db.answer("dba_unfilled", row("count", 0L));
        assertThat(backfilling()).isEqualTo(Step.next());
        assertThat(db.sent("dba_unfilled")).singleElement().asString()
                .contains("FROM \"users\" WHERE ((a IS NULL AND (lower(email)) IS NOT NULL)) LIMIT 1000");
        assertThat(db.sent("WITH dba_updated")).as("no batch runs twice").isEmpty();
        assertThat(st.phase).isEqualTo(MigrationPhase.AwaitingCutover);
    }

    @Test
    void aBackfillRecordedFinishedWhoseRowsAreNotFilledStopsWithTheCountAndAnEvent() throws SQLException {
        backfillRecorded("applied", null, 10_000, "10000");
        db.answer("dba_unfilled", row("count", 42L));
        assertThat(backfilling()).isEqualTo(Step.onEvent());
        assertThat(db.sent("WITH dba_updated")).isEmpty();
        assertThat(st.phase).isEqualTo(MigrationPhase.Failed);
        assertThat(st.failedStep).isEqualTo(MigrationPlan.BACKFILL);
        assertThat(Conditions.find(st.conditions, ConditionType.Ready)).hasValueSatisfying(c -> {
            assertThat(c.reason).isEqualTo(Reason.EvidenceMissing.name());
            assertThat(c.message).contains("backfill is recorded finished by this run, but 42 row(s) in its where "
                    + "still have NULL in a column it sets (a)");
        });
        assertThat(events.events).anySatisfy(e -> assertThat(e).contains("EvidenceMissing", "42 row(s)"));
    }

    @Test
    void aBackfillWhoseSpecChangedWhileItRanFailsWithoutAnotherBatch() throws SQLException {
        backfillUnderWay("sha256:what-the-backfill-started-with", 3000, "3000");
        assertThat(backfilling()).isEqualTo(Step.onEvent());
        assertThat(db.sent("UPDATE \"users\"")).isEmpty();
        assertThat(st.phase).isEqualTo(MigrationPhase.Failed);
        assertThat(st.failedStep).isEqualTo(MigrationPlan.BACKFILL);
        assertThat(Conditions.find(st.conditions, ConditionType.Ready)).hasValueSatisfying(c -> {
            assertThat(c.reason).isEqualTo(Reason.ChecksumMismatch.name());
            assertThat(c.message).contains("a running backfill must not be edited");
        });
    }

    /** Production's catalog as LiveCatalog reads it: table users exists and is in use. */
    private void usersInUse() {
        db.answer("SELECT to_regclass(?) IS NOT NULL", row("exists", true))
                .answer("c.reltuples > 0", row("inUse", true));
    }

    private Step planning() throws SQLException {
        st = new DatabaseMigrationStatus();
        st.phase = MigrationPhase.Planning;
        try (MigrationWork w = work()) {
            return PlanningStep.planning(w);
        }
    }

    @Test
    void sqlPostgresCannotParseFailsPlanningWhereItIsAndNothingRuns() throws SQLException {
        m.getSpec().expand = new DatabaseMigrationSpec.SqlStep("ALTER TABLE users\n  ADD COLUM a text");
        db.failAsServer("ADD COLUM a text", "42601", "syntax error at or near \"COLUM\"", "COLUM");
        usersInUse();
        planning();
        assertThat(st.phase).isEqualTo(MigrationPhase.Failed);
        assertThat(st.failedStep).isEqualTo("planning");
        assertThat(st.plan).as("no plan stored").isNullOrEmpty();
        assertThat(Conditions.find(st.conditions, ConditionType.Ready)).hasValueSatisfying(c -> {
            assertThat(c.reason).isEqualTo(Reason.SyntaxError.name());
            assertThat(c.message).contains("spec.expand.sql does not parse: syntax error at or near \"COLUM\" at line 2, column 7",
                    "nothing was applied");
        });
        assertThat(db.sent).as("the SQL reaches the server only inside the syntax check's function")
                .allSatisfy(sql -> assertThat(sql).doesNotStartWith("ALTER"));
    }

    @Test
    void aPlanWithALintErrorIsStoredWithItsFindingsAndFails() throws SQLException {
        m.getSpec().expand = new DatabaseMigrationSpec.SqlStep("ALTER TABLE users ADD COLUMN age int NOT NULL");
        usersInUse();
        planning();
        assertThat(st.phase).isEqualTo(MigrationPhase.Failed);
        assertThat(st.findings).anySatisfy(f -> {
            assertThat(f.rule).isEqualTo("adding-required-field");
            assertThat(f.severity).isEqualTo("error");
        });
        assertThat(Conditions.find(st.conditions, ConditionType.Ready)).hasValueSatisfying(c -> {
            assertThat(c.reason).isEqualTo(Reason.LintFailed.name());
            assertThat(c.message).startsWith("1 lint error(s), nothing was applied. First: adding-required-field");
        });
    }

    @Test
    void aCleanPlanIsStoredAndQueuedOrWaitsForTheApprovalAlwaysAsks() throws SQLException {
        usersInUse();
        assertThat(planning()).isEqualTo(Step.next());
        assertThat(st.phase).isEqualTo(MigrationPhase.Queued);
        assertThat(st.plan).extracting(p -> p.step).containsExactly("expand", "contract", "rollback");
        assertThat(st.planDigest).isNotBlank();
        String digest = st.planDigest;

        m.getSpec().approval.policy = DatabaseMigrationSpec.ApprovalPolicy.Policy.Always;
        assertThat(planning()).isEqualTo(Step.next());
        assertThat(st.phase).as("the expand step's gate").isEqualTo(MigrationPhase.AwaitingApproval);
        assertThat(st.planDigest).as("the same spec on the same catalog plans the same").isEqualTo(digest);

        m.getSpec().paused = true;
        assertThat(planning()).isEqualTo(Step.onEvent());
        assertThat(st.phase).isEqualTo(MigrationPhase.Planning);
        assertThat(Conditions.find(st.conditions, ConditionType.Ready)).hasValueSatisfying(
                c -> assertThat(c.reason).isEqualTo(Reason.Paused.name()));
    }
}
