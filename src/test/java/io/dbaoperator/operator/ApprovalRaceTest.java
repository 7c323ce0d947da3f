package io.dbaoperator.operator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.Test;

import io.dbaoperator.api.common.ApprovalRecord;
import io.dbaoperator.api.migration.DatabaseMigration;
import io.dbaoperator.api.migration.DatabaseMigrationSpec;
import io.dbaoperator.api.migration.DatabaseMigrationStatus;
import io.dbaoperator.approval.ApprovalGate;
import io.dbaoperator.approval.GatedStep;
import io.dbaoperator.harness.OperatorTier;
import io.dbaoperator.harness.TestKubernetes;
import io.dbaoperator.status.StatusPatcher;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;

/**
 * An approval patched onto status while the operator is writing its own status is never lost: a person approves a
 * series of steps with kubectl's merge patch while an operator loop keeps rewriting status as fast as it can through
 * the production status path. Every approval must be consumed exactly once, in order.
 */
@OperatorTier
class ApprovalRaceTest {

    static final int STEPS = 25;

    @Test
    void noApprovalIsLostOrCountedTwiceUnderConcurrentStatusWrites() throws Exception {
        KubernetesClient client = TestKubernetes.get().namespace("approval-race");
        String ns = "approval-race";
        DatabaseMigration m = new DatabaseMigration();
        m.getMetadata().setName("race");
        m.getMetadata().setNamespace(ns);
        m.setSpec(new DatabaseMigrationSpec());
        m.getSpec().database = Fixtures.db("unused");
        m.getSpec().rollback = new DatabaseMigrationSpec.SqlStep("select 1");
        client.resource(m).create();

        StatusPatcher patcher = new StatusPatcher(client);
        AtomicBoolean done = new AtomicBoolean();
        AtomicInteger conflicts = new AtomicInteger();
        AtomicInteger writes = new AtomicInteger();

        CompletableFuture<Void> operator = CompletableFuture.runAsync(() -> {
            while (!done.get()) {
                DatabaseMigration seen = client.resources(DatabaseMigration.class).inNamespace(ns).withName("race").get();
                DatabaseMigrationStatus desired = StatusPatcher.copy(seen.getStatus(), DatabaseMigrationStatus.class);
                int next = desired.approvals.size() + 1;
                if (next > STEPS) {
                    done.set(true);
                    return;
                }
                GatedStep step = new GatedStep("step-" + next, "race step", "sha256:" + next, null,
                        seen.getMetadata().getGeneration());
                ApprovalGate.evaluate(desired, step, new ApprovalGate.Commands("dbm", "race", ns),
                        seen.getMetadata().getManagedFields(), Instant.now());
                desired.message = "operator write " + writes.incrementAndGet(); // churn on every pass
                try {
                    patcher.patch(seen, desired);
                } catch (KubernetesClientException e) {
                    if (e.getCode() != 409) {
                        throw e;
                    }
                    conflicts.incrementAndGet();
                }
            }
        });

        for (int i = 1; i <= STEPS; i++) {
            String expected = "step-" + i;
            await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(5)).until(() -> {
                DatabaseMigration cur = client.resources(DatabaseMigration.class).inNamespace(ns).withName("race").get();
                return cur.getStatus() != null && cur.getStatus().approvalRequest != null
                        && expected.equals(cur.getStatus().approvalRequest.step);
            });
            // exactly what `kubectl patch dbm race --subresource=status --type=merge -p ...` sends
            client.resources(DatabaseMigration.class).inNamespace(ns).withName("race").subresource("status")
                    .patch(PatchContext.of(PatchType.JSON_MERGE), "{\"status\":{\"approved\":true}}");
        }
        operator.get(60, TimeUnit.SECONDS);

        DatabaseMigration end = client.resources(DatabaseMigration.class).inNamespace(ns).withName("race").get();
        List<String> consumed = end.getStatus().approvals.stream().map((ApprovalRecord r) -> r.step).toList();
        assertThat(consumed).hasSize(STEPS);
        for (int i = 1; i <= STEPS; i++) {
            assertThat(consumed.get(i - 1)).isEqualTo("step-" + i);
        }
        assertThat(end.getStatus().approved).isNull();
        assertThat(writes.get()).isGreaterThan(STEPS);
        System.out.printf("approval race: %d operator writes, %d conflicts resolved by re-reading%n", writes.get(),
                conflicts.get());
    }
}
