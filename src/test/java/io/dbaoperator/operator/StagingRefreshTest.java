package io.dbaoperator.operator;

import static io.dbaoperator.operator.OperatorAssertions.A_BACKUP;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.ResultSet;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

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
import io.dbaoperator.harness.OperatorHarness;
import io.dbaoperator.harness.OperatorTier;
import io.dbaoperator.harness.TestPostgres;
import io.dbaoperator.harness.TestS3;
import io.dbaoperator.operator.Fixtures.Standard;
import io.dbaoperator.storage.S3Clients;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.GetObjectRequest;

/**
 * A masked staging copy kept fresh (issue 36, part 4) with the real pg_dump, pg_restore, PostgreSQL and S3 server
 * and the agent in a Job of the operator's image on the real node: once approved, a refresh restores the newest
 * verified dump into a database of its own, masks and checks it, and only then points the staging Secret at it; a
 * second refresh (asked for by annotation, after a new backup) serves the new data with the same masked values
 * and drops the first copy; a refresh whose copy holds an e-mail column no rule masks is refused and the previous
 * copy keeps serving; a staging Secret that is someone else's is refused before the approval.
 */
@OperatorTier
@QuarkusTest
@QuarkusTestResource(OperatorHarness.class)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class StagingRefreshTest {

    static final String NS = "staging-refresh";
    static final String POLICY = "sr-dumps";
    static final String SOURCE_PASSWORD = "Sr-Source-Pw-41b7";
    static final String RESTORER_PASSWORD = "Sr-Restorer-Pw-0e9a";
    static final String KEY = "a-refresh-key-of-32-characters-zz";
    static final String SECRET = "app-staging";
    static KubernetesClient client;

    @BeforeAll
    static void setUp() {
        client = Fixtures.namespace(NS, Standard.BACKUP_S3);
        TestPostgres pg = TestPostgres.get();
        tearDown();
        pg.createDatabase("sr_prod", "sr_prod", SOURCE_PASSWORD);
        pg.exec("sr_prod", "drop table if exists orders, customers",
                "create table customers (id int primary key, email text not null unique, full_name text not null)",
                "create table orders (id int primary key, customer_email text not null, total int not null)",
                "alter table customers owner to sr_prod", "alter table orders owner to sr_prod",
                "insert into customers select g, 'client' || g || '@shop.example', 'Client ' || g "
                        + "from generate_series(1, 200) g",
                "insert into orders select g, 'client' || (1 + g % 200) || '@shop.example', g % 70 "
                        + "from generate_series(1, 400) g");
        pg.exec("postgres", "do $$ begin if not exists (select from pg_roles where rolname = 'sr_staging') then "
                + "create role sr_staging login createdb; end if; end $$",
                "alter role sr_staging password '" + RESTORER_PASSWORD + "'");
        Fixtures.secret(client, NS, "prod-db", Fixtures.dbKeys("sr_prod", "sr_prod", SOURCE_PASSWORD));
        Fixtures.secret(client, NS, "staging-instance", Fixtures.dbKeys("postgres", "sr_staging", RESTORER_PASSWORD));
        Fixtures.secret(client, NS, "mask-key", Map.of("key", KEY));
        Fixtures.secret(client, NS, "someone-elses", Map.of("dbname", "theirs"));

        Fixtures.backedUpPolicy(client, NS, POLICY, "prod-db", BackupPolicySpec.Method.logical);
    }

    @AfterAll
    static void tearDown() {
        TestPostgres pg = TestPostgres.get();
        for (String db : List.of("sr_stage_r1", "sr_stage_r2", "sr_stage_r3", "sr_other_r1", "sr_prod")) {
            pg.exec("postgres", "drop database if exists " + db + " with (force)");
        }
    }

    static BackupRestoreSpec.MaskingRule rule(String table, Map<String, Strategy> columns) {
        BackupRestoreSpec.MaskingRule r = new BackupRestoreSpec.MaskingRule();
        r.table = table;
        r.columns = new LinkedHashMap<>();
        columns.forEach((c, s) -> r.columns.put(c, MaskedRestoreTest.strategy(s)));
        return r;
    }

    static BackupRestore refresh(String name, String database, String secret) {
        BackupRestore r = new BackupRestore();
        r.getMetadata().setName(name);
        r.getMetadata().setNamespace(NS);
        BackupRestoreSpec spec = new BackupRestoreSpec();
        spec.backupPolicyRef = new LocalRef(POLICY);
        spec.target = new BackupRestoreSpec.RestoreTarget();
        spec.target.database = new BackupRestoreSpec.DatabaseTarget();
        spec.target.database.databaseRef = Fixtures.db("staging-instance");
        spec.target.database.name = database;
        spec.masking = new BackupRestoreSpec.Masking();
        spec.masking.rules = List.of(rule("customers", Map.of("email", Strategy.Fake, "full_name", Strategy.Fake)),
                rule("orders", Map.of("customer_email", Strategy.Fake)));
        spec.masking.keySecretRef = new SecretRef("mask-key");
        spec.checks = List.of("select count(*) >= 200 from customers");
        spec.refresh = new BackupRestoreSpec.Refresh();
        spec.refresh.schedule = "0 3 1 1 *";
        spec.refresh.stagingSecretRef = new LocalRef(secret);
        r.setSpec(spec);
        return client.resource(r).create();
    }

    static Map<Integer, String> column(String db, String sql) throws Exception {
        return MaskedRestoreTest.column(db, sql);
    }

    static boolean exists(String db) throws Exception {
        try (Connection c = TestPostgres.get().superuser("postgres"); ResultSet rs = c.createStatement()
                .executeQuery("select count(*) from pg_database where datname = '" + db + "'")) {
            rs.next();
            return rs.getLong(1) == 1;
        }
    }

    static String dbname(Secret s) {
        return new String(Base64.getDecoder().decode(s.getData().get("dbname")), StandardCharsets.UTF_8);
    }

    static Secret staging() {
        return client.secrets().inNamespace(NS).withName(SECRET).get();
    }

    static BackupRestoreStatus status() {
        return OperatorAssertions.get(BackupRestore.class, NS, "staging").getStatus();
    }

    /** Waits for refresh {@code run} to end, Served or Failed. */
    static BackupRestoreStatus awaitRun(int run) {
        await().atMost(A_BACKUP).pollInterval(Duration.ofMillis(500)).until(() -> {
            BackupRestoreStatus st = status();
            return st != null && st.phase == RestorePhase.Waiting && st.staging != null && st.staging.last != null
                    && st.staging.last.run == run;
        });
        return status();
    }

    static String newBackup(String request) {
        String before = OperatorAssertions.get(BackupPolicy.class, NS, POLICY).getStatus().lastBackup.backupId;
        BackupPolicy p = OperatorAssertions.get(BackupPolicy.class, NS, POLICY);
        p.getMetadata().getAnnotations().put(BackupPolicyReconciler.BACKUP_NOW, request);
        client.resource(p).update();
        await().atMost(A_BACKUP).until(() -> {
            var last = OperatorAssertions.get(BackupPolicy.class, NS, POLICY).getStatus().lastBackup;
            return last != null && !last.backupId.equals(before) && Boolean.TRUE.equals(last.verified);
        });
        return OperatorAssertions.get(BackupPolicy.class, NS, POLICY).getStatus().lastBackup.backupId;
    }

    static void askForRefresh(String value) {
        BackupRestore r = OperatorAssertions.get(BackupRestore.class, NS, "staging");
        if (r.getMetadata().getAnnotations() == null) {
            r.getMetadata().setAnnotations(new HashMap<>());
        }
        r.getMetadata().getAnnotations().put("dbaoperator.io/refresh-now", value);
        client.resource(r).update();
    }

    @Test
    @Order(1)
    void aStagingSecretThatIsSomeoneElsesIsRefusedBeforeTheApproval() throws Exception {
        refresh("other", "sr_other", "someone-elses");
        BackupRestoreStatus failed = OperatorAssertions.awaitPhase(BackupRestore.class, NS, "other",
                RestorePhase.Failed, Duration.ofSeconds(60));
        assertThat(failed.message).contains("Secret someone-elses already exists and is not this restore's");
        assertThat(failed.approvalRequest).isNull();
        assertThat(client.secrets().inNamespace(NS).withName("someone-elses").get().getData().get("dbname"))
                .isEqualTo(Base64.getEncoder().encodeToString("theirs".getBytes(StandardCharsets.UTF_8)));
        assertThat(exists("sr_other_r1")).isFalse();
    }

    @Test
    @Order(2)
    void theStagingSecretPointsAtACopyOnlyOnceMaskedAndChecked_ARefreshServesNewDataWithTheSameMaskedValues()
            throws Exception {
        refresh("staging", "sr_stage", SECRET);
        BackupRestoreStatus planned = OperatorAssertions.awaitPhase(BackupRestore.class, NS, "staging",
                RestorePhase.AwaitingApproval, A_BACKUP);
        assertThat(planned.approvalRequest.reason).contains("refresh the masked staging copy",
                "into new database sr_stage_r1", "Secret " + SECRET + " points at it", "masked first by 2 rule(s)");
        assertThat(staging()).as("no staging Secret before the approval").isNull();
        OperatorAssertions.approve(BackupRestore.class, NS, "staging", null);

        BackupRestoreStatus first = awaitRun(1);
        assertThat(first.staging.last.outcome).as(first.staging.last.message).isEqualTo("Served");
        assertThat(first.staging.serving).isEqualTo("sr_stage_r1");
        Secret secret = staging();
        assertThat(dbname(secret)).isEqualTo("sr_stage_r1");
        assertThat(secret.getMetadata().getAnnotations()).containsEntry("dbaoperator.io/staging-backup-id",
                first.staging.servingBackupId);
        assertThat(first.staging.servingSizeBytes).isPositive();
        assertThat(first.conditions).anySatisfy(c -> {
            assertThat(c.type).isEqualTo("Ready");
            assertThat(c.status).isEqualTo("True");
        });
        // the Secret was written after the agent had masked and checked the copy: its record in the bucket says when
        JsonNode record = record(first.masking.report);
        assertThat(record.get("state").asText()).isEqualTo("succeeded");
        assertThat(record.get("masking").get("originalsFound").asLong()).isZero();
        assertThat(Instant.parse(secret.getMetadata().getAnnotations().get("dbaoperator.io/staging-served-since")))
                .isAfter(Instant.parse(record.get("completedAt").asText()));
        // production against the copy, row by row; the join on the masked e-mail holds
        Map<Integer, String> prod = column("sr_prod", "select id, email from customers");
        Map<Integer, String> copy1 = column("sr_stage_r1", "select id, email from customers");
        assertThat(copy1).hasSameSizeAs(prod);
        prod.forEach((id, v) -> assertThat(copy1.get(id)).as("customer " + id).isNotEqualTo(v));
        assertThat(column("sr_stage_r1", "select count(*)::int, '' from orders o join customers c "
                + "on c.email = o.customer_email")).containsKey(400);

        // new data in production, a new backup, a refresh asked for
        TestPostgres.get().exec("sr_prod", "insert into customers values (201, 'client201@shop.example', 'Client 201')");
        String backup2 = newBackup("second");
        // this run meets a 409 on every other status write: decided again each time, it still swaps once
        io.dbaoperator.harness.TestKubernetes.get().api().interfere(io.dbaoperator.harness.FaultMatrix
                .everyOtherStatusWrite(NS, "backuprestores", "staging"));
        BackupRestoreStatus second;
        try {
            askForRefresh("1");
            second = awaitRun(2);
        } finally {
            io.dbaoperator.harness.TestKubernetes.get().api().interfere(null);
        }
        assertThat(second.staging.last.outcome).as(second.staging.last.message).isEqualTo("Served");
        assertThat(second.staging.servingBackupId).isEqualTo(backup2);
        assertThat(dbname(staging())).isEqualTo("sr_stage_r2");
        assertThat(exists("sr_stage_r1")).as("the previous copy is dropped").isFalse();
        Map<Integer, String> copy2 = column("sr_stage_r2", "select id, email from customers");
        assertThat(copy2).containsKey(201).hasSize(201);
        copy1.forEach((id, v) -> assertThat(copy2.get(id)).as("customer " + id + " masked alike").isEqualTo(v));
        assertThat(second.staging.last.message).contains("the previous copy sr_stage_r1 was dropped");
        assertThat(client.batch().v1().jobs().inNamespace(NS).withLabel(io.dbaoperator.backup.RestoreJobs.RESTORE_LABEL, "staging").list()
                .getItems()).extracting(j -> j.getMetadata().getName())
                .as("one Job per run, whatever the conflicts").containsExactlyInAnyOrder("staging-r1-restore",
                        "staging-r2-restore");
        io.dbaoperator.harness.FaultMatrix.record("BackupRestore (staging refresh)", "every other status write 409 "
                + "during a refresh", "Waiting; the Secret swapped to the new copy once, the previous copy dropped, "
                + "one Job per run");
    }

    @Test
    @Order(3)
    void aRefreshWhoseCopyHoldsAnUnmaskedEmailFails_AndThePreviousCopyKeepsServing() throws Exception {
        TestPostgres.get().exec("sr_prod", "alter table customers add column backup_email text",
                "update customers set backup_email = 'other' || id || '@mail.example'");
        newBackup("third");
        askForRefresh("2");
        BackupRestoreStatus third = awaitRun(3);
        assertThat(third.staging.last.outcome).isEqualTo("Failed");
        assertThat(third.staging.last.message).contains("public.customers.backup_email",
                "sr_stage_r2 still serves (Secret " + SECRET + " unchanged)");
        assertThat(third.staging.last.message).doesNotContain("@mail.example");
        assertThat(third.conditions).anySatisfy(c -> {
            assertThat(c.type).isEqualTo("StagingRefreshed");
            assertThat(c.status).isEqualTo("False");
            assertThat(c.reason).isEqualTo("UnmaskedPersonalData");
        });
        assertThat(third.conditions).anySatisfy(c -> {
            assertThat(c.type).isEqualTo("Ready");
            assertThat(c.status).isEqualTo("True");
        });
        assertThat(third.staging.serving).isEqualTo("sr_stage_r2");
        assertThat(dbname(staging())).isEqualTo("sr_stage_r2");
        assertThat(exists("sr_stage_r2")).isTrue();
        assertThat(exists("sr_stage_r3")).as("the refused copy is dropped, never served").isFalse();
        assertThat(column("sr_stage_r2", "select count(*)::int, '' from customers")).containsKey(201);
        OperatorAssertions.awaitEvent(NS, "staging", "Warning", "UnmaskedPersonalData");
    }

    @Test
    @Order(4)
    void aMigrationRehearsedOnTheStagingCopyRecordsItsAgeAndSize() {
        String backup = status().staging.servingBackupId;
        io.dbaoperator.api.migration.DatabaseMigration m = client.getKubernetesSerialization().unmarshal(String.join(
                "\n", "apiVersion: dbaoperator.io/v1alpha1", "kind: DatabaseMigration",
                "metadata: {name: nickname, namespace: " + NS + "}", "spec:",
                "  database: {secretRef: {name: prod-db}}", "  stagingDatabase: {secretRef: {name: " + SECRET + "}}",
                "  expand: {sql: 'ALTER TABLE customers ADD COLUMN nickname text'}",
                "  rollback: {sql: 'ALTER TABLE customers DROP COLUMN IF EXISTS nickname'}", "  paused: true"),
                io.dbaoperator.api.migration.DatabaseMigration.class);
        client.resource(m).create();
        try {
            await().atMost(Duration.ofSeconds(90)).until(() -> {
                var st = OperatorAssertions.get(io.dbaoperator.api.migration.DatabaseMigration.class, NS, "nickname")
                        .getStatus();
                return st != null && st.rehearsal != null && st.rehearsal.stagingCopy != null;
            });
            var rehearsal = OperatorAssertions.get(io.dbaoperator.api.migration.DatabaseMigration.class, NS,
                    "nickname").getStatus().rehearsal;
            assertThat(rehearsal.result).as(rehearsal.message).isEqualTo("Passed");
            assertThat(rehearsal.stagingCopy).contains("backup " + backup + " taken ", "masked",
                    "BackupRestore " + NS + "/staging run 2", "its data was 0 d 0 h ");
            assertThat(rehearsal.stagingSizeBytes).isCloseTo(status().staging.servingSizeBytes,
                    org.assertj.core.data.Percentage.withPercentage(20));
        } finally {
            client.resource(m).delete();
        }
    }

    static JsonNode record(String s3Url) throws Exception {
        String key = s3Url.substring(("s3://" + TestS3.BUCKET + "/").length());
        try (S3Client s3 = S3Clients.create(Fixtures.s3Location())) {
            return new ObjectMapper().readTree(s3.getObjectAsBytes(GetObjectRequest.builder().bucket(TestS3.BUCKET)
                    .key(key).build()).asUtf8String());
        }
    }
}
