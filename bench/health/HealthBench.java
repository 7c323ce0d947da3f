import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

import io.dbaoperator.metrics.DatabaseHealth;

/**
 * What the health sampling costs (prints figures): N databases on one server, each with T tables (some with dead
 * tuples), a standby-less primary; every database sampled with the operator's DatabaseHealth on a fresh connection
 * per interval, as the fleet sampler does, for R rounds. Reports queries and milliseconds per database per
 * interval, the connection's own cost, and a whole interval's total at N databases.
 */
public final class HealthBench {

    public static void main(String[] args) throws Exception {
        String base = args[0]; // jdbc:postgresql://127.0.0.1:PORT/
        int databases = Integer.parseInt(args[1]);
        int tables = Integer.parseInt(args[2]);
        int rounds = 3;
        long setup = System.nanoTime();
        try (Connection admin = DriverManager.getConnection(base + "postgres?user=postgres")) {
            admin.setAutoCommit(true);
            for (int d = 0; d < databases; d++) {
                admin.createStatement().execute("create database h" + d);
            }
        }
        for (int d = 0; d < databases; d++) {
            try (Connection c = DriverManager.getConnection(base + "h" + d + "?user=postgres")) {
                Statement s = c.createStatement();
                for (int t = 0; t < tables; t++) {
                    s.execute("create table t" + t + " (id int primary key, v int)");
                    s.execute("insert into t" + t + " select g, 0 from generate_series(1, 2000) g");
                    if (t % 3 == 0) {
                        s.execute("update t" + t + " set v = 1 where id <= 800");
                    }
                }
            }
        }
        long setupMs = (System.nanoTime() - setup) / 1_000_000;
        DatabaseHealth.Thresholds th = new DatabaseHealth.Thresholds(0.2, 0, Duration.ofSeconds(5),
                Duration.ofMinutes(5), Duration.ofMinutes(1), 0.75);
        List<DatabaseHealth> samplers = new ArrayList<>();
        for (int d = 0; d < databases; d++) {
            samplers.add(new DatabaseHealth(Duration.ofHours(1)));
        }
        List<Double> sampleMs = new ArrayList<>();
        List<Double> connectMs = new ArrayList<>();
        List<Double> intervalMs = new ArrayList<>();
        int queries = 0;
        int tablesReported = 0;
        for (int r = 0; r < rounds; r++) {
            long i0 = System.nanoTime();
            for (int d = 0; d < databases; d++) {
                long c0 = System.nanoTime();
                try (Connection c = DriverManager.getConnection(base + "h" + d + "?user=postgres")) {
                    connectMs.add((System.nanoTime() - c0) / 1e6);
                    DatabaseHealth.Sample s = samplers.get(d).sample(c, th, Instant.now());
                    sampleMs.add(s.millis());
                    queries = s.queries();
                    tablesReported = s.tables().size();
                }
            }
            intervalMs.add((System.nanoTime() - i0) / 1e6);
        }
        Collections.sort(sampleMs);
        Collections.sort(connectMs);
        System.out.println("# health sampling benchmark, " + Instant.now() + ", " + Runtime.getRuntime()
                .availableProcessors() + " cores");
        System.out.println();
        System.out.println(databases + " databases of " + tables + " tables each on one PostgreSQL 15 (set up in "
                + setupMs + " ms); " + rounds + " rounds, every database sampled once per round on its own connection");
        System.out.println();
        System.out.println("| figure | value |");
        System.out.println("|---|---:|");
        System.out.printf("| queries per database per interval (a primary without standbys) | %d |%n", queries);
        System.out.printf("| sample time per database, p50 / p95 / max (ms) | %.1f / %.1f / %.1f |%n", pct(sampleMs, 0.5),
                pct(sampleMs, 0.95), sampleMs.get(sampleMs.size() - 1));
        System.out.printf("| connection set-up per database, p50 / p95 (ms) | %.1f / %.1f |%n", pct(connectMs, 0.5),
                pct(connectMs, 0.95));
        System.out.printf("| one whole interval at %d databases, sequential, first / later rounds (ms) | %.0f / %.0f |%n",
                databases, intervalMs.get(0), intervalMs.get(intervalMs.size() - 1));
        System.out.printf("| tables reported per database (dead tuples over the floor) | %d |%n", tablesReported);
    }

    static double pct(List<Double> sorted, double q) {
        return sorted.get(Math.min(sorted.size() - 1, (int) Math.floor(q * sorted.size())));
    }
}
