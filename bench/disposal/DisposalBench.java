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
 * Anonymize, then delete, 1M of 5M rows with the operator's disposal engine (the planner and runner classes the
 * reconciler runs, on one connection) under a 4-client load on the rows that stay. Prints figures; asserts
 * nothing. Usage: see run.sh.
 */
public class DisposalBench {

    static String url;
    static int rows;

    public static void main(String[] args) throws Exception {
        url = args[0];
        rows = Integer.parseInt(args[1]);
        int batch = Integer.parseInt(args[2]);
        System.out.printf("# disposal benchmark: %,d of %,d rows, batches of %,d, 4 clients on the other rows, %d cores%n%n",
                rows / 5, rows, batch, Runtime.getRuntime().availableProcessors());
        setUp();
        System.out.println("| run | rows | rows/s | load errors | TPS before | TPS during | p50 / p99 / max before (ms) | p50 / p99 / max during (ms) | longest wait of a load transaction (ms) |");
        System.out.println("|---|---|---|---|---|---|---|---|---|");
        run("Anonymize (Hash email, Redact full_name)", DisposalJobSpec.Action.Anonymize, batch);
        run("Delete", DisposalJobSpec.Action.Delete, batch);
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

    static void run(String label, DisposalJobSpec.Action action, int batch) throws Exception {
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
        Load load = new Load(url, "customers", "balance", rows, false, id -> id % 5 != 0);
        load.start();
        Thread.sleep(10_000);
        load.measure(true);
        long t0 = System.nanoTime();
        long done;
        try (Connection c = DriverManager.getConnection(url)) {
            DisposalRunner.ensureSchema(c);
            List<DisposalPlanner.RulePlan> plans = DisposalPlanner.plan(c, spec);
            DisposalRunner runner = new DisposalRunner(Duration.ofMillis(500), Duration.ofMillis(20));
            DisposalRunner.Progress p;
            do {
                p = runner.slice(c, "bench/" + action, "run", plans.get(0), "bench-salt-0123456789",
                        null, Instant.now().plusSeconds(5), () -> false);
            } while (!p.finished());
            done = p.rowsDone();
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        load.measure(false);
        load.stop();
        double baseTps = load.before.size() / 10.0;
        System.out.printf("| %s | %,d | %,.0f | %d | %.0f | %.0f | %s | %s | %.0f |%n", label, done, done / seconds,
                load.errors.get(), baseTps, load.during.size() / seconds, Load.percentiles(load.before),
                Load.percentiles(load.during), Load.max(load.during) / 1000.0);
    }
}
