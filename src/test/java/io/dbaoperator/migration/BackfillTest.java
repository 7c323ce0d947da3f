package io.dbaoperator.migration;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Connection;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import io.dbaoperator.api.migration.DatabaseMigrationSpec;
import io.dbaoperator.harness.RealParts;
import io.dbaoperator.harness.TestPostgres;
import io.dbaoperator.sql.Catalog;

/**
 * The backfill against a real PostgreSQL, every batch's size seen by a statement trigger: no batch locks more than
 * batchSize rows, whatever the keys look like as text, and the batches walk the key order.
 */
@RealParts
class BackfillTest {

    static Connection c;

    @BeforeAll
    static void setUp() throws Exception {
        TestPostgres pg = TestPostgres.get();
        pg.createDatabase("backfill_batches", "app", "backfill-pw");
        pg.exec("backfill_batches", "drop schema if exists dba_operator cascade",
                "drop table if exists items, batch_log cascade",
                // keys of 1 to 5 digits: in text order 10000 comes before 9
                "create table items (id bigint primary key, name text not null, name_upper text)",
                "insert into items select g, 'item ' || g, null from generate_series(1, 12000) g",
                "create table batch_log (n serial, rows int, first_key bigint, last_key bigint)",
                "create function log_batch() returns trigger language plpgsql as $$ begin "
                        + "insert into batch_log (rows, first_key, last_key) select count(*), min(id), max(id) "
                        + "from changed; return null; end $$",
                "create trigger log_batch after update on items referencing new table as changed "
                        + "for each statement execute function log_batch()",
                "analyze items");
        c = pg.superuser("backfill_batches");
        MigrationStore.ensureSchema(c);
    }

    @AfterAll
    static void tearDown() throws Exception {
        c.close();
    }

    @Test
    void noBatchIsLargerThanBatchSizeAndTheBatchesWalkTheKeysInOrder() throws Exception {
        Backfill.Progress p = new Run("batches", "items", "name_upper = upper(name)", "name_upper IS NULL", 500)
                .toTheEnd();

        assertThat(p.rowsDone()).isEqualTo(12000);
        assertThat(scalar("select count(*) from items where name_upper = upper(name)")).isEqualTo(12000);
        List<long[]> batches = new ArrayList<>();
        try (ResultSet rs = c.createStatement().executeQuery(
                "select rows, first_key, last_key from batch_log where rows > 0 order by n")) {
            while (rs.next()) {
                batches.add(new long[] {rs.getLong(1), rs.getLong(2), rs.getLong(3)});
            }
        }
        assertThat(batches).as("statements that changed rows").hasSize(24);
        assertThat(batches).allSatisfy(b -> assertThat(b[0]).as("rows in one batch").isEqualTo(500));
        for (int i = 1; i < batches.size(); i++) {
            assertThat(batches.get(i)[1]).as("batch %d starts after the previous one", i)
                    .isEqualTo(batches.get(i - 1)[2] + 1);
        }
    }

    @Test
    void batchesThatTakeLongerThanTheTargetShrinkToTheFloorAndStillWalkEveryKeyOnce() throws Exception {
        TestPostgres.get().exec("backfill_batches", "drop table if exists paced",
                "create table paced (id bigint primary key, name text not null, name_upper text)",
                "insert into paced select g, 'item ' || g, null from generate_series(1, 3000) g",
                "create trigger log_batch after update on paced referencing new table as changed "
                        + "for each statement execute function log_batch()");
        long logged = scalar("select coalesce(max(n), 0) from batch_log");
        // a 1 ms target no batch of 500 rows meets here: each next batch is half the last, down to the floor (10)
        Backfill.Progress p = new Run("paced", "paced", "name_upper = upper(name)", null, 500, "1ms").toTheEnd();
        assertThat(p.rowsDone()).isEqualTo(3000);
        assertThat(scalar("select count(*) from paced where name_upper = upper(name)")).isEqualTo(3000);
        List<long[]> batches = new ArrayList<>();
        try (ResultSet rs = c.createStatement().executeQuery("select rows, first_key, last_key from batch_log "
                + "where rows > 0 and n > " + logged + " order by n")) {
            while (rs.next()) {
                batches.add(new long[] {rs.getLong(1), rs.getLong(2), rs.getLong(3)});
            }
        }
        c.createStatement().execute("delete from batch_log where n > " + logged); // the other test counts its own
        assertThat(batches.get(0)[0]).as("the first batch is batchSize").isEqualTo(500);
        assertThat(batches.get(1)[0]).as("then halved, the most one slow batch takes off").isEqualTo(250);
        assertThat(batches).allSatisfy(b -> assertThat(b[0]).isBetween(1L, 500L));
        assertThat(batches.subList(0, batches.size() - 1).stream().mapToLong(b -> b[0]).min().getAsLong())
                .as("down to the floor (the last batch holds what is left)").isEqualTo(10);
        for (int i = 1; i < batches.size(); i++) {
            assertThat(batches.get(i)[1]).as("batch %d starts after the previous one", i)
                    .isEqualTo(batches.get(i - 1)[2] + 1);
        }
    }

