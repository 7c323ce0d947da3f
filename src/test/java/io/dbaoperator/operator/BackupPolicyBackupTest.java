package io.dbaoperator.operator;

import static io.dbaoperator.operator.OperatorAssertions.A_BACKUP;
import static io.dbaoperator.operator.OperatorAssertions.awaitCondition;
import static io.dbaoperator.operator.OperatorAssertions.get;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashMap;
import java.util.Map;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import io.dbaoperator.api.backup.BackupPolicy;
import io.dbaoperator.api.backup.BackupPolicyPhase;
import io.dbaoperator.api.backup.BackupPolicySpec;
import io.dbaoperator.api.common.Condition;
import io.dbaoperator.backup.BackupJobs;
import io.dbaoperator.backup.BackupPolicyReconciler;
import io.dbaoperator.backup.catalog.BackupCatalog;
import io.dbaoperator.backup.catalog.BackupRecord;
import io.dbaoperator.harness.OperatorHarness;
import io.dbaoperator.harness.OperatorTier;
import io.dbaoperator.harness.TestKubernetes;
import io.dbaoperator.harness.TestPostgres;
import io.dbaoperator.harness.TestS3;
import io.dbaoperator.operator.Fixtures.Standard;
import io.dbaoperator.storage.S3Clients;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import software.amazon.awssdk.services.s3.S3Client;

/** The operator takes backups: on demand and on schedule, through Jobs the real Job controller and the test node run, into the S3 server. */
@OperatorTier
@QuarkusTest
@QuarkusTestResource(OperatorHarness.class)
class BackupPolicyBackupTest {

    static final String NS = "backups";
    static KubernetesClient client;

    @BeforeAll
    static void setUp() {
        client = Fixtures.namespace(NS, Standard.REPLICATION_DB, Standard.BACKUP_S3);
        TestPostgres.get().exec("app", "create table if not exists orders_backup_test (id int primary key)",
                "insert into orders_backup_test select g from generate_series(1, 1000) g on conflict do nothing");
    }

    static BackupPolicy policy(String name, String schedule) {
        BackupPolicy p = new BackupPolicy();
        p.getMetadata().setName(name);
        p.getMetadata().setNamespace(NS);
        p.setSpec(new BackupPolicySpec());
        p.getSpec().database = Fixtures.db("app-db-replication");
        p.getSpec().schedule = schedule;
        p.getSpec().storage = Fixtures.storage("backup-s3");
        return p;
    }

    static BackupCatalog catalog(S3Client s3, String policy) {
        return new BackupCatalog(s3, Fixtures.s3Location(), NS, policy);
    }

    @Test
    void anOnDemandBackupLandsInS3VerifiedAndStatusReportsIt() {
        client.resource(policy("on-demand", "0 3 * * *")).create();
        awaitCondition(BackupPolicy.class, NS, "on-demand", "Validated", "True");
        client.resources(BackupPolicy.class).inNamespace(NS).withName("on-demand").edit(p -> {
            p.getMetadata().setAnnotations(new HashMap<>(Map.of(BackupPolicyReconciler.BACKUP_NOW, "first")));
            return p;
        });
        Condition c = awaitCondition(BackupPolicy.class, NS, "on-demand", "LastBackupSucceeded", "True", A_BACKUP);
        assertThat(c.reason).isEqualTo("BackupVerified");
        BackupPolicy p = get(BackupPolicy.class, NS, "on-demand");
        assertThat(p.getStatus().phase).isEqualTo(BackupPolicyPhase.Active);
        assertThat(p.getStatus().lastOnDemandRequest).isEqualTo("first");
        var last = p.getStatus().lastBackup;
        assertThat(last.verified).isTrue();
        assertThat(last.beginLSN).isNotBlank();
        assertThat(last.storedBytes).isPositive();
        assertThat(last.size).as("the size a person reads, beside the bytes")
                .isEqualTo(io.dbaoperator.status.Sizes.human(last.sizeBytes)).matches("[0-9.]+ (B|KiB|MiB|GiB)");
        assertThat(last.verifiedWith).as("a client-compressed backup carries its manifest").isEqualTo("pg_verifybackup");
        assertThat(last.location).startsWith("s3://" + TestS3.BUCKET + "/it/" + NS + "/on-demand/base/"
                + last.backupId);
        assertThat(client.batch().v1().jobs().inNamespace(NS)
                .withName(BackupJobs.jobName("on-demand", last.backupId)).get()).isNotNull();
        try (S3Client s3 = S3Clients.create(Fixtures.s3Location())) {
            BackupRecord r = catalog(s3, "on-demand").read(last.backupId);
            assertThat(r.state).isEqualTo(BackupRecord.State.verified);
            assertThat(r.objects).extracting(o -> o.name).containsExactly("base.tar.gz", "backup_manifest");
        }
    }

