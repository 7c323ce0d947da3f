package io.dbaoperator.operator;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Connection;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import io.dbaoperator.api.backup.BackupPolicy;
import io.dbaoperator.api.backup.BackupPolicyPhase;
import io.dbaoperator.api.common.Condition;
import io.dbaoperator.api.disposal.DisposalJob;
import io.dbaoperator.api.disposal.DisposalPhase;
import io.dbaoperator.harness.OperatorHarness;
import io.dbaoperator.harness.OperatorTier;
import io.dbaoperator.harness.TestPostgres;
import io.dbaoperator.harness.TestS3;
import io.dbaoperator.operator.Fixtures.Standard;
import io.dbaoperator.storage.S3Clients;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.GetObjectRequest;

/**
 * The operator with a default storage (Helm value storage.default): a BackupPolicy and a DisposalJob that name no
 * storage use it, with the credentials Secret of their own namespace.
 */
@OperatorTier
@QuarkusTest
@TestProfile(DefaultStorageTest.WithDefaultStorage.class)
class DefaultStorageTest {

    static final String NS = "default-storage";
    static KubernetesClient client;

    public static class WithDefaultStorage implements QuarkusTestProfile {
        @Override
        public List<TestResourceEntry> testResources() {
            return List.of(new TestResourceEntry(OperatorHarness.class, Map.of("defaultStorage", "fleet")));
        }
    }

    @BeforeAll
    static void setUp() {
        client = Fixtures.namespace(NS, Standard.REPLICATION_DB);
        Fixtures.secret(client, NS, "fleet-s3", Fixtures.s3Keys());
        TestPostgres pg = TestPostgres.get();
        pg.createDatabase("dsp_default", "app", Fixtures.APP_PASSWORD);
        pg.exec("dsp_default", "drop table if exists sessions",
                "create table sessions (id bigint primary key, ended_at timestamptz not null)",
                "alter table sessions owner to app",
                "insert into sessions select g, now() - (g || ' days')::interval from generate_series(1, 100) g");
        Map<String, String> keys = new HashMap<>(Fixtures.appDbKeys());
        keys.put("dbname", "dsp_default");
        Fixtures.secret(client, NS, "dsp-default-db", keys);
    }

    @Test
    void aBackupPolicyWithoutStorageUsesTheOperatorsDefault() {
        BackupPolicy p = client.getKubernetesSerialization().unmarshal(String.join("\n",
                "apiVersion: dbaoperator.io/v1alpha1", "kind: BackupPolicy",
                "metadata: {name: fleet, namespace: " + NS + "}",
                "spec:", "  database: {secretRef: {name: app-db-replication}}", "  schedule: \"0 2 * * *\""),
                BackupPolicy.class);
        client.resource(p).create();
        Condition c = OperatorAssertions.awaitCondition(BackupPolicy.class, NS, "fleet", "Validated", "True");
        assertThat(c.message).contains("s3://" + TestS3.BUCKET + "/fleet/" + NS + "/fleet");
        assertThat(OperatorAssertions.get(BackupPolicy.class, NS, "fleet").getSpec().storage)
                .as("the default is not written into the spec (Argo CD would see drift)").isNull();
        assertThat(OperatorAssertions.get(BackupPolicy.class, NS, "fleet").getStatus().phase)
                .isEqualTo(BackupPolicyPhase.Active);
    }

    @Test
    void aDisposalReportWithoutStorageLandsInTheDefault() throws Exception {
        DisposalJob job = client.getKubernetesSerialization().unmarshal(String.join("\n",
                "apiVersion: dbaoperator.io/v1alpha1", "kind: DisposalJob",
                "metadata: {name: sessions, namespace: " + NS + "}",
                "spec:", "  database: {secretRef: {name: dsp-default-db}}", "  pauseBetweenBatches: 0ms",
                "  rules:", "    - table: sessions", "      olderThan: {column: ended_at, age: 30d}",
                "      action: Delete", "      batchSize: 20"), DisposalJob.class);
        client.resource(job).create();
        awaitPhase(DisposalPhase.AwaitingApproval);
        client.resources(DisposalJob.class).inNamespace(NS).withName("sessions").subresource("status")
                .patch(PatchContext.of(PatchType.JSON_MERGE), "{\"status\":{\"approved\":true}}");
        awaitPhase(DisposalPhase.Completed);
        try (Connection c = TestPostgres.get().superuser("dsp_default");
                ResultSet rs = c.createStatement().executeQuery("select count(*) from sessions")) {
            rs.next();
            assertThat(rs.getLong(1)).isEqualTo(29); // 1..29 days old stay; 30 days and older went
        }
        String location = OperatorAssertions.get(DisposalJob.class, NS, "sessions").getStatus().reportLocation;
        assertThat(location).startsWith("s3://" + TestS3.BUCKET + "/fleet/");
        String key = location.substring(("s3://" + TestS3.BUCKET + "/").length());
        try (S3Client s3 = S3Clients.create(Fixtures.s3Location())) {
            String body = s3.getObjectAsBytes(GetObjectRequest.builder().bucket(TestS3.BUCKET).key(key).build())
                    .asUtf8String();
            assertThat(new com.fasterxml.jackson.databind.ObjectMapper().readTree(body).get("rowsAffected").asLong())
                    .isEqualTo(71);
            assertThat(body).doesNotContain(TestS3.SECRET_ACCESS_KEY);
        }
    }

    static void awaitPhase(DisposalPhase phase) {
        OperatorAssertions.awaitPhase(DisposalJob.class, NS, "sessions", phase, Duration.ofSeconds(60));
    }
}
