package io.dbaoperator.sandbox;

import static io.dbaoperator.operator.OperatorAssertions.A_BACKUP;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

import io.dbaoperator.api.backup.BackupPolicy;
import io.dbaoperator.api.backup.BackupRestore;
import io.dbaoperator.api.backup.RestorePhase;
import io.dbaoperator.api.common.Condition;
import io.dbaoperator.api.migration.DatabaseMigration;
import io.dbaoperator.backup.BackupJobs;
import io.dbaoperator.backup.RestoreJobs;
import io.dbaoperator.backup.WalArchiverDeployment;
import io.dbaoperator.backup.catalog.BackupCatalog;
import io.dbaoperator.harness.OperatorInstall;
import io.dbaoperator.harness.OperatorImage;
import io.dbaoperator.harness.TestControlPlane;
import io.dbaoperator.harness.RealNode;
import io.dbaoperator.harness.TestPostgres;
import io.dbaoperator.harness.TestS3;
import io.dbaoperator.storage.S3Clients;
import io.dbaoperator.storage.S3Location;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.authentication.TokenRequestBuilder;
import io.fabric8.kubernetes.api.model.authorization.v1.SelfSubjectAccessReviewBuilder;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.api.model.rbac.RoleBindingBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * The packaged operator on a real Kubernetes control plane (kube-apiserver with RBAC, etcd, kube-controller-manager,
 * kube-scheduler; {@link TestControlPlane}) and a real node (kubelet, containerd, kube-proxy; {@link RealNode}),
 * installed as a platform team installs it: {@code kubectl apply -k deploy/} (the CRDs, the least-privilege RBAC,
 * the approver and viewer roles, the Deployment), the operator a Pod of the image this machine built under deploy/'s
 * ServiceAccount, its backup Jobs, WAL archiver and restored instance containers of the same image; the database
 * and the S3 server outside the cluster, reached by the pods at the node's address; people as users with client
 * certificates. It checks what the fabric8 test server cannot: that the API server
 * accepts the CRDs (structural schemas, CEL cost), that deploy/'s RBAC is enough for the operator to start and to
 * work, that the approver role can approve and do nothing else, and that the real Job, ReplicaSet, StatefulSet,
 * volume and garbage-collector controllers treat the operator's objects as the design says.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class RealControlPlaneIT {

    static final String NS = "shop";
    static TestControlPlane cp;
    static KubernetesClient admin;
    static RealNode node;
    static String image;
    /** The address pods reach the database and the S3 server at (outside the cluster, on this machine). */
    static String outside;
    static final Path WORK = Path.of("target/real-control-plane");

    @BeforeAll
    static void install() throws Exception {
        cp = TestControlPlane.get();
        admin = cp.admin();
        Files.createDirectories(WORK);
        OperatorInstall.apply(cp);
        OperatorImage built = OperatorImage.get();
        image = built.name();
        node = RealNode.start(cp, built.archive());
        admin.resource(new NamespaceBuilder().withNewMetadata().withName(NS).endMetadata().build()).create();

        TestPostgres pg = TestPostgres.get();
        outside = node.expose(pg.port());
        pg.createDatabase("cp_shop", "app", "cp-app-password");
        pg.exec("cp_shop", "drop table if exists customers",
                "create table customers (id bigint primary key, email text not null, legacy_code text)",
                "alter table customers owner to app",
                "insert into customers select g, 'C' || g || '@Example.com', 'x' from generate_series(1, 5000) g");
        pg.exec("postgres", "do $$ begin if not exists (select from pg_roles where rolname = 'cp_replication') then "
                + "create role cp_replication login replication password 'cp-repl-password'; end if; end $$");
        secret("shop-db", Map.of("host", outside, "port", String.valueOf(pg.port()), "dbname", "cp_shop",
                "user", "app", "password", "cp-app-password"));
        secret("shop-db-replication", Map.of("host", outside, "port", String.valueOf(pg.port()), "dbname",
                "cp_shop", "user", "cp_replication", "password", "cp-repl-password"));
        secret("backup-s3", Map.of("AWS_ACCESS_KEY_ID", TestS3.ACCESS_KEY_ID, "AWS_SECRET_ACCESS_KEY",
                TestS3.SECRET_ACCESS_KEY));
        // approvers: the group dba-leads may approve in this namespace (and read what it approves)
        for (String role : List.of("dba-operator-approver", "dba-operator-viewer")) {
            admin.resource(new RoleBindingBuilder().withNewMetadata().withName(role).withNamespace(NS).endMetadata()
                    .withNewRoleRef().withApiGroup("rbac.authorization.k8s.io").withKind("ClusterRole")
                    .withName(role).endRoleRef().addNewSubject().withApiGroup("rbac.authorization.k8s.io")
                    .withKind("Group").withName("dba-leads").endSubject().build()).create();
        }

        OperatorInstall.runAsPods(cp, RealNode.NAME, image, 1);
    }

    @AfterAll
    static void uninstall() {
        if (node != null) {
            try {
                OperatorInstall.stopPods(cp);
            } finally {
                node.close();
            }
        }
        TestControlPlane.shutdown();
    }

    /** The S3 endpoint as pods reach it: the node's address, relayed to the server on loopback. */
    static String forPods(TestS3 s3) throws java.io.IOException {
        return node.forPods(s3.endpoint());
    }

    static void secret(String name, Map<String, String> data) {
        admin.resource(new SecretBuilder().withNewMetadata().withName(name).withNamespace(NS).endMetadata()
                .withStringData(data).build()).create();
    }

    /** The real kubectl, as {@code user}. */
    static String kubectl(String user, String... args) throws Exception {
        return OperatorInstall.kubectl(cp, user, args);
    }

    static DatabaseMigration migration(String name) {
        return admin.resources(DatabaseMigration.class).inNamespace(NS).withName(name).get();
    }

    static void awaitRequest(String name, String step) {
        await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(250)).untilAsserted(() -> {
            DatabaseMigration m = migration(name);
            assertThat(m.getStatus()).isNotNull();
            assertThat(m.getStatus().phase).as(m.getStatus().message).isNotNull()
                    .isNotEqualTo(io.dbaoperator.api.migration.MigrationPhase.Failed);
            assertThat(m.getStatus().approvalRequest).as(m.getStatus().message).isNotNull();
            assertThat(m.getStatus().approvalRequest.step).isEqualTo(step);
        });
    }

    @Test
    @Order(0)
    void theOperatorRunsAsAPodOfItsImageUnderDeploysServiceAccountReadyByTheProbesTheKubeletCalls() throws Exception {
        Pod p = admin.pods().inNamespace(OperatorInstall.NAMESPACE).withLabel("app.kubernetes.io/name",
                "dba-operator").list().getItems().get(0);
        assertThat(p.getSpec().getNodeName()).isEqualTo(RealNode.NAME);
        assertThat(p.getSpec().getServiceAccountName()).isEqualTo("dba-operator");
        assertThat(p.getStatus().getConditions()).anySatisfy(c -> assertThat(c.getType() + "=" + c.getStatus())
                .isEqualTo("Ready=True"));
        assertThat(p.getStatus().getContainerStatuses().get(0).getRestartCount()).isZero();
        assertThat(p.getStatus().getContainerStatuses().get(0).getImage()).contains("dba-operator");
        assertThat(kubectl("admin", "logs", "-n", OperatorInstall.NAMESPACE, "deploy/dba-operator"))
                .as("it reached the API server through the kubernetes Service, as deploy/'s ServiceAccount, and "
                        + "started its controllers").contains("Started event processing for controller: backuppolicy");
    }

    @Test
    @Order(1)
    void theExamplesAreAcceptedTheServerEnforcesTheCrdsRulesAndServesTheirColumnsAndDocs() throws Exception {
        for (String example : List.of("backuppolicy", "backuprestore", "databasemigration", "disposaljob",
                "querytuningrequest", "querytuningrequest-workload", "index-hygiene", "backuppolicy-logical",
                "backuprestore-logical", "backuprestore-staging")) {
            assertThat(kubectl("admin", "apply", "-n", NS, "--dry-run=server", "-f",
                    "docs/examples/" + example + ".yaml", "--validate=strict").toLowerCase())
                    .contains("server dry run");
        }
        DatabaseMigration m = admin.getKubernetesSerialization().unmarshal(String.join("\n",
                "apiVersion: dbaoperator.io/v1alpha1", "kind: DatabaseMigration",
                "metadata: {name: frozen, namespace: " + NS + "}",
                "spec:", "  database: {secretRef: {name: missing}}", "  expand: {sql: 'SELECT 1'}",
                "  rollback: {sql: 'SELECT 1'}", "  paused: true"), DatabaseMigration.class);
        admin.resource(m).create();
        assertThatThrownBy(() -> admin.resources(DatabaseMigration.class).inNamespace(NS).withName("frozen")
                .patch(PatchContext.of(PatchType.JSON_MERGE), "{\"spec\":{\"expand\":{\"sql\":\"SELECT 2\"}}}"))
                .isInstanceOf(KubernetesClientException.class)
                .hasMessageContaining("immutable");
        // the printer columns and kubectl explain come from the API server (a Table, the CRD's OpenAPI)
        String table = kubectl("admin", "get", "dbm", "frozen", "-n", NS);
        assertThat(table.lines().findFirst().orElse("")).contains("PHASE").contains("APPROVAL").contains("BACKFILL")
                .contains("AGE");
        assertThat(kubectl("admin", "explain", "dbm.spec.lockTimeout")).contains("lock_timeout set before every DDL");
        admin.resources(DatabaseMigration.class).inNamespace(NS).withName("frozen").delete();

        // a one-of rule (a disposal rule needs exactly one of olderThan and where): refused by the server's CEL
        Path both = WORK.resolve("disposal-both.yaml");
        Files.writeString(both, Files.readString(Path.of("docs/examples/disposaljob.yaml"))
                .replace("      action: Anonymize\n", "      where: \"closed_at IS NOT NULL\"\n      action: Anonymize\n"));
        assertThatThrownBy(() -> kubectl("admin", "apply", "-n", NS, "--dry-run=server", "-f", both.toString()))
                .hasMessageContaining("set exactly one of olderThan or where");
        // a restore names one target: a new instance (a base backup) or a database (a dump), never both
        Path twoTargets = WORK.resolve("restore-two-targets.yaml");
        Files.writeString(twoTargets, Files.readString(Path.of("docs/examples/backuprestore.yaml")).replace(
                "    newInstance:\n", "    database: {databaseRef: {secretRef: {name: staging}}, name: copy}\n"
                        + "    newInstance:\n"));
        assertThatThrownBy(() -> kubectl("admin", "apply", "-n", NS, "--dry-run=server", "-f",
                twoTargets.toString())).hasMessageContaining("set target.newInstance (a physical backup) or "
                        + "target.database (a logical backup), exactly one");
        // a staging refresh serves only masked copies: refused by the server without masking rules
        Path unmasked = WORK.resolve("refresh-unmasked.yaml");
        String staging = Files.readString(Path.of("docs/examples/backuprestore-staging.yaml"));
        Files.writeString(unmasked, staging.substring(0, staging.indexOf("  masking:\n"))
                + staging.substring(staging.indexOf("  checks:\n")));
        assertThatThrownBy(() -> kubectl("admin", "apply", "-n", NS, "--dry-run=server", "-f", unmasked.toString()))
                .hasMessageContaining("a staging refresh (spec.refresh) restores a logical backup into "
                        + "spec.target.database, masked: set spec.masking");
        // dropping indexes on the operator's word alone: refused by the server
        Path automatic = WORK.resolve("hygiene-automatic.yaml");
        Files.writeString(automatic, Files.readString(Path.of("docs/examples/index-hygiene.yaml"))
                .replace("policy: AfterApproval", "policy: Automatic"));
        assertThatThrownBy(() -> kubectl("admin", "apply", "-n", NS, "--dry-run=server", "-f", automatic.toString()))
                .hasMessageContaining("dropping indexes always waits for a person");
    }

    @Test
    @Order(2)
    void aMigrationRunsUnderDeploysRbacAndOnlyAnApproverCanApproveIt() throws Exception {
        DatabaseMigration m = admin.getKubernetesSerialization().unmarshal(String.join("\n",
                "apiVersion: dbaoperator.io/v1alpha1", "kind: DatabaseMigration",
                "metadata: {name: email-lower, namespace: " + NS + "}",
                "spec:",
                "  database: {secretRef: {name: shop-db}}",
                "  expand: {sql: 'ALTER TABLE customers ADD COLUMN email_lower text'}",
                "  backfill: {table: customers, set: 'email_lower = lower(email)', where: 'email_lower IS NULL', "
                        + "batchSize: 1000}",
                "  contract: {sql: 'ALTER TABLE customers DROP COLUMN legacy_code'}",
                "  rollback: {sql: 'ALTER TABLE customers DROP COLUMN IF EXISTS email_lower'}"),
                DatabaseMigration.class);
        admin.resource(m).create();
        awaitRequest("email-lower", "cutover");

        String approve = "{\"status\":{\"approved\":true}}";
        cp.user("mallory").close(); // a user the cluster knows, with no role in this namespace
        // someone who is not an approver: refused by the API server
        assertThatThrownBy(() -> kubectl("mallory", "patch", "dbm", "email-lower", "-n", NS,
                "--subresource=status", "--type=merge", "-p", approve)).hasMessageContaining("Forbidden");
        try (KubernetesClient alice = cp.user("alice", "dba-leads")) {
            // an approver may not change what is approved, delete it, or read the database Secret
            assertThatThrownBy(() -> alice.resources(DatabaseMigration.class).inNamespace(NS).withName("email-lower")
                    .patch(PatchContext.of(PatchType.JSON_MERGE), "{\"spec\":{\"paused\":true}}"))
                    .isInstanceOf(KubernetesClientException.class).satisfies(e -> assertThat(
                            ((KubernetesClientException) e).getCode()).isEqualTo(403));
            assertThatThrownBy(() -> alice.resources(DatabaseMigration.class).inNamespace(NS).withName("email-lower")
                    .delete()).isInstanceOf(KubernetesClientException.class);
            assertThatThrownBy(() -> alice.secrets().inNamespace(NS).withName("shop-db").get())
                    .isInstanceOf(KubernetesClientException.class);
        }
        // bob, another approver, claims to be alice (as field manager and in the stamped field itself): the
        // admission policy records who the API server authenticated
        cp.user("bob", "dba-leads").close();
        kubectl("bob", "patch", "dbm", "email-lower", "-n", NS, "--subresource=status", "--type=merge",
                "--field-manager=alice", "-p", "{\"status\":{\"approved\":true,\"approvedByUser\":\"alice\"}}");
        awaitRequest("email-lower", "contract");
        kubectl("alice", "patch", "dbm", "email-lower", "-n", NS, "--subresource=status", "--type=merge",
                "-p", approve);
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(250)).untilAsserted(() ->
                assertThat(migration("email-lower").getStatus().phase)
                        .as(migration("email-lower").getStatus().message)
                        .isEqualTo(io.dbaoperator.api.migration.MigrationPhase.Completed));

        DatabaseMigration done = migration("email-lower");
        assertThat(done.getStatus().approvals).extracting(a -> a.step + " by " + a.approvedBy + " " + a.verified)
                .containsExactly("cutover by bob true", "contract by alice true");
        assertThat(done.getStatus().approvedByUser).as("consumed with the approval").isNull();
        try (Connection c = TestPostgres.get().superuser("cp_shop"); ResultSet rs = c.createStatement().executeQuery(
                "select count(*) filter (where email_lower = lower(email)), count(*) from customers")) {
            rs.next();
            assertThat(rs.getLong(1)).isEqualTo(rs.getLong(2)).isEqualTo(5000);
        }
        try (Connection c = TestPostgres.get().superuser("cp_shop"); ResultSet rs = c.createStatement().executeQuery(
                "select count(*) from information_schema.columns where table_name = 'customers' "
                        + "and column_name = 'legacy_code'")) {
            rs.next();
            assertThat(rs.getLong(1)).isZero();
        }
        // what the operator wrote with its ServiceAccount: Events, and the migration log owned by the migration
        assertThat(admin.v1().events().inNamespace(NS).list().getItems()).anySatisfy(e -> {
            assertThat(e.getInvolvedObject().getName()).isEqualTo("email-lower");
            assertThat(e.getReason()).isEqualTo("Completed");
        });
        var log = admin.configMaps().inNamespace(NS).withName("email-lower-migration-log").get();
        assertThat(log.getData().get("migration.log")).contains("contract#1 applied", "under contract approved by alice");
        String operatorLog = kubectl("admin", "logs", "-n", OperatorInstall.NAMESPACE, "deploy/dba-operator");
        assertThat(operatorLog).doesNotContain("is forbidden").doesNotContain("Uncaught error");
    }

    static BackupPolicy policy(String name) {
        return admin.resources(BackupPolicy.class).inNamespace(NS).withName(name).get();
    }

    static Condition awaitCondition(String policy, String type, String status, Duration atMost) {
        Condition[] found = new Condition[1];
        await().atMost(atMost).pollInterval(Duration.ofMillis(500)).ignoreExceptions().untilAsserted(() -> {
            BackupPolicy p = policy(policy);
            Condition c = p.getStatus().conditions.stream().filter(x -> x.type.equals(type)).findFirst().orElse(null);
            assertThat(c).as("%s of %s: %s", type, policy, p.getStatus().message).isNotNull();
            assertThat(c.status).as("%s of %s: %s", type, policy, c.message).isEqualTo(status);
            found[0] = c;
        });
        return found[0];
    }

    static BackupPolicy backupPolicy(String name, String extraSpec, String s3Endpoint) {
        return admin.getKubernetesSerialization().unmarshal(String.join("\n",
                "apiVersion: dbaoperator.io/v1alpha1", "kind: BackupPolicy",
                "metadata: {name: " + name + ", namespace: " + NS + "}",
                "spec:",
                "  database: {secretRef: {name: shop-db-replication}}",
                "  schedule: '0 3 * * *'",
                "  storage: {bucket: " + TestS3.BUCKET + ", prefix: cp-" + name + ", endpoint: '" + s3Endpoint
                        + "', pathStyle: true, credentials: {secretRef: {name: backup-s3}}}",
                extraSpec), BackupPolicy.class);
    }

    static void backupNow(String policy, String request) {
        admin.resources(BackupPolicy.class).inNamespace(NS).withName(policy).patch(PatchContext.of(
                PatchType.JSON_MERGE), "{\"metadata\":{\"annotations\":{\"dbaoperator.io/backup-now\":\"" + request
                        + "\"}}}");
    }

    static List<Pod> pods(String label, String value) {
        return admin.pods().inNamespace(NS).withLabel(label, value).list().getItems();
    }

    @Test
    @Order(3)
    void aBackupJobRunsOnTheNodeItsLogIsServedByTheApiServerAndItIsCollectedWithItsPolicy() throws Exception {
        admin.resource(backupPolicy("nightly", "", forPods(TestS3.get()))).create();
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(250)).ignoreExceptions().until(() ->
                "Active".equals(policy("nightly").getStatus().phase.name()));
        backupNow("nightly", "cp-1");
        Condition ok = awaitCondition("nightly", "LastBackupSucceeded", "True", A_BACKUP);
        assertThat(ok.message).contains("verified");

        // the real Job controller made the pod, kube-scheduler bound it, the node ran it and the controller
        // completed the Job from the pod's status (a moment after the agent recorded the backup in the bucket,
        // which is what the operator reads)
        String jobName = admin.batch().v1().jobs().inNamespace(NS).withLabel(BackupJobs.POLICY_LABEL, "nightly").list()
                .getItems().get(0).getMetadata().getName();
        var job = admin.batch().v1().jobs().inNamespace(NS).withName(jobName).waitUntilCondition(j -> j.getStatus()
                != null && Integer.valueOf(1).equals(j.getStatus().getSucceeded()), 60, TimeUnit.SECONDS);
        assertThat(job.getMetadata().getOwnerReferences()).singleElement().satisfies(o -> {
            assertThat(o.getName()).isEqualTo("nightly");
            assertThat(o.getBlockOwnerDeletion()).isTrue();
        });
        assertThat(job.getStatus().getSucceeded()).isEqualTo(1);
        assertThat(job.getStatus().getConditions()).anySatisfy(c -> assertThat(c.getType() + "=" + c.getStatus())
                .isEqualTo("Complete=True"));
        Pod pod = pods("job-name", job.getMetadata().getName()).get(0);
        assertThat(pod.getSpec().getNodeName()).isEqualTo(RealNode.NAME);
        assertThat(pod.getSpec().getContainers().get(0).getResources().getLimits().get("memory"))
                .as("the default limit, which the backup and its verification stayed within").hasToString("512Mi");
        assertThat(pod.getStatus().getPhase()).isEqualTo("Succeeded");
        assertThat(pod.getStatus().getContainerStatuses().get(0).getState().getTerminated().getExitCode()).isZero();
        String logs = kubectl("admin", "logs", "-n", NS, "job/" + job.getMetadata().getName());
        assertThat(logs).as("the agent's own output, served by the node through the API server")
                .contains(policy("nightly").getStatus().lastBackup.backupId).doesNotContain("cp-repl-password")
                .doesNotContain(TestS3.SECRET_ACCESS_KEY);
        var location = new S3Location(TestS3.BUCKET, "cp-nightly", java.net.URI.create(TestS3.get().endpoint()),
                "us-east-1", true, TestS3.ACCESS_KEY_ID, TestS3.SECRET_ACCESS_KEY, null, null);
        try (S3Client s3 = S3Clients.create(location)) {
            var record = new BackupCatalog(s3, location, NS, "nightly").read(policy("nightly").getStatus()
                    .lastBackup.backupId);
            assertThat(record.state).isEqualTo(io.dbaoperator.backup.catalog.BackupRecord.State.verified);
        }
    }

    @Test
    @Order(4)
    void aBackupPodThatFailsIsRetriedThenFailedByTheJobControllerAndTheOperatorSaysWhy() throws Exception {
        TestS3 s3 = TestS3.startPrivate();
        try {
            admin.resource(backupPolicy("flaky", "  jobTemplate: {backoffLimit: 1}", forPods(s3))).create();
            await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(250)).ignoreExceptions().until(() ->
                    "Active".equals(policy("flaky").getStatus().phase.name()));
            backupNow("flaky", "doomed");
            // the bucket goes away once the Job is made: every pod of it fails
            await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(100)).until(() -> !admin.batch()
                    .v1().jobs().inNamespace(NS).withLabel(BackupJobs.POLICY_LABEL, "flaky").list().getItems()
                    .isEmpty());
            s3.kill();
            String jobName = admin.batch().v1().jobs().inNamespace(NS).withLabel(BackupJobs.POLICY_LABEL, "flaky")
                    .list().getItems().get(0).getMetadata().getName();
            await().atMost(A_BACKUP).pollInterval(Duration.ofSeconds(1)).untilAsserted(() -> {
                var job = admin.batch().v1().jobs().inNamespace(NS).withName(jobName).get();
                assertThat(job.getStatus().getConditions()).as("conditions of %s", jobName)
                        .anySatisfy(c -> assertThat(c.getType() + "=" + c.getStatus() + " " + c.getReason())
                                .isEqualTo("Failed=True BackoffLimitExceeded"));
                assertThat(job.getStatus().getFailed()).isEqualTo(2);
            });
            assertThat(pods("job-name", jobName)).hasSize(2).allSatisfy(p -> {
                assertThat(p.getStatus().getPhase()).isEqualTo("Failed");
                assertThat(p.getStatus().getContainerStatuses().get(0).getState().getTerminated().getExitCode())
                        .isNotZero();
            });
            s3.restart();
            Condition failed = awaitCondition("flaky", "LastBackupSucceeded", "False", A_BACKUP);
            assertThat(failed.reason).isIn("BackupJobFailed", "BackupFailed");
            assertThat(failed.message).as("the agent's own reason from the pod's termination message")
                    .contains("Failed: ");
        } finally {
            admin.resources(BackupPolicy.class).inNamespace(NS).withName("flaky").delete();
            s3.discard();
        }
    }

    /**
     * A policy with this {@code jobTemplate} and an on-demand backup that fails in its Job: the policy's
     * LastBackupSucceeded condition, which says the Job failed. The caller deletes the policy.
     */
    static Condition aFailedBackup(String policy, String jobTemplate) throws Exception {
        admin.resource(backupPolicy(policy, "  jobTemplate: " + jobTemplate, forPods(TestS3.get()))).create();
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(250)).ignoreExceptions().until(() ->
                "Active".equals(policy(policy).getStatus().phase.name()));
        backupNow(policy, "now");
        Condition failed = awaitCondition(policy, "LastBackupSucceeded", "False", A_BACKUP);
        assertThat(failed.reason).isEqualTo("BackupJobFailed");
        return failed;
    }

    @Test
    @Order(4)
    void aBackupJobPastItsActiveDeadlineIsStoppedAndTheOperatorSaysSo() throws Exception {
        try {
            // one second: the agent's JVM alone takes longer to start in a container on this machine
            Condition failed = aFailedBackup("hasty", "{backoffLimit: 0, activeDeadlineSeconds: 1}");
            assertThat(failed.message).as("the Job controller's reason, which the operator passes on")
                    .contains("DeadlineExceeded");
            var job = admin.batch().v1().jobs().inNamespace(NS).withLabel(BackupJobs.POLICY_LABEL, "hasty").list()
                    .getItems().get(0);
            assertThat(job.getStatus().getConditions()).anySatisfy(c -> assertThat(c.getType() + "=" + c.getStatus()
                    + " " + c.getReason()).isEqualTo("Failed=True DeadlineExceeded"));
            assertThat(job.getStatus().getSucceeded()).as("no pod of it completed").isIn(null, 0);
            // its pod is stopped: deleted by the Job controller, its container killed by the kubelet
            await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(500)).until(() ->
                    pods("job-name", job.getMetadata().getName()).stream().allMatch(p -> p.getStatus()
                            .getContainerStatuses() == null || p.getStatus().getContainerStatuses().stream()
                                    .allMatch(cs -> cs.getState().getRunning() == null)));
        } finally {
            admin.resources(BackupPolicy.class).inNamespace(NS).withName("hasty").delete();
        }
    }

    @Test
    @Order(4)
    void anAgentOverItsMemoryLimitIsOomKilledAndTheOperatorSaysSoAndWhatToRaise() throws Exception {
        try {
            Condition failed = aFailedBackup("tight", "{backoffLimit: 0, resources: {limits: {memory: 32Mi}}}");
            assertThat(failed.message).contains("OOMKilled: container backup of pod tight-")
                    .contains("went over its memory limit (32Mi); raise spec.jobTemplate.resources.limits.memory");
        } finally {
            admin.resources(BackupPolicy.class).inNamespace(NS).withName("tight").delete();
        }
    }

    @Test
    @Order(5)
    void theWalArchiverIsRestartedWhenItsProcessDiesAndReplacedByItsReplicaSetWhenItsPodGoes() throws Exception {
        admin.resource(backupPolicy("archived", "  walArchiving: {enabled: true}", forPods(TestS3.get())))
                .create();
        String deployment = WalArchiverDeployment.name("archived");
        await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(500)).ignoreExceptions().until(() ->
                Integer.valueOf(1).equals(admin.apps().deployments().inNamespace(NS).withName(deployment).get()
                        .getStatus().getAvailableReplicas()));
        Condition running = awaitCondition("archived", "WalArchiving", "True", Duration.ofSeconds(120));
        assertThat(running.reason).isEqualTo("WalArchivingRunning");
        Pod first = pods("app.kubernetes.io/component", WalArchiverDeployment.COMPONENT).get(0);

        // the process dies: the node restarts the container (restartPolicy Always), the pod stays
        assertThat(node.killContainer(NS, first.getMetadata().getName())).isTrue();
        await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(500)).untilAsserted(() -> {
            Pod p = admin.pods().inNamespace(NS).withName(first.getMetadata().getName()).get();
            var cs = p.getStatus().getContainerStatuses().get(0);
            assertThat(cs.getRestartCount()).isEqualTo(1);
            assertThat(cs.getLastState().getTerminated().getExitCode()).isEqualTo(137);
            assertThat(cs.getState().getRunning()).isNotNull();
        });

        // the pod goes: its ReplicaSet (the real controller) makes another, which the node runs
        admin.pods().inNamespace(NS).withName(first.getMetadata().getName()).delete();
        await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(500)).untilAsserted(() -> {
            List<Pod> now = pods("app.kubernetes.io/component", WalArchiverDeployment.COMPONENT);
            assertThat(now).singleElement().satisfies(p -> {
                assertThat(p.getMetadata().getUid()).isNotEqualTo(first.getMetadata().getUid());
                assertThat(p.getStatus().getPhase()).isEqualTo("Running");
                assertThat(p.getMetadata().getOwnerReferences().get(0).getKind()).isEqualTo("ReplicaSet");
            });
            assertThat(admin.apps().deployments().inNamespace(NS).withName(deployment).get().getStatus()
                    .getAvailableReplicas()).isEqualTo(1);
        });
        TestPostgres.get().exec("cp_shop", "select pg_switch_wal()");
        awaitCondition("archived", "WalArchiving", "True", Duration.ofSeconds(120));
        admin.resources(BackupPolicy.class).inNamespace(NS).withName("archived").delete();
        await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(500)).until(() ->
                pods("app.kubernetes.io/component", WalArchiverDeployment.COMPONENT).isEmpty());
    }

    @Test
    @Order(6)
    void aRestoredInstanceIsServedByItsStatefulSetPodAndCollectedWithItsRestore() throws Exception {
        BackupRestore r = admin.getKubernetesSerialization().unmarshal(String.join("\n",
                "apiVersion: dbaoperator.io/v1alpha1", "kind: BackupRestore",
                "metadata: {name: shop-restore, namespace: " + NS + "}",
                "spec:",
                "  backupPolicyRef: {name: nightly}",
                // the image this machine built (it has the server): the default, postgres:15, is in no registry here
                "  target: {newInstance: {name: shop-restored, image: '" + image + "'}}",
                "  checks: ['select count(*) = 5000 from customers']"), BackupRestore.class);
        admin.resource(r).create();
        await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(500)).ignoreExceptions().until(() ->
                restore("shop-restore").getStatus().phase == RestorePhase.AwaitingApproval);
        kubectl("alice", "patch", "bkr", "shop-restore", "-n", NS, "--subresource=status", "--type=merge",
                "--field-manager=alice", "-p", "{\"status\":{\"approved\":true}}");
        await().atMost(A_BACKUP).pollInterval(Duration.ofSeconds(1)).until(() -> {
            var st = restore("shop-restore").getStatus();
            if (st.phase == RestorePhase.Failed) {
                throw new IllegalStateException("the restore failed: " + st.message);
            }
            return st.phase == RestorePhase.Ready;
        });
        assertThat(restore("shop-restore").getStatus().approvals).extracting(a -> a.approvedBy + " " + a.verified)
                .containsExactly("alice true");

        // the StatefulSet's pod runs PostgreSQL on the restored volume: connect to it and read the rows
        await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(500)).ignoreExceptions().until(() ->
                Integer.valueOf(1).equals(admin.apps().statefulSets().inNamespace(NS).withName("shop-restored").get()
                        .getStatus().getReadyReplicas()));
        assertThat(admin.batch().v1().jobs().inNamespace(NS).withLabel(RestoreJobs.RESTORE_LABEL, "shop-restore")
                .list().getItems()).singleElement().satisfies(j -> assertThat(j.getSpec().getTemplate().getSpec()
                        .getContainers().get(0).getResources().getLimits().get("memory")).as("the default limit, "
                                + "which recovery and pg_amcheck stayed within").hasToString("1Gi"));
        Pod served = admin.pods().inNamespace(NS).withName("shop-restored-0").get();
        assertThat(served.getSpec().getNodeName()).isEqualTo(RealNode.NAME);
        // PostgreSQL runs as postgres (999) and owns its files on the volume the kubelet gave to fsGroup 999
        assertThat(kubectl("admin", "exec", "-n", NS, "shop-restored-0", "--", "sh", "-c",
                "id -u; id -G; stat -c '%u:%g' \"$PGDATA\"/PG_VERSION; grep '^Uid:' /proc/1/status"))
                .as("kubectl exec through the API server to the kubelet: the shell, the files, the server (PID 1)")
                .startsWith("999\n").contains("999:999").containsPattern("Uid:\\s+999\\s");
        Path volume = node.claimDir(NS, RestoreJobs.claimName("shop-restored"));
        assertThat(volume).isNotNull();
        assertThat(Files.getAttribute(volume, "unix:gid")).as("the volume's group, set by the kubelet (fsGroup)")
                .isEqualTo(999);
        assertThat(Files.getAttribute(volume.resolve("pgdata"), "unix:uid")).as("written by the restore as 999")
                .isEqualTo(999);
        // its Service routes to it (kube-proxy's rules): connect to the Service's address and read the rows
        var secret = io.dbaoperator.kube.SecretReader.decode(admin.secrets().inNamespace(NS)
                .withName("shop-restored").get());
        String serviceIp = admin.services().inNamespace(NS).withName("shop-restored").get().getSpec().getClusterIP();
        assertThat(serviceIp).startsWith("10.96.0.");
        String url = "jdbc:postgresql://" + serviceIp + ":5432/" + secret.get("dbname");
        try (Connection c = java.sql.DriverManager.getConnection(url, secret.get("user"), secret.get("password"));
                ResultSet rs = c.createStatement().executeQuery("select count(*), pg_is_in_recovery() from customers")) {
            rs.next();
            assertThat(rs.getLong(1)).isEqualTo(5000);
            assertThat(rs.getBoolean(2)).isFalse();
        }

        // deleting the restore: the garbage collector removes the StatefulSet, its pod, the Service, the Secret and
        // the claim; the provisioner then removes the volume
        admin.resources(BackupRestore.class).inNamespace(NS).withName("shop-restore").delete();
        await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(500)).untilAsserted(() -> {
            assertThat(admin.apps().statefulSets().inNamespace(NS).withName("shop-restored").get()).isNull();
            assertThat(admin.pods().inNamespace(NS).withName("shop-restored-0").get()).isNull();
            assertThat(admin.services().inNamespace(NS).withName("shop-restored").get()).isNull();
            assertThat(admin.secrets().inNamespace(NS).withName("shop-restored").get()).isNull();
            assertThat(admin.persistentVolumeClaims().inNamespace(NS)
                    .withName(RestoreJobs.claimName("shop-restored")).get()).isNull();
            assertThat(volume).doesNotExist();
        });
        // and the policy: its Jobs and their pods go with it
        admin.resources(BackupPolicy.class).inNamespace(NS).withName("nightly").delete();
        await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(500)).until(() -> admin.batch().v1()
                .jobs().inNamespace(NS).withLabel(BackupJobs.POLICY_LABEL, "nightly").list().getItems().isEmpty()
                && pods(BackupJobs.POLICY_LABEL, "nightly").isEmpty() && policy("nightly") == null);
    }

    static boolean can(KubernetesClient who, String group, String resource, String subresource, String verb) {
        return who.authorization().v1().selfSubjectAccessReview().create(new SelfSubjectAccessReviewBuilder()
                .withNewSpec().withNewResourceAttributes().withGroup(group).withResource(resource)
                .withSubresource(subresource).withVerb(verb).withNamespace(NS).endResourceAttributes().endSpec()
                .build()).getStatus().getAllowed();
    }

    @Test
    @Order(7)
    void theApiServerHoldsEachIdentityToDeploysRoles() throws Exception {
        admin.resource(new RoleBindingBuilder().withNewMetadata().withName("viewers").withNamespace(NS).endMetadata()
                .withNewRoleRef().withApiGroup("rbac.authorization.k8s.io").withKind("ClusterRole")
                .withName("dba-operator-viewer").endRoleRef().addNewSubject().withApiGroup("rbac.authorization.k8s.io")
                .withKind("User").withName("victor").endSubject().build()).create();
        String token = admin.serviceAccounts().inNamespace(OperatorInstall.NAMESPACE).withName("dba-operator")
                .tokenRequest(new TokenRequestBuilder().withNewSpec().withExpirationSeconds(600L).endSpec().build())
                .getStatus().getToken();
        try (KubernetesClient alice = cp.user("alice", "dba-leads"); KubernetesClient victor = cp.user("victor");
                KubernetesClient operatorSa = cp.withToken(token)) {
            for (String kind : List.of("databasemigrations", "backuprestores", "disposaljobs", "querytuningrequests")) {
                // the approver: approve (patch status) and read; never change, create or delete what is approved
                assertThat(can(alice, "dbaoperator.io", kind, "status", "patch")).as("alice approves %s", kind).isTrue();
                assertThat(can(alice, "dbaoperator.io", kind, "", "get")).isTrue();
                for (String verb : List.of("patch", "update", "create", "delete")) {
                    assertThat(can(alice, "dbaoperator.io", kind, "", verb)).as("alice %s %s", verb, kind).isFalse();
                }
                // the viewer: read, never approve
                assertThat(can(victor, "dbaoperator.io", kind, "", "list")).as("victor lists %s", kind).isTrue();
                assertThat(can(victor, "dbaoperator.io", kind, "status", "patch")).as("victor approves %s", kind)
                        .isFalse();
            }
            assertThat(victor.resources(DatabaseMigration.class).inNamespace(NS).list().getItems()).isNotEmpty();
            assertThatThrownBy(() -> victor.resources(DatabaseMigration.class).inNamespace(NS).withName("email-lower")
                    .subresource("status").patch(PatchContext.of(PatchType.JSON_MERGE),
                            "{\"status\":{\"approved\":true}}"))
                    .isInstanceOf(KubernetesClientException.class)
                    .satisfies(e -> assertThat(((KubernetesClientException) e).getCode()).isEqualTo(403));
            // the operator: what deploy/ grants and nothing else
            assertThat(can(operatorSa, "", "secrets", "", "get")).isTrue();
            assertThat(can(operatorSa, "", "secrets", "", "list")).as("Secrets are read by name, never listed")
                    .isFalse();
            assertThat(can(operatorSa, "", "secrets", "", "watch")).isFalse();
            assertThat(can(operatorSa, "apps", "statefulsets", "", "patch")).isFalse();
            assertThat(can(operatorSa, "", "pods", "", "delete")).isFalse();
            assertThat(can(operatorSa, "", "namespaces", "", "delete")).isFalse();
            // a namespace's default maintenance window: its Namespace is read, never listed or changed
            assertThat(operatorSa.namespaces().withName(NS).get()).isNotNull();
            assertThat(can(operatorSa, "", "namespaces", "", "list")).isFalse();
            assertThat(can(operatorSa, "", "namespaces", "", "patch")).isFalse();
            assertThat(can(operatorSa, "rbac.authorization.k8s.io", "rolebindings", "", "create")).isFalse();
            assertThat(can(operatorSa, "dbaoperator.io", "databasemigrations", "", "delete")).isFalse();
        }
    }

    @Test
    @Order(8)
    void deployNamespacedsRoleLetsTheOperatorReadItsOwnNamespaceOnly() throws Exception {
        // deploy/namespaced/'s Role, made for namespace "apps", bound in "shop" to a user standing in for the
        // operator: a Role's get on namespaces covers the Namespace object it lives in (the API server files a
        // request for namespace X under namespace X), which is how namespaced mode reads a window annotation
        String role = Files.readString(Path.of("deploy/namespaced/role.yaml")).replace("namespace: apps",
                "namespace: " + NS).replace("name: dba-operator\n", "name: dba-operator-namespaced\n");
        Path file = WORK.resolve("namespaced-role.yaml");
        Files.writeString(file, role);
        try {
            kubectl("admin", "apply", "-f", file.toString());
        } finally {
            Files.deleteIfExists(file);
        }
        admin.resource(new RoleBindingBuilder().withNewMetadata().withName("nora").withNamespace(NS).endMetadata()
                .withNewRoleRef().withApiGroup("rbac.authorization.k8s.io").withKind("Role")
                .withName("dba-operator-namespaced").endRoleRef().addNewSubject()
                .withApiGroup("rbac.authorization.k8s.io").withKind("User").withName("nora").endSubject().build())
                .create();
        try (KubernetesClient nora = cp.user("nora")) {
            await().atMost(Duration.ofSeconds(10)).ignoreExceptions().untilAsserted(() -> assertThat(nora.namespaces()
                    .withName(NS).get().getMetadata().getName()).isEqualTo(NS));
            assertThatThrownBy(() -> nora.namespaces().withName(OperatorInstall.NAMESPACE).get())
                    .isInstanceOf(KubernetesClientException.class)
                    .satisfies(e -> assertThat(((KubernetesClientException) e).getCode()).isEqualTo(403));
        }
    }

    static BackupRestore restore(String name) {
        return admin.resources(BackupRestore.class).inNamespace(NS).withName(name).get();
    }
}
