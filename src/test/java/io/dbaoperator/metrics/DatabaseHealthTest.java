package io.dbaoperator.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Connection;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import io.dbaoperator.harness.RealParts;
import io.dbaoperator.harness.TestPostgres;
import io.dbaoperator.kube.EventRecorder;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;

/**
 * The health figures on the real PostgreSQL, each in the situation it is for: a standby whose replay is paused
 * shows lag, a table after mass updates its dead tuples and a VACUUM recommendation, a held lock the waiting
 * session and its blocker (without the statements' values).
 */
@RealParts
class DatabaseHealthTest {

    static final String DB = "health";
    static final DatabaseHealth.Thresholds LOW_FLOOR = new DatabaseHealth.Thresholds(0.2, 0,
            Duration.ofSeconds(1), Duration.ofMinutes(5), Duration.ofMinutes(1), 0.75);

    @BeforeAll
    static void data() {
        TestPostgres pg = TestPostgres.get();
        pg.createDatabase(DB, "app", "health-pw");
        pg.exec(DB, "drop table if exists accounts",
                "create table accounts (id int primary key, balance int not null, note text)",
                "insert into accounts select g, 0, 'n' from generate_series(1, 20000) g",
                "drop table if exists ledger",
                "create table ledger (id int primary key, amount int not null)",
                "insert into ledger select g, 0 from generate_series(1, 20000) g",
                "alter table ledger set (autovacuum_enabled = false)", "analyze accounts", "analyze ledger");
    }

    @AfterAll
    static void drop() {
        TestPostgres.get().exec("postgres", "drop database if exists " + DB + " with (force)");
    }

    /** Records the Events it would send. */
    static final class Recorded extends EventRecorder {
        final List<String> events = new ArrayList<>();

        Recorded() {
            super(null);
        }

        @Override
        public void warning(HasMetadata resource, String reason, String message) {
            events.add(reason + ": " + message);
        }
    }

    static final HasMetadata OWNER = new ConfigMap();

