package io.dbaoperator.tuning;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import io.dbaoperator.sql.Identifiers;
import io.dbaoperator.sql.SqlLexer;
import io.dbaoperator.sql.Token;
import io.dbaoperator.tuning.IndexCandidates.Candidate;
import io.dbaoperator.tuning.IndexCandidates.Key;
import io.dbaoperator.tuning.QueryShape.Atom;
import io.dbaoperator.tuning.QueryShape.Role;
import io.dbaoperator.tuning.QueryShape.TableShape;

/**
 * The general candidate generator and its search. From a query's {@link QueryShape} it builds every B-tree a DBA
 * would consider, rather than matching shapes one rule at a time: ordered key lists of up to {@value #MAX_KEYS}
 * keys (equality keys first, in every order, then at most one suffix: a range, a prefix pattern match with the
 * operator class or collation it needs, the sort in its directions, the GROUP BY, a min()/max() argument, a join
 * key or a row comparison's members), each also covering (INCLUDE of the other columns the query reads from the
 * table, for an index-only scan) and partial (WHERE a constant filter the column's statistics say is rare). The
 * rules of {@link IndexCandidates} come first: they order the search, they no longer bound it. Every candidate is
 * then costed with HypoPG, in that order, until the time budget is spent; the planner's own verdict decides, and
 * the best is the cheapest plan after a penalty for the index's size (weighted up on a write-heavy table).
 */
public final class CandidateSearch {

    static final int MAX_KEYS = 3;
    static final int MAX_INCLUDE = 4;
    /** A constant filter matching at most this share of a table's rows makes a partial index worth costing. */
    static final double RARE = 0.10;
    /** ... on a column with at most this many distinct values: a status, a kind, a flag; never an id. */
    static final int FEW_VALUES = 20;
    /**
     * An index the size of its table must leave a plan this much cheaper than one of no size to rank above it
     * (twice as much on a table that is only written); between indexes as fast, the smaller wins.
     */
    static final double SIZE_WEIGHT = 0.25;
    static final int MAX_CANDIDATES = 3000;

    private CandidateSearch() {
    }

    /** Column statistics the generator asks about, and table figures the penalty needs. */
    public interface Stats {
        /** The share of {@code table}'s rows where {@code column} equals {@code literal} ("t"/"f" for booleans). */
        Double frequency(String schema, String table, String column, String literal);

        /** How many distinct values the column has, or null when there are no statistics. */
        Double distinct(String schema, String table, String column);

        Double nullFraction(String schema, String table, String column);

        /** The table's size in bytes. */
        long tableBytes(String schema, String table);

        /** Rows written / (rows written + scans) since the statistics were reset, in [0, 1]. */
        double writeShare(String schema, String table);
    }

    /** What one search found: every candidate costed, in search order, and what it cost to find them. */
    public record Result(List<HypoCosting.Costed> costed, int generated, long millis, boolean budgetSpent,
            List<String> refused) {

        /** "costed 412 of 412 candidates in 1830 ms (budget 5000 ms)". */
        public String summary(long budgetMs) {
            return "costed " + costed.size() + " of " + generated + " candidate(s) in " + millis + " ms (budget "
                    + budgetMs + " ms" + (budgetSpent ? ", spent: the rest were not costed" : "") + ")"
                    + (refused.isEmpty() ? "" : "; " + refused.size() + " refused by PostgreSQL, e.g. "
                            + refused.get(0));
        }
    }

    /**
     * Every candidate for the query, the rules' first, without duplicates, and none an existing valid index already
     * is (same plain key columns at its start, no INCLUDE, no predicate).
     */
    public static List<Candidate> generate(Map<String, TableShape> shapes, Stats stats, Set<String> literals,
            Map<String, List<List<String>>> existing, List<Candidate> rules) {
        Map<String, Candidate> out = new LinkedHashMap<>();
        for (Candidate c : rules) {
            out.putIfAbsent(c.ddlBody(), c);
        }
        for (TableShape t : shapes.values()) {
            List<List<String>> have = existing.getOrDefault(t.qualified(), List.of());
            for (Candidate c : forTable(t, stats, literals)) {
                if (out.size() >= MAX_CANDIDATES) {
                    break;
                }
                if (c.include().isEmpty() && c.where() == null && c.keys().stream().allMatch(k -> !k.isExpression()
                        && !k.desc() && k.opclass() == null && k.collation() == null)) {
                    List<String> cols = c.columns();
                    if (have.stream().anyMatch(ix -> ix.size() >= cols.size() && ix.subList(0, cols.size())
                            .equals(cols))) {
                        continue;
                    }
                }
                out.putIfAbsent(c.ddlBody(), c);
            }
        }
        return new ArrayList<>(out.values());
    }

