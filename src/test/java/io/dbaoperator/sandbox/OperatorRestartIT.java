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
import io.dbaoperator.api.migration.DatabaseMigration;
import io.dbaoperator.api.migration.DatabaseMigrationSpec;
import io.dbaoperator.api.migration.MigrationPhase;
import io.dbaoperator.harness.TestKubernetes;
import io.dbaoperator.harness.TestPostgres;
import io.fabric8.kubernetes.client.KubernetesClient;

/**
 * The packaged operator, as its own process, killed with SIGKILL in the middle of a backfill and started again:
 * the new process resumes after the last committed batch, and no batch runs twice (every row's counter ends at 1).
 */
class OperatorRestartIT {

    static Sandbox sandbox;

    @BeforeAll
    static void start() throws Exception {
        sandbox = new Sandbox(Path.of("target/restart-sandbox"));
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
        KubernetesClient client = TestKubernetes.get().client();
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

    static long count(String sql) throws Exception {
        try (Connection c = TestPostgres.get().superuser("app"); ResultSet rs = c.createStatement().executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        }
    }
}
