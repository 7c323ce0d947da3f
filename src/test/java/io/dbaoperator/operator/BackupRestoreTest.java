package io.dbaoperator.operator;

import static io.dbaoperator.operator.OperatorAssertions.A_BACKUP;
import static io.dbaoperator.operator.OperatorAssertions.awaitCondition;
import static io.dbaoperator.operator.OperatorAssertions.get;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

import io.dbaoperator.api.backup.BackupPolicy;
import io.dbaoperator.api.backup.BackupPolicySpec;
import io.dbaoperator.api.backup.BackupRestore;
import io.dbaoperator.api.backup.BackupRestoreSpec;
import io.dbaoperator.api.backup.BackupRestoreStatus;
import io.dbaoperator.api.backup.RestorePhase;
import io.dbaoperator.api.common.Condition;
import io.dbaoperator.api.common.LocalRef;
import io.dbaoperator.backup.BackupPolicyReconciler;
import io.dbaoperator.backup.RestoreJobs;
import io.dbaoperator.backup.catalog.BackupCatalog;
import io.dbaoperator.backup.catalog.BackupRecord;
import io.dbaoperator.harness.OperatorHarness;
import io.dbaoperator.harness.OperatorTier;
import io.dbaoperator.harness.TestKubernetes;
import io.dbaoperator.harness.TestPostgres;
import io.dbaoperator.operator.Fixtures.Standard;
import io.dbaoperator.storage.S3Clients;
import io.dbaoperator.storage.S3Location;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.GetObjectRequest;
import software.amazon.awssdk.services.s3.model.PutObjectRequest;

/**
 * Point-in-time restore end to end, with the real pg_basebackup, pg_receivewal and PostgreSQL recovery: rows before
 * and after a recorded time, a backup, archived WAL, all encrypted on the client (spec.encryption); a BackupRestore to that time waits for approval, then yields a
 * volume on which PostgreSQL starts holding exactly the rows up to the target. A damaged backup object fails its
 * restore cleanly, and the next restore into the same instance name succeeds.
 */
