package io.dbaoperator.maintenance;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import io.dbaoperator.harness.RealParts;
import io.dbaoperator.harness.TestPostgres;
import io.dbaoperator.maintenance.MaintenancePlanner.Kind;
import io.dbaoperator.maintenance.MaintenancePlanner.Policy;
import io.dbaoperator.maintenance.MaintenancePlanner.Task;
import io.dbaoperator.maintenance.MaintenancePlanner.Thresholds;

/**
 * Routine maintenance on the real PostgreSQL, each task in the situation it is for, planned from what the survey
 * reads and judged by what the database shows after it: dead tuples gone, statistics refreshed, freeze age down, a
 * bloated index rebuilt smaller on a new file and valid, an INVALID index rebuilt, the leftover of a REINDEX
 * CONCURRENTLY cut short dropped, a failed rebuild leaving no INVALID index, a held lock waited out under
 * lock_timeout.
 */
@RealParts
class MaintenanceEngineTest {

    static final String DB = "maint";
    /** Each table's autovacuum off: nothing but the test changes what the survey sees. */
    static final String NO_AUTOVACUUM = " with (autovacuum_enabled = false)";

    @BeforeAll
    static void data() {
        TestPostgres pg = TestPostgres.get();
        pg.createDatabase(DB, "app", "maint-pw");
        pg.exec(DB, "create extension if not exists pgstattuple",
                "create table orders (id int primary key, note text)" + NO_AUTOVACUUM,
                "insert into orders select g, 'n' || g from generate_series(1, 50000) g",
                "create table events (id int primary key, kind text)" + NO_AUTOVACUUM,
                "insert into events select g, 'k' from generate_series(1, 20000) g",
                "create table ledger (id int primary key, amount int)" + NO_AUTOVACUUM,
                "insert into ledger select g, 0 from generate_series(1, 1000) g",
                "create table accounts (id int primary key, email text not null)" + NO_AUTOVACUUM,
                "insert into accounts select g, 'user' || g || '@example.com' from generate_series(1, 300000) g",
                "create index accounts_email on accounts (email)");
        // in a session of its own: the inserts' statistics are flushed (at the end of the session above) before
        // ANALYZE resets the modification counts, not after it
        pg.exec(DB, "vacuum (freeze, analyze)");
    }

    @AfterAll
    static void drop() {
        TestPostgres.get().exec("postgres", "drop database if exists " + DB + " with (force)");
    }

    static Connection db() throws SQLException {
        return TestPostgres.get().superuser(DB);
    }

