package io.dbaoperator.operator;

import static io.dbaoperator.operator.OperatorAssertions.awaitCondition;
import static io.dbaoperator.operator.OperatorAssertions.get;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;


import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import io.dbaoperator.api.backup.BackupPolicy;
import io.dbaoperator.api.backup.BackupPolicySpec;
import io.dbaoperator.api.common.Condition;
import io.dbaoperator.backup.BackupPolicyReconciler;
import io.dbaoperator.harness.OperatorHarness;
import io.dbaoperator.harness.OperatorTier;
import io.dbaoperator.harness.TestKubernetes;
import io.dbaoperator.harness.TestPostgres;
import io.dbaoperator.harness.TestS3;
import io.dbaoperator.storage.S3Clients;
import io.dbaoperator.storage.S3Location;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.ListMultipartUploadsRequest;

/**
 * The S3 server goes away in the middle of a backup (killed, as a network or node failure would take it): the
 * backup fails with the agent's own reason in status, never shows as complete, and once S3 is back the next
 * backup aborts the incomplete upload it left and succeeds.
 */
@OperatorTier
@QuarkusTest
@QuarkusTestResource(OperatorHarness.class)
class BackupFaultTest {

    static final String NS = "faults";
    static final TestS3 S3 = TestS3.startPrivate();

    @AfterAll
    static void stop() throws Exception {
        S3.discard();
        // every later backup copies the whole cluster: do not leave them the bulk this test needed
        TestPostgres.get().exec("postgres", "drop database if exists faults_big with (force)");
    }

    static S3Location location() {
        return new S3Location(TestS3.BUCKET, "faults", URI.create(S3.endpoint()), "us-east-1", true,
                TestS3.ACCESS_KEY_ID, TestS3.SECRET_ACCESS_KEY, null, null);
    }

    static int incompleteUploads() {
        try (S3Client s3 = S3Clients.create(location())) {
            return s3.listMultipartUploads(ListMultipartUploadsRequest.builder().bucket(TestS3.BUCKET)
                    .prefix("faults/").build()).uploads().size();
        }
    }

    @Test
    void s3LostMidBackupFailsWithItsReasonAndTheNextBackupCleansUpAndSucceeds() throws Exception {
        KubernetesClient client = TestKubernetes.get().namespace(NS);
        Fixtures.databases();
        // enough data that the upload takes seconds: the kill lands in the middle of it
        TestPostgres.get().createDatabase("faults_big", "app", Fixtures.APP_PASSWORD);
        TestPostgres.get().exec("faults_big", "drop table if exists big",
                "create table big as select g, repeat(md5(g::text), 8) as pad from generate_series(1, 700000) g");
        Fixtures.secret(client, NS, "app-db-replication", Fixtures.replicationDbKeys());
        Fixtures.secret(client, NS, "backup-s3", Fixtures.s3Keys());
        BackupPolicy p = new BackupPolicy();
        p.getMetadata().setName("lost-s3");
        p.getMetadata().setNamespace(NS);
        p.getMetadata().setAnnotations(new HashMap<>(Map.of(BackupPolicyReconciler.BACKUP_NOW, "first")));
        p.setSpec(new BackupPolicySpec());
        p.getSpec().database = Fixtures.db("app-db-replication");
        p.getSpec().schedule = "0 3 1 1 *";
        p.getSpec().storage = Fixtures.storage("backup-s3");
        p.getSpec().storage.endpoint = TestKubernetes.get().forPods(S3.endpoint());
        p.getSpec().storage.prefix = "faults";
        p.getSpec().compression.algorithm = BackupPolicySpec.Compression.Algorithm.none;
        client.resource(p).create();

        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(50)).ignoreExceptions()
                .until(() -> incompleteUploads() > 0);
        S3.kill();

        // while S3 is away the policy cannot even read its catalog: it says so
        Condition unreachable = awaitCondition(BackupPolicy.class, NS, "lost-s3", "Validated", "False",
                Duration.ofSeconds(60));
        assertThat(unreachable.reason).isEqualTo("StorageUnreachable");

