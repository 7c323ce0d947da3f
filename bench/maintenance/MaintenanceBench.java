import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;

import io.dbaoperator.maintenance.MaintenanceFacts;
import io.dbaoperator.maintenance.MaintenancePlanner;
import io.dbaoperator.maintenance.MaintenanceRunner;
import io.dbaoperator.maintenance.MaintenanceSurvey;

/**
 * The operator's maintenance engine (the survey, planner and runner classes the DatabaseMaintenance kind will run)
 * on {@code accounts}: half its e-mails changed earlier (both indexes left a third larger than their rows need), then
 * 30% of its rows deleted (dead tuples, and more index space that only a rebuild gives back). Under each of the two 4-client loads ({@link Load}: simple, CPU-bound here; tpcb, commit-bound)
 * on the rows that stay, each planned task in turn: VACUUM (ANALYZE), then (from a second survey, once the dead
 * entries are gone from the indexes) REINDEX INDEX CONCURRENTLY of each bloated index. Prints per task the evidence before and after (dead tuples, sizes, bloat by pgstatindex), time per GB, and
 * the load's p99 and TPS during it against the 10 s before; the targets (those of the migrations) met or not.
 * Asserts nothing. Usage: see run.sh.
 */
public class MaintenanceBench {

    static String url;
    static int rows;
    /** vacuum_cost_delay (ms) and vacuum_cost_limit for the VACUUMs; null: the server's (no delay for VACUUM). */
    static Integer costDelay;
    static Integer costLimit;