    /** One table's candidates, the fullest key lists first. */
    static List<Candidate> forTable(TableShape t, Stats stats, Set<String> literals) {
        List<Atom> eq = t.role(Role.EQUALITY);
        if (eq.size() > 5) {
            eq = eq.subList(0, 5);
        }
        List<List<Key>> prefixes = new ArrayList<>();
        for (int size = Math.min(MAX_KEYS, eq.size()); size >= 0; size--) {
            arrangements(eq.stream().map(Atom::key).toList(), size, new ArrayList<>(), prefixes);
        }
        List<Suffix> suffixes = new ArrayList<>();
        suffixes.add(new Suffix(List.of(), null));
        t.role(Role.RANGE).forEach(a -> suffixes.add(new Suffix(List.of(a.key()), "range on " + a.key().label())));
        List<Atom> ranges = t.role(Role.RANGE);
        for (int i = 0; i + 1 < ranges.size() && i < 2; i++) {
            suffixes.add(new Suffix(List.of(ranges.get(i).key(), ranges.get(i + 1).key()), "range on "
                    + ranges.get(i).key().label() + ", then " + ranges.get(i + 1).key().label()
                    + " checked in the index"));
        }
        for (Atom a : t.role(Role.PREFIX)) {
            String why = "prefix match on " + a.key().label();
            suffixes.add(new Suffix(List.of(a.key()), why));
            suffixes.add(new Suffix(List.of(a.key().withCollation("C")), why + " (COLLATE \"C\": a pattern match "
                    + "uses a B-tree only under the C collation)"));
            suffixes.add(new Suffix(List.of(a.key().withOpclass("text_pattern_ops")), why + " (text_pattern_ops: "
                    + "the column's collation is not C)"));
        }
        if (!t.sort.isEmpty()) {
            suffixes.add(new Suffix(normalised(t.sort), "order: " + labels(t.sort)));
        }
        if (!t.row.isEmpty()) {
            suffixes.add(new Suffix(t.row, "keyset: row comparison on " + labels(t.row)));
        }
        if (!t.group.isEmpty()) {
            suffixes.add(new Suffix(t.group, "group by " + labels(t.group)));
        }
        t.minMax.forEach(k -> suffixes.add(new Suffix(List.of(k), "min/max of " + k.label() + " read from one "
                + "end of the index")));
        t.join.forEach(k -> suffixes.add(new Suffix(List.of(k), "join key " + k.label())));

        List<Candidate> plain = new ArrayList<>();
        Set<String> seen = new LinkedHashSet<>();
        for (List<Key> prefix : prefixes) {
            for (Suffix s : suffixes) {
                List<Key> keys = new ArrayList<>(prefix);
                for (Key k : s.keys()) {
                    if (keys.stream().noneMatch(x -> x.sameTarget(k))) {
                        keys.add(k);
                    }
                }
                if (keys.isEmpty() || keys.size() > MAX_KEYS) {
                    continue;
                }
                String why = (prefix.isEmpty() ? "" : "equality on " + labels(prefix))
                        + (s.why() == null ? "" : (prefix.isEmpty() ? "" : ", then ") + s.why());
                Candidate c = new Candidate(t.schema, t.table, keys, List.of(), null, "search: " + why);
                if (seen.add(c.ddlBody())) {
                    plain.add(c);
                }
            }
        }
        // a join key first, then the table's own equality or range: a nested loop's lookups read only what it keeps
        for (Key j : t.join) {
            for (Atom a : t.restrictions) {
                if (a.role() != Role.PREFIX && !a.key().sameTarget(j)) {
                    Candidate c = new Candidate(t.schema, t.table, List.of(j, a.key()), List.of(), null,
                            "search: join key " + j.label() + ", then " + a.key().label());
                    if (seen.add(c.ddlBody())) {
                        plain.add(c);
                    }
                }
            }
        }
        List<Atom> rare = rare(t, stats, literals);
        List<Candidate> out = new ArrayList<>();
        for (Candidate c : plain) {
            out.add(c);
            List<String> include = include(t, c.keys());
            if (!include.isEmpty()) {
                out.add(new Candidate(c.schema(), c.table(), c.keys(), include, null, c.reason() + "; INCLUDE "
                        + include + " for an index-only scan"));
            }
            for (Atom a : rare) {
                List<Key> keys = c.keys().stream().filter(k -> !k.sameTarget(a.key())).toList();
                if (keys.isEmpty()) {
                    continue;
                }
                String why = c.reason() + "; partial: only rows where " + a.predicate();
                out.add(new Candidate(c.schema(), c.table(), keys, List.of(), a.predicate(), why));
                List<String> inc = include(t, keys).stream().filter(col -> !col.equals(a.key().column())).toList();
                if (!inc.isEmpty()) {
                    out.add(new Candidate(c.schema(), c.table(), keys, inc, a.predicate(), why + "; INCLUDE " + inc));
                }
            }
        }
        // a small partial index keyed on its own filter column, or on a column the query reads: the planner may
        // read it whole (its predicate implied by the query) rather than search it
        for (Atom a : rare) {
            out.add(new Candidate(t.schema, t.table, List.of(a.key()), List.of(), a.predicate(), "search: partial: "
                    + "only rows where " + a.predicate()));
            t.columns.stream().filter(col -> !col.equals(a.key().column())).limit(MAX_INCLUDE).forEach(col -> out.add(
                    new Candidate(t.schema, t.table, List.of(Key.of(col)), List.of(), a.predicate(), "search: "
                            + "partial: only rows where " + a.predicate() + ", keyed on " + col)));
        }
        // the fullest (and so most selective) indexes first, so a spent budget leaves out the least promising
        List<Candidate> sorted = new ArrayList<>(out);
        sorted.sort(Comparator.comparingInt((Candidate c) -> -c.keys().size()));
        java.util.Map<String, Candidate> dedup = new LinkedHashMap<>();
        sorted.forEach(c -> dedup.putIfAbsent(c.ddlBody(), c));
        return new ArrayList<>(dedup.values());
    }

