import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;

import io.dbaoperator.api.disposal.DisposalJobSpec;
import io.dbaoperator.disposal.DisposalPlanner;
import io.dbaoperator.disposal.DisposalRunner;

/**
 * Anonymize, then delete, a fifth of the rows with the operator's disposal engine (the planner and runner classes
 * the reconciler runs, on one connection, its batches paced by BatchPacer) under each of two 4-client loads on the
 * rows that stay ({@link Load}: simple, CPU-bound here; tpcb, pgbench's TPC-B-like script with synchronous_commit
 * on, commit-bound). Prints figures and the targets met or not; asserts nothing. Usage: see run.sh.
 */
public class DisposalBench {

    static String url;
    static int rows;
    static String lastPaced = "";

    public static void main(String[] args) throws Exception {
        url = args[0];
        rows = Integer.parseInt(args[1]);
        int batch = Integer.parseInt(args[2]);
        System.out.printf("# disposal benchmark: %,d of %,d rows, batches of %,d, 4 clients on the other rows, %d cores%n%n",
                rows / 5, rows, batch, Runtime.getRuntime().availableProcessors());
        System.out.println("Targets: 0 errors; p99 during at most 2x before; TPS during at least 80% of before.");
        System.out.println();
        System.out.println("| load | run | rows | rows/s | load errors | TPS before | TPS during | p50 / p99 / max before (ms) | p50 / p99 / max during (ms) | p99 during / before | TPS kept | longest wait of a load transaction (ms) | pacer's batch at the end, and why it throttled | targets |");
        System.out.println("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
        for (boolean tpcb : new boolean[] {false, true}) {
            setUp();
            if (tpcb) {
                try (Connection c = DriverManager.getConnection(url)) {
                    Load.prepareTpcb(c, rows);
                }
            }
            run("Anonymize (Hash email, Redact full_name)", DisposalJobSpec.Action.Anonymize, batch, tpcb);
            run("Delete", DisposalJobSpec.Action.Delete, batch, tpcb);
        }
    }

    static void exec(String sql) throws SQLException {
        try (Connection c = DriverManager.getConnection(url)) {
            c.createStatement().execute(sql);
        }
    }

    static void setUp() throws SQLException {
        exec("DROP SCHEMA IF EXISTS dba_operator CASCADE");
        exec("DROP TABLE IF EXISTS customers");
        exec("CREATE TABLE customers (id bigint PRIMARY KEY, email text NOT NULL, full_name text NOT NULL, "
                + "closed_at timestamptz, balance bigint NOT NULL DEFAULT 0)");
        exec("INSERT INTO customers SELECT g, 'c' || g || '@example.com', 'Customer ' || g, CASE WHEN g % 5 = 0 "
                + "THEN now() - interval '3 years' END, 0 FROM generate_series(1, " + rows + ") g");
        exec("VACUUM ANALYZE customers");
        exec("CHECKPOINT");
    }

    static void run(String label, DisposalJobSpec.Action action, int batch, boolean tpcb) throws Exception {
        DisposalJobSpec spec = new DisposalJobSpec();
        DisposalJobSpec.Rule rule = new DisposalJobSpec.Rule();
        rule.name = "closed";
        rule.table = "customers";
        rule.olderThan = new DisposalJobSpec.OlderThan();
        rule.olderThan.column = "closed_at";
        rule.olderThan.age = "730d";
        rule.action = action;
        rule.batchSize = batch;
        if (action == DisposalJobSpec.Action.Anonymize) {
            rule.anonymize = new DisposalJobSpec.Anonymize();
            DisposalJobSpec.ColumnStrategy hash = new DisposalJobSpec.ColumnStrategy();
            hash.strategy = DisposalJobSpec.ColumnStrategy.Strategy.Hash;
            DisposalJobSpec.ColumnStrategy redact = new DisposalJobSpec.ColumnStrategy();
            redact.strategy = DisposalJobSpec.ColumnStrategy.Strategy.Redact;
            rule.anonymize.columns = Map.of("email", hash, "full_name", redact);
        }
        spec.rules = List.of(rule);
        Load load = new Load(url, "customers", "balance", rows, false, id -> id % 5 != 0, tpcb);
        load.start();
        Thread.sleep(10_000);
        load.measure(true);
        long t0 = System.nanoTime();
        long done;
        try (Connection c = DriverManager.getConnection(url)) {
            DisposalRunner.ensureSchema(c);
            List<DisposalPlanner.RulePlan> plans = DisposalPlanner.plan(c, spec);
            DisposalRunner runner = new DisposalRunner(Duration.ofMillis(500), Duration.ofMillis(20), null);
            DisposalRunner.Progress p;
            Integer size = null;
            String paced = "";
            do {
                // the reconciler stores the batch size in status between slices and resumes at it
                p = runner.slice(c, "bench/" + action + tpcb, "run", plans.get(0), "bench-salt-0123456789",
                        null, Instant.now().plusSeconds(5), () -> false, size);
                size = p.batchSize() > 0 ? p.batchSize() : size;
                if (!p.finished()) {
                    paced = p.batchSize() + (p.paced() == null ? "" : "; " + p.paced());
                }
            } while (!p.finished());
            done = p.rowsDone();
            lastPaced = paced;
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        load.measure(false);
        load.stop();
        double baseTps = load.before.size() / 10.0;
        double p99 = Load.p99(load.during) / Math.max(1.0, Load.p99(load.before));
        double kept = load.during.size() / seconds / baseTps;
        String unmet = (load.errors.get() > 0 ? " errors" : "") + (p99 > 2 ? " p99" : "") + (kept < 0.8 ? " TPS" : "");
        System.out.printf("| %s | %s | %,d | %,.0f | %d | %.0f | %.0f | %s | %s | %.2fx | %.0f%% | %.0f | %s | %s |%n",
                tpcb ? "tpcb" : "simple", label, done, done / seconds, load.errors.get(), baseTps,
                load.during.size() / seconds, Load.percentiles(load.before), Load.percentiles(load.during), p99,
                kept * 100, Load.max(load.during) / 1000.0, lastPaced, unmet.isEmpty() ? "all met" : "unmet:" + unmet);
    }
}
