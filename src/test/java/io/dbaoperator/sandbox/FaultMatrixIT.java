package io.dbaoperator.sandbox;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

import io.dbaoperator.api.backup.BackupPolicy;
import io.dbaoperator.api.backup.BackupRestore;
import io.dbaoperator.api.common.ApprovalRecord;
import io.dbaoperator.api.common.OperatorStatus;
import io.dbaoperator.api.disposal.DisposalJob;
import io.dbaoperator.api.maintenance.DatabaseMaintenance;
import io.dbaoperator.api.migration.DatabaseMigration;
import io.dbaoperator.api.tuning.QueryTuningRequest;
import io.dbaoperator.backup.BackupJobs;
import io.dbaoperator.harness.FaultMatrix;
import io.dbaoperator.harness.OperatorHarness;
import io.dbaoperator.harness.TestPostgres;
import io.dbaoperator.harness.TestS3;
import io.fabric8.kubernetes.client.CustomResource;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;

/**
 * The SIGKILL half of the fault matrix (docs/reliability.md), against the packaged operator: for each kind, the
 * operator process is killed the moment each new phase appears in status (that is, just after the write that enters
 * a step, while the step runs) and started again; every run must still end in the right terminal phase with each
 * step run once, each approval recorded once and before what it authorised, the audit store agreeing with the
 * database, and no Job or lease left behind.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class FaultMatrixIT {

    static final String NS = Sandbox.NAMESPACE;
    static Sandbox sandbox;
    static KubernetesClient client;

    @BeforeAll
    static void start() throws Exception {
        sandbox = new Sandbox(Path.of("target/fault-matrix-sandbox"), Sandbox.Operator.PROCESS);
        sandbox.start();
        client = sandbox.client();
    }

    @AfterAll
    static void stop() {
        if (sandbox != null) {
            sandbox.stop();
        }
    }

    /**
     * Polls the resource's phase; each phase seen for the first time that is not terminal gets a SIGKILL of the
     * operator and a restart, then its action (an approval) if it has one. Returns the phases it killed in.
     */
    static List<String> killAtEveryNewPhase(Supplier<String> phase, Set<String> terminal, Map<String, Runnable> then,
            Duration atMost) throws Exception {
        Set<String> seen = new LinkedHashSet<>();
        List<String> killed = new ArrayList<>();
        long deadline = System.nanoTime() + atMost.toNanos();
        while (System.nanoTime() < deadline) {
            String p = phase.get();
            if (p != null && seen.add(p)) {
                if (terminal.contains(p)) {
                    return killed;
                }
                sandbox.killAndRestartOperator();
                killed.add(p);
                Runnable action = then.get(p);
                if (action != null) {
                    action.run();
                }
            } else if (p != null && terminal.contains(p)) {
                return killed;
            }
            Thread.sleep(20);
        }
        throw new AssertionError("no terminal phase in " + atMost + "; phases seen " + seen + ", last " + phase.get());
    }

    static <R extends CustomResource<?, ? extends OperatorStatus>> Supplier<String> phaseOf(Class<R> kind,
            String name) {
        return () -> {
            R r = client.resources(kind).inNamespace(NS).withName(name).get();
            return r == null || r.getStatus() == null || r.getStatus().phase() == null ? null
                    : r.getStatus().phase().name();
        };
    }

    static <R extends CustomResource<?, ?>> Runnable approve(Class<R> kind, String name) {
        return () -> client.resources(kind).inNamespace(NS).withName(name).subresource("status")
                .patch(PatchContext.of(PatchType.JSON_MERGE), "{\"status\":{\"approved\":true}}");
    }

    static <T> T load(String yaml, Class<T> type) {
        return client.getKubernetesSerialization().unmarshal(yaml, type);
    }

    /** The audit trail of one object, as "action step outcome" lines, oldest first. */
    static List<String> audit(String kind, String name) throws Exception {
        List<String> lines = new ArrayList<>();
        try (Connection c = TestPostgres.get().superuser(OperatorHarness.AUDIT_DB);
                var ps = c.prepareStatement("select action, coalesce(step, ''), outcome from dba_operator.audit_event "
                        + "where namespace = ? and kind = ? and name = ? order by occurred_at, id")) {
            ps.setString(1, NS);
            ps.setString(2, kind);
            ps.setString(3, name);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    lines.add(rs.getString(1) + " " + rs.getString(2) + " " + rs.getString(3));
                }
            }
        }
        return lines;
    }

    static long count(String db, String sql) throws Exception {
        try (Connection c = TestPostgres.get().superuser(db); ResultSet rs = c.createStatement().executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        }
    }

    static void noVoidedApproval(String name) {
        assertThat(client.v1().events().inNamespace(NS).list().getItems().stream()
                .filter(e -> name.equals(e.getInvolvedObject().getName())).map(e -> e.getReason()).toList())
                .doesNotContain("ApprovalVoided", "SchemaChanged", "PlanDigestMismatch");
    }

    @Test
    @Order(1)
    void backupPolicy() throws Exception {
        client.resource(load(String.join("\n",
                "apiVersion: dbaoperator.io/v1alpha1", "kind: BackupPolicy",
                "metadata: {name: matrix, namespace: " + NS + "}",
                "spec:",
                "  database: {secretRef: {name: app-db-replication}}",
                "  schedule: '0 3 * * *'",
                "  storage: {bucket: " + TestS3.BUCKET + ", prefix: matrix, endpoint: '" + sandbox.s3EndpointForPods()
                        + "', pathStyle: true, credentials: {secretRef: {name: backup-s3}}}",
                "  walArchiving: {enabled: true}"), BackupPolicy.class)).create();
        await().atMost(Duration.ofSeconds(60)).ignoreExceptions().until(() -> "Active".equals(
                phaseOf(BackupPolicy.class, "matrix").get()));
        client.resources(BackupPolicy.class).inNamespace(NS).withName("matrix").patch(PatchContext.of(
                PatchType.JSON_MERGE), "{\"metadata\":{\"annotations\":{\"dbaoperator.io/backup-now\":\"m1\"}}}");
        // killed the moment the backup's Job appears (the decision is stored, the upload runs), and again mid-upload
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(20)).until(() -> !client.batch().v1()
                .jobs().inNamespace(NS).withLabel(BackupJobs.POLICY_LABEL, "matrix").list().getItems().isEmpty());
        sandbox.killAndRestartOperator();
        sandbox.killAndRestartOperator();
        await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(300)).ignoreExceptions().untilAsserted(
                () -> assertThat(client.resources(BackupPolicy.class).inNamespace(NS).withName("matrix").get()
                        .getStatus().lastBackup.verified).isTrue());
        BackupPolicy p = client.resources(BackupPolicy.class).inNamespace(NS).withName("matrix").get();
        assertThat(p.getStatus().lastOnDemandRequest).isEqualTo("m1");
        assertThat(p.getStatus().startingBackupId).isNull();
        assertThat(p.getStatus().backups).as("one backup for one request").hasSize(1);
        // the Job controller completes the Job from its pod a moment after the agent recorded the backup
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(300)).untilAsserted(() -> assertThat(
                client.batch().v1().jobs().inNamespace(NS).withLabel(BackupJobs.POLICY_LABEL, "matrix").list()
                        .getItems()).hasSize(1).allSatisfy(j -> assertThat(j.getStatus().getSucceeded()).isEqualTo(1)));
        FaultMatrix.record("BackupPolicy", "SIGKILL when the backup Job appears, and again during the upload",
                "Active; one Job, one verified backup");
    }

    @Test
    @Order(2)
    void backupRestore() throws Exception {
        client.resource(load(String.join("\n",
                "apiVersion: dbaoperator.io/v1alpha1", "kind: BackupRestore",
                "metadata: {name: matrix-restore, namespace: " + NS + "}",
                "spec:",
                "  backupPolicyRef: {name: matrix}",
                "  target: {newInstance: {name: matrix-restored}}",
                "  checks: ['select true']"), BackupRestore.class)).create();
        List<String> killed = killAtEveryNewPhase(phaseOf(BackupRestore.class, "matrix-restore"),
                Set.of("Ready", "Failed", "Rejected"), Map.of("AwaitingApproval", approve(BackupRestore.class,
                        "matrix-restore")), Duration.ofSeconds(240));
        BackupRestore r = client.resources(BackupRestore.class).inNamespace(NS).withName("matrix-restore").get();
        assertThat(r.getStatus().phase.name()).as(r.getStatus().message).isEqualTo("Ready");
        assertThat(r.getStatus().approvals).extracting((ApprovalRecord a) -> a.step).containsExactly("restore");
        assertThat(r.getStatus().restoredUnder).startsWith("restore approved by ");
        assertThat(client.batch().v1().jobs().inNamespace(NS).list().getItems().stream()
                .filter(j -> j.getMetadata().getName().startsWith("matrix-restore")).toList()).hasSize(1);
        assertThat(audit("BackupRestore", "matrix-restore")).containsExactly("approval restore approved",
                "restore restore succeeded");
        noVoidedApproval("matrix-restore");
        FaultMatrix.record("BackupRestore", "SIGKILL at each new phase " + killed, "Ready; one restore Job; 1 approval"
                + " recorded before the Job; audit approval -> restore");
    }

    @Test
    @Order(3)
    void databaseMigration() throws Exception {
        TestPostgres.get().exec("app", "drop table if exists matrix_items",
                "create table matrix_items (id bigint primary key, legacy text, seen int)",
                "alter table matrix_items owner to app",
                "insert into matrix_items select g, 'x' || g, null from generate_series(1, 30000) g",
                "analyze matrix_items");
        client.resource(load(String.join("\n",
                "apiVersion: dbaoperator.io/v1alpha1", "kind: DatabaseMigration",
                "metadata: {name: matrix-migration, namespace: " + NS + "}",
                "spec:",
                "  database: {secretRef: {name: app-db}}",
                "  preMigrationBackup: {backupPolicyRef: {name: matrix}, maxAge: 1s}",
                "  expand: {sql: 'ALTER TABLE matrix_items ADD COLUMN counter int NOT NULL DEFAULT 0'}",
                "  backfill: {table: matrix_items, set: 'counter = counter + 1', batchSize: 500, "
                        + "pauseBetweenBatches: 20ms}",
                "  contract: {sql: 'ALTER TABLE matrix_items DROP COLUMN legacy'}",
                "  rollback: {sql: 'ALTER TABLE matrix_items DROP COLUMN IF EXISTS counter'}"),
                DatabaseMigration.class)).create();
        List<String> killed = killAtEveryNewPhase(phaseOf(DatabaseMigration.class, "matrix-migration"),
                Set.of("Completed", "Failed", "RolledBack", "Rejected"), Map.of(
                        "AwaitingCutover", approve(DatabaseMigration.class, "matrix-migration"),
                        "AwaitingApproval", approve(DatabaseMigration.class, "matrix-migration")),
                Duration.ofSeconds(300));
        DatabaseMigration m = client.resources(DatabaseMigration.class).inNamespace(NS).withName("matrix-migration")
                .get();
        assertThat(m.getStatus().phase.name()).as(m.getStatus().message).isEqualTo("Completed");
        assertThat(m.getStatus().approvals).extracting((ApprovalRecord a) -> a.step)
                .containsExactly("cutover", "contract");
        assertThat(count("app", "select count(*) from matrix_items where counter = 1")).as("each batch once")
                .isEqualTo(30000);
        assertThat(count("app", "select count(*) from information_schema.columns where table_name = 'matrix_items' "
                + "and column_name = 'legacy'")).isZero();
        assertThat(count("app", "select count(*) from dba_operator.migration_history where migration_id = "
                + "'default/matrix-migration' and outcome = 'applied'")).isEqualTo(3);
        assertThat(count("app", "select count(*) from dba_operator.migration_history where migration_id = "
                + "'default/matrix-migration' and step_id = 'contract#1' and approval like 'contract approved by %'"))
                .isEqualTo(1);
        assertThat(count("app", "select count(*) from dba_operator.migration_lease")).isZero();
        List<String> trail = audit("DatabaseMigration", "matrix-migration");
        assertThat(trail).containsExactly("apply expand#1 succeeded", "apply backfill succeeded",
                "approval cutover approved", "approval contract approved", "apply contract#1 succeeded");
        noVoidedApproval("matrix-migration");
        FaultMatrix.record("DatabaseMigration", "SIGKILL at each new phase " + killed, "Completed; expand, backfill "
                + "(30000 rows, each once), contract once; 2 approvals, each before its step; lease released");
    }

    @Test
    @Order(4)
    void disposalJob() throws Exception {
        TestPostgres.get().exec("app", "drop table if exists matrix_leavers",
                "create table matrix_leavers (id bigint primary key, full_name text not null, left_at timestamptz)",
                "alter table matrix_leavers owner to app",
                "insert into matrix_leavers select g, 'Leaver ' || g, now() - interval '3 years' "
                        + "from generate_series(1, 8000) g",
                "insert into matrix_leavers select g, 'Stayer ' || g, now() from generate_series(8001, 9000) g",
                "analyze matrix_leavers");
        client.resource(load(String.join("\n",
                "apiVersion: dbaoperator.io/v1alpha1", "kind: DisposalJob",
                "metadata: {name: matrix-disposal, namespace: " + NS + "}",
                "spec:",
                "  database: {secretRef: {name: app-db}}",
                "  saltSecretRef: {name: disposal-salt}",
                "  pauseBetweenBatches: 20ms",
                "  rules:",
                "    - name: leavers",
                "      table: matrix_leavers",
                "      olderThan: {column: left_at, age: 730d}",
                "      action: Anonymize",
                "      anonymize: {columns: {full_name: {strategy: Hash}}}",
                "      batchSize: 200"), DisposalJob.class)).create();
        List<String> killed = killAtEveryNewPhase(phaseOf(DisposalJob.class, "matrix-disposal"),
                Set.of("Completed", "Failed", "Rejected"), Map.of("AwaitingApproval", approve(DisposalJob.class,
                        "matrix-disposal")), Duration.ofSeconds(180));
        DisposalJob j = client.resources(DisposalJob.class).inNamespace(NS).withName("matrix-disposal").get();
        assertThat(j.getStatus().phase.name()).as(j.getStatus().message).isEqualTo("Completed");
        assertThat(j.getStatus().approvals).extracting((ApprovalRecord a) -> a.step).containsExactly("dispose");
        assertThat(count("app", "select count(*) from matrix_leavers where id <= 8000 and full_name = encode(sha256("
                + "convert_to('" + Sandbox.DISPOSAL_SALT + "' || 'Leaver ' || id, 'UTF8')), 'hex')"))
                .as("hashed once, not a hash of a hash").isEqualTo(8000);
        assertThat(count("app", "select count(*) from matrix_leavers where id > 8000 and full_name = 'Stayer ' || id"))
                .isEqualTo(1000);
        assertThat(count("app", "select count(*) from dba_operator.disposal_progress where job_id like "
                + "'default/matrix-disposal/%' and rows_done = 8000 and approval like 'dispose approved by %'"))
                .isEqualTo(1);
        assertThat(audit("DisposalJob", "matrix-disposal")).containsExactly("approval dispose approved",
                "disposal dispose succeeded");
        noVoidedApproval("matrix-disposal");
        FaultMatrix.record("DisposalJob", "SIGKILL at each new phase " + killed, "Completed; 8000 rows anonymized, "
                + "each once; 1 approval before the first batch");
    }

    @Test
    @Order(5)
    void queryTuningRequest() throws Exception {
        TestPostgres.get().exec("app", "create extension if not exists hypopg", "drop table if exists matrix_orders",
                "create table matrix_orders (id bigint primary key, customer_id int not null, total numeric)",
                "alter table matrix_orders owner to app",
                "insert into matrix_orders select g, g % 4000, g % 100 from generate_series(1, 80000) g",
                "analyze matrix_orders");
        client.resource(load(String.join("\n",
                "apiVersion: dbaoperator.io/v1alpha1", "kind: QueryTuningRequest",
                "metadata: {name: matrix-tuning, namespace: " + NS + "}",
                "spec:",
                "  database: {secretRef: {name: app-db}}",
                "  query: 'select id, total from matrix_orders where customer_id = $1'",
                "  parameters: ['17']",
                "  apply: {policy: AfterApproval}",
                "  unusedAfter: 3s"), QueryTuningRequest.class)).create();
        List<String> killed = killAtEveryNewPhase(phaseOf(QueryTuningRequest.class, "matrix-tuning"),
                Set.of("Completed", "Failed", "Rejected", "NoRecommendation", "Recommended"), Map.of(
                        "AwaitingApproval", approve(QueryTuningRequest.class, "matrix-tuning")),
                Duration.ofSeconds(180));
        QueryTuningRequest q = client.resources(QueryTuningRequest.class).inNamespace(NS).withName("matrix-tuning")
                .get();
        assertThat(q.getStatus().phase.name()).as(q.getStatus().message).isEqualTo("Completed");
        assertThat(q.getStatus().approvals).extracting((ApprovalRecord a) -> a.step).containsExactly("apply");
        assertThat(q.getStatus().recommendations.get(0).appliedUnder).startsWith("apply approved by ");
        assertThat(count("app", "select count(*) from pg_index i join pg_class c on c.oid = i.indrelid "
                + "where c.relname = 'matrix_orders' and not i.indisprimary")).as("one index").isEqualTo(1);
        assertThat(count("app", "select count(*) from pg_index i join pg_class c on c.oid = i.indrelid "
                + "where c.relname = 'matrix_orders' and not i.indisvalid")).as("none invalid").isZero();
        List<String> trail = audit("QueryTuningRequest", "matrix-tuning").stream()
                .filter(l -> !l.startsWith("usage")).toList();
        assertThat(trail).containsExactly("approval apply approved", "apply apply succeeded",
                "follow-up apply unused");
        noVoidedApproval("matrix-tuning");
        FaultMatrix.record("QueryTuningRequest", "SIGKILL at each new phase " + killed, "Completed; one valid "
                + "index; 1 approval before CREATE INDEX CONCURRENTLY");
    }

    @Test
    @Order(6)
    void databaseMaintenance() throws Exception {
        TestPostgres.get().exec("app", "create extension if not exists pgstattuple",
                "drop table if exists matrix_maint",
                "create table matrix_maint (id bigint primary key, email text not null) with (autovacuum_enabled = "
                        + "false)",
                "alter table matrix_maint owner to app",
                "insert into matrix_maint select g, 'user' || g || '@example.com' from generate_series(1, 1500000) g",
                "create index matrix_maint_email on matrix_maint (email)", "analyze matrix_maint");
        // half the rows gone and vacuumed away: the index keeps its pages (a rebuild halves it); then a third of the
        // rest deleted: dead tuples for a VACUUM
        TestPostgres.get().exec("app", "delete from matrix_maint where id % 2 = 0");
        TestPostgres.get().exec("app", "vacuum analyze matrix_maint");
        TestPostgres.get().exec("app", "delete from matrix_maint where id % 6 = 1", "select pg_stat_force_next_flush()");
        long file = count("app", "select pg_relation_filenode('matrix_maint_email')");
        client.resource(load(String.join("\n",
                "apiVersion: dbaoperator.io/v1alpha1", "kind: DatabaseMaintenance",
                "metadata: {name: matrix-maintenance, namespace: " + NS + "}",
                "spec:",
                "  database: {secretRef: {name: app-db}}",
                "  tasks: [vacuum, reindex]",
                "  include: [matrix_maint]",
                "  approval: {reindexApprovalSize: 1Mi}"), DatabaseMaintenance.class)).create();
        // each new phase, and each task the moment it is Running (a kill in the middle of its statement)
        Supplier<String> phaseOrTask = () -> {
            DatabaseMaintenance m = client.resources(DatabaseMaintenance.class).inNamespace(NS)
                    .withName("matrix-maintenance").get();
            if (m == null || m.getStatus() == null || m.getStatus().phase == null) {
                return null;
            }
            return m.getStatus().phase.name() + m.getStatus().tasks.stream().filter(t -> "Running".equals(t.state))
                    .map(t -> " running " + t.kind + " " + t.object).findFirst().orElse("");
        };
        List<String> killed = killAtEveryNewPhase(phaseOrTask, Set.of("Completed", "Failed", "Rejected"),
                Map.of("AwaitingApproval", approve(DatabaseMaintenance.class, "matrix-maintenance")),
                Duration.ofSeconds(300));
        DatabaseMaintenance m = client.resources(DatabaseMaintenance.class).inNamespace(NS)
                .withName("matrix-maintenance").get();
        assertThat(m.getStatus().phase.name()).as(m.getStatus().message).isEqualTo("Completed");
        assertThat(killed).as("killed while a rebuild ran").anyMatch(k -> k.contains("running Reindex"));
        assertThat(m.getStatus().tasks).extracting(t -> t.kind + " " + t.object + " " + t.state).contains(
                "Vacuum public.matrix_maint Done", "Reindex public.matrix_maint_email Done");
        assertThat(count("app", "select count(*) from pg_index i join pg_class c on c.oid = i.indrelid "
                + "where c.relname = 'matrix_maint' and not i.indisvalid")).as("no INVALID index").isZero();
        assertThat(count("app", "select count(*) from pg_class where relname like 'matrix_maint_email_cc%'"))
                .as("no leftover").isZero();
        assertThat(count("app", "select pg_relation_filenode('matrix_maint_email')")).isNotEqualTo(file);
        assertThat(count("app", "select n_dead_tup from pg_stat_user_tables where relname = 'matrix_maint'"))
                .isZero();
        List<String> trail = audit("DatabaseMaintenance", "matrix-maintenance");
        assertThat(trail.stream().filter(l -> l.equals("maintenance reindex done")).count())
                .as("each rebuild recorded once: " + trail).isEqualTo(m.getStatus().tasks.stream()
                        .filter(t -> t.kind.equals("Reindex")).count());
        assertThat(trail).containsOnlyOnce("approval maintain approved", "maintenance vacuum done",
                "maintenance run succeeded");
        noVoidedApproval("matrix-maintenance");
        FaultMatrix.record("DatabaseMaintenance", "SIGKILL at each new phase and while each task ran " + killed,
                "Completed; no INVALID index or leftover, each task recorded once");
    }

    @Test
    @Order(7)
    void stagingRefresh() throws Exception {
        TestPostgres.get().exec("app", "drop table if exists matrix_people",
                "create table matrix_people (id int primary key, email text not null)",
                "alter table matrix_people owner to app",
                "insert into matrix_people select g, 'person' || g || '@matrix.example' from generate_series(1, 200) g");
        client.resource(load(String.join("\n",
                "apiVersion: dbaoperator.io/v1alpha1", "kind: BackupPolicy",
                "metadata: {name: matrix-dumps, namespace: " + NS + ", annotations: {dbaoperator.io/backup-now: d1}}",
                "spec:",
                "  method: logical",
                "  database: {secretRef: {name: app-db-dumper}}",
                "  logical: {tables: [public.matrix_people]}",
                "  schedule: '0 3 * * *'",
                "  storage: {bucket: " + TestS3.BUCKET + ", prefix: matrix-dumps, endpoint: '"
                        + sandbox.s3EndpointForPods() + "', pathStyle: true, credentials: {secretRef: {name: backup-s3}}}"),
                BackupPolicy.class)).create();
        await().atMost(Duration.ofSeconds(180)).pollInterval(Duration.ofMillis(500)).ignoreExceptions().until(() ->
                Boolean.TRUE.equals(client.resources(BackupPolicy.class).inNamespace(NS).withName("matrix-dumps").get()
                        .getStatus().lastBackup.verified));
        client.resource(load(String.join("\n",
                "apiVersion: dbaoperator.io/v1alpha1", "kind: BackupRestore",
                "metadata: {name: matrix-staging, namespace: " + NS + "}",
                "spec:",
                "  backupPolicyRef: {name: matrix-dumps}",
                "  target: {database: {databaseRef: {secretRef: {name: staging-restorer}}, name: matrix_stage}}",
                "  masking: {rules: [{table: matrix_people, columns: {email: {strategy: Redact}}}]}",
                "  checks: ['select count(*) = 200 from matrix_people']",
                "  refresh: {schedule: '0 3 1 1 *', stagingSecretRef: {name: matrix-staging}}"), BackupRestore.class))
                .create();
        // the first run: killed at each new phase up to Waiting (the copy served)
        List<String> killed = killAtEveryNewPhase(phaseOf(BackupRestore.class, "matrix-staging"),
                Set.of("Waiting", "Failed", "Rejected"), Map.of("AwaitingApproval", approve(BackupRestore.class,
                        "matrix-staging")), Duration.ofSeconds(240));
        BackupRestore r = client.resources(BackupRestore.class).inNamespace(NS).withName("matrix-staging").get();
        assertThat(r.getStatus().phase.name()).as(r.getStatus().message).isEqualTo("Waiting");
        assertThat(r.getStatus().staging.last.outcome).as(r.getStatus().staging.last.message).isEqualTo("Served");
        // the second, asked for: killed at each phase it passes until it serves again
        client.resources(BackupRestore.class).inNamespace(NS).withName("matrix-staging").patch(PatchContext.of(
                PatchType.JSON_MERGE), "{\"metadata\":{\"annotations\":{\"dbaoperator.io/refresh-now\":\"m2\"}}}");
        Set<String> seen = new LinkedHashSet<>();
        long deadline = System.nanoTime() + Duration.ofSeconds(240).toNanos();
        while (true) {
            assertThat(System.nanoTime()).as("the second refresh did not end; phases seen " + seen)
                    .isLessThan(deadline);
            BackupRestore now = client.resources(BackupRestore.class).inNamespace(NS).withName("matrix-staging").get();
            String p = now.getStatus().phase.name();
            if ("Waiting".equals(p) && now.getStatus().staging.last != null && now.getStatus().staging.last.run == 2) {
                break;
            }
            if (!"Waiting".equals(p) && seen.add(p)) {
                sandbox.killAndRestartOperator();
                killed.add(p + " (run 2)");
            }
            Thread.sleep(20);
        }
        r = client.resources(BackupRestore.class).inNamespace(NS).withName("matrix-staging").get();
        assertThat(r.getStatus().staging.last.outcome).as(r.getStatus().staging.last.message).isEqualTo("Served");
        assertThat(r.getStatus().staging.serving).isEqualTo("matrix_stage_r2");
        assertThat(new String(java.util.Base64.getDecoder().decode(client.secrets().inNamespace(NS)
                .withName("matrix-staging").get().getData().get("dbname")), java.nio.charset.StandardCharsets.UTF_8))
                .isEqualTo("matrix_stage_r2");
        assertThat(count("postgres", "select count(*) from pg_database where datname like 'matrix_stage%'"))
                .as("r2 only: r1 dropped, no temporary copy left").isEqualTo(1);
        assertThat(count("matrix_stage_r2", "select count(*) from matrix_people where email like '%@matrix.example'"))
                .isZero();
        assertThat(client.batch().v1().jobs().inNamespace(NS).withLabel("dbaoperator.io/backup-restore",
                "matrix-staging").list().getItems()).as("one Job per run").hasSize(2);
        assertThat(r.getStatus().approvals).extracting((ApprovalRecord a) -> a.step).containsExactly("restore");
        assertThat(audit("BackupRestore", "matrix-staging").stream().filter(l -> l.startsWith("staging-refresh"))
                .toList()).as("each run's swap audited once").containsExactly("staging-refresh restore served",
                        "staging-refresh restore served");
        TestPostgres.get().exec("postgres", "drop database if exists matrix_stage_r2 with (force)");
        FaultMatrix.record("BackupRestore (staging refresh)", "SIGKILL at each new phase of two runs " + killed,
                "Waiting; the Secret points at the second copy, the first dropped, one Job per run, one approval");
    }
}