    @Test
    void aStandbyWhoseReplayIsPausedShowsItsLagInBytesAndSeconds() throws Exception {
        try (TestPostgres.Standby standby = TestPostgres.get().startStandby();
                Connection primary = TestPostgres.get().superuser(DB)) {
            DatabaseHealth health = new DatabaseHealth(Duration.ofHours(1));
            org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> health.sample(primary,
                    LOW_FLOOR, Instant.now()).standbys().size() == 1);
            try (Connection s = standby.superuser()) {
                s.createStatement().execute("select pg_wal_replay_pause()");
            }
            primary.createStatement().execute("update accounts set note = 'paused' where id <= 2000");
            DatabaseHealth.Sample first = health.sample(primary, LOW_FLOOR, Instant.now());
            Thread.sleep(2500);
            primary.createStatement().execute("update accounts set note = 'still paused' where id <= 2000");
            DatabaseHealth.Sample later = health.sample(primary, LOW_FLOOR, Instant.now());
            assertThat(first.primary()).isTrue();
            DatabaseHealth.StandbyLag lag = later.standbys().get(0);
            assertThat(lag.bytes()).as("WAL written since the pause").isGreaterThan(first.standbys().get(0).bytes())
                    .isGreaterThan(100_000);
            assertThat(lag.seconds()).as("the oldest WAL it has not replayed is that old").isGreaterThanOrEqualTo(2.0);
            try (Connection s = standby.superuser()) {
                s.createStatement().execute("select pg_wal_replay_resume()");
            }
            org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> health.sample(primary,
                    LOW_FLOOR, Instant.now()).standbys().get(0).bytes() == 0);
            assertThat(health.sample(primary, LOW_FLOOR, Instant.now()).standbys().get(0).seconds()).isLessThan(1.0);
        }
    }

    @Test
    void aTableAfterMassUpdatesShowsItsDeadTuples_AndGetsOneVacuumRecommendation() throws Exception {
        try (Connection c = TestPostgres.get().superuser(DB)) {
            c.createStatement().execute("update ledger set amount = amount + 1 where id <= 12000");
            c.createStatement().execute("select pg_stat_force_next_flush()");
        }
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        HealthMetrics metrics = new HealthMetrics(registry, Tags.of("database", DB),
                new DatabaseHealth(Duration.ofHours(1)), LOW_FLOOR);
        Recorded events = new Recorded();
        org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
            try (Connection c = TestPostgres.get().superuser(DB)) {
                DatabaseHealth.Sample s = metrics.sample(c, Instant.now(), OWNER, events);
                assertThat(s.tables()).anySatisfy(t -> {
                    assertThat(t.table()).isEqualTo("public.ledger");
                    assertThat(t.dead()).isEqualTo(12000);
                    assertThat(t.deadRatio()).isGreaterThan(0.3);
                });
            }
        });
        try (Connection c = TestPostgres.get().superuser(DB)) {
            metrics.sample(c, Instant.now(), OWNER, events); // still over: no second Event
        }
        assertThat(events.events).filteredOn(e -> e.startsWith("VacuumRecommended")).singleElement().satisfies(e ->
                assertThat(e).contains("table public.ledger: ", "% dead tuples (12000 dead", "last vacuum never",
                        "VACUUM (ANALYZE) public.ledger", "no DatabaseMaintenance looks after it"));
        assertThat(registry.get("dba_table_dead_tuple_ratio").tag("table", "public.ledger").gauge().value())
                .isGreaterThan(0.3);
        assertThat(registry.get("dba_vacuum_recommended_tables").gauge().value()).isEqualTo(1.0);
        assertThat(registry.get("dba_table_size_bytes").tag("table", "public.accounts").gauge().value())
                .isPositive();
        try (Connection c = TestPostgres.get().superuser(DB)) {
            c.createStatement().execute("vacuum ledger");
            c.createStatement().execute("select pg_stat_force_next_flush()");
        }
        org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
            try (Connection c = TestPostgres.get().superuser(DB)) {
                metrics.sample(c, Instant.now(), OWNER, events);
            }
            assertThat(registry.get("dba_vacuum_recommended_tables").gauge().value()).isZero();
        });
        // over again, with a DatabaseMaintenance that vacuums the table: the Event names it
        try (Connection c = TestPostgres.get().superuser(DB)) {
            c.createStatement().execute("update ledger set amount = amount + 1 where id <= 12000");
            c.createStatement().execute("select pg_stat_force_next_flush()");
        }
        org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
            try (Connection c = TestPostgres.get().superuser(DB)) {
                metrics.sample(c, Instant.now(), OWNER, events, t -> t.equals("public.ledger")
                        ? "DatabaseMaintenance apps/nightly looks after it (next run at 2026-12-07T02:00:00Z)" : null);
            }
            assertThat(events.events).filteredOn(e -> e.startsWith("VacuumRecommended")).hasSize(2);
        });
        assertThat(events.events.stream().filter(e -> e.startsWith("VacuumRecommended")).reduce((a, b) -> b)
                .orElseThrow()).contains("VacuumRecommended", "public.ledger",
                "DatabaseMaintenance apps/nightly looks after it (next run at 2026-12-07T02:00:00Z)");
    }

    @Test
    void transactionIdsConsumedShowInTheDatabasesAgeAndItsOldestTable_UntilAFreezeResetsThem() throws Exception {
        // the Event's share of autovacuum_freeze_max_age (200,000,000 by default) set so that 4,000 IDs pass it
        DatabaseHealth.Thresholds lowFreeze = new DatabaseHealth.Thresholds(0.2, 0, Duration.ofSeconds(1),
                Duration.ofMinutes(5), Duration.ofMinutes(1), 4_000 / 200_000_000.0);
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        HealthMetrics metrics = new HealthMetrics(registry, Tags.of("database", DB),
                new DatabaseHealth(Duration.ofHours(1)), lowFreeze);
        Recorded events = new Recorded();
        try (Connection c = TestPostgres.get().superuser(DB)) {
            c.createStatement().execute("vacuum (freeze)"); // the whole database: every relfrozenxid is recent
            DatabaseHealth.Freeze fresh = metrics.sample(c, Instant.now(), OWNER, events).freeze();
            assertThat(fresh.freezeMaxAge()).isEqualTo(200_000_000L);
            assertThat(fresh.xidAge()).as("just frozen").isLessThan(1_000);
            assertThat(events.events).noneMatch(e -> e.startsWith("FreezeRecommended"));
            // 6,000 transaction IDs consumed: a subtransaction per row, each with its own ID
            c.createStatement().execute("create table if not exists burn (i int)");
            c.createStatement().execute("do $$ begin for i in 1..6000 loop begin insert into burn values (i); "
                    + "exception when others then null; end; end loop; end $$");
            DatabaseHealth.Freeze aged = metrics.sample(c, Instant.now(), OWNER, events).freeze();
            assertThat(aged.xidAge()).isGreaterThanOrEqualTo(fresh.xidAge() + 6_000);
            assertThat(aged.oldestTable()).as("a table frozen before the IDs were consumed").isNotNull()
                    .isNotEqualTo("burn");
            assertThat(aged.oldestTableXidAge()).isGreaterThanOrEqualTo(6_000).isLessThanOrEqualTo(aged.xidAge());
            assertThat(registry.get("dba_database_xid_age").gauge().value()).isEqualTo((double) aged.xidAge());
            assertThat(registry.get("dba_autovacuum_freeze_max_age").gauge().value()).isEqualTo(200_000_000.0);
            assertThat(registry.get("dba_table_oldest_xid_age").tag("table", aged.oldestTable()).gauge().value())
                    .isEqualTo((double) aged.oldestTableXidAge());
            metrics.sample(c, Instant.now(), OWNER, events); // still over: no second Event
            assertThat(events.events).filteredOn(e -> e.startsWith("FreezeRecommended")).singleElement()
                    .satisfies(e -> assertThat(e).contains("transaction ID age " + aged.xidAge()
                            + " (0% of autovacuum_freeze_max_age 200000000)", "oldest table ", "VACUUM (FREEZE)"));
            // a freeze of the whole database brings the age back, and the Event may come again later
            c.createStatement().execute("vacuum (freeze)");
            DatabaseHealth.Freeze refrozen = metrics.sample(c, Instant.now(), OWNER, events).freeze();
            assertThat(refrozen.xidAge()).isLessThan(aged.xidAge() - 5_000);
            assertThat(registry.get("dba_database_xid_age").gauge().value()).isEqualTo((double) refrozen.xidAge());
            c.createStatement().execute("do $$ begin for i in 1..6000 loop begin insert into burn values (i); "
                    + "exception when others then null; end; end loop; end $$");
            metrics.sample(c, Instant.now(), OWNER, events);
            assertThat(events.events).filteredOn(e -> e.startsWith("FreezeRecommended")).hasSize(2);
            c.createStatement().execute("drop table burn");
        }
    }

    @Test
    void aSessionWaitingOnAHeldLockIsShownWithItsBlocker_WithoutTheValues() throws Exception {
        try (Connection holder = TestPostgres.get().superuser(DB);
                Connection waiter = TestPostgres.get().superuser(DB);
                Connection observer = TestPostgres.get().superuser(DB)) {
            int holderPid;
            try (var rs = holder.createStatement().executeQuery("select pg_backend_pid()")) {
                rs.next();
                holderPid = rs.getInt(1);
            }
            holder.setAutoCommit(false);
            holder.createStatement().execute("update accounts set note = 'secret-4711' where id = 4711");
            CompletableFuture<Void> blocked = CompletableFuture.runAsync(() -> {
                try {
                    waiter.createStatement().execute("update accounts set note = 'other-secret' where id = 4711");
                } catch (java.sql.SQLException e) {
                    throw new IllegalStateException(e);
                }
            });
            Recorded events = new Recorded();
            HealthMetrics metrics = new HealthMetrics(new SimpleMeterRegistry(), Tags.empty(),
                    new DatabaseHealth(Duration.ofHours(1)), LOW_FLOOR);
            DatabaseHealth.Sample[] seen = new DatabaseHealth.Sample[1];
            org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
                seen[0] = metrics.sample(observer, Instant.now(), OWNER, events);
                assertThat(seen[0].lockWaits()).hasSize(1);
            });
            DatabaseHealth.LockWait w = seen[0].lockWaits().get(0);
            assertThat(w.waitingSeconds()).isGreaterThanOrEqualTo(1.0);
            assertThat(w.query()).isEqualTo("update accounts set note = ? where id = ?");
            assertThat(w.blockers()).singleElement().satisfies(b -> {
                assertThat(b.pid()).isEqualTo(holderPid);
                assertThat(b.state()).isEqualTo("idle in transaction");
                assertThat(b.query()).doesNotContain("secret").contains("set note = ?");
            });
            metrics.sample(observer, Instant.now(), OWNER, events); // the same wait: no second Event
            assertThat(events.events).filteredOn(e -> e.startsWith("LockWait")).singleElement().satisfies(e -> {
                assertThat(e).contains("has waited", "blocked by pid " + holderPid + " (idle in transaction");
                assertThat(e).doesNotContain("secret");
            });
            holder.rollback();
            blocked.get(20, java.util.concurrent.TimeUnit.SECONDS);
            assertThat(metrics.sample(observer, Instant.now(), OWNER, events).lockWaits()).isEmpty();
        }
    }

    @Test
    void aQueryIsShownCutShortWithEveryLiteralReplaced() {
        assertThat(DatabaseHealth.redact("select * from t where email = 'a@b.c' and id = 42 and x2 = -1.5"))
                .isEqualTo("select * from t where email = ? and id = ? and x2 = ?");
        assertThat(DatabaseHealth.redact("select 'it''s' ,  $1")).isEqualTo("select ? , $1");
        assertThat(DatabaseHealth.redact("x".repeat(300))).hasSize(123).endsWith("...");
    }
}