    private record Suffix(List<Key> keys, String why) {
    }

    /** A sort's keys with the first ascending: an index scanned backwards delivers the reverse of its order. */
    static List<Key> normalised(List<Key> sort) {
        if (sort.isEmpty() || !sort.get(0).desc()) {
            return sort;
        }
        return sort.stream().map(k -> k.descending(!k.desc())).toList();
    }

    private static void arrangements(List<Key> from, int size, List<Key> current, List<List<Key>> out) {
        if (current.size() == size) {
            out.add(List.copyOf(current));
            return;
        }
        for (Key k : from) {
            if (current.stream().noneMatch(x -> x.sameTarget(k))) {
                current.add(k);
                arrangements(from, size, current, out);
                current.remove(current.size() - 1);
            }
        }
    }

    /** The columns the query reads from the table that the keys do not hold, when few enough to include. */
    static List<String> include(TableShape t, List<Key> keys) {
        Set<String> inKeys = new LinkedHashSet<>();
        for (Key k : keys) {
            if (!k.isExpression()) {
                inKeys.add(k.column());
            }
        }
        List<String> rest = t.columns.stream().filter(c -> !inKeys.contains(c)).toList();
        return rest.size() <= MAX_INCLUDE ? rest : List.of();
    }

    /** The constant filters the statistics call rare: the predicates a partial index may carry. */
    static List<Atom> rare(TableShape t, Stats stats, Set<String> literals) {
        List<Atom> out = new ArrayList<>();
        for (Atom a : t.role(Role.EQUALITY)) {
            if (a.predicate() == null || a.key().isExpression()) {
                continue;
            }
            Double share;
            if (a.literal() == null) { // IS NULL
                share = stats.nullFraction(t.schema, t.table, a.key().column());
            } else if (t.flags.contains(a)) {
                share = stats.frequency(t.schema, t.table, a.key().column(), a.literal().substring(0, 1));
            } else {
                if (!literals.contains(a.literal())) {
                    continue; // a bound parameter's value: a partial index on it would serve one call only
                }
                share = stats.frequency(t.schema, t.table, a.key().column(), a.literal());
            }
            Double distinct = a.literal() == null ? null : stats.distinct(t.schema, t.table, a.key().column());
            if (share != null && share <= RARE && (a.literal() == null || distinct != null && distinct <= FEW_VALUES)) {
                out.add(a);
            }
        }
        return out;
    }