    /**
     * A logical policy backs up with a role that may read everything and nothing more (pg_read_all_data; no
     * REPLICATION attribute: pg_dump needs none): a pg_dump of the database in the bucket, read back through
     * pg_restore --list, reported like a base backup; a BackupRestore of it is refused with where the dump is,
     * nothing started.
     */
    @Test
    void aLogicalBackupIsAPgDumpInTheBucketVerifiedAndReported() {
        TestPostgres.get().exec("postgres", "do $$ begin if not exists (select from pg_roles where rolname = "
                + "'app_dumper') then create role app_dumper login in role pg_read_all_data; end if; end $$",
                "alter role app_dumper password 'dumper-pw-3b9a'");
        Fixtures.secret(client, NS, "app-dumper", Fixtures.dbKeys("app", "app_dumper", "dumper-pw-3b9a"));
        BackupPolicy logical = policy("logical", "0 3 * * *");
        logical.getSpec().database = Fixtures.db("app-dumper");
        logical.getSpec().method = BackupPolicySpec.Method.logical;
        logical.getMetadata().setAnnotations(new HashMap<>(Map.of(BackupPolicyReconciler.BACKUP_NOW, "dump")));
        client.resource(logical).create();
        Condition c = awaitCondition(BackupPolicy.class, NS, "logical", "LastBackupSucceeded", "True", A_BACKUP);
        assertThat(c.reason).isEqualTo("BackupVerified");
        var last = get(BackupPolicy.class, NS, "logical").getStatus().lastBackup;
        assertThat(last.method).isEqualTo("logical");
        assertThat(last.databases).containsExactly("app");
        assertThat(last.verifiedWith).isEqualTo("checksums+pg_restore --list");
        assertThat(last.beginLSN).as("a dump has no WAL position").isNull();
        try (S3Client s3 = S3Clients.create(Fixtures.s3Location())) {
            BackupRecord r = catalog(s3, "logical").read(last.backupId);
            assertThat(r.state).isEqualTo(BackupRecord.State.verified);
            assertThat(r.objects).extracting(o -> o.name).containsExactly("app.dump");
            assertThat(r.verification.pgVerifybackupOutput).contains("app.dump: ").contains(" TOC entries");
        }

        io.dbaoperator.api.backup.BackupRestore restore = new io.dbaoperator.api.backup.BackupRestore();
        restore.getMetadata().setName("from-a-dump");
        restore.getMetadata().setNamespace(NS);
        restore.setSpec(new io.dbaoperator.api.backup.BackupRestoreSpec());
        restore.getSpec().backupPolicyRef = new io.dbaoperator.api.common.LocalRef("logical");
        restore.getSpec().target = new io.dbaoperator.api.backup.BackupRestoreSpec.RestoreTarget();
        restore.getSpec().target.newInstance = new io.dbaoperator.api.backup.BackupRestoreSpec.NewInstance();
        restore.getSpec().target.newInstance.name = "from-a-dump";
        client.resource(restore).create();
        Condition refused = awaitCondition(io.dbaoperator.api.backup.BackupRestore.class, NS, "from-a-dump",
                "Validated", "False");
        assertThat(refused.reason).isEqualTo("InvalidSpec");
        assertThat(refused.message).contains("takes logical backups").contains("spec.target.database");
        assertThat(client.batch().v1().jobs().inNamespace(NS).withLabel("app.kubernetes.io/component", "restore")
                .list().getItems()).isEmpty();
    }

