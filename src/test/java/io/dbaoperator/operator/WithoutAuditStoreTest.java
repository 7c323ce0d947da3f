package io.dbaoperator.operator;

import static io.dbaoperator.operator.OperatorAssertions.awaitCondition;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import io.dbaoperator.api.migration.DatabaseMigration;
import io.dbaoperator.api.migration.DatabaseMigrationSpec;
import io.dbaoperator.audit.AuditEvent;
import io.dbaoperator.audit.AuditLog;
import io.dbaoperator.harness.OperatorHarness;
import io.dbaoperator.harness.OperatorTier;
import io.dbaoperator.harness.TestKubernetes;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import jakarta.inject.Inject;

/** Without a datasource the operator still runs, and the audit trail goes to Events (and the log). */
@OperatorTier
@QuarkusTest
@TestProfile(WithoutAuditStoreTest.NoAuditStore.class)
class WithoutAuditStoreTest {

    public static class NoAuditStore implements QuarkusTestProfile {
        @Override
        public List<TestResourceEntry> testResources() {
            return List.of(new TestResourceEntry(OperatorHarness.class, Map.of("audit", "false")));
        }
    }

    @Inject
    AuditLog audit;

    @Test
    void operatorRunsAndAuditsToEvents() {
        var client = TestKubernetes.get().namespace("no-audit-store");
        String ns = "no-audit-store";
        Fixtures.databases();
        Fixtures.secret(client, ns, "app-db", Fixtures.appDbKeys());
        DatabaseMigration m = new DatabaseMigration();
        m.getMetadata().setName("runs-anyway");
        m.getMetadata().setNamespace(ns);
        m.setSpec(new DatabaseMigrationSpec());
        m.getSpec().database = Fixtures.db("app-db");
        m.getSpec().rollback = new DatabaseMigrationSpec.SqlStep("select 1");
        DatabaseMigration created = client.resource(m).create();
        awaitCondition(DatabaseMigration.class, ns, "runs-anyway", "Validated", "True");

        assertThat(audit.storesToDatabase()).isFalse();
        audit.record(created, new AuditEvent(Instant.now(), ns, "DatabaseMigration", "runs-anyway", null, "approval",
                "contract", "kubectl-patch", "approved", "sha256:1", Map.of()));
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(OperatorAssertions.events(ns,
                "runs-anyway")).anySatisfy(e -> {
                    assertThat(e.getReason()).isEqualTo("Audit");
                    assertThat(e.getMessage()).isEqualTo("approval contract approved by kubectl-patch (plan sha256:1)");
                }));
        assertThat(audit.history(ns, "DatabaseMigration", "runs-anyway")).isEmpty();
    }
}
