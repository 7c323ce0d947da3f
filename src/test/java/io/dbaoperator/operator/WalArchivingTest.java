package io.dbaoperator.operator;

import static io.dbaoperator.operator.OperatorAssertions.A_BACKUP;
import static io.dbaoperator.operator.OperatorAssertions.awaitCondition;
import static io.dbaoperator.operator.OperatorAssertions.get;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.sql.Connection;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import io.dbaoperator.api.backup.BackupPolicy;
import io.dbaoperator.api.backup.BackupPolicySpec;
import io.dbaoperator.api.common.Condition;
import io.dbaoperator.backup.BackupPolicyReconciler;
import io.dbaoperator.backup.BackupJobs;
import io.dbaoperator.backup.WalArchiverDeployment;
import io.dbaoperator.backup.catalog.BackupCatalog;
import io.dbaoperator.harness.OperatorHarness;
import io.dbaoperator.harness.OperatorTier;
import io.dbaoperator.harness.TestKubernetes;
import io.dbaoperator.harness.TestPostgres;
import io.dbaoperator.storage.S3Clients;
import io.dbaoperator.storage.S3Location;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * WAL archiving with the real pg_receivewal: segments appear in S3 while writes run, the recovery window
 * advances, a broken archiver is a condition, and disabling archiving drops the replication slot.
 */
@OperatorTier
@QuarkusTest
@QuarkusTestResource(OperatorHarness.class)
class WalArchivingTest {

    static final String NS = "wal";
    static KubernetesClient client;

    @BeforeAll
    static void setUp() {
        client = TestKubernetes.get().namespace(NS);
        Fixtures.databases();
        Fixtures.secret(client, NS, "app-db-replication", Fixtures.replicationDbKeys());
        Fixtures.secret(client, NS, "backup-s3", Fixtures.s3Keys());
    }

    static void writeAndSwitch() {
        TestPostgres.get().exec("app", "create table if not exists wal_traffic (id bigserial primary key, v text)",
                "insert into wal_traffic (v) select repeat('w', 100) from generate_series(1, 2000)",
                "select pg_switch_wal()");
    }

    static boolean slotExists(String slot) throws Exception {
        try (Connection c = TestPostgres.get().superuser("postgres");
                ResultSet rs = c.createStatement().executeQuery(
                        "select 1 from pg_replication_slots where slot_name = '" + slot + "'")) {
            return rs.next();
        }
    }