    @Test
    void anOnDemandBackupWhoseEveryStatusWriteMeetsAConflictOnceIsTakenOnce() {
        TestKubernetes.get().api().interfere(io.dbaoperator.harness.FaultMatrix.everyOtherStatusWrite(NS,
                "backuppolicies", "conflicts"));
        try {
            client.resource(policy("conflicts", "0 3 * * *")).create();
            awaitCondition(BackupPolicy.class, NS, "conflicts", "Validated", "True");
            client.resources(BackupPolicy.class).inNamespace(NS).withName("conflicts").edit(p -> {
                p.getMetadata().setAnnotations(new HashMap<>(Map.of(BackupPolicyReconciler.BACKUP_NOW, "once")));
                return p;
            });
            awaitCondition(BackupPolicy.class, NS, "conflicts", "LastBackupSucceeded", "True", A_BACKUP);
        } finally {
            TestKubernetes.get().api().interfere(null);
        }
        BackupPolicy p = get(BackupPolicy.class, NS, "conflicts");
        assertThat(p.getStatus().lastOnDemandRequest).isEqualTo("once");
        assertThat(client.batch().v1().jobs().inNamespace(NS).withLabel(BackupJobs.POLICY_LABEL, "conflicts").list()
                .getItems()).as("one backup Job").hasSize(1);
        try (S3Client s3 = S3Clients.create(Fixtures.s3Location())) {
            assertThat(catalog(s3, "conflicts").list()).as("one backup in the bucket").singleElement()
                    .satisfies(r -> assertThat(r.state).isEqualTo(BackupRecord.State.verified));
        }
        io.dbaoperator.harness.FaultMatrix.record("BackupPolicy", "every status write 409 once", "Active; one "
                + "backup Job, one verified backup in the bucket");
    }

