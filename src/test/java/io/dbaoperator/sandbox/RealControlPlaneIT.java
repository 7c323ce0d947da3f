package io.dbaoperator.sandbox;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

import io.dbaoperator.api.backup.BackupPolicy;
import io.dbaoperator.api.migration.DatabaseMigration;
import io.dbaoperator.backup.BackupJobs;
import io.dbaoperator.harness.OperatorProcess;
import io.dbaoperator.harness.TestControlPlane;
import io.dbaoperator.harness.TestPostgres;
import io.dbaoperator.harness.TestS3;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.api.model.authentication.TokenRequestBuilder;
import io.fabric8.kubernetes.api.model.rbac.RoleBindingBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;

/**
 * The packaged operator on a real Kubernetes control plane (kube-apiserver with RBAC, etcd, kube-controller-manager;
 * {@link TestControlPlane}), installed as a platform team installs it: {@code kubectl apply -k deploy/} (the CRDs,
 * the least-privilege RBAC, the approver and viewer roles), the operator authenticated as deploy/'s ServiceAccount
 * with a token from the TokenRequest API, people as users with client certificates. It checks what the fabric8 test
 * server cannot: that the API server accepts the CRDs (structural schemas, CEL cost), that deploy/'s RBAC is enough
 * for the operator to start and to work, that the approver role can approve and do nothing else, and that the real
 * Job and garbage-collector controllers treat the operator's Jobs as the design says.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class RealControlPlaneIT {

    static final String NS = "shop";
    static TestControlPlane cp;
    static KubernetesClient admin;
    static OperatorProcess operator;
    static final Path WORK = Path.of("target/real-control-plane");

    @BeforeAll
    static void install() throws Exception {
        cp = TestControlPlane.get();
        admin = cp.admin();
        Files.createDirectories(WORK);
        kubectl("admin", "apply", "-k", "deploy/");
        for (CustomResourceDefinition crd : admin.apiextensions().v1().customResourceDefinitions().list().getItems()) {
            admin.apiextensions().v1().customResourceDefinitions().withName(crd.getMetadata().getName())
                    .waitUntilCondition(c -> c.getStatus() != null && c.getStatus().getConditions().stream()
                            .anyMatch(x -> "Established".equals(x.getType()) && "True".equals(x.getStatus())),
                            60, java.util.concurrent.TimeUnit.SECONDS);
        }
        // no node runs the operator's own Deployment here: the operator runs beside the control plane instead,
        // with the identity that Deployment would give it
        admin.apps().deployments().inNamespace("dba-operator").withName("dba-operator").scale(0);
        admin.resource(new NamespaceBuilder().withNewMetadata().withName(NS).endMetadata().build()).create();

        TestPostgres pg = TestPostgres.get();
        pg.createDatabase("cp_shop", "app", "cp-app-password");
        pg.exec("cp_shop", "drop table if exists customers",
                "create table customers (id bigint primary key, email text not null, legacy_code text)",
                "alter table customers owner to app",
                "insert into customers select g, 'C' || g || '@Example.com', 'x' from generate_series(1, 5000) g");
        pg.exec("postgres", "do $$ begin if not exists (select from pg_roles where rolname = 'cp_replication') then "
                + "create role cp_replication login replication password 'cp-repl-password'; end if; end $$");
        secret("shop-db", Map.of("host", pg.host(), "port", String.valueOf(pg.port()), "dbname", "cp_shop",
                "user", "app", "password", "cp-app-password"));
        secret("shop-db-replication", Map.of("host", pg.host(), "port", String.valueOf(pg.port()), "dbname",
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

        String token = admin.serviceAccounts().inNamespace("dba-operator").withName("dba-operator")
                .tokenRequest(new TokenRequestBuilder().withNewSpec().withExpirationSeconds(7200L).endSpec().build())
                .getStatus().getToken();
        Map<String, String> env = new HashMap<>();
        env.put("QUARKUS_KUBERNETES_CLIENT_API_SERVER_URL", cp.url());
        env.put("QUARKUS_KUBERNETES_CLIENT_CA_CERT_FILE", cp.caFile());
        env.put("QUARKUS_KUBERNETES_CLIENT_TOKEN", token);
        env.put("QUARKUS_OPERATOR_SDK_NAMESPACES", "JOSDK_ALL_NAMESPACES");
        env.put("POD_NAMESPACE", "dba-operator"); // the leader-election Lease's namespace, as the Downward API sets
        env.put("DBA_AGENT_IMAGE", "dba-operator:test");
        Files.deleteIfExists(WORK.resolve("operator.log"));
        operator = OperatorProcess.start(env, List.of("-Xmx512m", "-XX:TieredStopAtLevel=1"),
                WORK.resolve("operator.log"));
    }

    @AfterAll
    static void uninstall() {
        if (operator != null) {
            operator.close();
        }
        TestControlPlane.shutdown();
    }

    static void secret(String name, Map<String, String> data) {
        admin.resource(new SecretBuilder().withNewMetadata().withName(name).withNamespace(NS).endMetadata()
                .withStringData(data).build()).create();
    }

    /** The real kubectl, as {@code user}. */
    static String kubectl(String user, String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of("kubectl", "--kubeconfig", cp.kubeconfigFile(user).toString()));
        command.addAll(List.of(args));
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.waitFor() != 0) {
            throw new IllegalStateException("kubectl " + String.join(" ", args) + " as " + user + ": " + out);
        }
        return out;
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
    @Order(1)
    void theExamplesAreAcceptedAndAMigrationsSpecIsImmutable() throws Exception {
        for (String example : List.of("backuppolicy", "backuprestore", "databasemigration", "disposaljob",
                "querytuningrequest")) {
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
        admin.resources(DatabaseMigration.class).inNamespace(NS).withName("frozen").delete();
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
        kubectl("alice", "patch", "dbm", "email-lower", "-n", NS, "--subresource=status", "--type=merge",
                "--field-manager=alice", "-p", approve);
        awaitRequest("email-lower", "contract");
        kubectl("alice", "patch", "dbm", "email-lower", "-n", NS, "--subresource=status", "--type=merge",
                "--field-manager=alice", "-p", approve);
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(250)).untilAsserted(() ->
                assertThat(migration("email-lower").getStatus().phase)
                        .as(migration("email-lower").getStatus().message)
                        .isEqualTo(io.dbaoperator.api.migration.MigrationPhase.Completed));

        DatabaseMigration done = migration("email-lower");
        assertThat(done.getStatus().approvals).extracting(a -> a.step + " by " + a.approvedBy)
                .containsExactly("cutover by alice", "contract by alice");
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
        String operatorLog = Files.readString(WORK.resolve("operator.log"));
        assertThat(operatorLog).doesNotContain("is forbidden").doesNotContain("Uncaught error");
    }

    @Test
    @Order(3)
    void aBackupJobIsMadeByTheOperatorRunByTheJobControllerAndCollectedWithItsPolicy() throws Exception {
        BackupPolicy p = admin.getKubernetesSerialization().unmarshal(String.join("\n",
                "apiVersion: dbaoperator.io/v1alpha1", "kind: BackupPolicy",
                "metadata: {name: nightly, namespace: " + NS + "}",
                "spec:",
                "  database: {secretRef: {name: shop-db-replication}}",
                "  schedule: '0 3 * * *'",
                "  storage: {bucket: " + TestS3.BUCKET + ", prefix: cp, endpoint: '" + TestS3.get().endpoint()
                        + "', pathStyle: true, credentials: {secretRef: {name: backup-s3}}}"), BackupPolicy.class);
        admin.resource(p).create();
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(250)).ignoreExceptions().until(() ->
                "Active".equals(admin.resources(BackupPolicy.class).inNamespace(NS).withName("nightly").get()
                        .getStatus().phase.name()));
        admin.resources(BackupPolicy.class).inNamespace(NS).withName("nightly").patch(PatchContext.of(
                PatchType.JSON_MERGE), "{\"metadata\":{\"annotations\":{\"dbaoperator.io/backup-now\":\"cp-1\"}}}");
        // the operator creates the Job; the real Job controller makes its Pod (no node runs it here)
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(250)).until(() -> !admin.pods()
                .inNamespace(NS).withLabel(BackupJobs.POLICY_LABEL, "nightly").list().getItems().isEmpty());
        var job = admin.batch().v1().jobs().inNamespace(NS).withLabel(BackupJobs.POLICY_LABEL, "nightly").list()
                .getItems().get(0);
        assertThat(job.getMetadata().getOwnerReferences()).singleElement().satisfies(o -> {
            assertThat(o.getName()).isEqualTo("nightly");
            assertThat(o.getBlockOwnerDeletion()).isTrue();
        });
        assertThat(job.getSpec().getTemplate().getSpec().getRestartPolicy()).isEqualTo("Never");
        // deleting the policy: the garbage collector removes its Job and the Job's Pod
        admin.resources(BackupPolicy.class).inNamespace(NS).withName("nightly").delete();
        await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(500)).until(() -> admin.batch().v1()
                .jobs().inNamespace(NS).withLabel(BackupJobs.POLICY_LABEL, "nightly").list().getItems().isEmpty()
                && admin.resources(BackupPolicy.class).inNamespace(NS).withName("nightly").get() == null);
    }
}
