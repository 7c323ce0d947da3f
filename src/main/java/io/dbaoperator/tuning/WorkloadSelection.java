package io.dbaoperator.tuning;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import io.dbaoperator.sql.SqlLexer;
import io.dbaoperator.sql.Token;
import io.dbaoperator.tuning.IndexCandidates.Candidate;

/**
 * Workload mode: one set of indexes for several statements together. The objective is the workload's estimated
 * cost, each statement's plan cost (HypoPG, with every index of the set present at once, so one index serving two
 * statements counts once and two indexes where one suffices gain nothing) weighted by its calls, plus each new
 * index's write overhead: every row the table's inserts and non-HOT updates write costs one random page write per
 * index ({@code random_page_cost}), from pg_stat_user_tables over the same statistics period as the calls. The set
 * is built greedily, the index with the largest net gain first, under the budget ({@code maxIndexes},
 * {@code maxIndexesPerTable}, {@code maxTotalSize}); an index is refused, with the reason, when it makes any
 * statement of the workload more expensive than without the set by more than {@code maxRegressionPercent}: a read's
 * plan cost, or a write's plan cost plus the index entries it must now write (an INSERT one per new index; an UPDATE
 * of an indexed column one per index of the table, as it stops being HOT). Finally an index whose removal would
 * not make any statement {@code minImprovementPercent} more expensive is dropped from the set.
 */
public final class WorkloadSelection {

    private WorkloadSelection() {
    }

    /** One statement of the workload: its calls and rows per call from pg_stat_statements. */
    public record Statement(int index, QueryText text, List<String> parameters, double calls, double rowsPerCall) {
    }

    /** The budget. */
    public record Budget(int maxIndexes, int maxIndexesPerTable, long maxTotalBytes, double maxRegressionPercent,
            int minImprovementPercent) {
    }

    /** A statement's cost without and with the chosen set. */
    public record StatementCost(int index, double calls, double costBefore, double costAfter) {
    }

    /** An index of the set, the statements whose cost it lowers, its estimated size and write overhead. */
    public record Chosen(Candidate candidate, long sizeBytes, double writeOverhead, List<Integer> serves) {
    }

    /** The choice. */
    public record Choice(List<Chosen> chosen, double costBefore, double costAfter, List<StatementCost> statements,
            List<String> refused, long millis, boolean budgetSpent) {

        public double improvementPercent() {
            return costBefore <= 0 ? 0 : Math.round((costBefore - costAfter) / costBefore * 1000) / 10.0;
        }
    }

    /** What a write statement changes: its table, kind and the columns an UPDATE sets. */
    record Write(String schema, String table, String kind, Set<String> sets) {
    }

    /** The table's writes per statistics period and its index count, with the cost of one index entry. */
    public interface Tables {
        /** Rows inserted plus rows updated but not HOT, since the statistics were reset. */
        double indexedWrites(String schema, String table);

        int indexCount(String schema, String table);

        /** The key and INCLUDE columns of the table's existing indexes, each index one set. */
        List<Set<String>> indexColumns(String schema, String table);

        double entryCost();
    }

