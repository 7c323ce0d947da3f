import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.time.Duration;

import io.dbaoperator.api.migration.DatabaseMigrationSpec;
import io.dbaoperator.migration.Backfill;
import io.dbaoperator.migration.MigrationPlan;
import io.dbaoperator.migration.MigrationPlanner;
import io.dbaoperator.migration.MigrationStore;
import io.dbaoperator.migration.StatementRunner;
import io.dbaoperator.sql.Catalog;

/**
 * The same schema change made naively and through the operator's migration engine (the planner, StatementRunner
 * and Backfill classes the reconciler runs, on one connection, without Kubernetes around them), each under a
 * 4-client pgbench-style load (UPDATE one account's balance, then read it, in one transaction). Prints figures;
 * asserts nothing. Then the lock-queue case: a transaction holds the table for 20 s while the ALTER arrives.
 * Usage: see run.sh (compiled with ../common/Load.java)
 */
public class MigrationBench {

    static String url;
    static int rows;

    public static void main(String[] args) throws Exception {
        url = args[0];
        rows = Integer.parseInt(args[1]);
        System.out.printf("# migration benchmark: %,d rows, 4 clients, %d cores%n%n", rows,
                Runtime.getRuntime().availableProcessors());
        System.out.println("| run | errors | TPS before | TPS during | p50 / p99 / max before (ms) | p50 / p99 / max during (ms) | seconds < 10% TPS | migration time (s) |");
        System.out.println("|---|---|---|---|---|---|---|---|");
        change("naive: ALTER + one UPDATE + DROP", false);
        change("operator: lock_timeout 500ms, 5,000-row batches", true);
        System.out.println();
        System.out.println("| lock-queue case (a transaction holds ACCESS SHARE for 20 s) | readers' max latency (ms) | ALTER done after (s) | errors |");
        System.out.println("|---|---|---|---|");
        lockQueue(false);
        lockQueue(true);
    }

    static Connection connect() throws SQLException {
        return DriverManager.getConnection(url);
    }

    static void exec(String sql) throws SQLException {
        try (Connection c = connect()) {
            c.createStatement().execute(sql);
        }
    }

    static void reset() throws SQLException {
        exec("DROP SCHEMA IF EXISTS dba_operator CASCADE");
        exec("DROP TABLE IF EXISTS accounts");
        exec("CREATE TABLE accounts (id bigint PRIMARY KEY, balance bigint NOT NULL DEFAULT 0, email text NOT NULL)");
        exec("INSERT INTO accounts SELECT g, 0, 'User' || g || '@Example.com' FROM generate_series(1, " + rows + ") g");
        exec("VACUUM ANALYZE accounts");
        exec("CHECKPOINT");
    }