    @Test
    void aFinishedBackfillFoundAgainCountsTheRowsItShouldHaveFilledAndDidNot() throws Exception {
        TestPostgres.get().exec("backfill_batches", "drop table if exists filled",
                "create table filled (id bigint primary key, name text, name_upper text, touched timestamptz)",
                "insert into filled select g, case when g % 10 = 0 then null else 'n' || g end, null, null "
                        + "from generate_series(1, 300) g");
        Run run = new Run("evidence", "filled", "name_upper = upper(name), touched = now()", "id <= 200", 50);
        Backfill.Progress p = run.toTheEnd();
        assertThat(p.fromHistory()).as("finished by this slice").isFalse();

        Backfill.Progress again = run.slice();
        assertThat(again.finished()).isTrue();
        assertThat(again.fromHistory()).isTrue();
        assertThat(run.backfill.unfilled(c)).as("filled as recorded; now() does not count, NULL names stay NULL")
                .isZero();

        TestPostgres.get().exec("backfill_batches", "update filled set name_upper = null where id between 11 and 17",
                "update filled set name_upper = null where id > 200");
        assertThat(run.backfill.unfilled(c)).as("the 7 rows in its where emptied by hand; rows outside it do not count")
                .isEqualTo(7);
    }

    /** A backfill of {@code table} planned as a migration's, with its run key in the history. */
    static final class Run {
        final Backfill backfill;
        final MigrationStore.RunKey key;
        final MigrationPlan.Planned step;

        Run(String name, String table, String set, String where, int batchSize) {
            this(name, table, set, where, batchSize, "1h"); // a target no batch reaches: every batch full
        }

        Run(String name, String table, String set, String where, int batchSize, String targetBatchDuration) {
            DatabaseMigrationSpec spec = new DatabaseMigrationSpec();
            spec.expand = new DatabaseMigrationSpec.SqlStep("SELECT 1");
            spec.rollback = new DatabaseMigrationSpec.SqlStep("SELECT 1");
            spec.backfill = new DatabaseMigrationSpec.Backfill();
            spec.backfill.table = table;
            spec.backfill.set = set;
            spec.backfill.where = where;
            spec.backfill.batchSize = batchSize;
            spec.backfill.pacing.targetBatchDuration = targetBatchDuration;
            MigrationPlan plan = MigrationPlanner.plan(spec, Catalog.EMPTY);
            backfill = new Backfill(spec.backfill, Duration.ofMillis(500), 5, Duration.ZERO, Duration.ofSeconds(10));
            key = new MigrationStore.RunKey("test/" + name, "uid-" + name, plan.digest());
            step = plan.step(MigrationPlan.BACKFILL).get(0);
        }

        Backfill.Progress slice() throws Exception {
            return backfill.slice(c, key, step, Duration.ofSeconds(5), () -> false);
        }

        /** Slices until the backfill says it is finished; the last slice's progress. */
        Backfill.Progress toTheEnd() throws Exception {
            Backfill.Progress p;
            do {
                p = slice();
            } while (!p.finished());
            return p;
        }
    }

    static long scalar(String sql) throws Exception {
        try (ResultSet rs = c.createStatement().executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        }
    }
}
