package io.dbaoperator.operator;

import static io.dbaoperator.operator.OperatorAssertions.awaitEvent;
import static io.dbaoperator.operator.OperatorAssertions.get;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import io.dbaoperator.api.common.Condition;
import io.dbaoperator.api.migration.DatabaseMigration;
import io.dbaoperator.api.migration.DatabaseMigrationSpec;
import io.dbaoperator.api.migration.MigrationPhase;
import io.dbaoperator.harness.OperatorHarness;
import io.dbaoperator.harness.OperatorTier;
import io.dbaoperator.harness.TestPostgres;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;

/**
 * DatabaseMigration end to end against real PostgreSQL: every test has its own database, looks at the rows, columns
 * and indexes a user would, and approves the way a person does (a merge patch of status).
 */
@OperatorTier
@QuarkusTest
@QuarkusTestResource(OperatorHarness.class)
class DatabaseMigrationTest {

    static final String NS = "migrations";
    static KubernetesClient client;

    @BeforeAll
    static void setUp() {
        client = Fixtures.namespace(NS);
    }

    // --- the happy path ---

    @Test
    void expandBackfillCutoverAndContractDropTheOldColumnOnlyAfterApproval() throws Exception {
        database("mig_happy", 2500);
        database("mig_happy_staging", 300);
        DatabaseMigration m = emailMigration("happy", "mig_happy");
        m.getSpec().stagingDatabase = Fixtures.db(secretName("mig_happy_staging"));
        client.resource(m).create();

        awaitPhase("happy", MigrationPhase.AwaitingCutover, Duration.ofSeconds(90));
        DatabaseMigration seen = get(DatabaseMigration.class, NS, "happy");
        assertThat(seen.getStatus().rehearsal.result).isEqualTo("Passed");
        // each step's time in the pass production repeats: what a window is asked to hold
        var rehearsal = seen.getStatus().rehearsal;
        assertThat(List.of(rehearsal.expandMs, rehearsal.backfillMs, rehearsal.contractMs)).doesNotContainNull()
                .allSatisfy(ms -> assertThat(ms).isBetween(0L, rehearsal.durationMs));
        assertThat(rehearsal.expandMs + rehearsal.backfillMs + rehearsal.contractMs)
                .isLessThanOrEqualTo(rehearsal.durationMs);
        assertThat(seen.getStatus().plan).extracting(p -> p.step + " " + p.lockLevel).containsExactly(
                "expand ACCESS EXCLUSIVE", "expand SHARE UPDATE EXCLUSIVE", "backfill ROW EXCLUSIVE",
                "contract ACCESS EXCLUSIVE", "rollback SHARE UPDATE EXCLUSIVE", "rollback ACCESS EXCLUSIVE");
        assertThat(seen.getStatus().findings).extracting(f -> f.rule + ":" + f.severity)
                .contains("ban-drop-column:warning");
        assertThat(seen.getStatus().backfill.rowsDone).isEqualTo(2500);
        assertThat(seen.getStatus().backfill.percent).isEqualTo("100%");
        assertThat(seen.getStatus().approvalRequest.step).isEqualTo("cutover");
        assertThat(scalar("mig_happy", "select count(*) from users where email_lower = lower(email)")).isEqualTo(2500);
        assertThat(scalar("mig_happy", "select count(*) from pg_index i join pg_class c on c.oid = i.indexrelid "
                + "where c.relname = 'users_email_lower' and i.indisvalid")).isEqualTo(1);
        assertThat(columns("mig_happy")).contains("email", "email_lower");
        // the staging rehearsal went all the way: contract ran there
        assertThat(columns("mig_happy_staging")).contains("email_lower").doesNotContain("email");

        approve("happy", null);
        awaitPhase("happy", MigrationPhase.AwaitingApproval, Duration.ofSeconds(30));
        seen = get(DatabaseMigration.class, NS, "happy");
        assertThat(seen.getStatus().approvalRequest.step).isEqualTo("contract");
        assertThat(seen.getStatus().approvalRequest.reason).contains("DROP COLUMN email");
        assertThat(columns("mig_happy")).contains("email");

        // an approval pinned to a plan that is not the current one is refused, and nothing runs
        approve("happy", "sha256:0000000000000000000000000000000000000000000000000000000000000000");
        Condition refused = awaitConditionReason("happy", "Approved", "PlanDigestMismatch");
        assertThat(refused.message).contains("does not match the current plan");
        Thread.sleep(1500);
        assertThat(get(DatabaseMigration.class, NS, "happy").getStatus().phase).isEqualTo(MigrationPhase.AwaitingApproval);
        assertThat(columns("mig_happy")).contains("email");

        approve("happy", seen.getStatus().planDigest);
        awaitPhase("happy", MigrationPhase.Completed, Duration.ofSeconds(30));
        assertThat(columns("mig_happy")).contains("email_lower").doesNotContain("email");
        seen = get(DatabaseMigration.class, NS, "happy");
        assertThat(seen.getStatus().approvals).extracting(a -> a.step).containsExactly("cutover", "contract");
        assertThat(seen.getStatus().log.applied).isEqualTo(4);
        ConfigMap log = client.configMaps().inNamespace(NS).withName("happy-migration-log").get();
        assertThat(log.getData().get("migration.log")).contains("expand#1 applied", "expand#2 applied",
                "backfill applied", "2500 rows", "contract#1 applied");
        assertThat(log.getMetadata().getOwnerReferences()).extracting(o -> o.getName()).containsExactly("happy");
        assertThat(scalar("mig_happy", "select count(*) from dba_operator.migration_history "
                + "where migration_id = 'migrations/happy' and outcome = 'applied'")).isEqualTo(4);
        assertThat(scalar("mig_happy", "select count(*) from dba_operator.migration_lease")).isZero();
    }

