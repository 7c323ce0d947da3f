package io.dbaoperator.sandbox;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.time.Duration;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import io.dbaoperator.api.common.DatabaseRef;
import io.dbaoperator.api.disposal.DisposalJob;
import io.dbaoperator.api.disposal.DisposalPhase;
import io.dbaoperator.api.migration.DatabaseMigration;
import io.dbaoperator.api.migration.DatabaseMigrationSpec;
import io.dbaoperator.api.migration.MigrationPhase;
import io.dbaoperator.harness.TestPostgres;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;

/**
 * The packaged operator, as its own process, killed with SIGKILL in the middle of a backfill and started again:
 * the new process resumes after the last committed batch, and no batch runs twice (every row's counter ends at 1;
 * every anonymized row holds the hash of its original value, not the hash of a hash).
 */
class OperatorRestartIT {

    static Sandbox sandbox;

    @BeforeAll
    static void start() throws Exception {
        sandbox = new Sandbox(Path.of("target/restart-sandbox"), Sandbox.Operator.PROCESS);
        sandbox.start();
    }

    @AfterAll
    static void stop() {
        sandbox.stop();
    }

    @Test
    void aBackfillResumesAfterTheOperatorIsKilledWithoutRedoingABatch() throws Exception {
        TestPostgres.get().exec("app", "drop table if exists items",
                "create table items (id bigint primary key, name text not null)", "alter table items owner to app",
                "insert into items select g, 'item ' || g from generate_series(1, 20000) g", "analyze items");
        KubernetesClient client = sandbox.client();
        DatabaseMigration m = new DatabaseMigration();
        m.getMetadata().setName("count-once");
        m.getMetadata().setNamespace(Sandbox.NAMESPACE);
        DatabaseMigrationSpec spec = new DatabaseMigrationSpec();
        spec.database = new DatabaseRef("app-db");
        spec.expand = new DatabaseMigrationSpec.SqlStep("ALTER TABLE items ADD COLUMN seen int NOT NULL DEFAULT 0");
        spec.rollback = new DatabaseMigrationSpec.SqlStep("ALTER TABLE items DROP COLUMN IF EXISTS seen");
        spec.backfill = new DatabaseMigrationSpec.Backfill();
        spec.backfill.table = "items";
        spec.backfill.set = "seen = seen + 1"; // a batch that ran twice would leave a 2
        spec.backfill.batchSize = 200;
        spec.backfill.pauseBetweenBatches = "100ms";
        m.setSpec(spec);
        client.resource(m).create();

        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(100)).ignoreExceptions()
                .until(() -> count("select count(*) from items where seen = 1") >= 3000);
        sandbox.killAndRestartOperator();
        long atKill = count("select count(*) from items where seen = 1");
        assertThat(atKill).as("the kill came in the middle of the backfill").isLessThan(20000);

        await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(250)).untilAsserted(() -> {
            DatabaseMigration seen = client.resources(DatabaseMigration.class).inNamespace(Sandbox.NAMESPACE)
                    .withName("count-once").get();
            assertThat(seen.getStatus().phase).as(seen.getStatus().message).isEqualTo(MigrationPhase.AwaitingCutover);
        });
        assertThat(count("select count(*) from items where seen = 1")).isEqualTo(20000);
        assertThat(count("select count(*) from items where seen <> 1")).isZero();
        assertThat(count("select rows_done from dba_operator.migration_history "
                + "where migration_id = 'default/count-once' and step_id = 'backfill'")).isEqualTo(20000);
    }

    @Test
    void aDisposalResumesAfterTheOperatorIsKilledWithoutAnonymizingARowTwice() throws Exception {
        TestPostgres.get().exec("app", "drop table if exists leavers",
                "create table leavers (id bigint primary key, full_name text not null, left_at timestamptz)",
                "alter table leavers owner to app",
                "insert into leavers select g, 'Leaver ' || g, now() - interval '3 years' from generate_series(1, 6000) g",
                "insert into leavers select g, 'Stayer ' || g, now() from generate_series(6001, 7000) g",
                "analyze leavers");
        KubernetesClient client = sandbox.client();
        DisposalJob job = client.getKubernetesSerialization().unmarshal(String.join("\n",
                "apiVersion: dbaoperator.io/v1alpha1",
                "kind: DisposalJob",
                "metadata: {name: leavers, namespace: " + Sandbox.NAMESPACE + "}",
                "spec:",
                "  database: {secretRef: {name: app-db}}",
                "  saltSecretRef: {name: disposal-salt}",
                "  pauseBetweenBatches: 50ms",
                "  rules:",
                "    - name: leavers",
                "      table: leavers",
                "      olderThan: {column: left_at, age: 730d}",
                "      action: Anonymize",
                "      anonymize: {columns: {full_name: {strategy: Hash}}}", // twice would hash a hash
                "      batchSize: 100"), DisposalJob.class);
        client.resource(job).create();
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200)).ignoreExceptions().until(() ->
                client.resources(DisposalJob.class).inNamespace(Sandbox.NAMESPACE).withName("leavers").get()
                        .getStatus().phase == DisposalPhase.AwaitingApproval);
        client.resources(DisposalJob.class).inNamespace(Sandbox.NAMESPACE).withName("leavers").subresource("status")
                .patch(PatchContext.of(PatchType.JSON_MERGE), "{\"status\":{\"approved\":true}}");

        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(100)).ignoreExceptions()
                .until(() -> count("select count(*) from leavers where full_name not like 'Leaver %' and id <= 6000")
                        >= 1000);
        sandbox.killAndRestartOperator();
        long atKill = count("select count(*) from leavers where full_name not like 'Leaver %' and id <= 6000");
        assertThat(atKill).as("the kill came in the middle of the run").isLessThan(6000);

        await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(250)).untilAsserted(() -> {
            DisposalJob seen = client.resources(DisposalJob.class).inNamespace(Sandbox.NAMESPACE).withName("leavers")
                    .get();
            assertThat(seen.getStatus().phase).as(seen.getStatus().message).isEqualTo(DisposalPhase.Completed);
        });
        String salt = Sandbox.DISPOSAL_SALT;
        // every expired row hashed exactly once: its value is the hash of its original name, not of a hash
        assertThat(count("select count(*) from leavers where id <= 6000 and full_name = encode(sha256(convert_to('"
                + salt + "' || 'Leaver ' || id, 'UTF8')), 'hex')")).isEqualTo(6000);
        assertThat(count("select count(*) from leavers where id > 6000 and full_name = 'Stayer ' || id"))
                .isEqualTo(1000);
        assertThat(client.resources(DisposalJob.class).inNamespace(Sandbox.NAMESPACE).withName("leavers").get()
                .getStatus().rowsAffected).isEqualTo(6000);
    }

    static long count(String sql) throws Exception {
        try (Connection c = TestPostgres.get().superuser("app"); ResultSet rs = c.createStatement().executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        }
    }
}
