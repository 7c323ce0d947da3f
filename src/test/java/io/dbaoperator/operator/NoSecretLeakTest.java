package io.dbaoperator.operator;

import static io.dbaoperator.operator.OperatorAssertions.awaitCondition;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import io.dbaoperator.api.backup.BackupPolicy;
import io.dbaoperator.api.backup.BackupPolicySpec;
import io.dbaoperator.api.backup.BackupRestore;
import io.dbaoperator.api.disposal.DisposalJob;
import io.dbaoperator.api.migration.DatabaseMigration;
import io.dbaoperator.api.migration.DatabaseMigrationSpec;
import io.dbaoperator.api.tuning.QueryTuningRequest;
import io.dbaoperator.harness.OperatorHarness;
import io.dbaoperator.harness.OperatorTier;
import io.dbaoperator.harness.TestKubernetes;
import io.dbaoperator.harness.TestS3;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;

/**
 * Secrets never appear in any status, Event, log line or exception: after bad inputs built around known passwords
 * (a wrong password that contains the real one, a URI with the password inside, a broken S3 key), every status of
 * every kind, every Event, the operator's log and every Job's output are searched for them.
 */
@OperatorTier
@QuarkusTest
@QuarkusTestResource(OperatorHarness.class)
class NoSecretLeakTest {

    static final String NS = "leak-check";

    @Test
    void noKnownSecretAppearsAnywhereAUserCanLook() throws Exception {
        KubernetesClient client = TestKubernetes.get().namespace(NS);
        Fixtures.databases();
        Map<String, String> wrong = new HashMap<>(Fixtures.appDbKeys());
        wrong.put("password", Fixtures.APP_PASSWORD + "-wrong");
        Fixtures.secret(client, NS, "wrong-password", wrong);
        Fixtures.secret(client, NS, "bad-uri", Map.of("uri", "mysql://app:" + Fixtures.APP_PASSWORD + "@h/app"));
        Fixtures.secret(client, NS, "uri-unreachable", Map.of("uri", "postgresql://app:" + Fixtures.APP_PASSWORD
                + "@127.0.0.1:1/app"));
        Fixtures.secret(client, NS, "good-replication", Fixtures.replicationDbKeys());
        Fixtures.secret(client, NS, "bad-s3", Map.of("AWS_ACCESS_KEY_ID", "unknown-key", "AWS_SECRET_ACCESS_KEY",
                TestS3.SECRET_ACCESS_KEY + "-wrong"));

        for (String secret : List.of("wrong-password", "bad-uri", "uri-unreachable")) {
            DatabaseMigration m = new DatabaseMigration();
            m.getMetadata().setName("m-" + secret);
            m.getMetadata().setNamespace(NS);
            m.setSpec(new DatabaseMigrationSpec());
            m.getSpec().database = Fixtures.db(secret);
            m.getSpec().rollback = new DatabaseMigrationSpec.SqlStep("select 1");
            client.resource(m).create();
            awaitCondition(DatabaseMigration.class, NS, "m-" + secret, "Validated", "False");
        }
        BackupPolicy p = new BackupPolicy();
        p.getMetadata().setName("s3-denied");
        p.getMetadata().setNamespace(NS);
        p.setSpec(new BackupPolicySpec());
        p.getSpec().database = Fixtures.db("good-replication");
        p.getSpec().schedule = "0 2 * * *";
        p.getSpec().storage = Fixtures.storage("bad-s3");
        client.resource(p).create();
        // the S3 server refuses the key pair (signing enforced): the refusal names the access key id, and the secret
        // key the operator signed with surfaces nowhere below
        var denied = awaitCondition(BackupPolicy.class, NS, "s3-denied", "Validated", "False");
        assertThat(denied.reason).isEqualTo("StorageAccessDenied");
        assertThat(denied.message).contains("unknown-key");

        List<String> secrets = List.of(Fixtures.APP_PASSWORD, Fixtures.REPLICATION_PASSWORD, TestS3.SECRET_ACCESS_KEY,
                OperatorHarness.AUDIT_PASSWORD);
        StringBuilder visible = new StringBuilder();
        for (Class<? extends io.fabric8.kubernetes.client.CustomResource<?, ?>> kind : List.of(DatabaseMigration.class,
                BackupPolicy.class, BackupRestore.class, QueryTuningRequest.class, DisposalJob.class,
                io.dbaoperator.api.maintenance.DatabaseMaintenance.class)) {
            client.resources(kind).inAnyNamespace().list().getItems()
                    .forEach(r -> visible.append(Serialization.asJson(r.getStatus())).append('\n'));
        }
        client.v1().events().inAnyNamespace().list().getItems()
                .forEach(e -> visible.append(e.getReason()).append(' ').append(e.getMessage()).append('\n'));
        String statusesAndEvents = visible.toString();
        String operatorLog = Files.readString(Path.of("target/quarkus-test.log"));
        String jobOutput = TestKubernetes.get().node().allLogs();

        assertThat(statusesAndEvents).contains("AuthenticationFailed").contains("SecretInvalid")
                .contains("DatabaseUnreachable").contains("StorageAccessDenied");
        assertThat(operatorLog).contains("AuthenticationFailed");
        for (String secret : secrets) {
            assertThat(statusesAndEvents).as("statuses and Events").doesNotContain(secret);
            assertThat(operatorLog).as("operator log").doesNotContain(secret);
            assertThat(jobOutput).as("Job output").doesNotContain(secret);
        }
    }
}