    public static Choice choose(Connection c, List<Statement> statements, List<Candidate> pool, Budget budget,
            Tables tables, int timeoutMs, long budgetMs) throws SQLException {
        long t0 = System.nanoTime();
        long deadline = t0 + budgetMs * 1_000_000L;
        Map<Integer, Write> writes = new HashMap<>();
        for (Statement s : statements) {
            Write w = write(s.text().text());
            if (w != null) {
                writes.put(s.index(), w);
            }
        }
        List<Candidate> set = new ArrayList<>();
        List<Long> sizes = new ArrayList<>();
        List<String> refused = new ArrayList<>();
        Map<String, Long> hypo = new LinkedHashMap<>();
        boolean spent = false;
        try {
            double[] base = costs(c, statements, writes, set, tables, timeoutMs);
            double[] current = base;
            Set<String> tried = new LinkedHashSet<>();
            while (set.size() < budget.maxIndexes()) {
                Candidate best = null;
                double bestGain = 0;
                long bestSize = 0;
                double[] bestCosts = null;
                for (Candidate cand : pool) {
                    if (set.stream().anyMatch(x -> x.ddlBody().equals(cand.ddlBody()))) {
                        continue;
                    }
                    if (System.nanoTime() > deadline) {
                        spent = true;
                        break;
                    }
                    long perTable = set.stream().filter(x -> x.qualifiedTable().equals(cand.qualifiedTable())).count();
                    if (perTable >= budget.maxIndexesPerTable()) {
                        continue;
                    }
                    long size = create(c, cand, hypo);
                    double[] with;
                    try {
                        List<Candidate> trial = new ArrayList<>(set);
                        trial.add(cand);
                        with = costs(c, statements, writes, trial, tables, timeoutMs);
                    } catch (SQLException e) {
                        if (!"XX000".equals(e.getSQLState())) {
                            throw e;
                        }
                        note(refused, tried, cand, "EXPLAIN failed with it (HypoPG): "
                                + e.getMessage().lines().findFirst().orElse(""));
                        continue;
                    } finally {
                        drop(c, cand, hypo);
                    }
                    if (sizes.stream().mapToLong(Long::longValue).sum() + size > budget.maxTotalBytes()) {
                        note(refused, tried, cand, "over maxTotalSize with the indexes chosen before it");
                        continue;
                    }
                    String regression = regression(statements, base, with, budget.maxRegressionPercent());
                    if (regression != null) {
                        note(refused, tried, cand, regression);
                        continue;
                    }
                    double bestRelative = 0;
                    for (int i = 0; i < with.length; i++) {
                        if (current[i] > 0) {
                            bestRelative = Math.max(bestRelative, (current[i] - with[i]) / current[i] * 100);
                        }
                    }
                    if (bestRelative < budget.minImprovementPercent()) {
                        continue; // it helps no statement enough beside the indexes chosen already
                    }
                    double saved = total(statements, current) - total(statements, with);
                    double gain = saved - overhead(cand, tables);
                    if (gain <= 0 && saved > 0) {
                        note(refused, tried, cand, String.format(java.util.Locale.ROOT, "its write overhead (%.0f: "
                                + "%.0f rows written to the table since the statistics were reset) exceeds what it "
                                + "saves the workload (%.0f)", overhead(cand, tables), tables.indexedWrites(
                                        cand.schema(), cand.table()), saved));
                    }
                    if (gain > bestGain) {
                        best = cand;
                        bestGain = gain;
                        bestSize = size;
                        bestCosts = with;
                    }
                }
                if (best == null || spent) {
                    break;
                }
                set.add(best);
                sizes.add(bestSize);
                create(c, best, hypo);
                current = bestCosts;
            }
            // no two indexes where one suffices: each must still matter beside the others
            for (int i = set.size() - 1; i >= 0 && set.size() > 1; i--) {
                Candidate cand = set.get(i);
                drop(c, cand, hypo);
                List<Candidate> without = new ArrayList<>(set);
                without.remove(i);
                double[] w = costs(c, statements, writes, without, tables, timeoutMs);
                boolean matters = false;
                for (int q = 0; q < w.length; q++) {
                    if (current[q] > 0 && (w[q] - current[q]) / current[q] * 100 >= budget.minImprovementPercent()) {
                        matters = true;
                    }
                }
                if (matters) {
                    create(c, cand, hypo);
                } else {
                    set.remove(i);
                    sizes.remove(i);
                    current = w;
                }
            }
            List<Chosen> chosen = new ArrayList<>();
            for (int i = 0; i < set.size(); i++) {
                Candidate cand = set.get(i);
                drop(c, cand, hypo);
                List<Candidate> without = new ArrayList<>(set);
                without.remove(i);
                double[] w = costs(c, statements, writes, without, tables, timeoutMs);
                create(c, cand, hypo);
                List<Integer> serves = new ArrayList<>();
                for (int q = 0; q < w.length; q++) {
                    if (current[q] < w[q] - 1e-6) {
                        serves.add(statements.get(q).index());
                    }
                }
                chosen.add(new Chosen(cand, sizes.get(i), round(overhead(cand, tables)), serves));
            }
            List<StatementCost> per = new ArrayList<>();
            for (int q = 0; q < statements.size(); q++) {
                per.add(new StatementCost(statements.get(q).index(), statements.get(q).calls(), round(base[q]),
                        round(current[q])));
            }
            double overheads = set.stream().mapToDouble(x -> overhead(x, tables)).sum();
            return new Choice(chosen, round(total(statements, base)), round(total(statements, current) + overheads),
                    per, refused, (System.nanoTime() - t0) / 1_000_000, spent);
        } finally {
            HypoCosting.reset(c);
        }
    }