@OperatorTier
@QuarkusTest
@QuarkusTestResource(OperatorHarness.class)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class BackupRestoreTest {

    static final String NS = "restore";
    static final String POLICY = "pitr";
    static KubernetesClient client;

    @jakarta.inject.Inject
    io.dbaoperator.audit.AuditLog audit;
    static S3Location storage;
    /** The policy's encryption key (32 bytes, base64). */
    static final String KEY = java.util.Base64.getEncoder().encodeToString(
            "restore-test-key-32-bytes-long!!".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
    static Instant target;
    static String backupId;

    @BeforeAll
    static void setUp() throws Exception {
        client = Fixtures.namespace(NS, Standard.REPLICATION_DB, Standard.BACKUP_S3);
        storage = Fixtures.s3Location();
        TestPostgres pg = TestPostgres.get();
        pg.exec("app", "drop table if exists restore_orders",
                "create table restore_orders (id int primary key, note text not null)",
                "create index on restore_orders (note)",
                "insert into restore_orders select g, 'before backup ' || g from generate_series(1, 100) g");

        BackupPolicy p = new BackupPolicy();
        p.getMetadata().setName(POLICY);
        p.getMetadata().setNamespace(NS);
        p.setSpec(new BackupPolicySpec());
        p.getSpec().database = Fixtures.db("app-db-replication");
        p.getSpec().schedule = "0 3 * * *";
        p.getSpec().storage = Fixtures.storage("backup-s3");
        p.getSpec().walArchiving.enabled = true;
        // encrypted on the client: the base backup, every archived WAL segment, and the restore decrypting both
        Fixtures.secret(client, NS, "backup-keys", Map.of("k1", KEY));
        p.getSpec().encryption = new BackupPolicySpec.Encryption();
        p.getSpec().encryption.secretRef = new io.dbaoperator.api.common.SecretRef("backup-keys");
        p.getSpec().encryption.keyId = "k1";
        client.resource(p).create();
        try (S3Client s3 = S3Clients.create(storage)) {
            BackupCatalog catalog = new BackupCatalog(s3, storage, NS, POLICY);
            // the archiver streams before the backup is taken, so the archive continues from the backup's end
            await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofSeconds(1)).until(() -> {
                pg.exec("app", "select pg_switch_wal()");
                return !catalog.walSegments().isEmpty();
            });
            client.resources(BackupPolicy.class).inNamespace(NS).withName(POLICY).edit(x -> {
                x.getMetadata().setAnnotations(new HashMap<>(Map.of(BackupPolicyReconciler.BACKUP_NOW, "base")));
                return x;
            });
            awaitCondition(BackupPolicy.class, NS, POLICY, "LastBackupSucceeded", "True", A_BACKUP);
            backupId = get(BackupPolicy.class, NS, POLICY).getStatus().lastBackup.backupId;

            pg.exec("app", "insert into restore_orders select g, 'after backup ' || g from generate_series(101, 150) g");
            Thread.sleep(1500);
            target = Instant.now();
            Thread.sleep(1500);
            pg.exec("app", "insert into restore_orders select g, 'after target ' || g from generate_series(151, 200) g",
                    "select pg_switch_wal()");
            await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofSeconds(1)).until(() -> catalog
                    .walObjects().stream().anyMatch(o -> o.storedAt().isAfter(target.plusSeconds(1))));
        }
    }

    static BackupRestore restore(String name, String instance, String targetTime, List<String> checks) {
        BackupRestore r = new BackupRestore();
        r.getMetadata().setName(name);
        r.getMetadata().setNamespace(NS);
        BackupRestoreSpec spec = new BackupRestoreSpec();
        spec.backupPolicyRef = new LocalRef(POLICY);
        spec.targetTime = targetTime;
        spec.checks = checks;
        spec.target = new BackupRestoreSpec.RestoreTarget();
        spec.target.newInstance = new BackupRestoreSpec.NewInstance();
        spec.target.newInstance.name = instance;
        r.setSpec(spec);
        return client.resource(r).create();
    }

    static BackupRestoreStatus awaitPhase(String name, RestorePhase phase, Duration atMost) {
        return OperatorAssertions.awaitPhase(BackupRestore.class, NS, name, phase, atMost);
    }

    static void approve(String name) {
        OperatorAssertions.approve(BackupRestore.class, NS, name, null);
    }

    static long count(Connection c, String sql) throws Exception {
        try (ResultSet rs = c.createStatement().executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        }
    }

    @Test
    @Order(1)
    void aPointInTimeRestoreWaitsForApproval_ThenServesExactlyTheRowsUpToTheTarget() throws Exception {
        restore("to-target", "orders-restored", target.toString(),
                List.of("select count(*) = 150 from restore_orders", "select max(id) = 150 from restore_orders"));
        BackupRestoreStatus waiting = awaitPhase("to-target", RestorePhase.AwaitingApproval, Duration.ofSeconds(60));
        assertThat(waiting.plan.backupId).isEqualTo(backupId);
        assertThat(waiting.plan.expectedRecoveryPoint).contains(target.toString());
        assertThat(waiting.plan.walSegments).isPositive();
        // what the bucket holds is ciphertext: the base backup and the archived WAL alike
        assertThat(get(BackupPolicy.class, NS, POLICY).getStatus().lastBackup.encryption)
                .isEqualTo("AES-256-GCM key k1");
        try (S3Client s3 = S3Clients.create(storage)) {
            BackupCatalog catalog = new BackupCatalog(s3, storage, NS, POLICY);
            byte[] base = s3.getObjectAsBytes(GetObjectRequest.builder().bucket(storage.bucket())
                    .key(catalog.read(backupId).objects.get(0).key).build()).asByteArray();
            assertThat(io.dbaoperator.backup.catalog.ClientEncryption.isEncrypted(base)).isTrue();
            byte[] wal = s3.getObjectAsBytes(GetObjectRequest.builder().bucket(storage.bucket())
                    .key(catalog.walObjects().get(0).key()).build()).asByteArray();
            assertThat(io.dbaoperator.backup.catalog.ClientEncryption.isEncrypted(wal)).isTrue();
        }
        assertThat(waiting.approvalRequest.command).contains("kubectl patch bkr to-target -n restore --subresource=status");
        // nothing is created before a person says so
        Thread.sleep(1000);
        assertThat(client.batch().v1().jobs().inNamespace(NS).withName(RestoreJobs.jobName("to-target")).get())
                .isNull();

        approve("to-target");
        BackupRestoreStatus ready = awaitPhase("to-target", RestorePhase.Ready, Duration.ofSeconds(180));
        assertThat(ready.checkResults).extracting(c -> c.check).containsExactly("pg_amcheck",
                "select count(*) = 150 from restore_orders", "select max(id) = 150 from restore_orders");
        assertThat(ready.checkResults).allMatch(c -> c.passed, "every check passed");
        assertThat(Instant.parse(ready.recovered.time)).isBefore(target);
        assertThat(ready.recovered.timeline).isEqualTo(2); // promoted at the target: a new timeline
        assertThat(ready.recovered.restoreSeconds).isNotNull();
        assertThat(ready.approvals).extracting(a -> a.step).containsExactly("restore");
        assertThat(client.apps().statefulSets().inNamespace(NS).withName("orders-restored").get()).isNotNull();
        assertThat(client.services().inNamespace(NS).withName("orders-restored").get()).isNotNull();
        var secret = io.dbaoperator.kube.SecretReader.decode(client.secrets().inNamespace(NS)
                .withName("orders-restored").get());
        assertThat(secret).containsKeys("host", "port", "dbname", "user", "password");
        assertThat(secret.get("user")).isEqualTo(TestPostgres.SUPERUSER);

        // the volume holds a promoted cluster, and the StatefulSet's pod runs PostgreSQL on it: the Secret's
        // credentials log in at the pod's address, and it holds rows 1..150 only
        Path pgdata = TestKubernetes.get().node().claimDir(NS, RestoreJobs.claimName("orders-restored"))
                .resolve("pgdata");
        assertThat(Files.isRegularFile(pgdata.resolve("PG_VERSION"))).isTrue();
        assertThat(Files.exists(pgdata.resolve("recovery.signal"))).as("promoted, not in recovery").isFalse();
        assertThat(Files.readString(pgdata.resolveSibling(io.dbaoperator.contract.AgentEnvironment.SERVED_HBA_FILE)))
                .as("the new instance's access, beside PGDATA: passwords over TCP, no trust")
                .contains("host all all 0.0.0.0/0 scram-sha-256").doesNotContain("trust");
        // Ready means served: the StatefulSet's pod passed its readiness probe before the restore said Ready
        assertThat(client.apps().statefulSets().inNamespace(NS).withName("orders-restored").get().getStatus()
                .getReadyReplicas()).isEqualTo(1);
        assertThat(ready.conditions).anySatisfy(c -> {
            assertThat(c.type).isEqualTo("Ready");
            assertThat(c.status).isEqualTo("True");
            assertThat(c.reason).isEqualTo("RestoreSucceeded");
        });
        assertThat(ready.message).contains("served by StatefulSet and Service orders-restored");
        String podIp = client.pods().inNamespace(NS).withName("orders-restored-0").get().getStatus().getPodIP();
        try (Connection c = java.sql.DriverManager.getConnection("jdbc:postgresql://" + podIp + ":5432/"
                + secret.get("dbname"), secret.get("user"), secret.get("password"))) {
            assertThat(count(c, "select count(*) from restore_orders")).isEqualTo(150);
            assertThat(count(c, "select max(id) from restore_orders")).isEqualTo(150);
            assertThat(count(c, "select count(*) from restore_orders where note like 'after target%'")).isZero();
            assertThat(count(c, "select pg_is_in_recovery()::int")).isZero();
        }
    }

    @Test
    @Order(2)
    void aDamagedBackupFailsItsRestoreCleanly_AndTheNextRestoreSucceeds() throws Exception {
        byte[] original;
        String key;
        try (S3Client s3 = S3Clients.create(storage)) {
            BackupRecord record = new BackupCatalog(s3, storage, NS, POLICY).read(backupId);
            key = record.objects.get(0).key;
            original = s3.getObjectAsBytes(GetObjectRequest.builder().bucket(storage.bucket()).key(key).build())
                    .asByteArray();
            byte[] damaged = original.clone();
            damaged[damaged.length / 2] ^= 0x5a;
            s3.putObject(PutObjectRequest.builder().bucket(storage.bucket()).key(key).build(),
                    RequestBody.fromBytes(damaged));
        }
        restore("damaged", "second-copy", null, List.of("select count(*) = 100 from restore_orders"));
        awaitPhase("damaged", RestorePhase.AwaitingApproval, Duration.ofSeconds(60));
        approve("damaged");
        BackupRestoreStatus failed = awaitPhase("damaged", RestorePhase.Failed, Duration.ofSeconds(120));
        assertThat(failed.message).contains("damaged").contains(key);
        assertThat(failed.conditions).anySatisfy(c -> {
            assertThat(c.type).isEqualTo("Ready");
            assertThat(c.reason).isEqualTo("BackupCorrupted");
        });
        // the Job and its pod go too: a pod that names a claim, even a finished one, keeps it from being deleted
        await().atMost(Duration.ofSeconds(60)).until(() -> client.persistentVolumeClaims().inNamespace(NS)
                .withName(RestoreJobs.claimName("second-copy")).get() == null
                && client.secrets().inNamespace(NS).withName("second-copy").get() == null
                && client.batch().v1().jobs().inNamespace(NS).withName(RestoreJobs.jobName("damaged")).get() == null);
        assertThat(client.apps().statefulSets().inNamespace(NS).withName("second-copy").get()).isNull();

        try (S3Client s3 = S3Clients.create(storage)) {
            s3.putObject(PutObjectRequest.builder().bucket(storage.bucket()).key(key).build(),
                    RequestBody.fromBytes(original));
        }
        restore("again", "second-copy", null, List.of("select count(*) = 100 from restore_orders"));
        awaitPhase("again", RestorePhase.AwaitingApproval, Duration.ofSeconds(60));
        approve("again");
        BackupRestoreStatus ready = awaitPhase("again", RestorePhase.Ready, Duration.ofSeconds(180));
        assertThat(ready.checkResults).allMatch(c -> c.passed);
        assertThat(ready.plan.expectedRecoveryPoint).contains("end of backup " + backupId);
    }

    @Test
    @Order(6)
    void aRejectedRestoreMakesNothing() throws Exception {
        restore("nay", "never-restored", target.toString(), List.of());
        awaitPhase("nay", RestorePhase.AwaitingApproval, Duration.ofSeconds(60));
        OperatorAssertions.reject(BackupRestore.class, NS, "nay");
        BackupRestoreStatus st = awaitPhase("nay", RestorePhase.Rejected, Duration.ofSeconds(30));
        assertThat(st.rejection.step).isEqualTo("restore");
        assertThat(client.batch().v1().jobs().inNamespace(NS).withName(RestoreJobs.jobName("nay")).get()).isNull();
        assertThat(client.persistentVolumeClaims().inNamespace(NS).withName(RestoreJobs.claimName("never-restored"))
                .get()).isNull();
        assertThat(client.secrets().inNamespace(NS).withName("never-restored").get()).isNull();
    }

    @Test
    @Order(5)
    void aRestoreWhoseEveryStatusWriteMeetsAConflictOnceRunsOneJobAfterItsApprovalIsRecorded() throws Exception {
        TestKubernetes.get().api().interfere(io.dbaoperator.harness.FaultMatrix.everyOtherStatusWrite(NS,
                "backuprestores", "conflicts"));
        BackupRestoreStatus ready;
        try {
            restore("conflicts", "third-copy", null, List.of("select count(*) = 100 from restore_orders"));
            awaitPhase("conflicts", RestorePhase.AwaitingApproval, Duration.ofSeconds(60));
            approve("conflicts");
            ready = awaitPhase("conflicts", RestorePhase.Ready, Duration.ofSeconds(180));
        } finally {
            TestKubernetes.get().api().interfere(null);
        }
        assertThat(ready.checkResults).allMatch(c -> c.passed);
        assertThat(ready.approvals).extracting(a -> a.step).containsExactly("restore");
        var approval = ready.approvals.get(0);
        assertThat(ready.restoredUnder).isEqualTo("restore approved by " + approval.approvedBy + " at "
                + approval.approvedAt + " for plan " + approval.planDigest);
        var job = client.batch().v1().jobs().inNamespace(NS).withName(RestoreJobs.jobName("conflicts")).get();
        assertThat(job.getMetadata().getAnnotations()).containsEntry("dbaoperator.io/approval", ready.restoredUnder);
        assertThat(Instant.parse(approval.approvedAt)).isBeforeOrEqualTo(Instant.parse(
                job.getMetadata().getCreationTimestamp()).plusSeconds(1));
        List<String> trail = audit.history(NS, "BackupRestore", "conflicts").stream()
                .map(e -> e.action() + " " + e.outcome()).toList();
        assertThat(trail).containsExactly("approval approved", "restore succeeded");
        io.dbaoperator.harness.FaultMatrix.record("BackupRestore", "every status write 409 once", "Ready; one "
                + "restore Job, created after its approval was recorded; checks passed");
    }

    @Test
    @Order(3)
    void aTargetOutsideTheWindowOrAMissingBackupIsRefusedBeforeApproval() {
        restore("too-late", "never-a", Instant.now().plus(Duration.ofDays(1)).toString(), null);
        BackupRestoreStatus late = awaitPhase("too-late", RestorePhase.Failed, Duration.ofSeconds(60));
        assertThat(late.message).contains("recovery window is").contains("after the last archived WAL");
        assertThat(late.approvalRequest).isNull();
        assertThat(late.conditions).anySatisfy(c -> assertThat(c.reason).isEqualTo("TargetOutsideRecoveryWindow"));

        BackupRestore missing = new BackupRestore();
        missing.getMetadata().setName("no-such-backup");
        missing.getMetadata().setNamespace(NS);
        missing.setSpec(new BackupRestoreSpec());
        missing.getSpec().backupPolicyRef = new LocalRef(POLICY);
        missing.getSpec().backupId = "20200101T000000Z";
        missing.getSpec().target = new BackupRestoreSpec.RestoreTarget();
        missing.getSpec().target.newInstance = new BackupRestoreSpec.NewInstance();
        missing.getSpec().target.newInstance.name = "never-b";
        client.resource(missing).create();
        BackupRestoreStatus absent = awaitPhase("no-such-backup", RestorePhase.Failed, Duration.ofSeconds(60));
        assertThat(absent.message).contains("backup 20200101T000000Z is not in the catalog").contains(backupId);
        assertThat(client.batch().v1().jobs().inNamespace(NS).withName(RestoreJobs.jobName("too-late")).get())
                .isNull();
    }

    @Test
    @Order(4)
    void aScheduledRestoreTestPassesOnAGoodBackup_AndFailsOnADamagedOne() throws Exception {
        // the first test is started while every other status write of the policy meets a concurrent writer: the
        // test's start is stored before its Job exists, so a conflict never makes a second one
        TestKubernetes.get().api().interfere(io.dbaoperator.harness.FaultMatrix.everyOtherStatusWrite(NS,
                "backuppolicies", POLICY));
        Condition passed;
        try {
            io.dbaoperator.operator.OperatorAssertions.edit(BackupPolicy.class, NS, POLICY, x -> {
                x.getSpec().verification.restoreTest = new BackupPolicySpec.RestoreTest();
                x.getSpec().verification.restoreTest.schedule = "0 4 * * 0";
                x.getSpec().verification.restoreTest.checks = List.of("select count(*) >= 100 from restore_orders");
                x.getMetadata().getAnnotations().put("dbaoperator.io/restore-test-now", "first");
                return x;
            });
            passed = awaitCondition(BackupPolicy.class, NS, POLICY, "RestoreTestPassed", "True",
                    Duration.ofSeconds(120));
        } finally {
            TestKubernetes.get().api().interfere(null);
        }
        assertThat(client.batch().v1().jobs().inNamespace(NS).withLabel(RestoreJobs.RESTORE_TEST_LABEL, POLICY)
                .list().getItems()).as("one restore-test Job for one request").hasSize(1);
        io.dbaoperator.harness.FaultMatrix.record("BackupPolicy (restore test)", "every status write 409 once",
                "RestoreTestPassed; one restore-test Job for one request");
        var st = get(BackupPolicy.class, NS, POLICY).getStatus();
        assertThat(st.lastRestoreTest.passed).isTrue();
        assertThat(st.lastRestoreTest.backupId).isEqualTo(st.lastBackup.backupId);
        assertThat(st.lastRestoreTest.restoreSeconds).isPositive();
        assertThat(st.lastRestoreTest.checks).extracting(c -> c.check).containsExactly("pg_amcheck",
                "select count(*) >= 100 from restore_orders");
        assertThat(passed.message).contains(st.lastBackup.backupId).contains("2 check(s) passed");
        assertThat(st.nextRestoreTestTime).isNotNull();
        // nothing is kept: the scratch volume of a restore test is gone with its pod
        assertThat(client.apps().statefulSets().inNamespace(NS).list().getItems())
                .noneMatch(x -> x.getMetadata().getName().startsWith(POLICY));

        String key;
        byte[] original;
        try (S3Client s3 = S3Clients.create(storage)) {
            BackupRecord record = new BackupCatalog(s3, storage, NS, POLICY).read(st.lastBackup.backupId);
            key = record.objects.get(0).key;
            original = s3.getObjectAsBytes(GetObjectRequest.builder().bucket(storage.bucket()).key(key).build())
                    .asByteArray();
            byte[] damaged = original.clone();
            damaged[damaged.length / 3] ^= 0x33;
            s3.putObject(PutObjectRequest.builder().bucket(storage.bucket()).key(key).build(),
                    RequestBody.fromBytes(damaged));
        }
        try {
            client.resources(BackupPolicy.class).inNamespace(NS).withName(POLICY).edit(x -> {
                x.getMetadata().getAnnotations().put("dbaoperator.io/restore-test-now", "second");
                return x;
            });
            var failed = awaitCondition(BackupPolicy.class, NS, POLICY, "RestoreTestPassed", "False",
                    Duration.ofSeconds(120));
            assertThat(failed.reason).isEqualTo("RestoreTestFailed");
            assertThat(failed.message).contains("did not restore").contains("damaged");
            assertThat(get(BackupPolicy.class, NS, POLICY).getStatus().lastRestoreTest.passed).isFalse();
        } finally {
            try (S3Client s3 = S3Clients.create(storage)) {
                s3.putObject(PutObjectRequest.builder().bucket(storage.bucket()).key(key).build(),
                        RequestBody.fromBytes(original));
            }
        }
    }
}
