package io.dbaoperator.operator;

import static io.dbaoperator.operator.OperatorAssertions.awaitCondition;
import static io.dbaoperator.operator.OperatorAssertions.awaitEvent;
import static io.dbaoperator.operator.OperatorAssertions.awaitPhase;
import static io.dbaoperator.operator.OperatorAssertions.get;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import io.dbaoperator.api.common.MaintenanceWindow;
import io.dbaoperator.api.maintenance.DatabaseMaintenance;
import io.dbaoperator.api.maintenance.DatabaseMaintenanceSpec;
import io.dbaoperator.api.maintenance.DatabaseMaintenanceStatus;
import io.dbaoperator.api.maintenance.DatabaseMaintenanceStatus.TaskStatus;
import io.dbaoperator.api.maintenance.MaintenancePhase;
import io.dbaoperator.audit.AuditLog;
import io.dbaoperator.harness.FaultMatrix;
import io.dbaoperator.harness.OperatorHarness;
import io.dbaoperator.harness.OperatorTier;
import io.dbaoperator.harness.TestClock;
import io.dbaoperator.harness.TestKubernetes;
import io.dbaoperator.harness.TestPostgres;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;

/**
 * DatabaseMaintenance against the real PostgreSQL: each test has its own database (autovacuum off on its tables, so
 * only the operator changes what they show) and looks at the catalog and statistics themselves.
 */
@OperatorTier
@QuarkusTest
@QuarkusTestResource(OperatorHarness.class)
class DatabaseMaintenanceTest {

    static final String NS = "maintenance";
    static final String NO_AUTOVACUUM = " with (autovacuum_enabled = false)";
    static KubernetesClient client;

    @jakarta.inject.Inject
    AuditLog audit;

    @BeforeAll
    static void setUp() {
        client = Fixtures.namespace(NS);
    }

    // --- plan, effects, approval ---