    private static void note(List<String> refused, Set<String> tried, Candidate cand, String why) {
        if (tried.add(cand.ddlBody())) {
            refused.add(cand.ddlBody() + ": " + why);
        }
    }

    /** The first statement made more expensive than the bound, said plainly; null when none is. */
    static String regression(List<Statement> statements, double[] base, double[] with, double bound) {
        for (int i = 0; i < with.length; i++) {
            if (base[i] > 0 && with[i] > base[i] * (1 + bound / 100)) {
                return String.format(java.util.Locale.ROOT, "makes statement %d %.0f%% more expensive (estimated "
                        + "cost %.2f -> %.2f; maxRegressionPercent %.0f)", statements.get(i).index(),
                        (with[i] - base[i]) / base[i] * 100, base[i], with[i], bound);
            }
        }
        return null;
    }

    private static double total(List<Statement> statements, double[] costs) {
        double sum = 0;
        for (int i = 0; i < costs.length; i++) {
            sum += Math.max(1, statements.get(i).calls()) * costs[i];
        }
        return sum;
    }

    /** Every row written to the table writes one more index entry. */
    static double overhead(Candidate cand, Tables tables) {
        return tables.indexedWrites(cand.schema(), cand.table()) * tables.entryCost();
    }

    /** Each statement's cost with the set present (hypothetical indexes already created by the caller). */
    private static double[] costs(Connection c, List<Statement> statements, Map<Integer, Write> writes,
            List<Candidate> set, Tables tables, int timeoutMs) throws SQLException {
        double[] out = new double[statements.size()];
        for (int i = 0; i < statements.size(); i++) {
            Statement s = statements.get(i);
            out[i] = s.text().plan(c, s.parameters(), timeoutMs).totalCost()
                    + maintenance(writes.get(s.index()), s.rowsPerCall(), set, tables);
        }
        return out;
    }

    /** The index entries a write adds per call: what its plan's cost leaves out. */
    static double maintenance(Write w, double rows, List<Candidate> set, Tables tables) {
        if (w == null || w.kind().equals("delete")) {
            return 0; // a DELETE writes no index entry; VACUUM removes them later
        }
        List<Candidate> mine = set.stream().filter(x -> x.table().equals(w.table())
                && (w.schema() == null || x.schema() == null || x.schema().equals(w.schema()))).toList();
        int existing = tables.indexCount(w.schema(), w.table());
        if (w.kind().equals("insert")) {
            return rows * tables.entryCost() * (existing + mine.size());
        }
        boolean hotBefore = tables.indexColumns(w.schema(), w.table()).stream()
                .noneMatch(ix -> ix.stream().anyMatch(w.sets()::contains));
        boolean hotAfter = hotBefore && mine.stream().noneMatch(x -> touches(x, w.sets()));
        return hotAfter ? 0 : rows * tables.entryCost() * (existing + mine.size());
    }

    /** Whether an index reads any of these columns: a key, an expression's, INCLUDE, or its predicate's. */
    static boolean touches(Candidate cand, Set<String> columns) {
        Set<String> read = new LinkedHashSet<>(cand.include());
        for (IndexCandidates.Key k : cand.keys()) {
            if (k.isExpression()) {
                read.addAll(words(k.expression()));
            } else {
                read.add(k.column());
            }
        }
        if (cand.where() != null) {
            read.addAll(words(cand.where()));
        }
        return read.stream().anyMatch(columns::contains);
    }

    private static Set<String> words(String sql) {
        Set<String> out = new LinkedHashSet<>();
        for (Token t : SqlLexer.tokenize(sql)) {
            if (t.isName()) {
                out.add(t.text());
            }
        }
        return out;
    }

