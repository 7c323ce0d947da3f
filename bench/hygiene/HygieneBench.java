import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

import io.dbaoperator.tuning.IndexApplier;
import io.dbaoperator.tuning.IndexHygiene;

/**
 * Index hygiene benchmark (prints figures): T tables, each with indexes planted as unused, duplicate,
 * prefix-redundant, INCLUDE-covered and (on every third table) invalid, beside indexes that must never be proposed:
 * primary keys, unique and exclusion constraints, a unique index without a constraint, the replica identity, a
 * partial index, and indexes the workload scans. Then the operator's review (its catalog query and rules, exactly
 * the classes the controller runs), the drops it proposes executed as the controller executes them (DROP INDEX
 * CONCURRENTLY with lock_timeout), and the catalogs checked again: what was found against what was planted, and
 * whether anything constraint-backed or in use went.
 */
public final class HygieneBench {

    public static void main(String[] args) throws Exception {
        String url = args[0];
        int tables = Integer.parseInt(args[1]);
        int rows = Integer.parseInt(args[2]);
        Map<String, String> planted = new TreeMap<>(); // index -> the finding it should get
        Set<String> mustStay = new TreeSet<>();
        long loadMs;
        try (Connection c = DriverManager.getConnection(url)) {
            c.setAutoCommit(true);
            Statement s = c.createStatement();
            s.execute("create table parent (id int primary key, label text)");
            s.execute("insert into parent select g, 'p' || g from generate_series(1, 1000) g");
            mustStay.add("parent_pkey");
            long t0 = System.nanoTime();
            for (int t = 0; t < tables; t++) {
                String tb = "t" + t;
                s.execute("create table " + tb + " (id bigint primary key, parent_id int not null references parent, "
                        + "a int not null, b int not null, c text not null, d timestamptz not null, code text, "
                        + "code2 text, ri int not null, ex int, exclude using btree (ex with =))");
                s.execute("insert into " + tb + " select g, 1 + g % 1000, g % 97, g % 13, 'c' || (g % 50), "
                        + "timestamptz '2026-01-01' + g * interval '1 second', 'k' || g, 'm' || g, g, g "
                        + "from generate_series(1, " + rows + ") g");
                s.execute("alter table " + tb + " add constraint " + tb + "_code_key unique (code)");
                mustStay.addAll(List.of(tb + "_pkey", tb + "_code_key", tb + "_ex_excl"));
                // in use (scanned below)
                s.execute("create index " + tb + "_a_b on " + tb + " (a, b)");
                s.execute("create index " + tb + "_parent on " + tb + " (parent_id)");
                s.execute("create index " + tb + "_d_incl on " + tb + " (d) include (c)");
                mustStay.addAll(List.of(tb + "_a_b", tb + "_parent", tb + "_d_incl"));
                // never proposed
                s.execute("create unique index " + tb + "_code2_uniq on " + tb + " (code2)");
                s.execute("create unique index " + tb + "_ri on " + tb + " (ri)");
                s.execute("alter table " + tb + " replica identity using index " + tb + "_ri");
                s.execute("create index " + tb + "_c_partial on " + tb + " (c) where b = 0");
                mustStay.addAll(List.of(tb + "_code2_uniq", tb + "_ri"));
                // planted
                s.execute("create index " + tb + "_c on " + tb + " (c)");
                planted.put(tb + "_c", "Unused");
                s.execute("create index " + tb + "_a on " + tb + " (a)");
                planted.put(tb + "_a", "Redundant");
                s.execute("create index " + tb + "_d on " + tb + " (d)");
                planted.put(tb + "_d", "Redundant");
                if (t % 3 == 0) {
                    try {
                        s.execute("create unique index concurrently " + tb + "_b_bad on " + tb + " (b)");
                    } catch (java.sql.SQLException expected) {
                        planted.put(tb + "_b_bad", "Invalid"); // duplicate key: the build leaves it INVALID
                    }
                }
                s.execute("analyze " + tb);
            }
            loadMs = (System.nanoTime() - t0) / 1_000_000;
            // the workload: index scans on the indexes in use (the partial index is left unscanned on purpose: a
            // partial index serves other rows, so it is never judged redundant, and only unused after the
            // minimum observation; here the review's observation is given as long enough)
            s.execute("set enable_seqscan = off");
            s.execute("set enable_bitmapscan = off");
            for (int t = 0; t < tables; t++) {
                String tb = "t" + t;
                s.executeQuery("select count(*) from " + tb + " where a = 5 and b = 3").close();
                s.executeQuery("select count(*) from " + tb + " where parent_id = 7").close();
                s.executeQuery("select c from " + tb + " where d > '2026-01-01 00:10' and d < '2026-01-01 00:11'")
                        .close();
            }
            s.execute("reset enable_seqscan");
            s.execute("reset enable_bitmapscan");
            // a twin of an index in use, made after the workload so the planner had only the original to scan
            for (int t = 0; t < tables; t++) {
                s.execute("create index t" + t + "_parent_twin on t" + t + " (parent_id)");
                planted.put("t" + t + "_parent_twin", "Duplicate");
            }
            s.execute("select pg_stat_force_next_flush()");
        }
        // a new session sees the flushed counters
        Thread.sleep(1500);
        try (Connection c = DriverManager.getConnection(url)) {
            int queries = 0;
            long f0 = System.nanoTime();
            List<IndexHygiene.IndexFact> facts = IndexHygiene.facts(c, List.of("public"));
            Instant since = IndexHygiene.observedSince(c);
            queries += 2;
            long factsMs = (System.nanoTime() - f0) / 1_000_000;
            long r0 = System.nanoTime();
            // the partial indexes are unscanned and would be judged unused: say they are too young here, as the
            // controller does for indexes its own requests created recently, so what is measured is the rules
            Set<String> young = new java.util.HashSet<>();
            for (int t = 0; t < tables; t++) {
                young.add("public.t" + t + "_c_partial");
            }
            IndexHygiene.Review review = IndexHygiene.review(facts, since, Instant.now(), Duration.ZERO, young);
            long rulesMs = (System.nanoTime() - r0) / 1_000_000;
            Map<String, String> found = new TreeMap<>();
            review.findings().forEach(f -> found.put(f.index().name(), f.kind().name()));

            Map<String, int[]> byKind = new TreeMap<>(); // kind -> planted, found as that kind
            planted.forEach((ix, kind) -> {
                int[] k = byKind.computeIfAbsent(kind, x -> new int[2]);
                k[0]++;
                if (kind.equals(found.get(ix))) {
                    k[1]++;
                }
            });
            List<String> falsePositives = new ArrayList<>();
            found.forEach((ix, kind) -> {
                if (!planted.containsKey(ix)) {
                    falsePositives.add(ix + " (" + kind + ")");
                }
            });
            List<String> wrongKind = new ArrayList<>();
            planted.forEach((ix, kind) -> {
                if (found.containsKey(ix) && !kind.equals(found.get(ix))) {
                    wrongKind.add(ix + ": planted " + kind + ", found " + found.get(ix));
                }
            });

            long d0 = System.nanoTime();
            int attempts = 0;
            for (IndexHygiene.Finding f : review.findings()) {
                attempts += IndexApplier.drop(c, f.index().schema(), f.index().name(), Duration.ofMillis(500), 10,
                        Duration.ofMinutes(10));
            }
            long dropMs = (System.nanoTime() - d0) / 1_000_000;
            Set<String> left = new java.util.HashSet<>();
            Map<String, Boolean> constraintBacked = new HashMap<>();
            try (ResultSet rs = c.createStatement().executeQuery("select x.relname, exists (select 1 from "
                    + "pg_constraint k where k.conindid = x.oid) from pg_class x join pg_namespace n on "
                    + "n.oid = x.relnamespace where x.relkind = 'i' and n.nspname = 'public'")) {
                while (rs.next()) {
                    left.add(rs.getString(1));
                    constraintBacked.put(rs.getString(1), rs.getBoolean(2));
                }
            }
            long plantedLeft = planted.keySet().stream().filter(left::contains).count();
            List<String> lostMustStay = mustStay.stream().filter(ix -> !left.contains(ix)).toList();

            System.out.println("# index hygiene benchmark, " + Instant.now() + ", " + Runtime.getRuntime()
                    .availableProcessors() + " cores");
            System.out.println();
            System.out.println(tables + " tables of " + rows + " rows (" + facts.size() + " indexes, "
                    + review.protectedIndexes() + " backing a constraint or the replica identity; loaded in "
                    + loadMs + " ms)");
            System.out.println();
            System.out.println("| finding | planted | found | share |");
            System.out.println("|---|---:|---:|---:|");
            byKind.forEach((k, v) -> System.out.printf("| %s | %d | %d | %.0f%% |%n", k, v[0], v[1],
                    100.0 * v[1] / v[0]));
            System.out.println();
            System.out.println("- false positives (proposed, not planted): " + falsePositives.size()
                    + (falsePositives.isEmpty() ? "" : " " + falsePositives));
            System.out.println("- planted but found as another kind: " + wrongKind.size()
                    + (wrongKind.isEmpty() ? "" : " " + wrongKind));
            System.out.println("- after executing the " + review.findings().size() + " proposed drops (" + attempts
                    + " attempt(s), " + dropMs + " ms): planted indexes left " + plantedLeft + " of "
                    + planted.size() + "; constraint-backed, replica identity, unique or in-use indexes dropped: "
                    + lostMustStay.size() + (lostMustStay.isEmpty() ? "" : " " + lostMustStay)
                    + "; constraint-backed indexes left " + constraintBacked.values().stream().filter(b -> b).count());
            System.out.println("- cost of one review: " + queries + " catalog queries, " + factsMs + " ms for the "
                    + "facts of " + facts.size() + " indexes, " + rulesMs + " ms for the rules");
        }
    }
}
