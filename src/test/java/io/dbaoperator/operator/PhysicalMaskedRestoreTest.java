package io.dbaoperator.operator;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import org.junit.jupiter.api.AfterAll;
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
import io.dbaoperator.api.common.LocalRef;
import io.dbaoperator.api.common.SecretRef;
import io.dbaoperator.api.disposal.DisposalJobSpec.ColumnStrategy.Strategy;
import io.dbaoperator.backup.BackupPolicyReconciler;
import io.dbaoperator.backup.RestoreJobs;
import io.dbaoperator.harness.OperatorHarness;
import io.dbaoperator.harness.OperatorTier;
import io.dbaoperator.harness.TestKubernetes;
import io.dbaoperator.harness.TestPostgres;
import io.dbaoperator.operator.Fixtures.Standard;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;

/**
 * A physical restore masked (issue 36): a base backup of the whole cluster recovered in the restore Job, where,
 * before the instance that serves it ever starts, the policy's database is masked and checked and every other
 * database (unmasked, and no rule's) is dropped, and the recovery's WAL (production's pages as they were) is removed;
 * the instance then serves the masked copy, compared with production row by row.
 */
@OperatorTier
@QuarkusTest
@QuarkusTestResource(OperatorHarness.class)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class PhysicalMaskedRestoreTest {

    static final String NS = "physical-masked";
    static final String POLICY = "pm-base";
    static final String KEY = "a-physical-masking-key-32-chars!";
    static KubernetesClient client;

    @BeforeAll
    static void setUp() {
        client = Fixtures.namespace(NS, Standard.BACKUP_S3);
        TestPostgres pg = TestPostgres.get();
        pg.createDatabase("pm_prod", "app", Fixtures.APP_PASSWORD);
        pg.exec("pm_prod", "drop table if exists patients",
                "create table patients (id int primary key, email text not null, full_name text not null, "
                        + "ward text not null)", "alter table patients owner to app",
                "insert into patients select g, 'patient' || g || '@clinic.example', 'Patient ' || g, "
                        + "(array['a','b','c'])[1 + g % 3] from generate_series(1, 250) g");
        Map<String, String> keys = new HashMap<>(Fixtures.dbKeys("pm_prod", "app_replication",
                Fixtures.REPLICATION_PASSWORD));
        Fixtures.secret(client, NS, "pm-replication", keys);
        Fixtures.secret(client, NS, "mask-key", Map.of("key", KEY));

        Fixtures.backedUpPolicy(client, NS, POLICY, "pm-replication", BackupPolicySpec.Method.physical);
    }

    @AfterAll
    static void tearDown() {
        TestPostgres.get().exec("postgres", "drop database if exists pm_prod with (force)",
                "drop table if exists public.pm_contacts");
    }

    static BackupRestore restore(String name, String instance) {
        BackupRestore r = new BackupRestore();
        r.getMetadata().setName(name);
        r.getMetadata().setNamespace(NS);
        BackupRestoreSpec spec = new BackupRestoreSpec();
        spec.backupPolicyRef = new LocalRef(POLICY);
        spec.target = new BackupRestoreSpec.RestoreTarget();
        spec.target.newInstance = new BackupRestoreSpec.NewInstance();
        spec.target.newInstance.name = instance;
        spec.masking = new BackupRestoreSpec.Masking();
        spec.masking.rules = List.of(StagingRefreshTest.rule("patients", Map.of("email", Strategy.Fake,
                "full_name", Strategy.Fake)));
        spec.masking.keySecretRef = new SecretRef("mask-key");
        spec.checks = List.of("select count(*) = 250 from patients");
        r.setSpec(spec);
        return client.resource(r).create();
    }

    @Test
    @Order(1)
    void theMaskedDatabaseIsServedWithNoOriginalLeft_TheOtherDatabasesAreDropped_AndTheRecoverysWalIsGone()
            throws Exception {
        restore("masked-base", "pm-masked");

        BackupRestoreStatus planned = OperatorAssertions.awaitPhase(BackupRestore.class, NS, "masked-base",
                RestorePhase.AwaitingApproval, Duration.ofSeconds(60));
        assertThat(planned.approvalRequest.reason).contains("database pm_prod masked first by 1 rule(s) over 2 "
                + "column(s) and every other database dropped, before the instance starts");
        OperatorAssertions.approve(BackupRestore.class, NS, "masked-base", null);
        BackupRestoreStatus ready = OperatorAssertions.awaitPhase(BackupRestore.class, NS, "masked-base",
                RestorePhase.Ready, Duration.ofSeconds(300));
        assertThat(ready.masking.originalsChecked).isPositive();
        assertThat(ready.masking.originalsFound).isZero();
        assertThat(ready.masking.uncovered).isEmpty();
        assertThat(ready.masking.tables).anySatisfy(t -> assertThat(t).startsWith("patients: 250 rows"))
                .anySatisfy(t -> assertThat(t).isEqualTo("database app: dropped (no rule masks it)"));

        Path pgdata = TestKubernetes.get().node().claimDir(NS, RestoreJobs.claimName("pm-masked")).resolve("pgdata");
        try (Stream<Path> wal = Files.list(pgdata.resolve("pg_wal"))) {
            assertThat(wal.filter(f -> f.getFileName().toString().matches("[0-9A-F]{24}")).count())
                    .as("the recovery's WAL is gone: the shutdown checkpoint's segment and what the instance wrote "
                            + "since").isLessThanOrEqualTo(2);
        }
        var secret = io.dbaoperator.kube.SecretReader.decode(client.secrets().inNamespace(NS).withName("pm-masked")
                .get());
        String podIp = client.pods().inNamespace(NS).withName("pm-masked-0").get().getStatus().getPodIP();
        Map<Integer, String> prodEmail;
        Map<Integer, String> prodName;
        try (Connection prod = TestPostgres.get().superuser("pm_prod")) {
            prodEmail = column(prod, "email");
            prodName = column(prod, "full_name");
        }
        try (Connection c = java.sql.DriverManager.getConnection("jdbc:postgresql://" + podIp + ":5432/pm_prod",
                secret.get("user"), secret.get("password"))) {
            Map<Integer, String> email = column(c, "email");
            Map<Integer, String> name = column(c, "full_name");
            assertThat(email).hasSize(250);
            prodEmail.forEach((id, v) -> assertThat(email.get(id)).as("email of " + id).isNotEqualTo(v));
            prodName.forEach((id, v) -> assertThat(name.get(id)).as("name of " + id).isNotEqualTo(v));
            try (ResultSet rs = c.createStatement().executeQuery("select string_agg(datname, ',' order by datname) "
                    + "from pg_database where datallowconn")) {
                rs.next();
                assertThat(rs.getString(1)).isEqualTo("pm_prod,postgres,template1");
            }
            try (ResultSet rs = c.createStatement().executeQuery("select count(*) from pg_roles "
                    + "where rolname like 'dba_masking_%'")) {
                rs.next();
                assertThat(rs.getLong(1)).as("the masking's own role is gone").isZero();
            }
        }
    }

    @Test
    @Order(2)
    void personalDataInThePostgresDatabaseWhichTheCopyKeepsRefusesIt() throws Exception {
        TestPostgres.get().exec("postgres", "drop table if exists public.pm_contacts",
                "create table public.pm_contacts (id int primary key, email text not null)",
                "insert into public.pm_contacts select g, 'contact' || g || '@mail.example' "
                        + "from generate_series(1, 50) g");
        String before = OperatorAssertions.get(BackupPolicy.class, NS, POLICY).getStatus().lastBackup.backupId;
        client.resources(BackupPolicy.class).inNamespace(NS).withName(POLICY).edit(p -> {
            p.getMetadata().getAnnotations().put(BackupPolicyReconciler.BACKUP_NOW, "second");
            return p;
        });
        org.awaitility.Awaitility.await().atMost(OperatorAssertions.A_BACKUP).until(() -> {
            var last = OperatorAssertions.get(BackupPolicy.class, NS, POLICY).getStatus().lastBackup;
            return last != null && !last.backupId.equals(before) && Boolean.TRUE.equals(last.verified);
        });
        restore("postgres-holds-pii", "pm-refused");
        OperatorAssertions.awaitPhase(BackupRestore.class, NS, "postgres-holds-pii", RestorePhase.AwaitingApproval,
                Duration.ofSeconds(60));
        OperatorAssertions.approve(BackupRestore.class, NS, "postgres-holds-pii", null);
        BackupRestoreStatus failed = OperatorAssertions.awaitPhase(BackupRestore.class, NS, "postgres-holds-pii",
                RestorePhase.Failed, Duration.ofSeconds(300));
        assertThat(failed.message).contains("database postgres", "public.pm_contacts.email (Email)",
                "the copy is not served").doesNotContain("@mail.example");
        assertThat(failed.conditions).anySatisfy(c -> assertThat(c.reason).isEqualTo("UnmaskedPersonalData"));
        assertThat(client.apps().statefulSets().inNamespace(NS).withName("pm-refused").get()).as("never served")
                .isNull();
    }

    static Map<Integer, String> column(Connection c, String column) throws Exception {
        Map<Integer, String> out = new HashMap<>();
        try (ResultSet rs = c.createStatement().executeQuery("select id, " + column + " from patients")) {
            while (rs.next()) {
                out.put(rs.getInt(1), rs.getString(2));
            }
        }
        return out;
    }
}
