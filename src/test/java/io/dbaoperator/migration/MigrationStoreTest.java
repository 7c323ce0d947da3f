package io.dbaoperator.migration;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Connection;
import java.sql.ResultSet;
import java.time.Instant;
import java.util.List;

import org.junit.jupiter.api.Test;

import io.dbaoperator.api.migration.DatabaseMigrationSpec;
import io.dbaoperator.harness.RealParts;
import io.dbaoperator.harness.TestPostgres;
import io.dbaoperator.sql.Catalog;

/**
 * The migration history on the real PostgreSQL: a run is the resource (its UID), a history written before runs were
 * keyed by UID is converted in place, and its rows go to the run that wrote them and to no other.
 */
@RealParts
class MigrationStoreTest {

    static MigrationPlan plan() {
        DatabaseMigrationSpec spec = new DatabaseMigrationSpec();
        spec.expand = new DatabaseMigrationSpec.SqlStep("ALTER TABLE items ADD COLUMN w text");
        spec.rollback = new DatabaseMigrationSpec.SqlStep("ALTER TABLE items DROP COLUMN IF EXISTS w");
        return MigrationPlanner.plan(spec, Catalog.EMPTY);
    }

    @Test
    void aRunIsTheResourceAndAnOldHistoryIsKeyedInPlace() throws Exception {
        TestPostgres pg = TestPostgres.get();
        pg.createDatabase("store_runs", "app", "store-runs-pw");
        // the history as an operator before this change left it: keyed by namespace/name alone
        pg.exec("store_runs", "drop schema if exists dba_operator cascade", "create schema dba_operator",
                "create table dba_operator.migration_history (migration_id text NOT NULL, step_id text NOT NULL, "
                        + "step text NOT NULL, checksum text NOT NULL, statement text NOT NULL, outcome text NOT NULL "
                        + "CHECK (outcome IN ('running', 'applied', 'failed')), started_at timestamptz NOT NULL "
                        + "DEFAULT clock_timestamp(), finished_at timestamptz, duration_ms bigint, attempts integer "
                        + "NOT NULL DEFAULT 1, rows_done bigint, rows_estimated bigint, last_key text, message text, "
                        + "PRIMARY KEY (migration_id, step_id))",
                "create table dba_operator.migration_lease (singleton boolean PRIMARY KEY DEFAULT true CHECK "
                        + "(singleton), migration_id text NOT NULL, uid text NOT NULL, acquired_at timestamptz NOT NULL "
                        + "DEFAULT clock_timestamp())",
                // an earlier resource named shop/walk ran a week ago; another one, shop/other, an hour ago
                "insert into dba_operator.migration_history (migration_id, step_id, step, checksum, statement, outcome, "
                        + "started_at, finished_at) values ('shop/walk', 'expand#1', 'expand', 'sha256:x', "
                        + "'ALTER TABLE items ADD COLUMN w text', 'applied', now() - interval '7 days', "
                        + "now() - interval '7 days'), ('shop/other', 'expand#1', 'expand', 'sha256:y', 'SELECT 1', "
                        + "'applied', now() - interval '1 hour', now() - interval '1 hour')");
        MigrationPlan plan = plan();
        try (Connection c = pg.superuser("store_runs")) {
            MigrationStore.ensureSchema(c);
            MigrationStore.ensureSchema(c); // idempotent
            MigrationStore.RunKey walk = new MigrationStore.RunKey("shop/walk", "uid-new", plan.digest());
            // created yesterday: the week-old row is not its own
            assertThat(MigrationStore.adoptLegacy(c, walk, Instant.now().minusSeconds(86_400))).isZero();
            assertThat(MigrationStore.find(c, walk, "expand#1")).isEmpty();
            assertThat(MigrationStore.list(c, walk)).isEmpty();
            List<MigrationStore.EarlierRun> earlier = MigrationStore.earlierRuns(c, walk);
            assertThat(earlier).singleElement().satisfies(r -> {
                assertThat(r.uid()).isEmpty();
                assertThat(r.applied()).isEqualTo(1);
                assertThat(r.last()).isEqualTo("expand#1 applied");
            });
            // the running resource shop/other was created before its row: it keeps its history across the upgrade
            MigrationStore.RunKey other = new MigrationStore.RunKey("shop/other", "uid-other", "sha256:y");
            assertThat(MigrationStore.adoptLegacy(c, other, Instant.now().minusSeconds(7200))).isEqualTo(1);
            assertThat(MigrationStore.find(c, other, "expand#1")).get()
                    .satisfies(e -> assertThat(e.outcome()).isEqualTo("applied"));

            // the new run records its own rows beside the earlier run's, under its UID and plan digest
            c.setAutoCommit(true);
            MigrationStore.record(c, walk, plan.step(MigrationPlan.EXPAND).get(0), "applied", 5, 1, null, null);
            StatementRunner.present(c, new MigrationStore.RunKey("shop/walk", "uid-third", plan.digest()),
                    plan.step(MigrationPlan.EXPAND).get(0), "column items.w exists");
            try (ResultSet rs = c.createStatement().executeQuery("select run_uid, outcome, plan_digest, message "
                    + "from dba_operator.migration_history where migration_id = 'shop/walk' order by started_at")) {
                assertThat(rs.next()).isTrue();
                assertThat(rs.getString(1)).isEmpty();
                assertThat(rs.next()).isTrue();
                assertThat(rs.getString(1)).isEqualTo("uid-new");
                assertThat(rs.getString(3)).isEqualTo(plan.digest());
                assertThat(rs.next()).isTrue();
                assertThat(rs.getString(1)).isEqualTo("uid-third");
                assertThat(rs.getString(2)).isEqualTo("present");
                assertThat(rs.getString(4)).isEqualTo("column items.w exists");
            }
            assertThat(MigrationLogWriter.render(MigrationStore.list(c, new MigrationStore.RunKey("shop/walk",
                    "uid-third", plan.digest())))).contains("expand#1 already present: column items.w exists")
                    .doesNotContain("applied");
        }
    }
}
