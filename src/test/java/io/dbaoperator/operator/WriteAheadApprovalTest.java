package io.dbaoperator.operator;

import static io.dbaoperator.operator.OperatorAssertions.events;
import static io.dbaoperator.operator.OperatorAssertions.get;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import io.dbaoperator.api.common.ApprovalRecord;
import io.dbaoperator.api.common.ApprovalRequest;
import io.dbaoperator.api.migration.DatabaseMigration;
import io.dbaoperator.api.migration.DatabaseMigrationSpec;
import io.dbaoperator.api.migration.MigrationPhase;
import io.dbaoperator.audit.AuditEvent;
import io.dbaoperator.audit.AuditLog;
import io.dbaoperator.harness.OperatorHarness;
import io.dbaoperator.harness.OperatorTier;
import io.dbaoperator.harness.TestKubernetes;
import io.dbaoperator.harness.TestPostgres;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import jakarta.inject.Inject;

/**
 * The run reported in issue 14, reproduced: a destructive contract approved while another client keeps writing the
 * object's metadata (as Argo CD's tracking annotations do), and the status write that consumes the approval meeting
 * a 409. The contract must run once, after its approval is recorded; that record must be the only one; nobody may be
 * asked again for a step that ran; and the request shown to a person must not change while nothing changed.
 */
@OperatorTier
@QuarkusTest
@QuarkusTestResource(OperatorHarness.class)
class WriteAheadApprovalTest {

    static final String NS = "write-ahead";
    static final String DB = "wal_contract";
    static KubernetesClient client;

    @Inject
    AuditLog audit;

    @BeforeAll
    static void setUp() {
        client = TestKubernetes.get().namespace(NS);
        Fixtures.databases();
    }

    @AfterEach
    void stopInterfering() {
        TestKubernetes.get().api().interfere(null);
    }