    static long scalar(Connection c, String sql) throws SQLException {
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        }
    }

    static List<Task> plan(Policy p) throws SQLException {
        try (Connection c = db()) {
            return MaintenancePlanner.plan(p, MaintenanceSurvey.read(c, 0));
        }
    }

    static Task only(List<Task> tasks, Kind kind, String object) {
        return tasks.stream().filter(t -> t.kind() == kind && t.object().equals(object)).findFirst()
                .orElseThrow(() -> new AssertionError("no " + kind + " of " + object + " in " + tasks));
    }

    static Policy only(String... tables) {
        return new Policy(java.util.EnumSet.allOf(MaintenancePlanner.Duty.class), Thresholds.DEFAULTS, Map.of(),
                List.of(tables), List.of(), 1024L * 1024 * 1024);
    }

    @Test
    void deadTuplesPastTheThresholdAreVacuumedAway() throws Exception {
        try (Connection c = db()) {
            c.createStatement().execute("delete from orders where id % 10 < 3"); // 30%
            c.createStatement().execute("select pg_stat_force_next_flush()");
        }
        Task vacuum = only(plan(only("orders")), Kind.Vacuum, "public.orders");
        // live as autovacuum counts it: the row count of the last VACUUM or ANALYZE (50,000), as its threshold does
        assertThat(vacuum.why()).startsWith("23% dead tuples (15000 dead, 50000 live)");
        try (Connection c = db()) {
            var done = MaintenanceRunner.run(c, vacuum, MaintenanceRunner.Settings.DEFAULTS);
            assertThat(done.statement()).isEqualTo("VACUUM (ANALYZE) \"public\".\"orders\"");
            assertThat(done.before().dead()).isEqualTo(15000);
            assertThat(done.after().dead()).isZero();
            assertThat(done.effective()).isTrue();
        }
        assertThat(plan(only("orders"))).as("nothing left to do").isEmpty();
    }

    @Test
    void staleStatisticsAreRefreshed() throws Exception {
        try (Connection c = db()) {
            c.createStatement().execute("insert into events select g, 'new' from generate_series(20001, 30000) g");
            c.createStatement().execute("select pg_stat_force_next_flush()");
        }
        Task analyze = only(plan(only("events")), Kind.Analyze, "public.events");
        assertThat(analyze.why()).startsWith("10000 rows modified since the last analyze at ");
        try (Connection c = db()) {
            var done = MaintenanceRunner.run(c, analyze, MaintenanceRunner.Settings.DEFAULTS);
            assertThat(done.effective()).isTrue();
            assertThat(done.after().modifiedSinceAnalyze()).isZero();
            assertThat(done.after().lastAnalyze()).isAfter(done.before().lastAnalyze());
            assertThat(scalar(c, "select reltuples::bigint from pg_class where relname = 'events'"))
                    .as("the planner's row count").isEqualTo(30000);
        }
    }

    @Test
    void aTablePastTheFreezeAgeIsFrozen() throws Exception {
        try (Connection c = db()) {
            // 120,000 transaction IDs, one per subtransaction, on another table
            c.createStatement().execute("create table if not exists burn (i int)");
            c.createStatement().execute("do $$ begin for i in 1..120000 loop begin insert into burn values (i); "
                    + "exception when others then null; end; end loop; end $$");
        }
        Thresholds lowFreeze = new Thresholds(0.2, 1000, 0.1, 1000, 100_000, 1_000_000_000L, 30, 8L << 20, 40, 64L << 20);
        Policy p = new Policy(java.util.EnumSet.of(MaintenancePlanner.Duty.vacuum), lowFreeze, Map.of(),
                List.of("ledger"), List.of(), 1L << 30);
        Task freeze = only(MaintenancePlanner.plan(p, survey()), Kind.Freeze, "public.ledger");
        assertThat(freeze.why()).startsWith("transaction ID age ").contains("(freeze at 100000)");
        assertThat(freeze.urgent()).isFalse();
        try (Connection c = db()) {
            var done = MaintenanceRunner.run(c, freeze, MaintenanceRunner.Settings.DEFAULTS);
            assertThat(done.statement()).isEqualTo("VACUUM (FREEZE, ANALYZE) \"public\".\"ledger\"");
            assertThat(done.before().xidAge()).isGreaterThanOrEqualTo(120_000);
            assertThat(done.after().xidAge()).isLessThan(1_000);
            assertThat(done.effective()).isTrue();
            c.createStatement().execute("drop table burn");
        }
        assertThat(MaintenancePlanner.plan(p, survey())).isEmpty();
        // past the urgent age the same freeze may run outside the window, and comes first
        Thresholds urgent = new Thresholds(0.2, 1000, 0.1, 1000, 100_000, 100_001, 30, 8L << 20, 40, 64L << 20);
        try (Connection c = db()) {
            c.createStatement().execute("create table burn (i int)");
            c.createStatement().execute("do $$ begin for i in 1..120000 loop begin insert into burn values (i); "
                    + "exception when others then null; end; end loop; end $$");
            c.createStatement().execute("drop table burn");
        }
        List<Task> tasks = MaintenancePlanner.plan(new Policy(java.util.EnumSet.allOf(MaintenancePlanner.Duty.class),
                urgent, Map.of(), List.of("ledger", "events"), List.of(), 1L << 30), survey());
        assertThat(tasks.get(0).kind()).isEqualTo(Kind.Freeze);
        assertThat(tasks.get(0).urgent()).isTrue();
        assertThat(tasks.get(0).why()).contains("past the urgent age 100001: runs outside the maintenance window");
    }

    static long query(String sql) throws SQLException {
        try (Connection c = db()) {
            return scalar(c, sql);
        }
    }

    static MaintenanceFacts survey() throws SQLException {
        try (Connection c = db()) {
            return MaintenanceSurvey.read(c, 0);
        }
    }

    @Test
    void aBloatedIndexIsRebuiltSmallerOnANewFileAndStaysValid_MeasuredOrEstimated() throws Exception {
        try (Connection c = db()) {
            // four rows in five gone from every leaf page: the B-tree keeps its pages
            c.createStatement().execute("delete from accounts where id % 5 <> 0");
            c.createStatement().execute("select pg_stat_force_next_flush()");
            c.createStatement().execute("vacuum accounts");
        }
        MaintenanceFacts facts = survey();
        var measured = facts.indexes().stream().filter(i -> i.name().equals("accounts_email")).findFirst().get();
        assertThat(measured.bloatMethod()).isEqualTo("pgstatindex");
        assertThat(measured.bloatPercent()).isGreaterThan(60);
        Task reindex = only(MaintenancePlanner.plan(only("accounts"), facts), Kind.Reindex, "public.accounts_email");
        assertThat(reindex.why()).startsWith("bloat ").contains("(pgstatindex)", "to give back");
        assertThat(reindex.approval()).as("below the approval size").isFalse();
        // without pgstattuple the same index is estimated from its row count and the column's width
        try (Connection c = db()) {
            c.createStatement().execute("drop extension pgstattuple");
            c.createStatement().execute("analyze accounts");
        }
        var estimated = survey().indexes().stream().filter(i -> i.name().equals("accounts_email")).findFirst().get();
        try (Connection c = db()) {
            c.createStatement().execute("create extension pgstattuple");
        }
        assertThat(estimated.bloatMethod()).isEqualTo("estimate");
        assertThat(estimated.bloatPercent()).as("measured %.0f%%", measured.bloatPercent())
                .isBetween(measured.bloatPercent() - 15, measured.bloatPercent() + 15);
        try (Connection c = db()) {
            var done = MaintenanceRunner.run(c, reindex, MaintenanceRunner.Settings.DEFAULTS);
            assertThat(done.statement()).isEqualTo("REINDEX INDEX CONCURRENTLY \"public\".\"accounts_email\"");
            assertThat(done.effective()).isTrue();
            assertThat(done.after().relfilenode()).isNotEqualTo(done.before().relfilenode());
            assertThat(done.after().valid()).isTrue();
            assertThat(done.after().sizeBytes()).isLessThan(done.before().sizeBytes() / 2);
            assertThat(scalar(c, "select count(*) from accounts where email = 'user5@example.com'")).isEqualTo(1);
        }
        var rebuilt = survey().indexes().stream().filter(i -> i.name().equals("accounts_email")).findFirst().get();
        assertThat(rebuilt.bloatPercent()).isLessThan(10);
    }

    @Test
    void anInvalidIndexIsRebuilt_AndAReindexCutShortLeavesALeftoverThatIsDropped() throws Exception {
        try (Connection c = db()) {
            c.createStatement().execute("create table if not exists big (id int, v text)" + NO_AUTOVACUUM);
            c.createStatement().execute("insert into big select g, md5(g::text) from generate_series(1, 300000) g");
            c.createStatement().execute("set statement_timeout = '30ms'");
            assertThatThrownBy(() -> c.createStatement().execute("create index concurrently big_v on big (v)"))
                    .hasMessageContaining("statement timeout");
            c.createStatement().execute("reset statement_timeout");
        }
        Task rebuild = only(plan(only("big")), Kind.Reindex, "public.big_v");
        assertThat(rebuild.why()).startsWith("INVALID (a failed concurrent build)");
        try (Connection c = db()) {
            var done = MaintenanceRunner.run(c, rebuild, MaintenanceRunner.Settings.DEFAULTS);
            assertThat(done.before().valid()).isFalse();
            assertThat(done.after().valid()).isTrue();
            assertThat(done.effective()).isTrue();
            // a REINDEX CONCURRENTLY cut short (as a kill would) leaves big_v_ccnew INVALID beside big_v
            c.createStatement().execute("set statement_timeout = '30ms'");
            assertThatThrownBy(() -> c.createStatement().execute("reindex index concurrently big_v"))
                    .hasMessageContaining("statement timeout");
            c.createStatement().execute("reset statement_timeout");
            assertThat(scalar(c, "select count(*) from pg_class x join pg_index i on i.indexrelid = x.oid "
                    + "where x.relname = 'big_v_ccnew' and not i.indisvalid")).isEqualTo(1);
        }
        Task leftover = only(plan(only("big")), Kind.DropLeftover, "public.big_v_ccnew");
        assertThat(leftover.why()).contains("left by a REINDEX CONCURRENTLY that did not finish");
        try (Connection c = db()) {
            var dropped = MaintenanceRunner.run(c, leftover, MaintenanceRunner.Settings.DEFAULTS);
            assertThat(dropped.effective()).isTrue();
            assertThat(dropped.after().exists()).isFalse();
            // and a REINDEX of big_v after another cut-short one drops that leftover itself, and says so
            c.createStatement().execute("set statement_timeout = '30ms'");
            assertThatThrownBy(() -> c.createStatement().execute("reindex index concurrently big_v"));
            c.createStatement().execute("reset statement_timeout");
            var again = MaintenanceRunner.run(c, new Task(Kind.Reindex, "public.big_v", "public.big", "test", false,
                    false), MaintenanceRunner.Settings.DEFAULTS);
            assertThat(again.effective()).isTrue();
            assertThat(again.note()).contains("dropped the INVALID leftover");
            assertThat(invalidIndexes(c, "big")).isZero();
        }
    }

    @Test
    void aReindexThatFailsLeavesNoInvalidIndexBehind() throws Exception {
        try (Connection c = db()) {
            c.createStatement().execute("create table if not exists dupes (id int, code text)" + NO_AUTOVACUUM);
            c.createStatement().execute("insert into dupes select g, 'c' || g from generate_series(1, 1000) g");
            c.createStatement().execute("create unique index dupes_code on dupes (code)");
            // a unique index whose table then holds a duplicate (as a corrupted index lets in): its rebuild fails
            c.createStatement().execute("update pg_index set indisunique = false where indexrelid = "
                    + "'dupes_code'::regclass");
            c.createStatement().execute("insert into dupes values (1001, 'c1')");
            c.createStatement().execute("update pg_index set indisunique = true where indexrelid = "
                    + "'dupes_code'::regclass");
            Task rebuild = new Task(Kind.Reindex, "public.dupes_code", "public.dupes", "test", false, false);
            assertThatThrownBy(() -> MaintenanceRunner.run(c, rebuild, MaintenanceRunner.Settings.DEFAULTS))
                    .isInstanceOf(SQLException.class).hasMessageContaining("could not create unique index");
            assertThat(invalidIndexes(c, "dupes")).as("no INVALID _ccnew left").isZero();
            assertThat(scalar(c, "select count(*) from pg_index i join pg_class x on x.oid = i.indexrelid "
                    + "where x.relname = 'dupes_code' and i.indisvalid")).as("the old index serves on").isEqualTo(1);
            c.createStatement().execute("drop table dupes");
        }
    }

    @Test
    void aVacuumWaitsOutAHeldLockUnderLockTimeoutAndRetries() throws Exception {
        try (Connection holder = db(); Connection c = db(); Connection watcher = db()) {
            c.createStatement().execute("create table if not exists busy (id int)" + NO_AUTOVACUUM);
            long pid = scalar(c, "select pg_backend_pid()");
            holder.setAutoCommit(false);
            holder.createStatement().execute("lock table busy in access exclusive mode");
            CompletableFuture<Void> release = CompletableFuture.runAsync(() -> {
                try {
                    Thread.sleep(1500);
                    holder.commit();
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            // the longest the maintenance session is seen waiting on a lock: others would queue behind it
            java.util.concurrent.atomic.AtomicLong longestWaitMs = new java.util.concurrent.atomic.AtomicLong();
            CompletableFuture<Void> watch = CompletableFuture.runAsync(() -> {
                try {
                    while (!release.isDone()) {
                        long ms = scalar(watcher, "select coalesce(max(extract(epoch from now() - waitstart) * "
                                + "1000), 0)::bigint from pg_locks where pid = " + pid + " and not granted");
                        longestWaitMs.accumulateAndGet(ms, Math::max);
                        Thread.sleep(20);
                    }
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            var settings = new MaintenanceRunner.Settings(Duration.ofMillis(100), 30, Duration.ZERO, 2, 1000);
            long start = System.nanoTime();
            var done = MaintenanceRunner.run(c, new Task(Kind.Vacuum, "public.busy", "public.busy", "test", false,
                    false), settings);
            long tookMs = (System.nanoTime() - start) / 1_000_000;
            release.join();
            watch.join();
            assertThat(tookMs).as("it ran once the lock was released").isGreaterThanOrEqualTo(1400);
            assertThat(done.after().exists()).isTrue();
            assertThat(longestWaitMs.get()).as("never waited on the lock much past lock_timeout (100 ms): timed "
                    + "out and tried again").isPositive().isLessThan(400);
            assertThat(scalar(c, "select setting::int from pg_settings where name = 'vacuum_cost_delay'"))
                    .as("the cost settings were for the vacuum only").isZero();
            c.createStatement().execute("drop table busy");
        }
    }

    @Test
    void tablesThatDoNotExistAndThresholdsOutOfRangeAreRefusedBeforeAnythingRuns() throws Exception {
        Thresholds bad = new Thresholds(1.5, -1, 0.1, 1000, 50, 40, 30, 0, 40, 0);
        List<String> problems = MaintenancePlanner.problems(new Policy(java.util.EnumSet.allOf(
                MaintenancePlanner.Duty.class), bad, Map.of("public.nope", Thresholds.DEFAULTS), List.of("orders",
                        "missing", "app_*"), List.of(), 1L << 30), survey());
        assertThat(problems).containsExactlyInAnyOrder(
                "thresholds.deadTupleRatio must be above 0 and at most 1, not 1.5",
                "thresholds.minDeadTuples must not be negative, not -1",
                "thresholds.freezeAge must be between 100000 and 2000000000, not 50",
                "thresholds.urgentFreezeAge must be above freezeAge (50) and at most 2000000000, not 40",
                "task repack needs the pg_repack extension in the database (CREATE EXTENSION pg_repack, with the same "
                        + "version as the operator image's pg_repack program)",
                "table missing does not exist (or is not a table this role can see)",
                "table public.nope does not exist (or is not a table this role can see)");
    }

    static long invalidIndexes(Connection c, String table) throws SQLException {
        return scalar(c, "select count(*) from pg_index i join pg_class t on t.oid = i.indrelid where t.relname = '"
                + table + "' and not i.indisvalid");
    }

    @Test
    void aRepackRewritesTheTableOnANewFile_AfterRemovingWhatAKilledRepackLeft() throws Exception {
        try (Connection c = db(); Statement st = c.createStatement()) {
            st.execute("create extension if not exists pg_repack");
            st.execute("create table squeezed (id int primary key, payload text)" + NO_AUTOVACUUM);
            st.execute("insert into squeezed select g, repeat('p', 100) from generate_series(1, 40000) g");
            st.execute("delete from squeezed where id % 4 <> 0");
            st.execute("vacuum squeezed");
            // what a pg_repack killed midway leaves: its trigger on the table and its log table
            long oid = scalar(c, "select 'squeezed'::regclass::oid");
            st.execute("create or replace function public.noop() returns trigger language plpgsql as "
                    + "'begin return null; end'");
            st.execute("create trigger repack_trigger after insert on squeezed for each row execute function "
                    + "public.noop()");
            st.execute("create table repack.log_" + oid + " (id bigserial primary key, pk int, row text)");
        }
        assertThat(query("select count(*) from pg_trigger where tgrelid = 'squeezed'::regclass")).isOne();
        long size = query("select pg_table_size('squeezed')");
        MaintenanceFacts facts = survey();
        MaintenanceFacts.Table table = facts.tables().stream().filter(t -> t.name().equals("squeezed")).findFirst()
                .orElseThrow();
        assertThat(table.repackable()).isTrue();
        assertThat(table.bloatPercent()).as("measured").isGreaterThan(60.0);
        Thresholds small = new Thresholds(0.2, 1000, 0.1, 1000, 100_000_000L, 1_000_000_000L, 30, 8L << 20, 40,
                1L << 20);
        Task repack = only(MaintenancePlanner.plan(new Policy(java.util.EnumSet.of(MaintenancePlanner.Duty.repack),
                small, Map.of(), List.of("squeezed"), List.of(), 1L << 30), facts), Kind.Repack, "public.squeezed");
        assertThat(repack.approval()).as("a repack always waits for a person").isTrue();
        var db = new io.dbaoperator.postgres.ConnectionSettings(TestPostgres.get().host() + ":"
                + TestPostgres.get().port(), DB, TestPostgres.SUPERUSER, TestPostgres.SUPERUSER_PASSWORD, null, null);
        try (Connection c = db()) {
            var done = MaintenanceRunner.run(c, repack, MaintenanceRunner.Settings.DEFAULTS, (schema, name) -> {
                try {
                    return PgRepack.run(db, schema, name, Duration.ofSeconds(5), Duration.ofMinutes(2), System.getenv());
                } catch (Exception e) {
                    throw new SQLException(e);
                }
            });
            assertThat(done.effective()).as(done.note()).isTrue();
            assertThat(done.note()).contains("removed the trigger and tables an earlier pg_repack that did not finish "
                    + "left");
            assertThat(done.after().relfilenode()).isNotEqualTo(done.before().relfilenode());
            assertThat(scalar(c, "select pg_table_size('squeezed')")).isLessThan(size / 2);
            assertThat(scalar(c, "select count(*) from squeezed")).isEqualTo(10000);
            assertThat(scalar(c, "select count(*) from pg_trigger where tgrelid = 'squeezed'::regclass")).isZero();
            assertThat(scalar(c, "select count(*) from pg_tables where schemaname = 'repack'")).isZero();
        }
    }
}