    @Test
    void thePlanIsInStatusBeforeAnythingRuns_EachTaskShowsItsEffect_AndTheLargeRebuildsWaitForAPerson()
            throws Exception {
        database("mnt_effects", false,
                "create table churn (id int primary key, note text)" + NO_AUTOVACUUM,
                "insert into churn select g, 'n' || g from generate_series(1, 50000) g",
                "create table events (id int primary key, kind text)" + NO_AUTOVACUUM,
                "insert into events select g, 'k' from generate_series(1, 20000) g",
                "create table accounts (id int primary key, email text not null)" + NO_AUTOVACUUM,
                "insert into accounts select g, 'user' || g || '@example.com' from generate_series(1, 100000) g",
                "create index accounts_email on accounts (email)",
                "create table dups (id int primary key, k int)" + NO_AUTOVACUUM,
                "insert into dups select g, g % 900 from generate_series(1, 1000) g",
                "create table quiet (id int primary key)" + NO_AUTOVACUUM,
                "insert into quiet select generate_series(1, 1000)");
        TestPostgres pg = TestPostgres.get();
        // a unique index whose concurrent build failed on the duplicates: left INVALID; then the duplicates go
        assertThatThrownBy(() -> pg.exec("mnt_effects", "create unique index concurrently dups_k on dups (k)"))
                .hasMessageContaining("could not create unique index");
        pg.exec("mnt_effects", "vacuum (freeze, analyze)");
        pg.exec("mnt_effects", "delete from churn where id % 10 < 3", // 30% dead
                "insert into events select g, 'new' from generate_series(20001, 30000) g", // stale statistics
                "delete from accounts where id % 5 <> 0", // 80% of every index page empty
                "delete from dups where id > 900", "select pg_stat_force_next_flush()");
        pg.exec("mnt_effects", "vacuum analyze accounts", "select pg_stat_force_next_flush()");
        long emailFile = scalar("mnt_effects", "select pg_relation_filenode('accounts_email')");
        long emailSize = scalar("mnt_effects", "select pg_relation_size('accounts_email')");
        long dupsFile = scalar("mnt_effects", "select pg_relation_filenode('dups_k')");

        DatabaseMaintenance m = maintenance("effects", "mnt_effects");
        m.getSpec().tables = List.of(table("accounts", "1Mi"));
        m.getSpec().approval.reindexApprovalSize = "1Mi";
        client.resource(m).create();

        DatabaseMaintenanceStatus st = awaitPhase(DatabaseMaintenance.class, NS, "effects",
                MaintenancePhase.AwaitingApproval, Duration.ofSeconds(90));
        assertThat(st.tasks).extracting(t -> t.kind + " " + t.object + " " + t.state).containsExactly(
                "Vacuum public.churn Done", "Analyze public.events Done", "Reindex public.dups_k Done",
                "Reindex public.accounts_email Planned", "Reindex public.accounts_pkey Planned");
        TaskStatus vacuum = task(st, "public.churn");
        // live as autovacuum counts it: the row count of the last VACUUM or ANALYZE
        assertThat(vacuum.why).startsWith("23% dead tuples (15000 dead, 50000 live)").contains("last vacuum");
        assertThat(vacuum.before.deadTuples).isEqualTo(15000);
        assertThat(vacuum.after.deadTuples).isZero();
        assertThat(vacuum.statement).isEqualTo("VACUUM (ANALYZE) \"public\".\"churn\"");
        assertThat(scalar("mnt_effects", "select n_dead_tup from pg_stat_user_tables where relname = 'churn'"))
                .as("dead tuples gone").isZero();
        assertThat(scalar("mnt_effects", "select n_mod_since_analyze from pg_stat_user_tables where relname = "
                + "'events'")).as("statistics fresh").isZero();
        assertThat(scalar("mnt_effects", "select reltuples::bigint from pg_class where relname = 'events'"))
                .isEqualTo(30000);
        assertThat(task(st, "public.dups_k").why).startsWith("INVALID");
        assertThat(scalar("mnt_effects", "select count(*) from pg_index where not indisvalid")).as("none invalid")
                .isZero();
        assertThat(scalar("mnt_effects", "select pg_relation_filenode('dups_k')")).isNotEqualTo(dupsFile);
        // the large rebuilds wait, untouched, for a person who sees what and why
        assertThat(task(st, "public.accounts_email").approval).isTrue();
        assertThat(task(st, "public.accounts_email").before.bloatPercent).isGreaterThan(30.0);
        assertThat(st.approvalRequest.reason).contains("Reindex public.accounts_email (bloat ")
                .contains("Reindex public.accounts_pkey");
        assertThat(scalar("mnt_effects", "select pg_relation_filenode('accounts_email')")).isEqualTo(emailFile);
        assertThat(st.tasks).noneMatch(t -> t.object.equals("public.quiet"));

        OperatorAssertions.approve(DatabaseMaintenance.class, NS, "effects", st.gatedDigest);
        st = awaitPhase(DatabaseMaintenance.class, NS, "effects", MaintenancePhase.Completed, Duration.ofSeconds(60));
        TaskStatus email = task(st, "public.accounts_email");
        assertThat(email.state).isEqualTo("Done");
        assertThat(email.approvedUnder).startsWith("maintain approved by ");
        assertThat(email.after.relfilenode).isNotEqualTo(email.before.relfilenode).isEqualTo(
                scalar("mnt_effects", "select pg_relation_filenode('accounts_email')"));
        assertThat(email.after.valid).isTrue();
        long after = scalar("mnt_effects", "select pg_relation_size('accounts_email')");
        assertThat(after).as("rebuilt smaller").isLessThan(emailSize / 2).isEqualTo(email.after.sizeBytes);
        assertThat(scalar("mnt_effects", "select count(*) from pg_index i join pg_class c on c.oid = i.indexrelid "
                + "where c.relname = 'accounts_email' and i.indisvalid")).isEqualTo(1);
        assertThat(st.progress).isEqualTo("5/5");
        assertThat(st.bytesReclaimed).isPositive();
        assertThat(st.conditions).anySatisfy(c -> {
            assertThat(c.type).isEqualTo("Ready");
            assertThat(c.status).isEqualTo("True");
            assertThat(c.reason).isEqualTo("MaintenanceCompleted");
        });
        awaitEvent(NS, "effects", "Normal", "TaskDone");
        List<String> trail = audit.history(NS, "DatabaseMaintenance", "effects").stream()
                .map(e -> e.action() + " " + e.step() + " " + e.outcome()).toList();
        assertThat(trail).containsExactly("maintenance vacuum done", "maintenance analyze done",
                "maintenance reindex done", "approval maintain approved", "maintenance reindex done",
                "maintenance reindex done", "maintenance run succeeded");
    }

    // --- windows ---

