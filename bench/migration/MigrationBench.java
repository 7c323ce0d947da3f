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
 * and Backfill classes the reconciler runs, on one connection, without Kubernetes around them, its batches paced by
 * BatchPacer), each under two 4-client loads ({@link Load}): simple (UPDATE one account's balance, then read it:
 * CPU-bound here) and tpcb (pgbench's TPC-B-like script with synchronous_commit on: commit-bound). Prints figures
 * and the targets met or not; asserts nothing. Then the lock-queue case: a transaction holds the table for
 * 20 s while the ALTER arrives.
 * Usage: see run.sh (compiled with ../common/Load.java)
 */
public class MigrationBench {

    static String url;
    static int rows;
    static int batchSize = 5_000;
    /** The pacer's batch size when the backfill's last full slice ended, and its last throttle. */
    static String paced = "";
    static String pause = "20ms";

    public static void main(String[] args) throws Exception {
        url = args[0];
        rows = Integer.parseInt(args[1]);
        System.out.printf("# migration benchmark: %,d rows, 4 clients, %d cores%n%n", rows,
                Runtime.getRuntime().availableProcessors());
        System.out.println("Targets: 0 errors; p99 during at most 2x before; TPS during at least 80% of before; no "
                + "second under 50% of it; under tpcb, total time at most 2x the naive UPDATE's.");
        System.out.println();
        System.out.println("| load | run | errors | TPS before | TPS during | p50 / p99 / max before (ms) | p50 / p99 / max during (ms) | p99 during / before | TPS kept | seconds < 50% TPS | time (s) | time / naive | pacer's batch at the end, and why it throttled | targets |");
        System.out.println("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
        for (boolean tpcb : new boolean[] {false, true}) {
            double naive = change("naive: ALTER + one UPDATE + DROP", false, tpcb, 0);
            change("operator: lock_timeout 500ms, paced batches (at most 5,000 rows, 100 ms target, 20 ms pause)",
                    true, tpcb, naive);
            batchSize = 50_000; // the pacer alone: a high cap, no pause
            pause = "0ms";
            change("operator: paced batches (at most 50,000 rows, 100 ms target, no pause)", true, tpcb, naive);
            batchSize = 5_000;
            pause = "20ms";
        }
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

    /** One run under one load; returns its time in seconds. {@code naive}: the naive run's time, 0 for that run. */
    static double change(String label, boolean operator, boolean tpcb, double naive) throws Exception {
        reset();
        if (tpcb) {
            try (Connection c = connect()) {
                Load.prepareTpcb(c, rows);
            }
        }
        Load load = new Load(url, "accounts", "balance", rows, false, id -> true, tpcb);
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
        long slow = load.slowSeconds(startSecond, endSecond, baseTps, 0.5);
        double p99 = Load.p99(load.during) / Math.max(1.0, Load.p99(load.before));
        double kept = tpsDuring / baseTps;
        String targets = "-";
        if (operator) {
            StringBuilder unmet = new StringBuilder();
            if (load.errors.get() > 0) unmet.append(" errors");
            if (p99 > 2) unmet.append(" p99");
            if (kept < 0.8) unmet.append(" TPS");
            if (slow > 0) unmet.append(" seconds<50%");
            if (tpcb && seconds > 2 * naive) unmet.append(" time");
            targets = unmet.length() == 0 ? "all met" : "unmet:" + unmet;
        }
        System.out.printf("| %s | %s | %d | %.0f | %.0f | %s | %s | %.2fx | %.0f%% | %d | %.1f | %s | %s | %s |%n",
                tpcb ? "tpcb" : "simple", label, load.errors.get(), baseTps, tpsDuring, Load.percentiles(load.before),
                Load.percentiles(load.during), p99, kept * 100, slow, seconds,
                naive > 0 ? String.format("%.1fx", seconds / naive) : "1x", operator ? paced : "-", targets);
        return seconds;
    }

    static void viaOperator() throws Exception {
        DatabaseMigrationSpec spec = new DatabaseMigrationSpec();
        spec.expand = new DatabaseMigrationSpec.SqlStep("ALTER TABLE accounts ADD COLUMN email_lower text");
        spec.backfill = new DatabaseMigrationSpec.Backfill();
        spec.backfill.table = "accounts";
        spec.backfill.set = "email_lower = lower(email)";
        spec.backfill.batchSize = batchSize;
        spec.backfill.pauseBetweenBatches = pause;
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
            Backfill b = new Backfill(spec.backfill, Duration.ofMillis(500), 50,
                    io.dbaoperator.kube.Durations.parse("pause", pause), Duration.ofSeconds(10));
            Integer size = null;
            Backfill.Progress progress;
            do {
                // the reconciler writes status here between slices, and resumes at the stored batch size
                progress = b.slice(c, run, plan.step(MigrationPlan.BACKFILL).get(0), Duration.ofSeconds(5),
                        () -> false, size);
                if (!progress.finished()) {
                    paced = progress.batchSize() + (progress.paced() == null ? "" : "; " + progress.paced());
                }
                size = progress.batchSize();
            } while (!progress.finished());
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
