package io.dbaoperator.operator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import io.dbaoperator.api.backup.BackupPolicy;
import io.dbaoperator.api.backup.BackupPolicyPhase;
import io.dbaoperator.api.backup.BackupPolicySpec;
import io.dbaoperator.api.common.Condition;
import io.dbaoperator.harness.OperatorHarness;
import io.dbaoperator.harness.OperatorTier;
import io.dbaoperator.harness.TestS3;
import io.dbaoperator.operator.Fixtures.Standard;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;

/**
 * The operator, on the test Kubernetes API with a real PostgreSQL and S3 server, validating BackupPolicies: the
 * good one, and each kind of bad input a person can make, which must reach status and an Event as an actionable
 * reason, and never with a secret in it.
 */
@OperatorTier
@QuarkusTest
@QuarkusTestResource(OperatorHarness.class)
class BackupPolicyValidationTest {

    static final String NS = "backup-validation";
    static KubernetesClient client;

    @BeforeAll
    static void setUp() {
        client = Fixtures.namespace(NS, Standard.REPLICATION_DB, Standard.APP_DB, Standard.BACKUP_S3);
    }

    static BackupPolicy policy(String name, String dbSecret, String schedule) {
        BackupPolicy p = new BackupPolicy();
        p.getMetadata().setName(name);
        p.getMetadata().setNamespace(NS);
        BackupPolicySpec spec = new BackupPolicySpec();
        spec.database = Fixtures.db(dbSecret);
        spec.schedule = schedule;
        spec.storage = Fixtures.storage("backup-s3");
        p.setSpec(spec);
        return p;
    }

    static BackupPolicy create(BackupPolicy p) {
        return client.resource(p).create();
    }

    static Condition awaitValidated(String name, String status) {
        return OperatorAssertions.awaitCondition(BackupPolicy.class, NS, name, "Validated", status);
    }

    static BackupPolicy get(String name) {
        return OperatorAssertions.get(BackupPolicy.class, NS, name);
    }

    @Test
    void aGoodPolicyIsValidatedAgainstTheRealDatabaseAndBucket() {
        create(policy("good", "app-db-replication", "0 2 * * *"));
        Condition c = awaitValidated("good", "True");
        assertThat(c.reason).isEqualTo("Validated");
        assertThat(c.message).contains("app_replication@" + Fixtures.host()).contains("PostgreSQL 15")
                .contains("s3://" + TestS3.BUCKET + "/it/" + NS + "/good");
        BackupPolicy p = get("good");
        assertThat(p.getStatus().phase).isEqualTo(BackupPolicyPhase.Active);
        assertThat(p.getStatus().observedGeneration).isEqualTo(p.getMetadata().getGeneration());
        assertThat(p.getStatus().nextScheduleTime).endsWith("T02:00:00Z");
    }

    @Test
    void noStorageAndNoOperatorDefaultIsARefusal() {
        BackupPolicy p = policy("no-storage", "app-db-replication", "0 2 * * *");
        p.getSpec().storage = null;
        create(p);
        Condition c = awaitValidated("no-storage", "False");
        assertThat(c.reason).isEqualTo("InvalidStorage");
        assertThat(c.message).contains("spec.storage is not set and the operator has no default storage");
        assertThat(get("no-storage").getStatus().phase).isEqualTo(BackupPolicyPhase.Failed);
        OperatorAssertions.awaitEvent(NS, "no-storage", "Warning", "InvalidStorage");
    }

    @Test
    void missingSecret() {
        create(policy("no-secret", "does-not-exist", "0 2 * * *"));
        Condition c = awaitValidated("no-secret", "False");
        assertThat(c.reason).isEqualTo("SecretNotFound");
        assertThat(c.message).contains("Secret does-not-exist").contains("namespace " + NS);
        assertThat(get("no-secret").getStatus().phase).isEqualTo(BackupPolicyPhase.Failed);
        OperatorAssertions.awaitEvent(NS, "no-secret", "Warning", "SecretNotFound");
    }

