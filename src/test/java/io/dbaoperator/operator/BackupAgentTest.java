package io.dbaoperator.operator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import io.dbaoperator.contract.AgentEnvironment;
import io.dbaoperator.backup.catalog.BackupCatalog;
import io.dbaoperator.backup.catalog.BackupRecord;
import io.dbaoperator.harness.OperatorTier;
import io.dbaoperator.harness.TestKubernetes;
import io.dbaoperator.harness.TestPostgres;
import io.dbaoperator.storage.S3Clients;
import io.dbaoperator.storage.S3Location;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.batch.v1.JobBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.GetObjectRequest;
import software.amazon.awssdk.services.s3.model.ListMultipartUploadsRequest;
import software.amazon.awssdk.services.s3.model.ListObjectsV2Request;
import software.amazon.awssdk.services.s3.model.PutObjectRequest;

/**
 * The backup agent in real Jobs: pg_basebackup of a real database streamed into the S3 server, read back and
 * verified with pg_verifybackup; a byte flipped in storage is caught; a failure leaves no object behind. The Jobs
 * run the operator's image on the real node, so this class is of the operator tier (after package), though it
 * starts no operator.
 */
@OperatorTier
class BackupAgentTest {

    static final String NS = "agent";
    static KubernetesClient client;
    static S3Location storage;

    @BeforeAll
    static void setUp() {
        client = TestKubernetes.get().namespace(NS);
        Fixtures.databases();
        TestPostgres.get().exec("app", "create table if not exists backup_rows (id int primary key, payload text)",
                "insert into backup_rows select g, repeat('x', 200) from generate_series(1, 20000) g "
                        + "on conflict do nothing");
        Fixtures.secret(client, NS, "app-db-replication", Fixtures.replicationDbKeys());
        Map<String, String> wrong = new HashMap<>(Fixtures.replicationDbKeys());
        wrong.put("uri", wrong.get("uri").replace(Fixtures.REPLICATION_PASSWORD, "wrong-password"));
        Fixtures.secret(client, NS, "wrong-replication", wrong);
        Fixtures.secret(client, NS, "backup-s3", Fixtures.s3Keys());
        storage = Fixtures.s3Location();
    }