    @Test
    void aFailedRehearsalStopsTheMigrationBeforeProductionIsTouched() throws Exception {
        database("mig_rehearse", 200);
        database("mig_rehearse_staging", 200);
        // staging has drifted from production: a row whose e-mail the new column cannot hold
        TestPostgres.get().exec("mig_rehearse_staging", "insert into users (email) values ('" + "x".repeat(40)
                + "@example.com')");
        DatabaseMigration m = migration("rehearse", "mig_rehearse",
                "ALTER TABLE users ADD COLUMN email_short varchar(32)",
                "ALTER TABLE users DROP COLUMN IF EXISTS email_short");
        m.getSpec().backfill = new DatabaseMigrationSpec.Backfill();
        m.getSpec().backfill.table = "users";
        m.getSpec().backfill.set = "email_short = lower(email)";
        m.getSpec().backfill.batchSize = 50;
        m.getSpec().stagingDatabase = Fixtures.db(secretName("mig_rehearse_staging"));
        client.resource(m).create();

        awaitPhase("rehearse", MigrationPhase.Failed, Duration.ofSeconds(60));
        DatabaseMigration seen = get(DatabaseMigration.class, NS, "rehearse");
        assertThat(seen.getStatus().rehearsal.result).isEqualTo("Failed");
        assertThat(seen.getStatus().rehearsal.message).contains("value too long for type character varying(32)");
        assertThat(seen.getStatus().failedStep).isEqualTo("rehearsal");
        Condition c = ready("rehearse");
        assertThat(c.reason).isEqualTo("RehearsalFailed");
        assertThat(c.message).contains("production was not touched");
        assertThat(seen.getStatus().backfill == null || seen.getStatus().backfill.rowsDone == null
                || seen.getStatus().backfill.rowsDone == 0).isTrue();
        // production: no new column, no row touched, no history of this migration
        assertThat(columns("mig_rehearse")).doesNotContain("email_short");
        assertThat(scalar("mig_rehearse", "select count(*) from information_schema.tables "
                + "where table_schema = 'dba_operator' and table_name = 'migration_history'") == 0
                || scalar("mig_rehearse", "select count(*) from dba_operator.migration_history "
                        + "where migration_id = 'migrations/rehearse'") == 0).isTrue();
        awaitEvent(NS, "rehearse", "Warning", "RehearsalFailed");
    }

    // --- the pre-migration backup ---

    @Test
    void aBackupIsTakenBeforeTheFirstProductionChangeAndAFreshOneIsReused() throws Exception {
        database("mig_backup", 50);
        Fixtures.secret(client, NS, "app-db-replication", Fixtures.replicationDbKeys());
        Fixtures.secret(client, NS, "backup-s3", Fixtures.s3Keys());
        io.dbaoperator.api.backup.BackupPolicy policy = new io.dbaoperator.api.backup.BackupPolicy();
        policy.getMetadata().setName("before-migrations");
        policy.getMetadata().setNamespace(NS);
        policy.setSpec(new io.dbaoperator.api.backup.BackupPolicySpec());
        policy.getSpec().database = Fixtures.db("app-db-replication");
        policy.getSpec().schedule = "0 3 1 1 *"; // yearly: only on-demand backups happen in this test
        policy.getSpec().storage = Fixtures.storage("backup-s3");
        client.resource(policy).create();

        DatabaseMigration m = migration("with-backup", "mig_backup", "ALTER TABLE users ADD COLUMN d1 text",
                "ALTER TABLE users DROP COLUMN IF EXISTS d1");
        m.getSpec().preMigrationBackup = new DatabaseMigrationSpec.PreMigrationBackup();
        m.getSpec().preMigrationBackup.backupPolicyRef = new io.dbaoperator.api.common.LocalRef("before-migrations");
        client.resource(m).create();
        awaitConditionReason("with-backup", "Ready", "BackupRequested");
        assertThat(get(DatabaseMigration.class, NS, "with-backup").getStatus().phase).isEqualTo(MigrationPhase.BackingUp);
        assertThat(columns("mig_backup")).doesNotContain("d1"); // nothing before the backup
        awaitPhase("with-backup", MigrationPhase.AwaitingCutover, Duration.ofSeconds(120));
        DatabaseMigration seen = get(DatabaseMigration.class, NS, "with-backup");
        var backups = get(io.dbaoperator.api.backup.BackupPolicy.class, NS, "before-migrations").getStatus().backups;
        assertThat(backups).hasSize(1);
        assertThat(backups.get(0).verified).isTrue();
        assertThat(seen.getStatus().preMigrationBackupId).isEqualTo(backups.get(0).backupId);
        assertThat(get(io.dbaoperator.api.backup.BackupPolicy.class, NS, "before-migrations").getMetadata()
                .getAnnotations()).containsEntry("dbaoperator.io/backup-now", seen.getStatus().backupRequest.requestId);
        assertThat(columns("mig_backup")).contains("d1");
        approve("with-backup", null);
        awaitPhase("with-backup", MigrationPhase.Completed, Duration.ofSeconds(30));

        // the next migration within maxAge reuses that backup instead of asking for another
        DatabaseMigration next = migration("reuses-backup", "mig_backup", "ALTER TABLE users ADD COLUMN d2 text",
                "ALTER TABLE users DROP COLUMN IF EXISTS d2");
        next.getSpec().preMigrationBackup = m.getSpec().preMigrationBackup;
        client.resource(next).create();
        awaitPhase("reuses-backup", MigrationPhase.AwaitingCutover, Duration.ofSeconds(30));
        seen = get(DatabaseMigration.class, NS, "reuses-backup");
        assertThat(seen.getStatus().preMigrationBackupId).isEqualTo(backups.get(0).backupId);
        assertThat(seen.getStatus().backupRequest).isNull();
    }