    public static void main(String[] args) throws Exception {
        // a failure ends the bench (the load's threads would otherwise keep the JVM alive)
        Thread.setDefaultUncaughtExceptionHandler((t, e) -> {
            e.printStackTrace();
            Runtime.getRuntime().halt(1);
        });
        url = args[0];
        rows = Integer.parseInt(args[1]);
        costDelay = args.length > 2 && !args[2].isEmpty() ? Integer.valueOf(args[2]) : null;
        costLimit = args.length > 3 && !args[3].isEmpty() ? Integer.valueOf(args[3]) : null;
        System.out.printf("# maintenance benchmark: %,d rows, 30%% dead, 2 bloated indexes, 4 clients on the other "
                + "rows, %d cores%n%n", rows, Runtime.getRuntime().availableProcessors());
        System.out.println("Targets: 0 errors; p99 during at most 2x before; no second under 50% of the TPS before.");
        System.out.println(costDelay == null ? "VACUUM cost settings: the server's (vacuum_cost_delay 0 for a manual "
                + "VACUUM)." : "VACUUM cost settings (spec.vacuum): vacuum_cost_delay " + costDelay + " ms, "
                        + "vacuum_cost_limit " + (costLimit == null ? "the server's" : costLimit) + ".");
        System.out.println();
        System.out.println("| load | task | why (the plan) | before | after | duration (s) | s per GB | load errors "
                + "| TPS before | TPS during | p50 / p99 / max before (ms) | p50 / p99 / max during (ms) | p99 during "
                + "/ before | seconds under 50% TPS | targets |");
        System.out.println("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
        for (boolean tpcb : new boolean[] { false, true }) {
            setUp();
            if (tpcb) {
                try (Connection c = DriverManager.getConnection(url)) {
                    Load.prepareTpcb(c, rows);
                }
            }
            // planned, run, planned again: an index's space held by dead entries shows only once VACUUM removed
            // them, so the rebuilds come from the second survey, as they would in the next run of a schedule
            java.util.Set<String> done = new java.util.HashSet<>();
            for (int round = 1; round <= 2; round++) {
                List<MaintenancePlanner.Task> plan;
                try (Connection c = DriverManager.getConnection(url)) {
                    MaintenanceFacts facts = MaintenanceSurvey.read(c, 0);
                    // the tasks: vacuum and the rebuilds (a repack would take the table's indexes with it)
                    plan = MaintenancePlanner.plan(new MaintenancePlanner.Policy(java.util.EnumSet.of(
                            MaintenancePlanner.Duty.vacuum, MaintenancePlanner.Duty.analyze,
                            MaintenancePlanner.Duty.reindex), MaintenancePlanner.Thresholds.DEFAULTS,
                            java.util.Map.of(), List.of("accounts"), List.of(), Long.MAX_VALUE), facts);
                }
                for (MaintenancePlanner.Task task : plan) {
                    if (done.add(task.kind() + " " + task.object())) {
                        run(task, tpcb);
                    }
                }
            }
        }
    }

    static void exec(String sql) throws SQLException {
        try (Connection c = DriverManager.getConnection(url)) {
            c.createStatement().execute(sql);
        }
    }

    static long scalar(Connection c, String sql) throws SQLException {
        try (ResultSet rs = c.createStatement().executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        }
    }

    static void setUp() throws SQLException {
        exec("CREATE EXTENSION IF NOT EXISTS pgstattuple");
        exec("DROP TABLE IF EXISTS accounts");
        exec("CREATE TABLE accounts (id bigint PRIMARY KEY, balance bigint NOT NULL DEFAULT 0, email text NOT NULL, "
                + "note text) WITH (autovacuum_enabled = false)");
        exec("INSERT INTO accounts SELECT g, 0, md5(g::text) || '@example.com', repeat('x', 40) FROM "
                + "generate_series(1, " + rows + ") g");
        exec("CREATE INDEX accounts_email ON accounts (email)");
        // half the rows' e-mail changed (not a HOT update: new entries in both indexes), the old versions vacuumed
        // away: both indexes hold a third more pages than their rows need, as after months of such updates
        exec("UPDATE accounts SET email = 'x' || email WHERE id % 2 = 0");
        exec("VACUUM ANALYZE accounts");
        // 30% of the rows gone: dead tuples for the VACUUM, and space in both indexes that only a rebuild gives back
        exec("DELETE FROM accounts WHERE id % 10 < 3");
        exec("CHECKPOINT");
        try (Connection c = DriverManager.getConnection(url)) {
            c.createStatement().execute("SELECT pg_stat_force_next_flush()");
        }
    }

    /** The object's evidence as the table shows it: dead tuples and size, or size and bloat. */
    static String evidence(Connection c, MaintenancePlanner.Task t) throws SQLException {
        String[] p = t.object().split("\\.", 2);
        if (t.kind() == MaintenancePlanner.Kind.Reindex) {
            long size = scalar(c, "SELECT pg_relation_size('" + p[0] + "." + p[1] + "')");
            long density = scalar(c, "SELECT round(avg_leaf_density) FROM pgstatindex('" + p[0] + "." + p[1] + "')");
            return String.format("%s, leaf density %d%%", mib(size), density);
        }
        return String.format("%,d dead, %s, %d%% free", scalar(c, "SELECT n_dead_tup FROM pg_stat_user_tables WHERE "
                + "relname = '" + p[1] + "'"), mib(scalar(c, "SELECT pg_table_size('" + t.object() + "')")),
                scalar(c, "SELECT round(approx_free_percent) FROM pgstattuple_approx('" + t.object() + "')"));
    }

    static String mib(long bytes) {
        return String.format("%,.0f MiB", bytes / 1048576.0);
    }

    static void run(MaintenancePlanner.Task task, boolean tpcb) throws Exception {
        String before;
        long objectBytes;
        try (Connection c = DriverManager.getConnection(url)) {
            before = evidence(c, task);
            objectBytes = scalar(c, "SELECT " + (task.kind() == MaintenancePlanner.Kind.Reindex ? "pg_relation_size"
                    : "pg_table_size") + "('" + task.object() + "')");
        }
        Load load = new Load(url, "accounts", "balance", rows, false, id -> id % 10 >= 3, tpcb);
        load.start();
        Thread.sleep(10_000);
        load.measure(true);
        long from = System.currentTimeMillis() / 1000 + 1; // whole seconds only
        long t0 = System.nanoTime();
        MaintenanceRunner.Outcome outcome;
        try (Connection c = DriverManager.getConnection(url)) {
            outcome = MaintenanceRunner.run(c, task, new MaintenanceRunner.Settings(Duration.ofSeconds(1), 30,
                    Duration.ZERO, costDelay, costLimit));
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        long to = System.currentTimeMillis() / 1000 - 1;
        load.measure(false);
        load.stop();
        String after;
        try (Connection c = DriverManager.getConnection(url)) {
            after = evidence(c, task);
        }
        double baseTps = load.before.size() / 10.0;
        double p99 = Load.p99(load.during) / Math.max(1.0, Load.p99(load.before));
        long slow = load.slowSeconds(from, to, baseTps, 0.5);
        String unmet = (load.errors.get() > 0 ? " errors" : "") + (p99 > 2 ? " p99" : "") + (slow > 0 ? " slow seconds"
                : "") + (outcome.effective() ? "" : " (no effect: " + outcome.note() + ")");
        System.out.printf("| %s | %s | %s | %s | %s | %.1f | %.1f | %d | %.0f | %.0f | %s | %s | %.2fx | %d | %s |%n",
                tpcb ? "tpcb" : "simple", outcome.statement(), task.why(), before, after, seconds,
                seconds / (objectBytes / 1073741824.0), load.errors.get(), baseTps, load.during.size() / seconds,
                Load.percentiles(load.before), Load.percentiles(load.during), p99, slow,
                unmet.isEmpty() ? "all met" : "unmet:" + unmet);
    }
}
