package io.dbaoperator.ship;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.sql.Connection;
import java.sql.ResultSet;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

import io.dbaoperator.api.migration.DatabaseMigration;
import io.dbaoperator.api.migration.MigrationPhase;
import io.dbaoperator.harness.FaultMatrix;
import io.dbaoperator.harness.Helm;
import io.dbaoperator.harness.OperatorImage;
import io.dbaoperator.harness.OperatorInstall;
import io.dbaoperator.harness.RealNode;
import io.dbaoperator.harness.RealParts;
import io.dbaoperator.harness.TempDirs;
import io.dbaoperator.harness.TestControlPlane;
import io.dbaoperator.harness.TestPostgres;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.LogWatch;

/**
 * The chart in helm/dba-operator installed, upgraded and uninstalled by the real Helm, its two replicas running as
 * Pods of the operator image on the real node under the chart's ServiceAccount and RBAC: one leads by the Lease,
 * the other takes over when the leader's pod is deleted, and a deleted pod stops on SIGTERM within its grace period;
 * a leader's container killed with SIGKILL is restarted and nothing it was doing is lost or done twice (both rows of
 * the fault matrix). The steps build on each other (one release), in order.
 */
@RealParts
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class HelmIT {

    static final String NS = "dba-helm";
    static final String RELEASE = "dba";
    static final String USERS = "helm-users";
    /** JOSDK's defaults, which the chart keeps: a Lease held 15 s past its last renewal, tried every 2 s. */
    static final Duration LEASE = Duration.ofSeconds(15);
    static final Duration RETRY = Duration.ofSeconds(2);

    static final String FINALIZER = "backuppolicies.dbaoperator.io/finalizer";
    /** Rows the in-flight migration backfills: 100 batches of 200, 100 ms apart, so a failover lands inside. */
    static final int ROWS = 20_000;
    static TestControlPlane cp;
    static RealNode node;
    static KubernetesClient client;
    static Helm helm;
    static Path home;
    static String image;

    @BeforeAll
    static void start() throws Exception {
        OperatorImage built = OperatorImage.get();
        image = built.name();
        cp = TestControlPlane.get();
        node = RealNode.start(cp, built.archive());
        client = cp.admin();
        home = Files.createTempDirectory("dba-helm-");
        helm = Helm.on(cp, home);
        // the users' namespace, and their database outside the cluster, reached by pods at the node's address
        client.namespaces().resource(new NamespaceBuilder().withNewMetadata().withName(USERS).endMetadata().build())
                .createOr(r -> r.update());
        // two databases: a migration holds its database's lease until it completes, and v2 waits at cutover
        for (String db : List.of(DB, DB_KILLED)) {
            database(db);
        }
    }

    static final String DB = "helm_app";
    /** The database of the SIGKILL test's migration (v2 holds helm_app's migration lease at cutover). */
    static final String DB_KILLED = "helm_app_killed";

    /** A database of ROWS items owned by helm_app, and a Secret of the same name naming it at the node's address. */
    static void database(String db) throws Exception {
        TestPostgres pg = TestPostgres.get();
        pg.createDatabase(db, "helm_app", "helm-app-password");
        pg.exec(db, "drop table if exists items",
                "create table items (id bigint primary key, v int not null)", "alter table items owner to helm_app",
                "insert into items select g, g % 1000 from generate_series(1, " + ROWS + ") g");
        client.secrets().inNamespace(USERS).resource(new SecretBuilder().withNewMetadata().withName(secret(db))
                .endMetadata().withStringData(Map.of("host", node.expose(pg.port()), "port",
                        String.valueOf(pg.port()), "dbname", db, "user", "helm_app", "password",
                        "helm-app-password")).build()).createOr(r -> r.update());
    }

    static String secret(String db) {
        return db.equals(DB) ? "app-db" : db.replace('_', '-');
    }

    @AfterAll
    static void stop() throws Exception {
        try {
            if (client != null) {
                try {
                    helm.run("uninstall", RELEASE, "-n", NS, "--ignore-not-found", "--wait");
                } catch (RuntimeException e) {
                    // the test that failed says why; the namespace goes anyway
                }
                // the operator's finalizer stays on the users' policies once it is gone (docs/install.md)
                client.genericKubernetesResources("dbaoperator.io/v1alpha1", "BackupPolicy").inNamespace(USERS)
                        .list().getItems().forEach(r -> client.genericKubernetesResources("dbaoperator.io/v1alpha1",
                                "BackupPolicy").inNamespace(USERS).withName(r.getMetadata().getName())
                                .edit(x -> {
                                    x.getMetadata().setFinalizers(List.of());
                                    return x;
                                }));
                client.namespaces().withName(USERS).delete();
                client.namespaces().withName(NS).delete();
            }
        } finally {
            if (node != null) {
                node.close();
            }
            if (home != null) {
                TempDirs.delete(home);
            }
        }
    }

    static List<Pod> operatorPods() {
        return client.pods().inNamespace(NS).withLabel("app.kubernetes.io/name", "dba-operator").list().getItems()
                .stream().filter(p -> p.getMetadata().getDeletionTimestamp() == null).toList();
    }

    static String holder() {
        Lease l = client.leases().inNamespace(NS).withName(RELEASE + "-leader").get();
        return l == null || l.getSpec() == null ? null : l.getSpec().getHolderIdentity();
    }

    static String log(String pod) throws Exception {
        return OperatorInstall.kubectl(cp, "admin", "logs", "-n", NS, pod);
    }

    /** The pod's log once it contains {@code text} (within a minute; the log as it is then otherwise). */
    static String awaitLog(String pod, String text) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        String log = log(pod);
        while (!log.contains(text) && System.nanoTime() < deadline) {
            Thread.sleep(500);
            log = log(pod);
        }
        assertThat(log).as("the log of %s", pod).contains(text);
        return log;
    }

    static Deployment awaitReady(int replicas) throws Exception {
        return OperatorInstall.awaitReady(cp, NS, RELEASE, replicas, 240);
    }

    @Test
    @Order(1)
    void helmInstallsTheChartAndOfItsTwoReplicasOneLeadsUnderTheChartsServiceAccount() throws Exception {
        String repository = image.substring(0, image.lastIndexOf(':'));
        String tag = image.substring(image.lastIndexOf(':') + 1);
        String out = helm.run("install", RELEASE, "helm/dba-operator", "-n", NS, "--create-namespace",
                "--set", "image.repository=" + repository, "--set", "image.tag=" + tag,
                "--set", "image.pullPolicy=Never", // imported into the node from the archive: nothing is pulled
                "--set-string", "nodeSelector.kubernetes\\.io/hostname=" + RealNode.NAME,
                "--wait", "--timeout", "5m");
        assertThat(out).contains("STATUS: deployed");
        awaitReady(2);

        List<Pod> pods = operatorPods();
        assertThat(pods).hasSize(2).allSatisfy(p -> {
            assertThat(p.getSpec().getNodeName()).isEqualTo(RealNode.NAME);
            assertThat(p.getSpec().getServiceAccountName()).isEqualTo(RELEASE);
            assertThat(p.getStatus().getContainerStatuses().get(0).getRestartCount()).isZero();
        });
        String leader = awaitHolder(null, Duration.ofSeconds(60));
        assertThat(pods).extracting(p -> p.getMetadata().getName()).contains(leader);
        assertThat(log(leader)).as("the leader started its controllers, through the kubernetes Service, as the "
                + "chart's ServiceAccount").contains("Starting 'databasemigration' controller");
        assertThat(log(leader)).as("it says so, and reconciles").contains("New leader with identity: " + leader)
                .contains("Started event processing for controller: databasemigration");
        for (Pod p : pods) {
            if (!p.getMetadata().getName().equals(leader)) {
                String standby = awaitLog(p.getMetadata().getName(), "New leader with identity: " + leader);
                assertThat(standby).as("the standby watches (its caches warm) and waits")
                        .doesNotContain("Started event processing");
            }
        }
    }

    /** Waits until the Lease names a holder other than {@code previous} (any holder when null). */
    static String awaitHolder(String previous, Duration within) throws InterruptedException {
        long deadline = System.nanoTime() + within.toNanos();
        while (System.nanoTime() < deadline) {
            String h;
            try {
                h = holder();
            } catch (io.fabric8.kubernetes.client.KubernetesClientException e) {
                h = null; // a connection closed under the read: read again
            }
            if (h != null && !h.isEmpty() && !h.equals(previous)) {
                return h;
            }
            Thread.sleep(200);
        }
        throw new AssertionError("the Lease still names " + holder() + " after " + within.toSeconds() + " s");
    }

    @Test
    @Order(2)
    void deletingTheLeadersPodMidBackfillStopsItOnSigtermAnotherReplicaLeadsAndTheWorkFinishesOnce() throws Exception {
        String leader = holder();
        String newLeader;
        Duration stopped;
        var migration = createBackfill("v2", DB);
        // in flight: the leader has applied expand and committed some batches, not all
        migration.waitUntilCondition(m -> m != null && m.getStatus() != null && m.getStatus().backfill != null
                && m.getStatus().backfill.rowsDone != null && m.getStatus().backfill.rowsDone > 0, 120,
                TimeUnit.SECONDS);
        assertThat(migration.get().getStatus().phase).isEqualTo(MigrationPhase.Backfilling);
        long grace = client.pods().inNamespace(NS).withName(leader).get().getSpec()
                .getTerminationGracePeriodSeconds();
        ByteArrayOutputStream followed = new ByteArrayOutputStream();
        try (LogWatch watch = client.pods().inNamespace(NS).withName(leader).watchLog(followed)) {
            long t0 = System.nanoTime();
            client.pods().inNamespace(NS).withName(leader).delete(); // the kubelet sends SIGTERM to PID 1
            client.pods().inNamespace(NS).withName(leader).waitUntilCondition(p -> p == null, grace + 60,
                    TimeUnit.SECONDS);
            stopped = Duration.ofNanos(System.nanoTime() - t0);
            assertThat(stopped).as("gone before the kubelet's SIGKILL at the end of the %d s grace period; its "
                    + "log: %s", grace, followed.toString(StandardCharsets.UTF_8)).isLessThan(Duration.ofSeconds(grace));
            // the SDK does not release the Lease on the way down: another replica takes it once it expires, the
            // standby or the ReplicaSet's replacement, whichever tries first (each tries every 2 s to 4.4 s)
            String next = awaitHolder(leader, LEASE.plus(RETRY.multipliedBy(3)));
            assertThat(next).as("a live replica of the Deployment").isIn(operatorPods().stream()
                    .map(p -> p.getMetadata().getName()).toList());
            newLeader = next;
        }
        String last = followed.toString(StandardCharsets.UTF_8);
        assertThat(last).as("the old leader's last words, followed as kubectl logs -f does").contains("stopped in");
        assertThat(awaitLog(newLeader, "Started event processing for controller: databasemigration"))
                .as("the new leader reconciles").isNotEmpty();

        // the work in flight finishes under the new leader, each step once: every row filled, the count in status
        // the rows there are, one applied record per step of this run
        DatabaseMigration done = migration.waitUntilCondition(m -> m.getStatus() != null && (m.getStatus().phase
                == MigrationPhase.AwaitingCutover || m.getStatus().phase == MigrationPhase.Failed), 180,
                TimeUnit.SECONDS);
        finishedOnce(done, "v2", DB);
        awaitReady(2);
        FaultMatrix.record("DatabaseMigration", "operator's leader pod deleted mid-backfill (Helm, 2 replicas)",
                "old leader stopped on SIGTERM in " + stopped.toSeconds() + " s; " + newLeader + " leads; "
                        + "AwaitingCutover, " + ROWS + " rows filled, rowsDone " + ROWS + ", expand and backfill "
                        + "applied once");
    }

    /**
     * The leader's container is killed with SIGKILL mid-backfill (an OOM kill, a crash: no shutdown hook runs, the
     * Lease is not released, a batch's transaction is cut off). The kubelet restarts the container; whichever
     * replica leads next finishes the work, each step once and every row filled once.
     */
    @Test
    @Order(3)
    void killingTheLeadersContainerMidBackfillLosesNothingAndRunsNothingTwice() throws Exception {
        awaitReady(2);
        String leader = holder();
        var migration = createBackfill("v3", DB_KILLED);
        migration.waitUntilCondition(m -> m != null && m.getStatus() != null && m.getStatus().backfill != null
                && m.getStatus().backfill.rowsDone != null && m.getStatus().backfill.rowsDone > 0, 120,
                TimeUnit.SECONDS);
        assertThat(migration.get().getStatus().phase).isEqualTo(MigrationPhase.Backfilling);
        assertThat(node.killContainer(NS, leader)).as("the leader's container was running").isTrue();
        // the kubelet saw it die and started it again, in the same pod
        Pod killed = client.pods().inNamespace(NS).withName(leader).waitUntilCondition(p -> p.getStatus()
                .getContainerStatuses().get(0).getRestartCount() > 0, 120, TimeUnit.SECONDS);
        var last = killed.getStatus().getContainerStatuses().get(0).getLastState().getTerminated();
        assertThat(last.getExitCode()).as("killed by SIGKILL: 128 + 9").isEqualTo(137);

        DatabaseMigration done = migration.waitUntilCondition(m -> m.getStatus() != null && (m.getStatus().phase
                == MigrationPhase.AwaitingCutover || m.getStatus().phase == MigrationPhase.Failed), 240,
                TimeUnit.SECONDS);
        finishedOnce(done, "v3", DB_KILLED);
        String next = holder();
        awaitReady(2);
        FaultMatrix.record("DatabaseMigration", "operator's leader container SIGKILLed mid-backfill (Helm, 2 "
                + "replicas)", "container restarted by the kubelet (exit 137); " + next + " leads; AwaitingCutover, "
                + ROWS + " rows filled, rowsDone " + ROWS + ", expand and backfill applied once");
    }

    /** A migration adding {@code column} to db's items and backfilling it in 100 batches, 100 ms apart. */
    static io.fabric8.kubernetes.client.dsl.Resource<DatabaseMigration> createBackfill(String column, String db) {
        client.resource(client.getKubernetesSerialization().unmarshal(String.join("\n",
                "apiVersion: dbaoperator.io/v1alpha1", "kind: DatabaseMigration",
                "metadata: {name: " + column + ", namespace: " + USERS + "}",
                "spec:",
                "  database: {secretRef: {name: " + secret(db) + "}}",
                "  expand: {sql: 'ALTER TABLE items ADD COLUMN " + column + " int'}",
                "  backfill: {table: items, set: '" + column + " = v', where: '" + column + " IS NULL', "
                        + "keyColumn: id, batchSize: 200, pauseBetweenBatches: 100ms}",
                "  rollback: {sql: 'ALTER TABLE items DROP COLUMN IF EXISTS " + column + "'}"),
                DatabaseMigration.class)).create();
        return client.resources(DatabaseMigration.class).inNamespace(USERS).withName(column);
    }

    /**
     * The run reached AwaitingCutover with every row's {@code column} filled, {@code rowsDone} the rows there are, and
     * one applied record per step of this run (expand and backfill among them).
     */
    static void finishedOnce(DatabaseMigration done, String column, String db) throws Exception {
        assertThat(done.getStatus().phase).as(done.getStatus().message).isEqualTo(MigrationPhase.AwaitingCutover);
        assertThat(done.getStatus().backfill.rowsDone).isEqualTo(ROWS);
        try (Connection c = TestPostgres.get().superuser(db); ResultSet rs = c.createStatement()
                .executeQuery("select count(*) filter (where " + column + " = v), count(*) from items")) {
            rs.next();
            assertThat(rs.getLong(1)).isEqualTo(rs.getLong(2)).isEqualTo(ROWS);
        }
        try (Connection c = TestPostgres.get().superuser(db); ResultSet rs = c.createStatement()
                .executeQuery("select step_id, count(*) filter (where outcome = 'applied'), count(*) "
                        + "from dba_operator.migration_history where run_uid = '" + done.getMetadata().getUid()
                        + "' group by step_id order by step_id")) {
            List<String> steps = new java.util.ArrayList<>();
            while (rs.next()) {
                steps.add(rs.getString(1) + " " + rs.getLong(2) + "/" + rs.getLong(3));
            }
            assertThat(steps).as("step, applied/records").isNotEmpty().allSatisfy(x -> assertThat(x).endsWith(" 1/1"))
                    .anySatisfy(x -> assertThat(x).startsWith("expand"))
                    .anySatisfy(x -> assertThat(x).startsWith("backfill"));
        }
    }

    @Test
    @Order(4)
    void helmUpgradeRollsTheChangeOut() throws Exception {
        String out = helm.run("upgrade", RELEASE, "helm/dba-operator", "-n", NS, "--reuse-values",
                "--set", "monitoring.sampleInterval=45s", "--wait", "--timeout", "5m");
        assertThat(out).contains("REVISION: 2");
        Deployment d = awaitReady(2);
        assertThat(d.getSpec().getTemplate().getSpec().getContainers().get(0).getEnv())
                .anySatisfy(e -> {
                    assertThat(e.getName()).isEqualTo("DBA_METRICS_INTERVAL");
                    assertThat(e.getValue()).isEqualTo("45s");
                });
        for (Pod p : operatorPods()) {
            assertThat(p.getSpec().getContainers().get(0).getEnv()).as("every pod runs the new template")
                    .anySatisfy(e -> assertThat(e.getValue()).isEqualTo("45s"));
        }
        long deadline = System.nanoTime() + LEASE.plus(RETRY.multipliedBy(2)).toNanos();
        List<String> pods = operatorPods().stream().map(p -> p.getMetadata().getName()).toList();
        while (!pods.contains(holder()) && System.nanoTime() < deadline) {
            Thread.sleep(200);
        }
        assertThat(holder()).as("a replica of the new template leads").isIn(pods);
    }

    @Test
    @Order(5)
    void helmUninstallRemovesTheOperatorAndKeepsTheCrdsAndTheUsersResources() throws Exception {
        GenericKubernetesResource policy = client.genericKubernetesResources("dbaoperator.io/v1alpha1", "BackupPolicy")
                .inNamespace(USERS).load(Path.of("docs/examples/backuppolicy.yaml").toFile()).item();
        client.resource(policy).inNamespace(USERS).create();
        var policies = client.genericKubernetesResources("dbaoperator.io/v1alpha1", "BackupPolicy").inNamespace(USERS)
                .withName(policy.getMetadata().getName());
        policies.waitUntilCondition(p -> p.getMetadata().getFinalizers() != null
                && p.getMetadata().getFinalizers().contains(FINALIZER), 60, TimeUnit.SECONDS); // the operator has it

        String out = helm.run("uninstall", RELEASE, "-n", NS, "--wait", "--timeout", "3m");
        assertThat(out).contains("uninstalled");
        assertThat(client.apps().deployments().inNamespace(NS).withName(RELEASE).get()).isNull();
        assertThat(client.serviceAccounts().inNamespace(NS).withName(RELEASE).get()).isNull();
        assertThat(client.rbac().clusterRoles().withName(RELEASE).get()).isNull();
        client.pods().inNamespace(NS).withLabel("app.kubernetes.io/name", "dba-operator").waitUntilCondition(
                p -> p == null, 90, TimeUnit.SECONDS);
        assertThat(client.apiextensions().v1().customResourceDefinitions().withName("backuppolicies.dbaoperator.io")
                .get()).as("Helm never deletes what it installed from crds/").isNotNull();
        assertThat(policies.get()).as("the users' resources stay, with the finalizer docs/install.md names")
                .isNotNull().satisfies(p -> assertThat(p.getMetadata().getFinalizers()).contains(FINALIZER));
        assertThat(client.resources(DatabaseMigration.class).inNamespace(USERS).withName("v2").get().getStatus().phase)
                .as("the migration waits where it was").isEqualTo(MigrationPhase.AwaitingCutover);
    }
}