    /** INSERT INTO t, UPDATE t SET a = ..., (b, c) = ..., DELETE FROM t; null for anything else. */
    static Write write(String sql) {
        List<Token> t = SqlLexer.tokenize(sql);
        if (t.isEmpty()) {
            return null;
        }
        String kind = t.get(0).kind() == Token.Kind.WORD ? t.get(0).text() : "";
        int i;
        switch (kind) {
            case "insert", "delete" -> i = 2; // INSERT INTO t, DELETE FROM t
            case "update" -> i = t.size() > 1 && t.get(1).is("only") ? 2 : 1;
            default -> {
                return null;
            }
        }
        if (i >= t.size() || !t.get(i).isName()) {
            return null;
        }
        String schema = null;
        String table = t.get(i).text();
        if (i + 2 < t.size() && t.get(i + 1).isSymbol(".") && t.get(i + 2).isName()) {
            schema = table;
            table = t.get(i + 2).text();
        }
        Set<String> sets = new LinkedHashSet<>();
        if (kind.equals("update")) {
            int j = i;
            while (j < t.size() && !t.get(j).is("set")) {
                j++;
            }
            int depth = 0;
            boolean expectTarget = true;
            for (j++; j < t.size(); j++) {
                Token x = t.get(j);
                if (depth == 0 && (x.is("where") || x.is("from") || x.is("returning"))) {
                    break;
                }
                if (x.isSymbol("(")) {
                    depth++;
                } else if (x.isSymbol(")")) {
                    depth--;
                } else if (x.isSymbol(",") && depth == 0) {
                    expectTarget = true;
                } else if (x.isSymbol("=") && depth == 0) {
                    expectTarget = false;
                } else if (expectTarget && x.isName()) {
                    sets.add(x.text());
                }
            }
        }
        return new Write(schema, table, kind, sets);
    }

    private static long create(Connection c, Candidate cand, Map<String, Long> hypo) throws SQLException {
        HypoCosting.Hypothetical h = HypoCosting.create(c, cand);
        hypo.put(cand.ddlBody(), h.oid());
        return h.sizeBytes();
    }

    private static void drop(Connection c, Candidate cand, Map<String, Long> hypo) throws SQLException {
        Long oid = hypo.remove(cand.ddlBody());
        if (oid != null) {
            HypoCosting.drop(c, oid);
        }
    }

    private static double round(double v) {
        return Math.round(v * 100) / 100.0;
    }

    /** {@link Tables} from the catalog and pg_stat_user_tables. */
    public static final class CatalogTables implements Tables {
        private final Connection c;
        private final Map<String, Object[]> cache = new HashMap<>();
        private Double entry;

        public CatalogTables(Connection c) {
            this.c = c;
        }

        private Object[] table(String schema, String table) {
            return cache.computeIfAbsent(schema + "." + table, k -> {
                try (PreparedStatement ps = c.prepareStatement("select coalesce(s.n_tup_ins + s.n_tup_upd "
                        + "- s.n_tup_hot_upd, 0), (select count(*) from pg_index i where i.indrelid = t.oid), "
                        + "array(select array_to_string(array(select a.attname from pg_attribute a where "
                        + "a.attrelid = t.oid and a.attnum = any (i.indkey::int2[])), ',') from pg_index i "
                        + "where i.indrelid = t.oid) from pg_class t join pg_namespace n on n.oid = t.relnamespace "
                        + "left join pg_stat_user_tables s on s.relid = t.oid where n.nspname = ? and t.relname = ?")) {
                    ps.setString(1, schema == null ? "public" : schema);
                    ps.setString(2, table);
                    try (ResultSet rs = ps.executeQuery()) {
                        if (!rs.next()) {
                            return new Object[] { 0.0, 0, List.of() };
                        }
                        List<Set<String>> ix = new ArrayList<>();
                        for (String cols : (String[]) rs.getArray(3).getArray()) {
                            ix.add(new LinkedHashSet<>(List.of(cols.split(","))));
                        }
                        return new Object[] { rs.getDouble(1), rs.getInt(2), ix };
                    }
                } catch (SQLException e) {
                    return new Object[] { 0.0, 0, List.of() };
                }
            });
        }

        @Override
        public double indexedWrites(String schema, String table) {
            return (double) table(schema, table)[0];
        }

        @Override
        public int indexCount(String schema, String table) {
            return (int) table(schema, table)[1];
        }

        @Override
        @SuppressWarnings("unchecked")
        public List<Set<String>> indexColumns(String schema, String table) {
            return (List<Set<String>>) table(schema, table)[2];
        }

        @Override
        public double entryCost() {
            if (entry == null) {
                try (ResultSet rs = c.createStatement().executeQuery("select current_setting('random_page_cost')"
                        + "::float8")) {
                    rs.next();
                    entry = rs.getDouble(1);
                } catch (SQLException e) {
                    entry = 4.0;
                }
            }
            return entry;
        }
    }
}