    @Test
    void aContractApprovedWhileTheObjectKeepsChangingRunsOnceAndOnlyAfterItsApprovalIsRecorded() throws Exception {
        TestPostgres pg = TestPostgres.get();
        pg.createDatabase(DB, "app", Fixtures.APP_PASSWORD);
        pg.exec(DB, "drop schema if exists dba_operator cascade", "drop table if exists accounts",
                "create table accounts (id bigint primary key, balance bigint not null, legacy_flag boolean)",
                "alter table accounts owner to app",
                "insert into accounts select g, g, g % 2 = 0 from generate_series(1, 3000) g", "analyze accounts");
        Map<String, String> keys = new java.util.HashMap<>(Fixtures.appDbKeys());
        keys.put("dbname", DB);
        Fixtures.secret(client, NS, "wal-db", keys);

        DatabaseMigration m = new DatabaseMigration();
        m.getMetadata().setName("drop-legacy");
        m.getMetadata().setNamespace(NS);
        DatabaseMigrationSpec spec = new DatabaseMigrationSpec();
        spec.database = Fixtures.db("wal-db");
        spec.expand = new DatabaseMigrationSpec.SqlStep("ALTER TABLE accounts ADD COLUMN flags int");
        spec.backfill = new DatabaseMigrationSpec.Backfill();
        spec.backfill.table = "accounts";
        spec.backfill.set = "flags = CASE WHEN legacy_flag THEN 1 ELSE 0 END";
        spec.backfill.where = "flags IS NULL";
        spec.backfill.batchSize = 500;
        spec.contract = new DatabaseMigrationSpec.SqlStep("ALTER TABLE accounts DROP COLUMN legacy_flag");
        spec.rollback = new DatabaseMigrationSpec.SqlStep("ALTER TABLE accounts DROP COLUMN IF EXISTS flags");
        m.setSpec(spec);
        client.resource(m).create();

        awaitRequest("drop-legacy", "cutover", Duration.ofSeconds(60));
        approve();
        awaitRequest("drop-legacy", "contract", Duration.ofSeconds(30));

        AtomicBoolean stop = new AtomicBoolean();
        AtomicInteger annotations = new AtomicInteger();
        CompletableFuture<Void> argo = CompletableFuture.runAsync(() -> {
            while (!stop.get()) { // what Argo CD's tracking, or `kubectl annotate --overwrite` in a loop, does
                client.resources(DatabaseMigration.class).inNamespace(NS).withName("drop-legacy")
                        .patch(PatchContext.of(PatchType.JSON_MERGE), "{\"metadata\":{\"annotations\":"
                                + "{\"argocd.argoproj.io/tracking-id\":\"sync-" + annotations.incrementAndGet() + "\"}}}");
                // 5 writes a second, far more than Argo CD makes; each lands between the operator's read and its
                // pinned write often enough (a decision here takes tens of ms on the real API server) to cost it a 409
                sleep(200);
            }
        });
        try {
            // one plan per decision: the request a person reads stays the same while only metadata changes
            ApprovalRequest shown = get(DatabaseMigration.class, NS, "drop-legacy").getStatus().approvalRequest;
            assertThat(shown.step).isEqualTo("contract");
            Thread.sleep(3000);
            ApprovalRequest later = get(DatabaseMigration.class, NS, "drop-legacy").getStatus().approvalRequest;
            assertThat(later.requestedAt).as("re-issued without a change").isEqualTo(shown.requestedAt);
            assertThat(later.planDigest).isEqualTo(shown.planDigest);
            assertThat(later.schemaFingerprint).isEqualTo(shown.schemaFingerprint);

            // the write that consumes the approval, and the one after the contract ran, each meet a 409 first
            AtomicInteger consuming = new AtomicInteger();
            AtomicInteger completing = new AtomicInteger();
            TestKubernetes.get().api().interfere((path, n, patch) -> path.endsWith("/drop-legacy")
                    && (patch.contains("\"Contracting\"") && consuming.getAndIncrement() == 0
                            || patch.contains("\"Completed\"") && completing.getAndIncrement() == 0));
            approve();
            awaitPhase(MigrationPhase.Completed, Duration.ofSeconds(60));
            assertThat(consuming.get()).as("the consuming write was tried again after its 409").isGreaterThan(1);
            assertThat(completing.get()).isGreaterThan(1);
        } finally {
            stop.set(true);
            argo.get(10, TimeUnit.SECONDS);
        }

        DatabaseMigration done = get(DatabaseMigration.class, NS, "drop-legacy");
        List<ApprovalRecord> contract = done.getStatus().approvals.stream().filter(a -> a.step.equals("contract"))
                .toList();
        assertThat(contract).as("one recorded approval of contract").hasSize(1);
        assertThat(done.getStatus().approvalRequest).isNull();
        assertThat(done.getStatus().approved).isNull();

        // the column is gone, dropped once, under the approval that status records
        try (Connection c = pg.superuser(DB); ResultSet rs = c.createStatement().executeQuery(
                "select started_at, attempts, outcome, approval from dba_operator.migration_history "
                        + "where migration_id = 'write-ahead/drop-legacy' and step_id = 'contract#1'")) {
            assertThat(rs.next()).isTrue();
            Timestamp started = rs.getTimestamp(1);
            assertThat(rs.getInt(2)).isEqualTo(1);
            assertThat(rs.getString(3)).isEqualTo("applied");
            assertThat(rs.getString(4)).isEqualTo("contract approved by " + contract.get(0).approvedBy + " at "
                    + contract.get(0).approvedAt + " for plan " + contract.get(0).planDigest);
            assertThat(Instant.parse(contract.get(0).approvedAt)).as("approved before it ran")
                    .isBeforeOrEqualTo(started.toInstant());
            assertThat(rs.next()).isFalse();
        }
        assertThat(scalar("select count(*) from information_schema.columns where table_name = 'accounts' "
                + "and column_name = 'legacy_flag'")).isZero();

        // nobody was asked again for a step that ran
        assertThat(events(NS, "drop-legacy")).noneMatch(e -> "ApprovalVoided".equals(e.getReason())
                || "SchemaChanged".equals(e.getReason()));

        // the audit store: one approval of contract, recorded before the statement it authorised
        List<AuditEvent> trail = audit.history(NS, "DatabaseMigration", "drop-legacy");
        List<String> order = trail.stream().map(e -> e.action() + " " + e.step()).toList();
        assertThat(order.stream().filter("approval contract"::equals)).hasSize(1);
        assertThat(order.stream().filter("apply contract#1"::equals)).hasSize(1);
        assertThat(order.indexOf("approval contract")).as(order.toString())
                .isLessThan(order.indexOf("apply contract#1"));
        assertThat(TestKubernetes.get().api().interfered()).isGreaterThanOrEqualTo(2);
    }