    // --- bad input stops before production is touched ---

    @Test
    void aLintErrorFailsAtPlanningAndAppliesNothing() throws Exception {
        database("mig_lint", 10);
        DatabaseMigration m = migration("lint", "mig_lint", "CREATE INDEX users_email ON users (email)",
                "DROP INDEX IF EXISTS users_email");
        client.resource(m).create();
        awaitPhase("lint", MigrationPhase.Failed, Duration.ofSeconds(30));
        DatabaseMigration seen = get(DatabaseMigration.class, NS, "lint");
        assertThat(seen.getStatus().findings).anySatisfy(f -> {
            assertThat(f.rule).isEqualTo("require-concurrent-index-creation");
            assertThat(f.severity).isEqualTo("error");
            assertThat(f.statement).isEqualTo("CREATE INDEX users_email ON users (email)");
        });
        assertThat(ready("lint").reason).isEqualTo("LintFailed");
        assertThat(seen.getStatus().planDigest).startsWith("sha256:");
        assertThat(scalar("mig_lint", "select count(*) from pg_class where relname = 'users_email'")).isZero();
        awaitEvent(NS, "lint", "Warning", "LintFailed");
    }

    @Test
    void sqlThatDoesNotParseFailsWithTheServersMessageAndPosition() throws Exception {
        database("mig_syntax", 10);
        DatabaseMigration m = migration("syntax", "mig_syntax",
                "ALTER TABLE users ADD COLUMN note text;\nALTER TABLE users ADD COLUMN rank intt eger",
                "ALTER TABLE users DROP COLUMN IF EXISTS note");
        client.resource(m).create();
        awaitPhase("syntax", MigrationPhase.Failed, Duration.ofSeconds(30));
        Condition c = ready("syntax");
        assertThat(c.reason).isEqualTo("SyntaxError");
        assertThat(c.message).contains("spec.expand.sql does not parse").contains("syntax error at or near \"eger\"")
                .contains("line 2, column 40");
        assertThat(columns("mig_syntax")).doesNotContain("note");
    }

    // --- lock discipline ---