    private static String labels(List<Key> keys) {
        return String.join(", ", keys.stream().map(Key::label).toList());
    }

    /** The string and number constants written in a statement (not its parameters' values). */
    public static Set<String> literals(String sql) {
        Set<String> out = new java.util.HashSet<>();
        for (Token t : SqlLexer.tokenize(sql)) {
            if (t.kind() == Token.Kind.STRING || t.kind() == Token.Kind.NUMBER) {
                out.add(t.text());
            }
        }
        return out;
    }

    /**
     * Each candidate made a HypoPG index and the query planned again, in order, until {@code budgetMs} is spent;
     * a candidate PostgreSQL refuses (an expression that is not immutable, an operator class that does not fit the
     * type) is left out with its reason.
     */
    public static Result cost(Connection c, QueryText query, List<String> parameters, List<Candidate> candidates,
            long budgetMs, int timeoutMs) throws SQLException {
        long t0 = System.nanoTime();
        long deadline = t0 + budgetMs * 1_000_000L;
        double before = query.plan(c, parameters, timeoutMs).totalCost();
        List<HypoCosting.Costed> out = new ArrayList<>();
        List<String> refused = new ArrayList<>();
        boolean spent = false;
        try {
            for (Candidate cand : candidates) {
                if (System.nanoTime() > deadline) {
                    spent = true;
                    break;
                }
                HypoCosting.Costed one = HypoCosting.costOne(c, query, parameters, cand, before, timeoutMs, refused);
                if (one != null) {
                    out.add(one);
                }
            }
        } finally {
            HypoCosting.reset(c);
        }
        return new Result(out, candidates.size(), (System.nanoTime() - t0) / 1_000_000, spent, refused);
    }

    /** The penalised cost: the plan's cost after, raised by the index's size as a share of its table's. */
    public static double score(HypoCosting.Costed c, Stats stats) {
        Candidate cand = c.candidate();
        long table = Math.max(1, stats.tableBytes(cand.schema(), cand.table()));
        double size = Math.min(1.0, (double) c.sizeBytes() / table);
        return c.costAfter() * (1 + SIZE_WEIGHT * size * (1 + stats.writeShare(cand.schema(), cand.table())));
    }

    /**
     * The used candidates that cut the cost by {@code minImprovement}%, best score first, at most {@code n}. Scores
     * within the same 5% step count as equal: the planner's estimate is no finer than that (the same index with its
     * equality keys in another order differs by a few percent through the leading column's correlation alone), and
     * then the search order decides: the rules' candidates first, then the fullest, equality keys in the order the
     * plan shows them.
     */
    public static List<HypoCosting.Costed> best(List<HypoCosting.Costed> costed, Stats stats, int minImprovement,
            int n) {
        List<HypoCosting.Costed> kept = costed.stream().filter(x -> x.used() && x.improvementPercent()
                >= minImprovement).toList();
        return kept.stream().sorted(Comparator.comparingLong((HypoCosting.Costed x) -> step(score(x, stats)))
                .thenComparingInt(kept::indexOf)).limit(n).toList();
    }

    /** The 5% step a score falls in. */
    static long step(double score) {
        return (long) Math.floor(Math.log1p(Math.max(0, score)) / Math.log(1.05));
    }

    /** {@link Stats} from the catalog: pg_stats, pg_class and pg_stat_user_tables, each read once per column. */
    public static final class CatalogStats implements Stats {
        private final Connection c;
        private final Map<String, Object[]> columns = new HashMap<>();
        private final Map<String, double[]> tables = new HashMap<>();