        // once it is back, the failed backup is reported with the agent's own reason
        S3.restart();
        Condition failed = awaitCondition(BackupPolicy.class, NS, "lost-s3", "LastBackupSucceeded", "False",
                Duration.ofSeconds(120));
        assertThat(failed.reason).isEqualTo("BackupJobFailed");
        assertThat(failed.message).as("the agent's own reason, not only the Job's").contains("Failed: ")
                .contains("part upload failed");
        assertThat(incompleteUploads()).as("the dead backup's upload is still there").isPositive();
        client.resources(BackupPolicy.class).inNamespace(NS).withName("lost-s3").edit(x -> {
            x.getMetadata().getAnnotations().put(BackupPolicyReconciler.BACKUP_NOW, "second");
            return x;
        });
        awaitCondition(BackupPolicy.class, NS, "lost-s3", "LastBackupSucceeded", "True", Duration.ofSeconds(180));
        assertThat(incompleteUploads()).as("no partial upload left behind").isZero();
        var backups = get(BackupPolicy.class, NS, "lost-s3").getStatus().backups;
        assertThat(backups).anySatisfy(b -> assertThat(b.verified).isTrue());
        assertThat(backups).as("the backup S3 lost is never shown as complete")
                .filteredOn(b -> !"verified".equals(b.state)).allSatisfy(b -> assertThat(b.verified).isNotEqualTo(true));
    }

    /**
     * The S3 server's disk fills up mid-upload (its store on a 16 MiB tmpfs, the cluster's backup several times
     * that): the backup fails with the server's answer in status, its multipart upload is aborted (the parts free
     * the space again) and no base object or verified backup appears. Needs to mount a tmpfs (root, as CI runs).
     */
    @Test
    void s3DiskFullFailsTheBackupWithItsReasonAndLeavesNoPartialUpload() throws Exception {
        Path mount = Files.createTempDirectory("dba-s3-full-");
        Process m = new ProcessBuilder("mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", mount.toString())
                .redirectErrorStream(true).start();
        String why = new String(m.getInputStream().readAllBytes());
        Assumptions.assumeTrue(m.waitFor() == 0, "cannot mount a small tmpfs here (needs root): " + why);
        TestS3 full = null;
        try {
            full = TestS3.startPrivate(mount.resolve("s3"));
            KubernetesClient client = TestKubernetes.get().namespace(NS);
            Fixtures.databases();
            Fixtures.secret(client, NS, "app-db-replication", Fixtures.replicationDbKeys());
            Fixtures.secret(client, NS, "backup-s3", Fixtures.s3Keys());
            BackupPolicy p = new BackupPolicy();
            p.getMetadata().setName("s3-full");
            p.getMetadata().setNamespace(NS);
            p.getMetadata().setAnnotations(new HashMap<>(Map.of(BackupPolicyReconciler.BACKUP_NOW, "first")));
            p.setSpec(new BackupPolicySpec());
            p.getSpec().database = Fixtures.db("app-db-replication");
            p.getSpec().schedule = "0 3 1 1 *";
            p.getSpec().storage = Fixtures.storage("backup-s3");
            p.getSpec().storage.endpoint = TestKubernetes.get().forPods(full.endpoint());
            p.getSpec().storage.prefix = "full";
            p.getSpec().compression.algorithm = BackupPolicySpec.Compression.Algorithm.none;
            client.resource(p).create();

            Condition failed = awaitCondition(BackupPolicy.class, NS, "s3-full", "LastBackupSucceeded", "False",
                    Duration.ofSeconds(120));
            // the agent could still write backup.json once the aborted parts freed the space: its own outcome
            assertThat(failed.reason).as(failed.message).isEqualTo("BackupFailed");
            assertThat(failed.message).as("the S3 server's own answer reaches status").contains("upload failed")
                    .containsPattern("Status Code: 5\\d\\d");
            OperatorAssertions.awaitEvent(NS, "s3-full", "Warning", "BackupFailed");
            S3Location l = new S3Location(TestS3.BUCKET, "full", URI.create(full.endpoint()), "us-east-1", true,
                    TestS3.ACCESS_KEY_ID, TestS3.SECRET_ACCESS_KEY, null, null);
            try (S3Client s3 = S3Clients.create(l)) {
                assertThat(s3.listMultipartUploads(ListMultipartUploadsRequest.builder().bucket(TestS3.BUCKET)
                        .prefix("full/").build()).uploads()).as("the upload was aborted").isEmpty();
                assertThat(s3.listObjectsV2(b -> b.bucket(TestS3.BUCKET).prefix("full/")).contents())
                        .extracting(o -> o.key()).noneMatch(k -> k.contains("/base.tar"));
            }
            assertThat(get(BackupPolicy.class, NS, "s3-full").getStatus().backups)
                    .allSatisfy(b -> assertThat(b.verified).isNotEqualTo(true));
        } finally {
            if (full != null) {
                full.kill();
            }
            new ProcessBuilder("umount", mount.toString()).start().waitFor();
            io.dbaoperator.harness.TempDirs.delete(mount);
        }
    }
}