    @Test
    void lockTimeoutRetriesWhileATransactionHoldsTheTableAndReadersAreNeverQueuedLong() throws Exception {
        database("mig_lock", 100);
        DatabaseMigration m = migration("lock", "mig_lock", "ALTER TABLE users ADD COLUMN score int",
                "ALTER TABLE users DROP COLUMN IF EXISTS score");
        m.getSpec().lockTimeout = "200ms";
        m.getSpec().maxLockRetries = 50;
        AtomicBoolean stop = new AtomicBoolean();
        AtomicLong worstRead = new AtomicLong();
        try (Connection holder = connect("mig_lock")) {
            holder.setAutoCommit(false);
            holder.createStatement().execute("select count(*) from users"); // ACCESS SHARE until commit
            CompletableFuture<Void> readers = CompletableFuture.runAsync(() -> {
                try (Connection r = connect("mig_lock")) {
                    while (!stop.get()) {
                        long t = System.nanoTime();
                        r.createStatement().execute("select count(*) from users");
                        worstRead.accumulateAndGet((System.nanoTime() - t) / 1_000_000, Math::max);
                        Thread.sleep(20);
                    }
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            client.resource(m).create();
            // the ALTER shows up queued behind the holder, gives up after lock_timeout, and comes back
            await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(20))
                    .until(() -> alterWaiting("mig_lock") > 0);
            Thread.sleep(2500); // hold the lock across several retries
            holder.commit();
            awaitPhase("lock", MigrationPhase.AwaitingCutover, Duration.ofSeconds(30));
            stop.set(true);
            readers.get(10, TimeUnit.SECONDS);
        }
        assertThat(columns("mig_lock")).contains("score");
        DatabaseMigration seen = get(DatabaseMigration.class, NS, "lock");
        assertThat(seen.getStatus().log.retries).isGreaterThanOrEqualTo(3);
        assertThat(scalar("mig_lock", "select attempts from dba_operator.migration_history where step_id = 'expand#1'"))
                .isGreaterThanOrEqualTo(4);
        // the ALTER waited in the lock queue at most lock_timeout (200 ms) at a time; readers queue behind it
        assertThat(worstRead.get()).as("worst reader latency, ms").isLessThan(200 + 300);
    }

    // --- resumable backfill ---

    @Test
    void aBackfillInterruptedMidwayResumesAfterTheLastCommittedBatchWithoutRedoingOne() throws Exception {
        database("mig_resume", 4000);
        DatabaseMigration m = migration("resume", "mig_resume",
                "ALTER TABLE users ADD COLUMN touched int NOT NULL DEFAULT 0",
                "ALTER TABLE users DROP COLUMN IF EXISTS touched");
        m.getSpec().backfill = new DatabaseMigrationSpec.Backfill();
        m.getSpec().backfill.table = "users";
        m.getSpec().backfill.set = "touched = touched + 1"; // a batch run twice would leave a 2
        m.getSpec().backfill.batchSize = 100;
        m.getSpec().backfill.pauseBetweenBatches = "30ms";
        client.resource(m).create();
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(50)).ignoreExceptions() // until expand
                .until(() -> scalar("mig_resume", "select count(*) from users where touched = 1") >= 800);
        // the operator's connection dies mid-batch, as when its pod is killed: the open batch is rolled back
        int killed = (int) scalar("mig_resume", "select count(pg_terminate_backend(pid)) from pg_stat_activity "
                + "where application_name like 'dba-operator/migration/%' and datname = 'mig_resume'");
        assertThat(killed).isEqualTo(1);
        awaitConditionReason("resume", "Ready", "DatabaseUnreachable");
        awaitPhase("resume", MigrationPhase.AwaitingCutover, Duration.ofSeconds(60));
        assertThat(scalar("mig_resume", "select count(*) from users where touched = 1")).isEqualTo(4000);
        assertThat(scalar("mig_resume", "select count(*) from users where touched <> 1")).isZero();
        assertThat(scalar("mig_resume", "select rows_done from dba_operator.migration_history "
                + "where migration_id = 'migrations/resume' and step_id = 'backfill'")).isEqualTo(4000);
        assertThat(get(DatabaseMigration.class, NS, "resume").getStatus().backfill.rowsDone).isEqualTo(4000);
    }

    @Test
    void theBackfillWaitsWhileAReplicaReplaysTooFarBehind() throws Exception {
        database("mig_lag", 20000);
        TestPostgres.get().exec("postgres", "grant pg_read_all_stats to app"); // to see replay_lag of other roles
        try (TestPostgres.Standby standby = TestPostgres.get().startStandby()) {
            try (Connection s = standby.superuser()) {
                s.createStatement().execute("select pg_wal_replay_pause()");
            }
            DatabaseMigration m = migration("lag", "mig_lag", "ALTER TABLE users ADD COLUMN lagged int",
                    "ALTER TABLE users DROP COLUMN IF EXISTS lagged");
            m.getSpec().backfill = new DatabaseMigrationSpec.Backfill();
            m.getSpec().backfill.table = "users";
            m.getSpec().backfill.set = "lagged = 1";
            m.getSpec().backfill.batchSize = 500;
            m.getSpec().backfill.pauseBetweenBatches = "50ms";
            m.getSpec().backfill.maxReplicationLag = "1s";
            client.resource(m).create();
            Condition throttled = awaitConditionReason("lag", "Ready", "Throttled");
            assertThat(throttled.message).contains("replays").contains("maxReplicationLag 1 s");
            long held = scalar("mig_lag", "select count(*) from users where lagged = 1");
            Thread.sleep(2000);
            assertThat(scalar("mig_lag", "select count(*) from users where lagged = 1")).as("no batch while throttled")
                    .isEqualTo(held).isLessThan(20000);
            try (Connection s = standby.superuser()) {
                s.createStatement().execute("select pg_wal_replay_resume()");
            }
            awaitPhase("lag", MigrationPhase.AwaitingCutover, Duration.ofSeconds(90));
            assertThat(scalar("mig_lag", "select count(*) from users where lagged = 1")).isEqualTo(20000);
        }
    }

    // --- rollback ---

    @Test
    void aFailedExpandRollsBack() throws Exception {
        database("mig_fail", 50);
        DatabaseMigration m = migration("fail", "mig_fail", "ALTER TABLE users ADD COLUMN flag boolean;\n"
                + "ALTER TABLE users ADD CONSTRAINT id_negative CHECK (id < 0) NOT VALID;\n"
                + "ALTER TABLE users VALIDATE CONSTRAINT id_negative",
                "ALTER TABLE users DROP CONSTRAINT IF EXISTS id_negative; ALTER TABLE users DROP COLUMN IF EXISTS flag");
        client.resource(m).create();
        awaitPhase("fail", MigrationPhase.RolledBack, Duration.ofSeconds(30));
        DatabaseMigration seen = get(DatabaseMigration.class, NS, "fail");
        assertThat(seen.getStatus().failedStep).isEqualTo("expand#3");
        assertThat(ready("fail").message).contains("rolled back").contains("expand#3");
        assertThat(columns("mig_fail")).doesNotContain("flag");
        assertThat(scalar("mig_fail", "select count(*) from pg_constraint where conname = 'id_negative'")).isZero();
        awaitEvent(NS, "fail", "Warning", "StepFailed");
        assertThat(client.configMaps().inNamespace(NS).withName("fail-migration-log").get().getData()
                .get("migration.log")).contains("expand#3 failed").contains("violated by some row")
                .contains("rollback#2 applied");
    }

    @Test
    void aRejectionAfterExpandRollsBack() throws Exception {
        database("mig_reject", 20);
        client.resource(migration("reject", "mig_reject", "ALTER TABLE users ADD COLUMN nickname text",
                "ALTER TABLE users DROP COLUMN IF EXISTS nickname")).create();
        awaitPhase("reject", MigrationPhase.AwaitingCutover, Duration.ofSeconds(30));
        assertThat(columns("mig_reject")).contains("nickname");
        // waiting for a person is quiet: no status writes in a loop
        String version = get(DatabaseMigration.class, NS, "reject").getMetadata().getResourceVersion();
        Thread.sleep(2000);
        assertThat(get(DatabaseMigration.class, NS, "reject").getMetadata().getResourceVersion()).isEqualTo(version);
        client.resources(DatabaseMigration.class).inNamespace(NS).withName("reject").subresource("status")
                .patch(PatchContext.of(PatchType.JSON_MERGE), "{\"status\":{\"rejected\":true}}");
        awaitPhase("reject", MigrationPhase.RolledBack, Duration.ofSeconds(30));
        assertThat(columns("mig_reject")).doesNotContain("nickname");
        assertThat(get(DatabaseMigration.class, NS, "reject").getStatus().rejection.step).isEqualTo("cutover");
    }

    @Test
    void policyAlwaysGatesExpandToo() throws Exception {
        database("mig_always", 10);
        DatabaseMigration m = migration("always", "mig_always", "ALTER TABLE users ADD COLUMN g1 text",
                "ALTER TABLE users DROP COLUMN IF EXISTS g1");
        m.getSpec().approval.policy = DatabaseMigrationSpec.ApprovalPolicy.Policy.Always;
        client.resource(m).create();
        awaitPhase("always", MigrationPhase.AwaitingApproval, Duration.ofSeconds(30));
        assertThat(get(DatabaseMigration.class, NS, "always").getStatus().approvalRequest.step).isEqualTo("expand");
        Thread.sleep(1000);
        assertThat(columns("mig_always")).doesNotContain("g1");
        approve("always", null);
        awaitPhase("always", MigrationPhase.AwaitingCutover, Duration.ofSeconds(30));
        assertThat(columns("mig_always")).contains("g1");
    }

    @Test
    void aRejectionBeforeAnythingRanEndsTheMigrationRejectedWithNothingApplied() throws Exception {
        database("mig_nay", 10);
        DatabaseMigration m = migration("nay", "mig_nay", "ALTER TABLE users ADD COLUMN nay text",
                "ALTER TABLE users DROP COLUMN IF EXISTS nay");
        m.getSpec().approval.policy = DatabaseMigrationSpec.ApprovalPolicy.Policy.Always;
        client.resource(m).create();
        awaitPhase("nay", MigrationPhase.AwaitingApproval, Duration.ofSeconds(30));
        OperatorAssertions.reject(DatabaseMigration.class, NS, "nay");
        awaitPhase("nay", MigrationPhase.Rejected, Duration.ofSeconds(30));
        var st = get(DatabaseMigration.class, NS, "nay").getStatus();
        assertThat(st.rejection.step).isEqualTo("expand");
        assertThat(st.approvals == null || st.approvals.isEmpty()).isTrue();
        assertThat(columns("mig_nay")).doesNotContain("nay");
    }

    @Test
    void anApprovalWithAStaleDigestIsRefusedAndNothingRuns() throws Exception {
        database("mig_stale", 10);
        DatabaseMigration m = migration("stale", "mig_stale", "ALTER TABLE users ADD COLUMN s1 text",
                "ALTER TABLE users DROP COLUMN IF EXISTS s1");
        m.getSpec().approval.policy = DatabaseMigrationSpec.ApprovalPolicy.Policy.Always;
        client.resource(m).create();
        awaitPhase("stale", MigrationPhase.AwaitingApproval, Duration.ofSeconds(30));
        String digest = get(DatabaseMigration.class, NS, "stale").getStatus().planDigest;

        // the digest of a plan the approver read earlier, not the one waiting now
        approve("stale", "sha256:" + "1".repeat(64));
        Condition refused = awaitConditionReason("stale", "Approved", "PlanDigestMismatch");
        assertThat(refused.message).contains("does not match the current plan").contains(digest);
        Thread.sleep(1500);
        DatabaseMigration seen = get(DatabaseMigration.class, NS, "stale");
        assertThat(seen.getStatus().phase).isEqualTo(MigrationPhase.AwaitingApproval);
        assertThat(seen.getStatus().approvals == null || seen.getStatus().approvals.isEmpty()).isTrue();
        assertThat(columns("mig_stale")).doesNotContain("s1");

        approve("stale", digest);
        awaitPhase("stale", MigrationPhase.AwaitingCutover, Duration.ofSeconds(30));
        assertThat(columns("mig_stale")).contains("s1");
        assertThat(get(DatabaseMigration.class, NS, "stale").getStatus().approvals).extracting(a -> a.planDigest)
                .containsExactly(digest);
    }

    @Test
    void aPersonCanAskForTheRollback() throws Exception {
        database("mig_ask", 10);
        client.resource(migration("ask", "mig_ask", "ALTER TABLE users ADD COLUMN h1 text",
                "ALTER TABLE users DROP COLUMN IF EXISTS h1")).create();
        awaitPhase("ask", MigrationPhase.AwaitingCutover, Duration.ofSeconds(30));
        client.resources(DatabaseMigration.class).inNamespace(NS).withName("ask").subresource("status")
                .patch(PatchContext.of(PatchType.JSON_MERGE), "{\"status\":{\"rollbackRequested\":true}}");
        awaitPhase("ask", MigrationPhase.RolledBack, Duration.ofSeconds(30));
        assertThat(columns("mig_ask")).doesNotContain("h1");
        awaitEvent(NS, "ask", "Normal", "RollbackRequested");
    }

    @Test
    void anInvalidLeftoverOfAFailedConcurrentBuildIsDroppedAndTheIndexBuilt() throws Exception {
        database("mig_cic", 20);
        TestPostgres.get().exec("mig_cic", "insert into users (email) values ('dup'), ('dup')");
        try {
            TestPostgres.get().exec("mig_cic", "create unique index concurrently users_email_uq on users (email)");
        } catch (IllegalStateException expected) {
            // the duplicate makes the build fail, leaving an INVALID index behind
        }
        assertThat(scalar("mig_cic", "select count(*) from pg_index i join pg_class c on c.oid = i.indexrelid "
                + "where c.relname = 'users_email_uq' and not i.indisvalid")).isEqualTo(1);
        client.resource(migration("cic", "mig_cic",
                "CREATE INDEX CONCURRENTLY IF NOT EXISTS users_email_uq ON users (email)",
                "DROP INDEX CONCURRENTLY IF EXISTS users_email_uq")).create();
        awaitPhase("cic", MigrationPhase.AwaitingCutover, Duration.ofSeconds(30));
        assertThat(scalar("mig_cic", "select count(*) from pg_index i join pg_class c on c.oid = i.indexrelid "
                + "where c.relname = 'users_email_uq' and i.indisvalid and not i.indisunique")).isEqualTo(1);
    }

    // --- exactly once ---

    @Test
    void twoMigrationsOnOneDatabaseRunOneAtATime() throws Exception {
        database("mig_serial", 20);
        client.resource(migration("first", "mig_serial", "ALTER TABLE users ADD COLUMN a text",
                "ALTER TABLE users DROP COLUMN IF EXISTS a")).create();
        awaitPhase("first", MigrationPhase.AwaitingCutover, Duration.ofSeconds(30));
        client.resource(migration("second", "mig_serial", "ALTER TABLE users ADD COLUMN b text",
                "ALTER TABLE users DROP COLUMN IF EXISTS b")).create();
        awaitPhase("second", MigrationPhase.Queued, Duration.ofSeconds(30));
        Condition waiting = awaitConditionReason("second", "Ready", "WaitingForDatabase");
        assertThat(waiting.message).contains("DatabaseMigration migrations/first is migrating this database");
        assertThat(columns("mig_serial")).contains("a").doesNotContain("b");

        approve("first", null); // cutover; no contract: first completes and frees the database
        awaitPhase("first", MigrationPhase.Completed, Duration.ofSeconds(30));
        awaitPhase("second", MigrationPhase.AwaitingCutover, Duration.ofSeconds(40));
        assertThat(columns("mig_serial")).contains("a", "b");
    }

    @Test
    void aMigrationCreatedAnewUnderAnOldNameIsANewRunThatInheritsNothing() throws Exception {
        database("mig_edit", 20);
        client.resource(migration("edited", "mig_edit", "ALTER TABLE users ADD COLUMN c1 text",
                "ALTER TABLE users DROP COLUMN IF EXISTS c1")).create();
        awaitPhase("edited", MigrationPhase.AwaitingCutover, Duration.ofSeconds(30));
        String firstUid = get(DatabaseMigration.class, NS, "edited").getMetadata().getUid();
        // the API refuses an edit (CEL); deleting and re-creating the same migration with other SQL is a new run
        client.resources(DatabaseMigration.class).inNamespace(NS).withName("edited").delete();
        await().atMost(Duration.ofSeconds(10)).until(() -> get(DatabaseMigration.class, NS, "edited") == null);
        client.resource(migration("edited", "mig_edit", "ALTER TABLE users ADD COLUMN c2 text",
                "ALTER TABLE users DROP COLUMN IF EXISTS c2")).create();
        awaitPhase("edited", MigrationPhase.AwaitingCutover, Duration.ofSeconds(30));
        assertThat(columns("mig_edit")).contains("c1", "c2");
        DatabaseMigration seen = get(DatabaseMigration.class, NS, "edited");
        assertThat(seen.getStatus().earlierRuns).singleElement().satisfies(r -> {
            assertThat(r.uid).isEqualTo(firstUid);
            assertThat(r.outcome).isEqualTo("1 of 1 statement(s) applied, last: expand#1 applied");
        });
        assertThat(seen.getStatus().log.applied).isEqualTo(1);
        awaitEvent(NS, "edited", "Normal", "EarlierRun");
        awaitEvent(NS, "edited", "Warning", "StaleLeaseReleased");
    }

    /**
     * The walk that found the defect: a completed migration deleted, its table reset by hand, the same YAML applied
     * again. The steps run again (the column is really there, the rows really filled); with the table not reset, the
     * expand is reported already present with its evidence, never applied; with part of it there, nothing runs.
     */
    @Test
    void aRecreatedMigrationRunsItsStepsAgainOrSaysWhatIsAlreadyThere() throws Exception {
        database("mig_rerun", 10);
        client.resource(rerun()).create();
        awaitPhase("walk-rerun", MigrationPhase.AwaitingCutover, Duration.ofSeconds(30));
        approve("walk-rerun", null);
        awaitPhase("walk-rerun", MigrationPhase.Completed, Duration.ofSeconds(30));
        deleteRerun();

        // reset by hand: the table again, without w
        TestPostgres.get().exec("mig_rerun", "drop table users", "create table users (id bigint generated always as "
                + "identity primary key, email text not null)", "alter table users owner to app",
                "insert into users (email) select 'u' || g from generate_series(1, 10) g");
        client.resource(rerun()).create();
        awaitPhase("walk-rerun", MigrationPhase.AwaitingCutover, Duration.ofSeconds(30));
        assertThat(columns("mig_rerun")).contains("w");
        assertThat(scalar("mig_rerun", "select count(*) from users where w = 'x'")).isEqualTo(10);
        DatabaseMigration seen = get(DatabaseMigration.class, NS, "walk-rerun");
        assertThat(seen.getStatus().earlierRuns).hasSize(1);
        assertThat(seen.getStatus().log.applied).isEqualTo(2);
        assertThat(seen.getStatus().log.alreadyPresent).isNull();
        assertThat(seen.getStatus().backfill.rowsDone).isEqualTo(10);
        assertThat(client.configMaps().inNamespace(NS).withName("walk-rerun-migration-log").get().getData()
                .get("migration.log")).contains("expand#1 applied", "backfill applied", "10 rows");
        assertThat(scalar("mig_rerun", "select count(distinct run_uid) from dba_operator.migration_history "
                + "where migration_id = 'migrations/walk-rerun'")).isEqualTo(2);
        deleteRerun();

        // not reset: w is there already; the expand is not run and not called applied
        client.resource(rerun()).create();
        awaitPhase("walk-rerun", MigrationPhase.AwaitingCutover, Duration.ofSeconds(30));
        seen = get(DatabaseMigration.class, NS, "walk-rerun");
        assertThat(seen.getStatus().earlierRuns).hasSize(2);
        assertThat(seen.getStatus().log.alreadyPresent).isEqualTo(1);
        assertThat(seen.getStatus().log.applied).as("the backfill, which ran (and found nothing to fill)").isEqualTo(1);
        assertThat(seen.getStatus().backfill.rowsDone).isZero();
        assertThat(client.configMaps().inNamespace(NS).withName("walk-rerun-migration-log").get().getData()
                .get("migration.log")).contains("expand#1 already present: column users.w exists")
                .doesNotContain("expand#1 applied");
        awaitEvent(NS, "walk-rerun", "Normal", "AlreadyPresent");
        // a rejection now must not drop w, which this run did not add
        OperatorAssertions.reject(DatabaseMigration.class, NS, "walk-rerun");
        awaitPhase("walk-rerun", MigrationPhase.Rejected, Duration.ofSeconds(30));
        assertThat(ready("walk-rerun").message).contains("expand was already present");
        assertThat(columns("mig_rerun")).contains("w");
        deleteRerun();

        // part of it there: w is, z is not; nothing runs
        DatabaseMigration partly = rerun();
        partly.getSpec().expand = new DatabaseMigrationSpec.SqlStep("ALTER TABLE users ADD COLUMN w text;\n"
                + "ALTER TABLE users ADD COLUMN z text");
        partly.getSpec().rollback = new DatabaseMigrationSpec.SqlStep("ALTER TABLE users DROP COLUMN IF EXISTS z");
        client.resource(partly).create();
        awaitPhase("walk-rerun", MigrationPhase.Failed, Duration.ofSeconds(30));
        Condition c = ready("walk-rerun");
        assertThat(c.reason).isEqualTo("PartlyPresent");
        assertThat(c.message).contains("present expand#1 (column users.w exists)",
                "missing expand#2 (column users.z does not exist)", "nothing was run");
        assertThat(columns("mig_rerun")).doesNotContain("z");
        awaitEvent(NS, "walk-rerun", "Warning", "PartlyPresent");
    }

    private static DatabaseMigration rerun() {
        DatabaseMigration m = migration("walk-rerun", "mig_rerun", "ALTER TABLE users ADD COLUMN w text",
                "ALTER TABLE users DROP COLUMN IF EXISTS w");
        m.getSpec().backfill = usersBackfill("w = 'x'", "w IS NULL", 4);
        return m;
    }

    private static void deleteRerun() {
        client.resources(DatabaseMigration.class).inNamespace(NS).withName("walk-rerun").delete();
        await().atMost(Duration.ofSeconds(10)).until(() -> get(DatabaseMigration.class, NS, "walk-rerun") == null);
    }

    // --- maintenance windows ---

    @Test
    void aBackfillSpanningTwoWindowsStopsBetweenBatchesAndResumesInTheNext_CountingEachRowOnce() throws Exception {
        database("mig_window", 3000);
        DatabaseMigration m = migration("window", "mig_window",
                "ALTER TABLE users ADD COLUMN touched int NOT NULL DEFAULT 0",
                "ALTER TABLE users DROP COLUMN IF EXISTS touched");
        m.getSpec().backfill = new DatabaseMigrationSpec.Backfill();
        m.getSpec().backfill.table = "users";
        m.getSpec().backfill.set = "touched = touched + 1"; // a batch run twice would leave a 2
        m.getSpec().backfill.batchSize = 50;
        m.getSpec().backfill.pauseBetweenBatches = "100ms";
        // open the first 4 s of every minute: 60 batches of ~0.1 s cannot finish in one. The operator's clock is
        // moved to just before each opening instead of the test waiting out the rest of the minute.
        m.getSpec().maintenanceWindow = new io.dbaoperator.api.common.MaintenanceWindow("* * * * *", "4s", "UTC");
        try {
            io.dbaoperator.harness.TestClock.readsJustBefore(io.dbaoperator.harness.TestClock.nextMinute(),
                    Duration.ofSeconds(2));
            client.resource(m).create();
            // outside a window the backfill waits, part done, with the next opening named
            java.util.List<Long> perWindow = new java.util.ArrayList<>();
            java.time.Instant jumpedTo = null;
            for (int window = 1; ; window++) {
                java.time.Instant after = jumpedTo;
                // a wait recorded after the last window's slice ended (status is written when a slice ends: during
                // one, the status still shows the wait before it)
                await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200)).ignoreExceptions()
                        .until(() -> get(DatabaseMigration.class, NS, "window").getStatus().phase
                                == MigrationPhase.AwaitingCutover || backfillWaitsAfter("window", after));
                if (get(DatabaseMigration.class, NS, "window").getStatus().phase == MigrationPhase.AwaitingCutover) {
                    break;
                }
                assertThat(window).as("windows needed for 60 batches of ~0.1 s, 4 s each").isLessThan(10);
                DatabaseMigration seen = get(DatabaseMigration.class, NS, "window");
                assertThat(seen.getStatus().waitingForWindow).endsWith(":00Z");
                assertThat(ready("window").message).contains("Backfilling waits: outside the maintenance "
                        + "window (* * * * * for 4s, UTC); the next opens at " + seen.getStatus().waitingForWindow);
                long duringTheWait = scalar("mig_window", "select count(*) from users where touched = 1");
                assertThat(duringTheWait).isPositive().isLessThan(3000)
                        .isGreaterThan(perWindow.isEmpty() ? 0 : perWindow.get(perWindow.size() - 1));
                Thread.sleep(1500);
                assertThat(scalar("mig_window", "select count(*) from users where touched = 1")).as("no batch "
                        + "outside").isEqualTo(duringTheWait);
                perWindow.add(duringTheWait);
                jumpedTo = java.time.Instant.parse(seen.getStatus().waitingForWindow);
                clockJustBeforeOpening(jumpedTo);
            }
            assertThat(perWindow).as("rows done by the end of each window: it spanned more than one").isNotEmpty();
        } finally {
            io.dbaoperator.harness.TestClock.reset();
        }
        assertThat(scalar("mig_window", "select count(*) from users where touched = 1")).isEqualTo(3000);
        assertThat(scalar("mig_window", "select count(*) from users where touched <> 1")).isZero();
        assertThat(scalar("mig_window", "select rows_done from dba_operator.migration_history "
                + "where migration_id = 'migrations/window' and step_id = 'backfill'")).isEqualTo(3000);
        // SLO 1: the window it started in is recorded; it cannot complete in it (the backfill alone outlasts it)
        var outcome = get(DatabaseMigration.class, NS, "window").getStatus().maintenance;
        assertThat(outcome.windowOpenedAt).endsWith(":00Z");
        assertThat(java.time.Duration.between(java.time.Instant.parse(outcome.windowOpenedAt),
                java.time.Instant.parse(outcome.windowClosesAt))).isEqualTo(Duration.ofSeconds(4));
    }

    /** Whether the backfill waits for a window that opens after {@code after} (null: any). */
    private static boolean backfillWaitsAfter(String name, java.time.Instant after) {
        DatabaseMigration seen = get(DatabaseMigration.class, NS, name);
        Condition ready = ready(name);
        return seen.getStatus().phase == MigrationPhase.Backfilling && seen.getStatus().waitingForWindow != null
                && (after == null || java.time.Instant.parse(seen.getStatus().waitingForWindow).isAfter(after))
                && ready != null && "OutsideMaintenanceWindow".equals(ready.reason)
                && ready.message.startsWith("Backfilling waits");
    }

    private static void clockJustBeforeOpening(java.time.Instant opening) {
        OperatorAssertions.clockJustBefore(DatabaseMigration.class, NS, "window", opening, Duration.ofMillis(500));
    }

    // --- helpers ---

    /** A database owned by app with a users table of {@code rows} rows, and its Secret. */
    static void database(String db, int rows) {
        TestPostgres pg = TestPostgres.get();
        pg.createDatabase(db, "app", Fixtures.APP_PASSWORD);
        pg.exec(db, "drop schema if exists dba_operator cascade", "drop table if exists users",
                "create table users (id bigint generated always as identity primary key, email text not null)",
                "alter table users owner to app",
                "insert into users (email) select 'User' || g || '@Example.com' from generate_series(1, " + rows + ") g",
                "analyze users");
        Map<String, String> keys = new java.util.HashMap<>(Fixtures.appDbKeys());
        keys.put("dbname", db);
        Fixtures.secret(client, NS, secretName(db), keys);
    }

    static String secretName(String db) {
        return db.replace('_', '-') + "-db";
    }

    static DatabaseMigration migration(String name, String db, String expand, String rollback) {
        DatabaseMigration m = new DatabaseMigration();
        m.getMetadata().setName(name);
        m.getMetadata().setNamespace(NS);
        DatabaseMigrationSpec spec = new DatabaseMigrationSpec();
        spec.database = Fixtures.db(secretName(db));
        spec.expand = new DatabaseMigrationSpec.SqlStep(expand);
        spec.rollback = new DatabaseMigrationSpec.SqlStep(rollback);
        m.setSpec(spec);
        return m;
    }

    /** The README's example: email_lower added, backfilled, indexed; the old column dropped in contract. */
    static DatabaseMigration emailMigration(String name, String db) {
        DatabaseMigration m = migration(name, db, "ALTER TABLE users ADD COLUMN email_lower text;\n"
                + "CREATE INDEX CONCURRENTLY users_email_lower ON users (email_lower)",
                "DROP INDEX CONCURRENTLY IF EXISTS users_email_lower;\nALTER TABLE users DROP COLUMN IF EXISTS email_lower");
        m.getSpec().backfill = usersBackfill("email_lower = lower(email)", "email_lower IS NULL", 500);
        m.getSpec().contract = new DatabaseMigrationSpec.SqlStep("ALTER TABLE users DROP COLUMN email");
        return m;
    }

    /** A backfill of users, {@code batchSize} rows at a time with 10 ms between batches. */
    static DatabaseMigrationSpec.Backfill usersBackfill(String set, String where, int batchSize) {
        DatabaseMigrationSpec.Backfill b = new DatabaseMigrationSpec.Backfill();
        b.table = "users";
        b.set = set;
        b.where = where;
        b.batchSize = batchSize;
        b.pauseBetweenBatches = "10ms";
        return b;
    }

    static void approve(String name, String digest) {
        OperatorAssertions.approve(DatabaseMigration.class, NS, name, digest);
    }

    static void awaitPhase(String name, MigrationPhase phase, Duration atMost) {
        OperatorAssertions.awaitPhase(DatabaseMigration.class, NS, name, phase, atMost);
    }

    static Condition awaitConditionReason(String name, String type, String reason) {
        Condition[] found = new Condition[1];
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(100)).untilAsserted(() -> {
            Condition c = get(DatabaseMigration.class, NS, name).getStatus().conditions.stream()
                    .filter(x -> x.type.equals(type)).findFirst().orElse(null);
            assertThat(c).isNotNull();
            assertThat(c.reason).isEqualTo(reason);
            found[0] = c;
        });
        return found[0];
    }

    static Condition ready(String name) {
        return get(DatabaseMigration.class, NS, name).getStatus().conditions.stream()
                .filter(x -> x.type.equals("Ready")).findFirst().orElseThrow();
    }

    static Connection connect(String db) throws SQLException {
        return TestPostgres.get().superuser(db);
    }

    static long scalar(String db, String sql) throws SQLException {
        try (Connection c = connect(db); ResultSet rs = c.createStatement().executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        }
    }

    static List<String> columns(String db) throws SQLException {
        List<String> out = new java.util.ArrayList<>();
        try (Connection c = connect(db); ResultSet rs = c.createStatement().executeQuery(
                "select attname from pg_attribute where attrelid = 'users'::regclass and attnum > 0 "
                        + "and not attisdropped order by attnum")) {
            while (rs.next()) {
                out.add(rs.getString(1));
            }
        }
        return out;
    }

    static long alterWaiting(String db) throws SQLException {
        return scalar(db, "select count(*) from pg_stat_activity where wait_event_type = 'Lock' "
                + "and query like 'ALTER TABLE users ADD COLUMN score%'");
    }
}