    @Test
    void segmentsReachS3WhileWritesRunAndTheWindowAdvances() throws Exception {
        BackupPolicy p = new BackupPolicy();
        p.getMetadata().setName("archived");
        p.getMetadata().setNamespace(NS);
        p.getMetadata().setAnnotations(new HashMap<>(Map.of(BackupPolicyReconciler.BACKUP_NOW, "base")));
        p.setSpec(new BackupPolicySpec());
        p.getSpec().database = Fixtures.db("app-db-replication");
        p.getSpec().schedule = "0 3 * * *";
        p.getSpec().storage = Fixtures.storage("backup-s3");
        p.getSpec().walArchiving.enabled = true;
        BackupPolicy created = client.resource(p).create();
        String slot = WalArchiverDeployment.slot(created);
        awaitCondition(BackupPolicy.class, NS, "archived", "LastBackupSucceeded", "True", A_BACKUP);

        S3Location l = Fixtures.s3Location();
        try (S3Client s3 = S3Clients.create(l)) {
            BackupCatalog catalog = new BackupCatalog(s3, l, NS, "archived");
            await().atMost(Duration.ofSeconds(60)).until(() -> slotExists(slot));
            writeAndSwitch();
            await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofSeconds(1)).until(() -> {
                writeAndSwitch();
                return catalog.walSegments().size() >= 2;
            });
            Condition c = awaitCondition(BackupPolicy.class, NS, "archived", "WalArchiving", "True");
            assertThat(c.reason).isEqualTo("WalArchivingRunning");
            assertThat(catalog.walSegments()).allMatch(k -> k.endsWith(".gz"));
            // a backup taken while archiving runs opens the recovery window (archived WAL continues from its end)
            String firstBackup = get(BackupPolicy.class, NS, "archived").getStatus().lastBackup.backupId;
            Thread.sleep(1100); // backup ids have second resolution
            client.resources(BackupPolicy.class).inNamespace(NS).withName("archived").edit(x -> {
                x.getMetadata().getAnnotations().put(BackupPolicyReconciler.BACKUP_NOW, "while-archiving");
                return x;
            });
            await().atMost(A_BACKUP.plusSeconds(60)).until(() -> {
                var st = get(BackupPolicy.class, NS, "archived").getStatus();
                return st.lastBackup != null && !st.lastBackup.backupId.equals(firstBackup)
                        && Boolean.TRUE.equals(st.lastBackup.verified);
            });
            writeAndSwitch();
            await().atMost(Duration.ofSeconds(60)).until(() -> get(BackupPolicy.class, NS, "archived").getStatus()
                    .recoveryWindow != null);
            var first = get(BackupPolicy.class, NS, "archived").getStatus().recoveryWindow;
            assertThat(first.firstRecoverableTime).isNotNull();
            assertThat(java.time.Instant.parse(first.firstRecoverableTime)).as("the window starts before it ends")
                    .isBeforeOrEqualTo(java.time.Instant.parse(first.lastRecoverableTime));
            int before = catalog.walSegments().size();
            await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofSeconds(1)).until(() -> {
                writeAndSwitch();
                return catalog.walSegments().size() > before + 1;
            });
            await().atMost(Duration.ofSeconds(60)).until(() -> get(BackupPolicy.class, NS, "archived").getStatus()
                    .recoveryWindow.lastRecoverableTime.compareTo(first.lastRecoverableTime) > 0);
            // the RPO now is known (a number, not NaN): the WAL past the last archived segment was measured
            await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> assertThat(MetricsScrapeTest.scrape())
                    .containsPattern("dba_wal_rpo_seconds\\{namespace=\"" + NS + "\",policy=\"archived\"} "
                            + "[0-9]+(\\.[0-9]+)?(E[0-9]+)?\n"));
        }

        // a broken archiver is a condition, not silence: the Secret's password is rotated wrongly and the archiver's
        // pod restarts (a rollout, a drained node), so the new container logs in with it and fails. (A running
        // container keeps the environment it started with: only a restart reads the Secret again.)
        Map<String, String> broken = new HashMap<>(Fixtures.replicationDbKeys());
        broken.put("uri", broken.get("uri").replace(Fixtures.REPLICATION_PASSWORD, "not-the-password"));
        Fixtures.secret(client, NS, "app-db-replication", broken);
        try {
            client.pods().inNamespace(NS).withLabel(BackupJobs.POLICY_LABEL, "archived")
                    .withLabel("app.kubernetes.io/component", WalArchiverDeployment.COMPONENT).delete();
            Condition down = awaitCondition(BackupPolicy.class, NS, "archived", "WalArchiving", "False",
                    Duration.ofSeconds(120));
            assertThat(down.reason).isIn("WalArchiverNotRunning", "WalArchiverStale");
        } finally {
            Fixtures.secret(client, NS, "app-db-replication", Fixtures.replicationDbKeys());
            client.pods().inNamespace(NS).withLabel(BackupJobs.POLICY_LABEL, "archived")
                    .withLabel("app.kubernetes.io/component", WalArchiverDeployment.COMPONENT).delete();
        }

        // disabling archiving removes the archiver and its slot
        client.resources(BackupPolicy.class).inNamespace(NS).withName("archived").edit(x -> {
            x.getSpec().walArchiving.enabled = false;
            return x;
        });
        await().atMost(Duration.ofSeconds(60)).until(() -> client.apps().deployments().inNamespace(NS)
                .withName(WalArchiverDeployment.name("archived")).get() == null);
        await().atMost(Duration.ofSeconds(60)).until(() -> !slotExists(slot));
        await().atMost(Duration.ofSeconds(30)).until(() -> get(BackupPolicy.class, NS, "archived").getStatus()
                .conditions.stream().noneMatch(x -> x.type.equals("WalArchiving")));
    }

    @Test
    void deletingThePolicyStopsTheArchiverAndDropsItsSlot() throws Exception {
        BackupPolicy p = new BackupPolicy();
        p.getMetadata().setName("short-lived");
        p.getMetadata().setNamespace(NS);
        p.setSpec(new BackupPolicySpec());
        p.getSpec().database = Fixtures.db("app-db-replication");
        p.getSpec().schedule = "0 3 * * *";
        p.getSpec().storage = Fixtures.storage("backup-s3");
        p.getSpec().walArchiving.enabled = true;
        String slot = WalArchiverDeployment.slot(client.resource(p).create());
        await().atMost(Duration.ofSeconds(60)).until(() -> slotExists(slot));
        assertThat(get(BackupPolicy.class, NS, "short-lived").getMetadata().getFinalizers()).isNotEmpty();

        client.resources(BackupPolicy.class).inNamespace(NS).withName("short-lived").delete();
        await().atMost(Duration.ofSeconds(60)).until(() -> get(BackupPolicy.class, NS, "short-lived") == null);
        assertThat(slotExists(slot)).as("slot %s dropped with its policy", slot).isFalse();
        assertThat(client.apps().deployments().inNamespace(NS).withName(WalArchiverDeployment.name("short-lived"))
                .get()).isNull();
    }
}
