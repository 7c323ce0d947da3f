package io.dbaoperator.operator;

import static io.dbaoperator.operator.OperatorAssertions.A_BACKUP;
import static io.dbaoperator.operator.OperatorAssertions.awaitCondition;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.eclipse.microprofile.config.ConfigProvider;
import org.junit.jupiter.api.Test;

import io.dbaoperator.api.backup.BackupPolicy;
import io.dbaoperator.api.backup.BackupPolicySpec;
import io.dbaoperator.backup.BackupPolicyReconciler;
import io.dbaoperator.harness.OperatorHarness;
import io.dbaoperator.harness.OperatorTier;
import io.dbaoperator.harness.TestKubernetes;
import io.dbaoperator.harness.TestPostgres;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;

/** What Prometheus scrapes from /q/metrics after a backup: the backup metrics per policy, and the operator's own. */
@OperatorTier
@QuarkusTest
@QuarkusTestResource(OperatorHarness.class)
class MetricsScrapeTest {

    static final String NS = "metrics";

    static String scrape() throws Exception {
        int port = ConfigProvider.getConfig().getOptionalValue("quarkus.http.test-port", Integer.class).orElse(8081);
        // HTTP/1.1, as Prometheus scrapes: the JDK client's default (an h2c upgrade over plain HTTP) has failed
        // here on a large answer with "Frame type(115) ... exceeds MAX_FRAME_SIZE"
        HttpResponse<String> r = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build().send(
                HttpRequest.newBuilder(
                URI.create("http://localhost:" + port + "/q/metrics")).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).isEqualTo(200);
        return r.body();
    }

    @Test
    void backupAndReconciliationMetricsWithTheirLabels() throws Exception {
        KubernetesClient client = TestKubernetes.get().namespace(NS);
        Fixtures.databases();
        Fixtures.secret(client, NS, "app-db-replication", Fixtures.replicationDbKeys());
        Fixtures.secret(client, NS, "backup-s3", Fixtures.s3Keys());
        BackupPolicy p = new BackupPolicy();
        p.getMetadata().setName("scraped");
        p.getMetadata().setNamespace(NS);
        p.getMetadata().setAnnotations(new HashMap<>(Map.of(BackupPolicyReconciler.BACKUP_NOW, "now")));
        p.setSpec(new BackupPolicySpec());
        p.getSpec().database = Fixtures.db("app-db-replication");
        p.getSpec().schedule = "0 3 1 1 *";
        p.getSpec().storage = Fixtures.storage("backup-s3");
        client.resource(p).create();
        awaitCondition(BackupPolicy.class, NS, "scraped", "LastBackupSucceeded", "True", A_BACKUP);

        // a phase that ends is timed: suspending the policy ends its Active phase
        client.resources(BackupPolicy.class).inNamespace(NS).withName("scraped").edit(x -> {
            x.getSpec().suspend = true;
            return x;
        });
        // traffic the per-database sampler sees between two samples (pg_stat_statements counts it)
        TestPostgres.get().exec("app", "create extension if not exists pg_stat_statements",
                "create table if not exists metrics_probe (id int primary key, v text)",
                "insert into metrics_probe select g, 'v' from generate_series(1, 1000) g on conflict do nothing");
        String labels = "namespace=\"metrics\",policy=\"scraped\"";
        String db = "database=\"app\",namespace=\"metrics\",server=\"" + Fixtures.host() + ":"
                + TestPostgres.get().port() + "\"";
        await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> {
            TestPostgres.get().exec("app", "select count(*) from metrics_probe where id < 500");
            String body = scrape();
            assertThat(body).containsPattern("backup_completion_time_seconds\\{" + labels + "} [0-9.]+(E[0-9]+)?")
                    .containsPattern("backup_last_success_timestamp_seconds\\{" + labels + "} [0-9.]+E9")
                    .containsPattern("backup_size_bytes\\{" + labels + "} [0-9.]+(E[0-9]+)?");
            assertThat(body).containsPattern("operator_sdk_reconciliations_started_total\\{[^}]*kind=\"BackupPolicy\"[^}]*} [0-9.]+");
            assertThat(body).containsPattern("backup_age_seconds\\{" + labels + "} [0-9.]+(E[0-9]+)?");
            // the fleet: resources by phase, approvals, how long phases took
            assertThat(body).containsPattern("dba_resources\\{kind=\"BackupPolicy\",phase=\"Suspended\"} [1-9][0-9.]*")
                    .containsPattern("dba_approvals_pending\\{kind=\"DatabaseMigration\"} [0-9.]+")
                    .containsPattern("dba_approval_pending_oldest_seconds\\{kind=\"BackupRestore\"} [0-9.]+")
                    .containsPattern("dba_phase_duration_seconds_count\\{kind=\"BackupPolicy\",phase=\"Active\"} [1-9]")
                    .containsPattern("dba_phase_transitions_total\\{from=\"[A-Za-z]+\",kind=\"BackupPolicyPhase\","
                            + "to=\"[A-Za-z]+\"} [1-9]");
            // the seed's per-database figures, for the database the policy names
            assertThat(body).containsPattern("index_hit_rate\\{" + db + "} (0\\.[0-9]+|1\\.0)")
                    .containsPattern("query_latency_p99_ms\\{" + db + "} [0-9.]+(E-?[0-9]+)?")
                    .containsPattern("database_cpu_utilization\\{" + db + "} [0-9.]+(E-?[0-9]+)?");
            // and its health (DatabaseHealthTest shows each figure's meaning on the real PostgreSQL)
            for (String series : List.of("dba_database_size_bytes", "dba_connections", "dba_max_connections",
                    "dba_long_running_sessions", "dba_idle_in_transaction_sessions", "dba_lock_waiting_sessions",
                    "dba_lock_wait_longest_seconds", "dba_vacuum_recommended_tables", "dba_deadlocks_total")) {
                assertThat(body).containsPattern(series + "\\{" + db + "} [0-9.]+(E-?[0-9]+)?");
            }
            assertThat(body).containsPattern("dba_table_size_bytes\\{" + db + ",table=\"public\\.[a-z_]+\"} "
                    + "[0-9.]+(E[0-9]+)?");
        });
    }
}