    @Test
    void secretWithoutTheNeededKeys() {
        Fixtures.secret(client, NS, "half-secret", Map.of("host", "127.0.0.1", "password", Fixtures.APP_PASSWORD));
        create(policy("half", "half-secret", "0 2 * * *"));
        Condition c = awaitValidated("half", "False");
        assertThat(c.reason).isEqualTo("SecretKeyMissing");
        assertThat(c.message).contains("dbname, user");
    }

    @Test
    void unreachableDatabaseIsATransientFaultNotAFailure() {
        Map<String, String> keys = new HashMap<>(Fixtures.appDbKeys());
        keys.put("port", "1"); // nothing listens there
        Fixtures.secret(client, NS, "unreachable-db", keys);
        create(policy("unreachable", "unreachable-db", "0 2 * * *"));
        Condition c = awaitValidated("unreachable", "False");
        assertThat(c.reason).isEqualTo("DatabaseUnreachable");
        assertThat(c.message).contains(Fixtures.host() + ":1").contains("retries");
        assertThat(get("unreachable").getStatus().phase).isEqualTo(BackupPolicyPhase.Pending);
    }

    @Test
    void wrongPassword() {
        Map<String, String> keys = new HashMap<>(Fixtures.appDbKeys());
        keys.put("password", "Wrong-" + Fixtures.APP_PASSWORD);
        Fixtures.secret(client, NS, "wrong-password-db", keys);
        create(policy("wrong-password", "wrong-password-db", "0 2 * * *"));
        Condition c = awaitValidated("wrong-password", "False");
        assertThat(c.reason).isEqualTo("AuthenticationFailed");
        assertThat(c.message).contains("app@" + Fixtures.host()).contains("28P01");
    }

    @Test
    void roleWithoutReplication() {
        create(policy("no-replication", "app-db", "0 2 * * *"));
        Condition c = awaitValidated("no-replication", "False");
        assertThat(c.reason).isEqualTo("MissingPrivilege");
        assertThat(c.message).contains("ALTER ROLE app REPLICATION");
    }

    @Test
    void invalidCron() {
        create(policy("bad-cron", "app-db-replication", "0 25 * * *"));
        Condition c = awaitValidated("bad-cron", "False");
        assertThat(c.reason).isEqualTo("InvalidSchedule");
        assertThat(c.message).contains("spec.schedule '0 25 * * *'");
        assertThat(get("bad-cron").getStatus().phase).isEqualTo(BackupPolicyPhase.Failed);
    }

    @Test
    void aScheduleThatIsNotFiveFieldsIsRefusedByTheApiServerItself() {
        for (String bad : List.of("0 2 * *", "@daily", "0 0 2 * * *", "every night at two")) {
            assertThatThrownBy(() -> create(policy("door", "app-db-replication", bad))).as(bad)
                    .isInstanceOfSatisfying(KubernetesClientException.class, e -> {
                        assertThat(e.getCode()).isEqualTo(422);
                        assertThat(e.getMessage()).contains("spec.schedule", "five fields separated by spaces");
                    });
        }
        BackupPolicy restoreTest = policy("door", "app-db-replication", "0 2 * * *");
        restoreTest.getSpec().verification.restoreTest = new BackupPolicySpec.RestoreTest();
        restoreTest.getSpec().verification.restoreTest.schedule = "weekly";
        assertThatThrownBy(() -> create(restoreTest)).isInstanceOfSatisfying(KubernetesClientException.class,
                e -> assertThat(e.getMessage()).contains("spec.verification.restoreTest.schedule", "five fields"));
        assertThat(client.resources(BackupPolicy.class).inNamespace(NS).withName("door").get()).isNull();
    }