    static void change(String label, boolean operator) throws Exception {
        reset();
        Load load = new Load(url, "accounts", "balance", rows, false, id -> true);
        load.start();
        Thread.sleep(10_000);
        long startSecond = System.currentTimeMillis() / 1000 + 1;
        load.measure(true);
        long t0 = System.nanoTime();
        if (operator) {
            viaOperator();
        } else {
            try (Connection c = connect()) {
                c.createStatement().execute("ALTER TABLE accounts ADD COLUMN email_lower text");
                c.createStatement().execute("UPDATE accounts SET email_lower = lower(email)");
                c.createStatement().execute("ALTER TABLE accounts DROP COLUMN email");
            }
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        long endSecond = System.currentTimeMillis() / 1000 - 1;
        load.measure(false);
        load.stop();
        double baseTps = load.before.size() / 10.0;
        double tpsDuring = load.during.size() / seconds;
        long slow = load.slowSeconds(startSecond, endSecond, baseTps, 0.1);
        System.out.printf("| %s | %d | %.0f | %.0f | %s | %s | %d | %.1f |%n", label, load.errors.get(), baseTps,
                tpsDuring, Load.percentiles(load.before), Load.percentiles(load.during), slow, seconds);
    }

    static void viaOperator() throws Exception {
        DatabaseMigrationSpec spec = new DatabaseMigrationSpec();
        spec.expand = new DatabaseMigrationSpec.SqlStep("ALTER TABLE accounts ADD COLUMN email_lower text");
        spec.backfill = new DatabaseMigrationSpec.Backfill();
        spec.backfill.table = "accounts";
        spec.backfill.set = "email_lower = lower(email)";
        spec.backfill.batchSize = 5000;
        spec.backfill.pauseBetweenBatches = "20ms";
        spec.contract = new DatabaseMigrationSpec.SqlStep("ALTER TABLE accounts DROP COLUMN email");
        spec.rollback = new DatabaseMigrationSpec.SqlStep("ALTER TABLE accounts DROP COLUMN IF EXISTS email_lower");
        MigrationPlan plan = MigrationPlanner.plan(spec, Catalog.EMPTY);
        StatementRunner runner = new StatementRunner(new StatementRunner.Settings(Duration.ofMillis(500), 50, null,
                Duration.ofHours(2)));
        try (Connection c = connect()) {
            io.dbaoperator.postgres.SqlStates.tryAdvisoryLock(c, io.dbaoperator.postgres.SqlStates.LOCK_MIGRATIONS);
            MigrationStore.ensureSchema(c);
            MigrationStore.RunKey run = new MigrationStore.RunKey("bench/m", "bench-run", plan.digest());
            for (MigrationPlan.Planned p : plan.step(MigrationPlan.EXPAND)) {
                runner.run(c, run, p, null);
            }
            Backfill b = new Backfill(spec.backfill, Duration.ofMillis(500), 50, Duration.ofMillis(20),
                    Duration.ofSeconds(10));
            while (!b.slice(c, run, plan.step(MigrationPlan.BACKFILL).get(0), Duration.ofSeconds(5), () -> false)
                    .finished()) {
                // the reconciler writes status here between slices
            }
            for (MigrationPlan.Planned p : plan.step(MigrationPlan.CONTRACT)) {
                runner.run(c, run, p, null);
            }
        }
    }

    static void lockQueue(boolean operator) throws Exception {
        reset();
        Load readers = new Load(url, "accounts", "balance", rows, true, id -> true);
        readers.start();
        Thread.sleep(2000);
        readers.measure(true);
        long[] alterDone = new long[1];
        try (Connection holder = connect()) {
            holder.setAutoCommit(false);
            holder.createStatement().execute("SELECT count(*) FROM accounts");
            long t0 = System.nanoTime();
            Thread alter = new Thread(() -> {
                try (Connection c = connect()) {
                    if (operator) {
                        DatabaseMigrationSpec spec = new DatabaseMigrationSpec();
                        spec.expand = new DatabaseMigrationSpec.SqlStep("ALTER TABLE accounts ADD COLUMN note text");
                        spec.rollback = new DatabaseMigrationSpec.SqlStep("ALTER TABLE accounts DROP COLUMN note");
                        MigrationPlan plan = MigrationPlanner.plan(spec, Catalog.EMPTY);
                        MigrationStore.ensureSchema(c);
                        new StatementRunner(new StatementRunner.Settings(Duration.ofMillis(200), 100, null,
                                Duration.ofHours(2))).run(c, new MigrationStore.RunKey("bench/lock", "bench-lock", plan.digest()), plan.step(MigrationPlan.EXPAND).get(0),
                                        null);
                    } else {
                        c.createStatement().execute("ALTER TABLE accounts ADD COLUMN note text");
                    }
                    alterDone[0] = System.nanoTime() - t0;
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            alter.start();
            Thread.sleep(20_000);
            holder.commit();
            alter.join();
        }
        Thread.sleep(1000);
        readers.stop();
        long max = Load.max(readers.during) / 1000;
        System.out.printf("| %s | %d | %.1f | %d |%n", operator ? "operator: lock_timeout 200ms, jittered retries"
                : "naive: ALTER without lock_timeout", max, alterDone[0] / 1e9, readers.errors.get());
    }
}