        public CatalogStats(Connection c) {
            this.c = c;
        }

        private Object[] column(String schema, String table, String column) {
            return columns.computeIfAbsent(schema + "." + table + "." + column, k -> {
                try (PreparedStatement ps = c.prepareStatement("select s.null_frac, s.n_distinct, "
                        + "s.most_common_vals::text::text[], s.most_common_freqs, c.reltuples from pg_stats s "
                        + "join pg_namespace n on n.nspname = s.schemaname join pg_class c on c.relname = "
                        + "s.tablename and c.relnamespace = n.oid where s.schemaname = ? and s.tablename = ? "
                        + "and s.attname = ?")) {
                    ps.setString(1, schema == null ? "public" : schema);
                    ps.setString(2, table);
                    ps.setString(3, column);
                    try (ResultSet rs = ps.executeQuery()) {
                        if (!rs.next()) {
                            return new Object[0];
                        }
                        String[] mcv = rs.getArray(3) == null ? new String[0] : (String[]) rs.getArray(3).getArray();
                        Float[] mcf = rs.getArray(4) == null ? new Float[0] : (Float[]) rs.getArray(4).getArray();
                        return new Object[] { rs.getDouble(1), rs.getDouble(2), mcv, mcf, rs.getDouble(5) };
                    }
                } catch (SQLException e) {
                    return new Object[0];
                }
            });
        }

        @Override
        public Double frequency(String schema, String table, String column, String literal) {
            Object[] s = column(schema, table, column);
            if (s.length == 0) {
                return null;
            }
            String[] mcv = (String[]) s[2];
            Float[] mcf = (Float[]) s[3];
            double sum = 0;
            for (int i = 0; i < mcv.length; i++) {
                if (mcv[i].equals(literal)) {
                    return (double) mcf[i];
                }
                sum += mcf[i];
            }
            double distinct = (double) s[1] < 0 ? -(double) s[1] * (double) s[4] : (double) s[1];
            double rest = distinct - mcv.length;
            return rest <= 0 ? 0.0 : Math.max(0, 1 - (double) s[0] - sum) / rest;
        }

        @Override
        public Double distinct(String schema, String table, String column) {
            Object[] s = column(schema, table, column);
            return s.length == 0 ? null : (double) s[1] < 0 ? -(double) s[1] * (double) s[4] : (double) s[1];
        }

        @Override
        public Double nullFraction(String schema, String table, String column) {
            Object[] s = column(schema, table, column);
            return s.length == 0 ? null : (Double) s[0];
        }

        private double[] table(String schema, String table) {
            return tables.computeIfAbsent(schema + "." + table, k -> {
                try (PreparedStatement ps = c.prepareStatement("select pg_table_size(c.oid), coalesce(s.n_tup_ins "
                        + "+ s.n_tup_upd + s.n_tup_del, 0), coalesce(s.seq_scan, 0) + coalesce(s.idx_scan, 0) "
                        + "from pg_class c join pg_namespace n on n.oid = c.relnamespace left join "
                        + "pg_stat_user_tables s on s.relid = c.oid where n.nspname = ? and c.relname = ?")) {
                    ps.setString(1, schema == null ? "public" : schema);
                    ps.setString(2, table);
                    try (ResultSet rs = ps.executeQuery()) {
                        return rs.next() ? new double[] { rs.getDouble(1), rs.getDouble(2), rs.getDouble(3) }
                                : new double[] { 1, 0, 0 };
                    }
                } catch (SQLException e) {
                    return new double[] { 1, 0, 0 };
                }
            });
        }

        @Override
        public long tableBytes(String schema, String table) {
            return (long) table(schema, table)[0];
        }

        @Override
        public double writeShare(String schema, String table) {
            double[] t = table(schema, table);
            return t[1] + t[2] <= 0 ? 0 : t[1] / (t[1] + t[2]);
        }
    }

    static String quoted(String schema, String table) {
        return (schema == null ? "" : Identifiers.quote(schema) + ".") + Identifiers.quote(table);
    }
}
