package io.dbaoperator.operator;

import static io.dbaoperator.operator.OperatorAssertions.awaitCondition;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;

import org.eclipse.microprofile.config.ConfigProvider;
import org.junit.jupiter.api.Test;

import io.dbaoperator.api.backup.BackupPolicy;
import io.dbaoperator.api.backup.BackupPolicySpec;
import io.dbaoperator.backup.BackupPolicyReconciler;
import io.dbaoperator.harness.OperatorHarness;
import io.dbaoperator.harness.TestKubernetes;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;

/** What Prometheus scrapes from /q/metrics after a backup: the backup metrics per policy, and the operator's own. */
@QuarkusTest
@QuarkusTestResource(OperatorHarness.class)
class MetricsScrapeTest {

    static final String NS = "metrics";

    static String scrape() throws Exception {
        int port = ConfigProvider.getConfig().getOptionalValue("quarkus.http.test-port", Integer.class).orElse(8081);
        HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                URI.create("http://localhost:" + port + "/q/metrics")).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).isEqualTo(200);
        return r.body();
    }

    @Test
    void backupAndReconciliationMetricsWithTheirLabels() throws Exception {
        KubernetesClient client = TestKubernetes.get().client();
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
        awaitCondition(BackupPolicy.class, NS, "scraped", "LastBackupSucceeded", "True", Duration.ofSeconds(120));

        String labels = "namespace=\"metrics\",policy=\"scraped\"";
        await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> {
            String body = scrape();
            assertThat(body).containsPattern("backup_completion_time_seconds\\{" + labels + "} [0-9.]+(E[0-9]+)?")
                    .containsPattern("backup_last_success_timestamp_seconds\\{" + labels + "} [0-9.]+E9")
                    .containsPattern("backup_size_bytes\\{" + labels + "} [0-9.]+(E[0-9]+)?");
            assertThat(body).containsPattern("operator_sdk_reconciliations_started_total\\{[^}]*kind=\"BackupPolicy\"[^}]*} [0-9.]+");
        });
    }
}