    static Job run(String name, String secret, String... args) {
        List<String> command = new ArrayList<>(List.of("dba-agent"));
        command.addAll(List.of(args));
        List<EnvVar> env = new ArrayList<>(AgentEnvironment.s3Env(Fixtures.storage("backup-s3"), "it"));
        client.resource(new JobBuilder().withNewMetadata().withName(name).withNamespace(NS).endMetadata()
                .withNewSpec().withBackoffLimit(0).withActiveDeadlineSeconds(300L).withNewTemplate().withNewSpec()
                .withRestartPolicy("Never").addNewContainer().withName("agent").withImage(TestKubernetes.get().image())
                .withImagePullPolicy("Never")
                .withCommand(command).withEnvFrom(AgentEnvironment.databaseEnvFrom(Fixtures.db(secret)))
                .withEnv(env).endContainer().endSpec().endTemplate().endSpec().build()).create();
        Job[] job = new Job[1];
        await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(250)).until(() -> {
            job[0] = client.batch().v1().jobs().inNamespace(NS).withName(name).get();
            return job[0].getStatus() != null && job[0].getStatus().getCompletionTime() != null
                    || job[0].getStatus() != null && job[0].getStatus().getFailed() != null;
        });
        return job[0];
    }

    static List<String> keys(S3Client s3, String prefix) {
        return s3.listObjectsV2(ListObjectsV2Request.builder().bucket(storage.bucket()).prefix(storage.key(prefix))
                .build()).contents().stream().map(o -> o.key()).toList();
    }

    @Test
    void aGzipBackupLandsInS3Complete_AndIsVerifiedByPgVerifybackup() {
        Job job = run("backup-gzip", "app-db-replication", "backup", "--namespace", NS, "--policy", "nightly",
                "--backup-id", "20261121T010000Z", "--compression", "gzip");
        assertThat(job.getStatus().getSucceeded()).as(TestKubernetes.get().jobLog(NS, "backup-gzip"))
                .isEqualTo(1);
        try (S3Client s3 = S3Clients.create(storage)) {
            BackupCatalog catalog = new BackupCatalog(s3, storage, NS, "nightly");
            BackupRecord r = catalog.read("20261121T010000Z");
            assertThat(r.state).isEqualTo(BackupRecord.State.verified);
            assertThat(r.verification.checksumsMatch).isTrue();
            assertThat(r.verification.pgVerifybackupPassed).isTrue();
            assertThat(r.verification.method).isEqualTo("pg_verifybackup");
            assertThat(r.startLsn).matches("[0-9A-F]+/[0-9A-F]+");
            assertThat(r.endLsn).matches("[0-9A-F]+/[0-9A-F]+");
            assertThat(r.timeline).isEqualTo(1);
            assertThat(r.startWalFile).matches("[0-9A-F]{24}");
            assertThat(r.systemIdentifier).matches("[0-9]+");
            assertThat(r.serverVersion).startsWith("15.");
            assertThat(r.sizeBytes).isGreaterThan(r.objects.get(0).size); // gzip made it smaller
            assertThat(r.objects).extracting(o -> o.name).containsExactly("base.tar.gz", "backup_manifest");
            assertThat(r.objects).allSatisfy(o -> assertThat(o.sha256).matches("[0-9a-f]{64}"));
            assertThat(r.storedBytes).isEqualTo(r.objects.stream().mapToLong(o -> o.size).sum());
            assertThat(r.timings.backupAndUploadSeconds).isNotNull();
            assertThat(keys(s3, NS + "/nightly/base/20261121T010000Z/")).containsExactlyInAnyOrder(
                    catalog.key("20261121T010000Z", "base.tar.gz"), catalog.key("20261121T010000Z", "backup_manifest"),
                    catalog.key("20261121T010000Z", "backup.json"));
            String manifest = s3.getObjectAsBytes(GetObjectRequest.builder().bucket(storage.bucket())
                    .key(catalog.key("20261121T010000Z", "backup_manifest")).build()).asUtf8String();
            assertThat(manifest).contains("\"PostgreSQL-Backup-Manifest-Version\"").contains("SHA256");
        }
    }

    @Test
    void aByteFlippedInStorageFailsVerificationAndTheRecordSaysSo() throws Exception {
        Job job = run("backup-plain", "app-db-replication", "backup", "--namespace", NS, "--policy", "plain",
                "--backup-id", "20261121T020000Z", "--compression", "none");
        assertThat(job.getStatus().getSucceeded()).isEqualTo(1);
        try (S3Client s3 = S3Clients.create(storage)) {
            BackupCatalog catalog = new BackupCatalog(s3, storage, NS, "plain");
            String key = catalog.key("20261121T020000Z", "base.tar");
            byte[] bytes = s3.getObjectAsBytes(GetObjectRequest.builder().bucket(storage.bucket()).key(key).build())
                    .asByteArray();
            bytes[bytes.length / 2] ^= 0x01;
            s3.putObject(PutObjectRequest.builder().bucket(storage.bucket()).key(key).build(),
                    RequestBody.fromBytes(bytes));

            Job verify = run("verify-flipped", "app-db-replication", "verify", "--namespace", NS, "--policy", "plain",
                    "--backup-id", "20261121T020000Z", "--compression", "none");
            assertThat(verify.getStatus().getFailed()).isEqualTo(1);
            BackupRecord r = catalog.read("20261121T020000Z");
            assertThat(r.state).isEqualTo(BackupRecord.State.failed);
            assertThat(r.errorReason).isEqualTo("VerificationFailed");
            assertThat(r.verification.checksumsMatch).isFalse();
            assertThat(r.error).contains("do not match the SHA-256");
        }
    }

    @Test
    void aFailedBackupLeavesNoObjectAndSaysWhy() {
        Job job = run("backup-denied", "wrong-replication", "backup", "--namespace", NS, "--policy", "denied",
                "--backup-id", "20261121T030000Z", "--compression", "lz4");
        assertThat(job.getStatus().getFailed()).isEqualTo(1);
        String logs = TestKubernetes.get().jobLog(NS, "backup-denied");
        assertThat(logs).contains("AuthenticationFailed").doesNotContain(Fixtures.REPLICATION_PASSWORD);
        try (S3Client s3 = S3Clients.create(storage)) {
            BackupRecord r = new BackupCatalog(s3, storage, NS, "denied").read("20261121T030000Z");
            assertThat(r.state).isEqualTo(BackupRecord.State.failed);
            assertThat(r.errorReason).isEqualTo("AuthenticationFailed");
            assertThat(keys(s3, NS + "/denied/base/")).noneMatch(k -> k.contains("base.tar"));
            assertThat(s3.listMultipartUploads(ListMultipartUploadsRequest.builder().bucket(storage.bucket()).build())
                    .uploads()).noneMatch(u -> u.key().contains("/denied/"));
        }
    }

    @Test
    void serverSideZstdAndLz4AreVerifiedToo() {
        for (String algorithm : List.of("lz4", "zstd")) {
            Job job = run("backup-server-" + algorithm, "app-db-replication", "backup", "--namespace", NS, "--policy",
                    "server-" + algorithm, "--backup-id", "20261121T040000Z", "--compression", algorithm,
                    "--compression-location", "server");
            assertThat(job.getStatus().getSucceeded()).as(TestKubernetes.get().jobLog(NS, "backup-server-" + algorithm)).isEqualTo(1);
            try (S3Client s3 = S3Clients.create(storage)) {
                BackupRecord r = new BackupCatalog(s3, storage, NS, "server-" + algorithm).read("20261121T040000Z");
                assertThat(r.state).isEqualTo(BackupRecord.State.verified);
                assertThat(r.compressionLocation).isEqualTo("server");
                assertThat(r.verification.method).isEqualTo("checksums+pg_waldump");
                assertThat(r.verification.pgVerifybackupOutput).contains("WAL from " + r.startLsn);
            }
        }
    }

}