    /**
     * The policy's Job informer hears of Jobs 5 s late, as an informer's cache can under load. The reconcile that
     * answers a second request, right after the one that started the first backup, reads the Jobs from that cache
     * before the watch has brought the first Job: it must still find it running (the operator records its own
     * creates in the informer) and skip the second backup under concurrencyPolicy Forbid, not start another one.
     */
    @Test
    void aSecondRequestWhileTheFirstBackupRunsIsSkippedEvenWhenTheJobWatchIsLate() {
        client.resource(policy("forbid", "0 3 * * *")).create();
        awaitCondition(BackupPolicy.class, NS, "forbid", "Validated", "True");
        TestKubernetes.get().api().lagWatches(path -> path.endsWith("/jobs"), java.time.Duration.ofSeconds(5));
        try {
            requestBackup("forbid", "first");
            // the first backup's start is recorded and its Job made (startingBackupId is cleared after the create)
            org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(30))
                    .pollInterval(java.time.Duration.ofMillis(50)).until(() -> {
                        var st = get(BackupPolicy.class, NS, "forbid").getStatus();
                        return st != null && "first".equals(st.lastOnDemandRequest) && st.startingBackupId == null;
                    });
            requestBackup("forbid", "second");
            OperatorAssertions.awaitEvent(NS, "forbid", "Warning", "BackupSkipped");
            // the Event is sent while deciding; the consumed request is in the status written after it
            org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(30)).until(() -> "second".equals(
                    get(BackupPolicy.class, NS, "forbid").getStatus().lastOnDemandRequest));
        } finally {
            TestKubernetes.get().api().lagWatches(null, null);
        }
        awaitCondition(BackupPolicy.class, NS, "forbid", "LastBackupSucceeded", "True", A_BACKUP);
        assertThat(client.batch().v1().jobs().inNamespace(NS).withLabel(BackupJobs.POLICY_LABEL, "forbid").list()
                .getItems()).as("one backup Job: the second request was skipped").hasSize(1);
        try (S3Client s3 = S3Clients.create(Fixtures.s3Location())) {
            assertThat(catalog(s3, "forbid").list()).as("one backup in the bucket").hasSize(1);
        }
        io.dbaoperator.harness.FaultMatrix.record("BackupPolicy", "the Job watch 5 s late", "second request "
                + "skipped under Forbid; one backup Job, one backup in the bucket");
    }

    private static void requestBackup(String policy, String request) {
        client.resources(BackupPolicy.class).inNamespace(NS).withName(policy).edit(p -> {
            p.getMetadata().setAnnotations(new HashMap<>(Map.of(BackupPolicyReconciler.BACKUP_NOW, request)));
            return p;
        });
    }

    @io.quarkus.test.common.http.TestHTTPResource("/q/metrics")
    java.net.URL metrics;

    @Test
    void theNewestVerifiedBackupIsAMetric() throws Exception {
        anOnDemandBackupLandsInS3VerifiedAndStatusReportsItIfNotYet();
        String text = new String(metrics.openStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        assertThat(text).containsPattern("backup_completion_time_seconds\\{[^}]*namespace=\"backups\"[^}]*"
                + "policy=\"on-demand\"[^}]*\\} [0-9.]+");
        assertThat(text).containsPattern("backup_size_bytes\\{[^}]*policy=\"on-demand\"[^}]*\\} [0-9.E+]+");
        assertThat(text).contains("backup_last_success_timestamp_seconds");
    }

    synchronized void anOnDemandBackupLandsInS3VerifiedAndStatusReportsItIfNotYet() {
        if (get(BackupPolicy.class, NS, "on-demand") == null) {
            anOnDemandBackupLandsInS3VerifiedAndStatusReportsIt();
        }
    }

    @Test
    void retentionRemovesExactlyWhatKeepLastAndMaxAgeLetGo() {
        java.time.Instant now = java.time.Instant.now();
        java.util.List<String> ids = new java.util.ArrayList<>();
        try (S3Client s3 = S3Clients.create(Fixtures.s3Location())) {
            BackupCatalog catalog = catalog(s3, "retained");
            int[] daysAgo = { 6, 7, 8, 9, 10, 5, 20 };
            BackupRecord.State[] states = { BackupRecord.State.verified, BackupRecord.State.verified,
                    BackupRecord.State.verified, BackupRecord.State.verified, BackupRecord.State.verified,
                    BackupRecord.State.failed, BackupRecord.State.verified };
            for (int i = 0; i < daysAgo.length; i++) {
                BackupRecord r = new BackupRecord();
                r.backupId = BackupJobs.backupId(now.minus(java.time.Duration.ofDays(daysAgo[i]))
                        .truncatedTo(java.time.temporal.ChronoUnit.SECONDS));
                r.state = states[i];
                r.namespace = NS;
                r.policy = "retained";
                String key = catalog.key(r.backupId, "base.tar.gz");
                s3.putObject(software.amazon.awssdk.services.s3.model.PutObjectRequest.builder().bucket(TestS3.BUCKET)
                        .key(key).build(), software.amazon.awssdk.core.sync.RequestBody.fromString("data" + i));
                r.objects.add(new BackupRecord.StoredObject("base.tar.gz", key, 5, "x"));
                catalog.write(r);
                ids.add(r.backupId);
            }
            BackupPolicy p = policy("retained", "0 3 * * *");
            p.getSpec().retention.keepLast = 2;
            p.getSpec().retention.maxAge = "1d";
            p.getSpec().retention.pinned = java.util.List.of(ids.get(6)); // the 20-day-old one
            client.resource(p).create();
            org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(60)).until(() -> {
                BackupPolicy cur = get(BackupPolicy.class, NS, "retained");
                // done once the objects are gone (lastPrune is stored with decidedAt before they are deleted)
                return cur.getStatus() != null && cur.getStatus().lastPrune != null
                        && cur.getStatus().lastPrune.prunedAt != null;
            });
            var prune = get(BackupPolicy.class, NS, "retained").getStatus().lastPrune;
            // kept: the newest two verified (6 and 7 days), the pinned one; removed: 8, 9, 10 days and the failure
            assertThat(prune.removed).containsExactlyInAnyOrder(ids.get(2), ids.get(3), ids.get(4), ids.get(5));
            assertThat(prune.freedBytes).isEqualTo(4 * 5); // the 5-byte data object of each of the four
            assertThat(catalog.list()).extracting(r -> r.backupId).containsExactlyInAnyOrder(ids.get(0), ids.get(1),
                    ids.get(6));
            for (String removed : prune.removed) {
                assertThat(s3.listObjectsV2(software.amazon.awssdk.services.s3.model.ListObjectsV2Request.builder()
                        .bucket(TestS3.BUCKET).prefix(catalog.key(removed, "")).build()).contents()).isEmpty();
            }
            OperatorAssertions.awaitEvent(NS, "retained", "Normal", "BackupsPruned");
        }
    }

    @Test
    void aScheduledBackupRunsWhenItComesDue() {
        // the first run is at the next minute boundary: the operator's clock is set 3 s before it instead of the
        // test waiting up to a minute for it
        java.time.Instant due = io.dbaoperator.harness.TestClock.nextMinute();
        io.dbaoperator.harness.TestClock.readsJustBefore(due, java.time.Duration.ofSeconds(3));
        try {
            client.resource(policy("every-minute", "* * * * *")).create();
            Condition c = awaitCondition(BackupPolicy.class, NS, "every-minute", "LastBackupSucceeded", "True",
                    A_BACKUP.plusSeconds(10));
            BackupPolicy p = get(BackupPolicy.class, NS, "every-minute");
            assertThat(p.getStatus().lastBackup.backupId).as("the run that came due, named after its time")
                    .isEqualTo(BackupJobs.backupId(due));
            assertThat(p.getStatus().lastScheduleTime).endsWith(":00Z");
            assertThat(c.message).contains("verified");
            client.resources(BackupPolicy.class).inNamespace(NS).withName("every-minute").edit(x -> {
                x.getSpec().suspend = true;
                return x;
            });
        } finally {
            io.dbaoperator.harness.TestClock.reset();
        }
    }
}