    @Test
    void anUnknownTimeZoneIsAcceptedByTheApiServerAndFailsThePolicyAtOnce() {
        BackupPolicy p = policy("mars-time", "app-db-replication", "0 2 * * *");
        p.getSpec().timeZone = "Mars/Olympus_Mons"; // no CEL function knows IANA names: the operator checks it
        long t0 = System.nanoTime();
        create(p);
        Condition c = OperatorAssertions.awaitCondition(BackupPolicy.class, NS, "mars-time", "Validated", "False",
                java.time.Duration.ofSeconds(30));
        assertThat(c.reason).isEqualTo("InvalidSchedule");
        assertThat(c.message).contains("'Mars/Olympus_Mons' is not an IANA zone");
        assertThat(get("mars-time").getStatus().phase).as("terminal until the spec changes")
                .isEqualTo(BackupPolicyPhase.Failed);
        assertThat(java.time.Duration.ofNanos(System.nanoTime() - t0)).as("a person sees it quickly")
                .isLessThan(java.time.Duration.ofSeconds(30));
        assertThat(client.resources(io.fabric8.kubernetes.api.model.batch.v1.Job.class).inNamespace(NS).list()
                .getItems()).noneMatch(j -> j.getMetadata().getName().startsWith("mars-time"));
    }

    @Test
    void invalidS3Settings() {
        BackupPolicy noBucket = policy("no-bucket", "app-db-replication", "0 2 * * *");
        noBucket.getSpec().storage.bucket = "no-such-bucket";
        create(noBucket);
        Condition c = awaitValidated("no-bucket", "False");
        assertThat(c.reason).isEqualTo("BucketNotFound");
        assertThat(c.message).contains("no-such-bucket");

        BackupPolicy ftp = policy("ftp-endpoint", "app-db-replication", "0 2 * * *");
        ftp.getSpec().storage.endpoint = "ftp://storage";
        assertThatThrownBy(() -> create(ftp)).isInstanceOf(KubernetesClientException.class)
                .hasMessageContaining("spec.storage.endpoint").hasMessageContaining("should match");

        BackupPolicy badEndpoint = policy("bad-endpoint", "app-db-replication", "0 2 * * *");
        badEndpoint.getSpec().storage.endpoint = "https://key:secret@minio.storage:9000";
        create(badEndpoint);
        Condition e = awaitValidated("bad-endpoint", "False");
        assertThat(e.reason).isEqualTo("InvalidStorage");
        assertThat(e.message).contains("must not carry credentials").doesNotContain("key:secret");

        Fixtures.secret(client, NS, "s3-no-keys", Map.of("AWS_ACCESS_KEY_ID", TestS3.ACCESS_KEY_ID));
        BackupPolicy noKeys = policy("s3-no-keys", "app-db-replication", "0 2 * * *");
        noKeys.getSpec().storage.credentials.secretRef.name = "s3-no-keys";
        create(noKeys);
        Condition k = awaitValidated("s3-no-keys", "False");
        assertThat(k.reason).isEqualTo("SecretKeyMissing");
        assertThat(k.message).contains("AWS_SECRET_ACCESS_KEY");
    }

    @Test
    void fixingTheSpecRecovers() {
        create(policy("fixed-later", "app-db-replication", "0 99 * * *"));
        awaitValidated("fixed-later", "False");
        BackupPolicy p = get("fixed-later");
        p.getSpec().schedule = "30 3 * * *";
        client.resource(p).update();
        awaitValidated("fixed-later", "True");
        assertThat(get("fixed-later").getStatus().phase).isEqualTo(BackupPolicyPhase.Active);

        // and a working policy edited into one the API server accepts but the operator cannot use fails at once,
        // saying why, until the spec changes again
        OperatorAssertions.edit(BackupPolicy.class, NS, "fixed-later", x -> {
            x.getSpec().timeZone = "Mars/Olympus_Mons";
            return x;
        });
        Condition broken = awaitValidated("fixed-later", "False");
        assertThat(broken.reason).isEqualTo("InvalidSchedule");
        assertThat(get("fixed-later").getStatus().phase).isEqualTo(BackupPolicyPhase.Failed);
    }
}