    @Test
    void outsideTheWindowTasksWait_AnUrgentFreezeRunsAnyway_AndAListCutByTheCloseResumesInTheNextWindow()
            throws Exception {
        database("mnt_window", false,
                "create table ledger (id int primary key, amount int)" + NO_AUTOVACUUM,
                "insert into ledger select g, 0 from generate_series(1, 1000) g",
                "create table slow (id int primary key, note text)" + NO_AUTOVACUUM,
                "insert into slow select g, repeat('x', 200) from generate_series(1, 10000) g",
                "create table later (id int primary key, note text)" + NO_AUTOVACUUM,
                "insert into later select g, 'n' from generate_series(1, 4000) g");
        TestPostgres pg = TestPostgres.get();
        pg.exec("mnt_window", "vacuum (freeze, analyze)");
        // the ledger's transaction ID age passes the urgent threshold; the others are frozen again after it
        burnTransactionIds("mnt_window", 120_000);
        pg.exec("mnt_window", "vacuum (freeze, analyze) slow, later");
        pg.exec("mnt_window", "delete from slow where id % 2 = 0", "delete from later where id % 2 = 0",
                "select pg_stat_force_next_flush()");
        // a window on New Year's Day only: closed now
        Instant opens = ZonedDateTime.now(ZoneOffset.UTC).withDayOfYear(1).withHour(0).withMinute(0).withSecond(0)
                .withNano(0).plusYears(1).toInstant();
        DatabaseMaintenance m = maintenance("window", "mnt_window");
        m.getSpec().maintenanceWindow = new MaintenanceWindow("0 0 1 1 *", "10s", "UTC");
        m.getSpec().thresholds.freezeAge = 100_000L;
        m.getSpec().thresholds.urgentFreezeAge = 110_000L;
        // VACUUMs slowed down hard (cost delay): the first one outlasts what is left of the window
        m.getSpec().vacuum.costDelayMs = 20;
        m.getSpec().vacuum.costLimit = 1;
        m.getSpec().tasks = List.of(DatabaseMaintenanceSpec.Task.vacuum);
        client.resource(m).create();
        try {
            io.dbaoperator.api.common.Condition waiting = awaitReason("window", "OutsideMaintenanceWindow");
            DatabaseMaintenanceStatus st = get(DatabaseMaintenance.class, NS, "window").getStatus();
            assertThat(st.phase).isEqualTo(MaintenancePhase.Maintaining);
            assertThat(st.tasks).extracting(t -> t.kind + " " + t.object + " " + t.state).containsExactly(
                    "Freeze public.ledger Done", "Vacuum public.slow Planned", "Vacuum public.later Planned");
            assertThat(task(st, "public.ledger").urgent).isTrue();
            assertThat(task(st, "public.ledger").after.xidAge).isLessThan(1000);
            assertThat(st.waitingForWindow).isEqualTo(opens.toString());
            assertThat(waiting.message).contains("the next opens at " + opens);
            assertThat(OperatorAssertions.events(NS, "window")).anySatisfy(e -> {
                assertThat(e.getType()).isEqualTo("Warning");
                assertThat(e.getReason()).isEqualTo("UrgentFreeze");
                assertThat(e.getMessage()).contains("public.ledger").contains("outside the maintenance window");
            });
            assertThat(deadTuples("mnt_window", "slow")).as("untouched outside the window").isEqualTo(5000);

            // three seconds before the window's close: the slow VACUUM starts, outlasts it, and is not cut off
            OperatorAssertions.clockJustBefore(DatabaseMaintenance.class, NS, "window", opens.plusSeconds(10),
                    Duration.ofSeconds(3));
            await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> assertThat(task(get(DatabaseMaintenance.class,
                    NS, "window").getStatus(), "public.slow").state).isEqualTo("Done"));
            st = get(DatabaseMaintenance.class, NS, "window").getStatus();
            assertThat(task(st, "public.slow").durationMs).as("it ran past the close").isGreaterThan(3000);
            assertThat(deadTuples("mnt_window", "slow")).isZero();
            awaitReason("window", "OutsideMaintenanceWindow");
            st = get(DatabaseMaintenance.class, NS, "window").getStatus();
            assertThat(task(st, "public.later").state).as("the next waits for the next window").isEqualTo("Planned");
            assertThat(deadTuples("mnt_window", "later")).isEqualTo(2000);

            OperatorAssertions.clockJustBefore(DatabaseMaintenance.class, NS, "window", opens.plus(Duration.ofDays(
                    365)), Duration.ofSeconds(1));
            st = awaitPhase(DatabaseMaintenance.class, NS, "window", MaintenancePhase.Completed,
                    Duration.ofSeconds(60));
        } finally {
            TestClock.reset();
        }
        assertThat(deadTuples("mnt_window", "later")).isZero();
        DatabaseMaintenanceStatus st = get(DatabaseMaintenance.class, NS, "window").getStatus();
        assertThat(st.tasks).allSatisfy(t -> assertThat(t.state).isEqualTo("Done"));
        String firstRun = st.runId;