    @Test
    void aWholeMigrationWhoseEveryStatusWriteMeetsAConflictOnceEndsCompletedWithEveryStepRunOnce() throws Exception {
        DatabaseMigrationTest.client = client;
        DatabaseMigrationTest.database("wal_matrix", 4000);
        DatabaseMigration m = DatabaseMigrationTest.emailMigration("matrix", "wal_matrix");
        m.getMetadata().setNamespace(NS);
        Map<String, String> keys = new java.util.HashMap<>(Fixtures.appDbKeys());
        keys.put("dbname", "wal_matrix");
        Fixtures.secret(client, NS, DatabaseMigrationTest.secretName("wal_matrix"), keys);
        TestKubernetes.get().api().interfere(io.dbaoperator.harness.FaultMatrix.everyOtherStatusWrite(NS,
                "databasemigrations", "matrix"));
        client.resource(m).create();

        awaitRequest("matrix", "cutover", Duration.ofSeconds(90));
        approve("matrix");
        awaitRequest("matrix", "contract", Duration.ofSeconds(30));
        approve("matrix");
        awaitPhase("matrix", MigrationPhase.Completed, Duration.ofSeconds(60));
        int refused = TestKubernetes.get().api().interfered();
        TestKubernetes.get().api().interfere(null);

        DatabaseMigration done = get(DatabaseMigration.class, NS, "matrix");
        assertThat(done.getStatus().approvals).extracting(a -> a.step).containsExactly("cutover", "contract");
        try (Connection c = TestPostgres.get().superuser("wal_matrix"); ResultSet rs = c.createStatement().executeQuery(
                "select step_id, outcome, attempts, approval from dba_operator.migration_history "
                        + "where migration_id = 'write-ahead/matrix' order by started_at")) {
            List<String> rows = new java.util.ArrayList<>();
            while (rs.next()) {
                rows.add(rs.getString(1) + " " + rs.getString(2) + " " + rs.getInt(3)
                        + (rs.getString(4) == null ? "" : " under " + rs.getString(4).split(" ")[0]));
            }
            assertThat(rows).containsExactly("expand#1 applied 1", "expand#2 applied 1", "backfill applied 1",
                    "contract#1 applied 1 under contract");
        }
        try (Connection c = TestPostgres.get().superuser("wal_matrix"); ResultSet rs = c.createStatement().executeQuery(
                "select count(*) filter (where email_lower is null), (select count(*) from dba_operator.migration_lease)"
                        + " from users")) {
            rs.next();
            assertThat(rs.getLong(1)).as("every row backfilled").isZero();
            assertThat(rs.getLong(2)).as("lease released").isZero();
        }
        assertThat(events(NS, "matrix")).noneMatch(e -> "ApprovalVoided".equals(e.getReason()));
        List<String> order = audit.history(NS, "DatabaseMigration", "matrix").stream()
                .map(e -> e.action() + " " + e.step()).toList();
        assertThat(order.stream().filter(x -> x.startsWith("approval "))).containsExactly("approval cutover",
                "approval contract");
        assertThat(order.indexOf("approval contract")).as(order.toString()).isLessThan(order.indexOf("apply contract#1"));
        assertThat(order.stream().filter(x -> x.startsWith("apply "))).containsExactly("apply expand#1",
                "apply expand#2", "apply backfill", "apply contract#1");
        io.dbaoperator.harness.FaultMatrix.record("DatabaseMigration", "every status write 409 once (" + refused
                + " refused)", "Completed; 4 steps once each; 2 approvals, each before its step");
    }

    static void approve(String name) {
        OperatorAssertions.approve(DatabaseMigration.class, NS, name, null);
    }

    static void awaitPhase(String name, MigrationPhase phase, Duration atMost) {
        OperatorAssertions.awaitPhase(DatabaseMigration.class, NS, name, phase, atMost, MigrationPhase.Failed);
    }

    /** What a person waits for: the phase that asks, with the request for that step in view. */
    static void awaitRequest(String name, String step, Duration atMost) {
        await().atMost(atMost).pollInterval(Duration.ofMillis(100)).untilAsserted(() -> {
            DatabaseMigration m = get(DatabaseMigration.class, NS, name);
            assertThat(m.getStatus()).isNotNull();
            if (m.getStatus().phase == MigrationPhase.Failed) {
                throw new IllegalStateException("failed: " + m.getStatus().message);
            }
            assertThat(m.getStatus().approvalRequest).as(m.getStatus().message).isNotNull();
            assertThat(m.getStatus().approvalRequest.step).isEqualTo(step);
        });
    }

    static void approve() {
        approve("drop-legacy");
    }

    static void awaitPhase(MigrationPhase phase, Duration atMost) {
        awaitPhase("drop-legacy", phase, atMost);
    }

    static long scalar(String sql) throws Exception {
        try (Connection c = TestPostgres.get().superuser(DB); ResultSet rs = c.createStatement().executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        }
    }

    static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