        // at rest, outside the window: the tables' ages pass the urgent threshold and a run starts by itself (the
        // check runs every 10 minutes; an annotation wakes the resource sooner), freezing outside the window
        burnTransactionIds("mnt_window", 120_000);
        client.resources(DatabaseMaintenance.class).inNamespace(NS).withName("window").patch(
                io.fabric8.kubernetes.client.dsl.base.PatchContext.of(
                        io.fabric8.kubernetes.client.dsl.base.PatchType.JSON_MERGE),
                "{\"metadata\":{\"annotations\":{\"test.dbaoperator.io/wake\":\"1\"}}}");
        await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> {
            DatabaseMaintenanceStatus now = get(DatabaseMaintenance.class, NS, "window").getStatus();
            assertThat(now.runId).isNotEqualTo(firstRun);
            assertThat(now.phase).isEqualTo(MaintenancePhase.Completed);
        });
        st = get(DatabaseMaintenance.class, NS, "window").getStatus();
        assertThat(st.tasks).extracting(t -> t.kind + " " + t.state).containsOnly("Freeze Done");
        assertThat(st.tasks).hasSize(3).allSatisfy(t -> assertThat(t.after.xidAge).isLessThan(1000));
        assertThat(OperatorAssertions.events(NS, "window")).anySatisfy(e -> {
            assertThat(e.getReason()).isEqualTo("UrgentFreeze");
            assertThat(e.getMessage()).contains("transaction ID age past the urgent threshold")
                    .contains("starting a run");
        });
    }

    // --- bad input ---

    @Test
    void badInputIsRefusedWithAReasonAndNothingIsTouched() throws Exception {
        database("mnt_refused", false, "create table orders (id int primary key)" + NO_AUTOVACUUM,
                "insert into orders select generate_series(1, 5000)");
        TestPostgres.get().exec("mnt_refused", "analyze orders", "delete from orders where id % 2 = 0",
                "select pg_stat_force_next_flush()");
        DatabaseMaintenance unknown = maintenance("unknown-table", "mnt_refused");
        unknown.getSpec().include = List.of("orders", "no_such_table");
        client.resource(unknown).create();
        DatabaseMaintenanceStatus st = awaitPhase(DatabaseMaintenance.class, NS, "unknown-table",
                MaintenancePhase.Failed, Duration.ofSeconds(60));
        assertThat(st.message).contains("table no_such_table does not exist").endsWith("nothing was touched");
        awaitEvent(NS, "unknown-table", "Warning", "MaintenanceRefused");

        DatabaseMaintenance ages = maintenance("bad-ages", "mnt_refused");
        ages.getSpec().thresholds.freezeAge = 500_000_000L;
        ages.getSpec().thresholds.urgentFreezeAge = 200_000_000L;
        client.resource(ages).create();
        io.dbaoperator.api.common.Condition c = awaitCondition(DatabaseMaintenance.class, NS, "bad-ages", "Validated", "False");
        assertThat(c.reason).isEqualTo("InvalidSpec");
        assertThat(c.message).contains("urgentFreezeAge must be above freezeAge (500000000)");

        DatabaseMaintenance outOfRange = maintenance("out-of-range", "mnt_refused");
        outOfRange.getSpec().thresholds.deadTuplePercent = 150;
        assertThatThrownBy(() -> client.resource(outOfRange).create()).isInstanceOf(KubernetesClientException.class)
                .hasMessageContaining("deadTuplePercent");
        assertThat(deadTuples("mnt_refused", "orders")).as("nothing touched").isEqualTo(2500);

        // a scheduled dry run: the plan in status, nothing run, the next run's time
        DatabaseMaintenance dry = maintenance("dry-run", "mnt_refused");
        dry.getSpec().dryRun = true;
        dry.getSpec().schedule = "0 3 * * *";
        dry.getSpec().timeZone = "Europe/Paris";
        client.resource(dry).create();
        st = awaitPhase(DatabaseMaintenance.class, NS, "dry-run", MaintenancePhase.Scheduled, Duration.ofSeconds(60));
        assertThat(st.tasks).extracting(t -> t.kind + " " + t.object + " " + t.state).containsExactly(
                "Vacuum public.orders Planned");
        assertThat(st.message).startsWith("dry run: the plan is 1 task(s): Vacuum public.orders; nothing was run");
        ZonedDateTime next = ZonedDateTime.parse(st.nextRunAt).withZoneSameInstant(java.time.ZoneId.of(
                "Europe/Paris"));
        assertThat(next.getHour()).isEqualTo(3);
        assertThat(next.toInstant()).isAfter(Instant.now()).isBefore(Instant.now().plus(Duration.ofHours(25)));
        assertThat(deadTuples("mnt_refused", "orders")).as("a dry run touches nothing").isEqualTo(2500);
        // asked for a run: planned again, back to Scheduled
        String firstRun = st.runId;
        client.resources(DatabaseMaintenance.class).inNamespace(NS).withName("dry-run").patch(
                io.fabric8.kubernetes.client.dsl.base.PatchContext.of(
                        io.fabric8.kubernetes.client.dsl.base.PatchType.JSON_MERGE),
                "{\"metadata\":{\"annotations\":{\"dbaoperator.io/run-now\":\"1\"}}}");
        await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> {
            DatabaseMaintenanceStatus now = get(DatabaseMaintenance.class, NS, "dry-run").getStatus();
            assertThat(now.lastRunRequest).isEqualTo("1");
            assertThat(now.runId).isNotEqualTo(firstRun);
            assertThat(now.phase).isEqualTo(MaintenancePhase.Scheduled);
        });
    }

    // --- a spec changed mid-run, a rejection ---

    @Test
    void aSpecChangedMidRunIsPlannedAgain_AndARejectionSkipsTheGatedTasks() throws Exception {
        database("mnt_changes", false, "create table churn (id int primary key, note text)" + NO_AUTOVACUUM,
                "insert into churn select g, 'n' from generate_series(1, 10000) g");
        TestPostgres.get().exec("mnt_changes", "vacuum analyze");
        TestPostgres.get().exec("mnt_changes", "delete from churn where id % 2 = 0",
                "select pg_stat_force_next_flush()");
        // waiting for a window (New Year's Day), then told to leave the table alone: nothing left to do
        DatabaseMaintenance changed = maintenance("changed", "mnt_changes");
        changed.getSpec().maintenanceWindow = new MaintenanceWindow("0 0 1 1 *", "1h", "UTC");
        client.resource(changed).create();
        awaitReason("changed", "OutsideMaintenanceWindow");
        OperatorAssertions.edit(DatabaseMaintenance.class, NS, "changed", m -> {
            m.getSpec().exclude = List.of("churn");
            return m;
        });
        DatabaseMaintenanceStatus st = awaitPhase(DatabaseMaintenance.class, NS, "changed",
                MaintenancePhase.Completed, Duration.ofSeconds(60));
        assertThat(st.tasks).isEmpty();
        assertThat(st.message).startsWith("nothing needs maintenance");
        assertThat(deadTuples("mnt_changes", "churn")).isEqualTo(5000);

        // every task waits under policy Always; the spec changes while it waits (planned again, asked again), then a
        // person rejects: nothing ran
        DatabaseMaintenance rejected = maintenance("rejected", "mnt_changes");
        rejected.getSpec().approval.policy = DatabaseMaintenanceSpec.Approval.Policy.Always;
        client.resource(rejected).create();
        st = awaitPhase(DatabaseMaintenance.class, NS, "rejected", MaintenancePhase.AwaitingApproval,
                Duration.ofSeconds(60));
        assertThat(st.tasks).extracting(t -> t.kind + " " + t.object + " " + t.approval).containsExactly(
                "Vacuum public.churn true");
        String planned = st.plannedAt;
        OperatorAssertions.edit(DatabaseMaintenance.class, NS, "rejected", m -> {
            m.getSpec().thresholds.minDeadTuples = 100L;
            return m;
        });
        await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> {
            DatabaseMaintenanceStatus now = get(DatabaseMaintenance.class, NS, "rejected").getStatus();
            assertThat(now.plannedAt).isNotEqualTo(planned);
            assertThat(now.phase).isEqualTo(MaintenancePhase.AwaitingApproval);
        });
        OperatorAssertions.reject(DatabaseMaintenance.class, NS, "rejected");
        st = awaitPhase(DatabaseMaintenance.class, NS, "rejected", MaintenancePhase.Rejected, Duration.ofSeconds(60));
        assertThat(st.tasks.get(0).state).isEqualTo("Skipped");
        assertThat(st.tasks.get(0).note).startsWith("rejected by ");
        assertThat(deadTuples("mnt_changes", "churn")).as("nothing ran").isEqualTo(5000);
    }

    // --- repack ---

    @Test
    void aBloatedTableIsRepackedOnlineAfterApproval_OnANewFileAndSmaller() throws Exception {
        database("mnt_repack", true, "create extension if not exists pg_repack",
                "create table bloated (id int primary key, payload text)" + NO_AUTOVACUUM,
                "insert into bloated select g, repeat('p', 100) from generate_series(1, 60000) g");
        TestPostgres.get().exec("mnt_repack", "delete from bloated where id % 4 <> 0", "vacuum analyze bloated",
                "select pg_stat_force_next_flush()");
        long file = scalar("mnt_repack", "select pg_relation_filenode('bloated')");
        long size = scalar("mnt_repack", "select pg_table_size('bloated')");
        DatabaseMaintenance m = maintenance("repack", "mnt_repack");
        m.getSpec().tasks = List.of(DatabaseMaintenanceSpec.Task.repack);
        m.getSpec().thresholds.minTableSize = "1Mi";
        client.resource(m).create();
        DatabaseMaintenanceStatus st = awaitPhase(DatabaseMaintenance.class, NS, "repack",
                MaintenancePhase.AwaitingApproval, Duration.ofSeconds(60));
        assertThat(st.tasks).extracting(t -> t.kind + " " + t.object).containsExactly("Repack public.bloated");
        assertThat(st.tasks.get(0).why).startsWith("table bloat ").contains("pgstattuple_approx");
        assertThat(scalar("mnt_repack", "select pg_relation_filenode('bloated')")).isEqualTo(file);
        OperatorAssertions.approve(DatabaseMaintenance.class, NS, "repack", null);
        st = awaitPhase(DatabaseMaintenance.class, NS, "repack", MaintenancePhase.Completed, Duration.ofSeconds(90));
        TaskStatus t = st.tasks.get(0);
        assertThat(t.state).as(t.note).isEqualTo("Done");
        assertThat(scalar("mnt_repack", "select pg_relation_filenode('bloated')")).isNotEqualTo(file)
                .isEqualTo(t.after.relfilenode);
        assertThat(scalar("mnt_repack", "select pg_table_size('bloated')")).isLessThan(size / 2);
        assertThat(scalar("mnt_repack", "select count(*) from bloated")).isEqualTo(15000);
        assertThat(scalar("mnt_repack", "select count(*) from pg_trigger where tgrelid = 'bloated'::regclass"))
                .as("no trigger left").isZero();
    }

    // --- a 409 on every other status write ---

    @Test
    void aRunWhoseStatusWritesMeetConflictsRunsEachTaskOnce() throws Exception {
        database("mnt_conflicts", false, "create table churn (id int primary key, note text)" + NO_AUTOVACUUM,
                "insert into churn select g, 'n' from generate_series(1, 20000) g",
                "create table events (id int primary key)" + NO_AUTOVACUUM,
                "insert into events select generate_series(1, 5000)");
        TestPostgres.get().exec("mnt_conflicts", "vacuum analyze");
        TestPostgres.get().exec("mnt_conflicts", "delete from churn where id % 2 = 0",
                "insert into events select generate_series(5001, 10000)", "select pg_stat_force_next_flush()");
        TestKubernetes.get().api().interfere(FaultMatrix.everyOtherStatusWrite(NS, "databasemaintenances",
                "conflicts"));
        try {
            DatabaseMaintenance m = maintenance("conflicts", "mnt_conflicts");
            m.getSpec().schedule = "0 4 * * *"; // a scheduled run: it rests in Scheduled once done
            client.resource(m).create();
            awaitPhase(DatabaseMaintenance.class, NS, "conflicts", MaintenancePhase.Scheduled, Duration.ofSeconds(60));
        } finally {
            TestKubernetes.get().api().interfere(null);
        }
        DatabaseMaintenanceStatus st = get(DatabaseMaintenance.class, NS, "conflicts").getStatus();
        assertThat(st.tasks).extracting(t -> t.kind + " " + t.object + " " + t.state).containsExactly(
                "Vacuum public.churn Done", "Analyze public.events Done");
        assertThat(deadTuples("mnt_conflicts", "churn")).isZero();
        assertThat(scalar("mnt_conflicts", "select vacuum_count from pg_stat_user_tables where relname = 'churn'"))
                .as("vacuumed once by the operator (once before by the test)").isEqualTo(2);
        assertThat(audit.history(NS, "DatabaseMaintenance", "conflicts").stream().map(e -> e.step() + " "
                + e.outcome()).toList()).containsExactly("vacuum done", "analyze done", "run succeeded");
        FaultMatrix.record("DatabaseMaintenance", "409 on every other status write", "Scheduled; each task run "
                + "once, audited once");
    }

    // --- helpers ---

    /** A database owned by app (or reached as the superuser, for pg_repack), and its Secret {@code <db>-db}. */
    static void database(String db, boolean superuser, String... setup) {
        TestPostgres pg = TestPostgres.get();
        pg.exec("postgres", "drop database if exists " + db + " with (force)");
        pg.createDatabase(db, "app", Fixtures.APP_PASSWORD);
        List<String> statements = new ArrayList<>(List.of("create extension if not exists pgstattuple"));
        statements.addAll(List.of(setup));
        pg.exec(db, statements.toArray(String[]::new));
        pg.exec(db, "do $$ declare t text; begin for t in select tablename from pg_tables where schemaname = "
                + "'public' loop execute format('alter table %I owner to app', t); end loop; end $$");
        Map<String, String> keys = new HashMap<>(superuser ? Fixtures.dbKeys(db, TestPostgres.SUPERUSER,
                TestPostgres.SUPERUSER_PASSWORD) : Fixtures.appDbKeys());
        keys.put("dbname", db);
        Fixtures.secret(client, NS, db.replace('_', '-') + "-db", keys);
    }

    static DatabaseMaintenance maintenance(String name, String db) {
        DatabaseMaintenance m = new DatabaseMaintenance();
        m.getMetadata().setName(name);
        m.getMetadata().setNamespace(NS);
        m.setSpec(new DatabaseMaintenanceSpec());
        m.getSpec().database = Fixtures.db(db.replace('_', '-') + "-db");
        return m;
    }

    static DatabaseMaintenanceSpec.TableThresholds table(String name, String minIndexSize) {
        DatabaseMaintenanceSpec.TableThresholds t = new DatabaseMaintenanceSpec.TableThresholds();
        t.name = name;
        t.thresholds = new DatabaseMaintenanceSpec.Thresholds();
        t.thresholds.minIndexSize = minIndexSize;
        return t;
    }

    static TaskStatus task(DatabaseMaintenanceStatus st, String object) {
        return st.tasks.stream().filter(t -> t.object.equals(object)).findFirst()
                .orElseThrow(() -> new AssertionError("no task for " + object + " in " + st.tasks.size() + " tasks"));
    }

    static io.dbaoperator.api.common.Condition awaitReason(String name, String reason) {
        io.dbaoperator.api.common.Condition[] found = new io.dbaoperator.api.common.Condition[1];
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200)).untilAsserted(() -> {
            DatabaseMaintenanceStatus st = get(DatabaseMaintenance.class, NS, name).getStatus();
            assertThat(st).isNotNull();
            var ready = st.conditions.stream().filter(c -> c.type.equals("Ready")).findFirst().orElse(null);
            assertThat(ready).isNotNull();
            assertThat(ready.reason).as(st.message).isEqualTo(reason);
            found[0] = ready;
        });
        return found[0];
    }

    static void burnTransactionIds(String db, int n) {
        TestPostgres.get().exec(db, "create table burn (i int)", "do $$ begin for i in 1.." + n + " loop begin "
                + "insert into burn values (i); exception when others then null; end; end loop; end $$",
                "drop table burn");
    }

    static long deadTuples(String db, String table) throws SQLException {
        return scalar(db, "select n_dead_tup from pg_stat_user_tables where relname = '" + table + "'");
    }

    static long scalar(String db, String sql) throws SQLException {
        try (Connection c = TestPostgres.get().superuser(db); ResultSet rs = c.createStatement().executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        }
    }
}
