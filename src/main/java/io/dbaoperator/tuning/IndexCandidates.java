package io.dbaoperator.tuning;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import io.dbaoperator.sql.Identifiers;

/**
 * Candidate B-tree indexes from what the plan needs, by the usual rules: equality (and IS NULL) columns first, then
 * one range column (a B-tree uses only the first range column to narrow the scan; a second one may follow, checked
 * in the index before any heap visit), or the sort columns after the equality columns so the index also delivers the order; a join key alone; a join key with the joined table's own
 * equality columns before it and a range column after it, so that a nested loop's lookups each read only the rows
 * the query keeps; a partial index when a literal equality is part of the filter (the index then holds only those
 * rows); INCLUDE of the few other columns the query reads, for an index-only scan. A candidate whose columns an
 * existing valid index already starts with is skipped. Every candidate is then costed ({@link HypoCosting}); none
 * is trusted on these rules alone.
 */
public final class IndexCandidates {

    static final int MAX_INCLUDE = 3;

    private IndexCandidates() {
    }

    /**
     * One key of an index: a column, or an expression (as PostgreSQL deparses it, column names unqualified), with
     * its order, and the operator class or collation a pattern match needs ({@code text_pattern_ops},
     * {@code "C"}).
     */
    public record Key(String column, String expression, boolean desc, String opclass, String collation) {

        /** A plain column; {@code "name DESC"} gives a descending key. */
        public static Key of(String column) {
            return column.endsWith(" DESC") ? new Key(column.substring(0, column.length() - 5), null, true, null, null)
                    : new Key(column, null, false, null, null);
        }

        public static Key expression(String sql) {
            return new Key(null, sql, false, null, null);
        }

        public boolean isExpression() {
            return expression != null;
        }

        public Key descending(boolean d) {
            return new Key(column, expression, d, opclass, collation);
        }

        public Key withOpclass(String o) {
            return new Key(column, expression, desc, o, collation);
        }

        public Key withCollation(String c) {
            return new Key(column, expression, desc, opclass, c);
        }

        /** The same column or expression, whatever the order or operator class. */
        public boolean sameTarget(Key other) {
            return java.util.Objects.equals(column, other.column)
                    && java.util.Objects.equals(expression, other.expression);
        }

        /** As it goes into CREATE INDEX: quoted column or parenthesised expression, collation, class, order. */
        public String sql() {
            return (column != null ? Identifiers.quote(column) : "(" + expression + ")")
                    + (collation == null ? "" : " COLLATE " + Identifiers.quote(collation))
                    + (opclass == null ? "" : " " + opclass) + (desc ? " DESC" : "");
        }

        /** How status and rationales name it: the column or the expression, then what else it carries. */
        public String label() {
            return (column != null ? column : expression)
                    + (collation == null ? "" : " COLLATE \"" + collation + "\"")
                    + (opclass == null ? "" : " " + opclass) + (desc ? " DESC" : "");
        }

        /** A word for the index name. */
        String nameWord() {
            return column != null ? column : "expr";
        }
    }

    /** A proposed index: keys, INCLUDE columns, and a WHERE predicate for a partial index. */
    public record Candidate(String schema, String table, List<Key> keys, List<String> include, String where,
            String reason) {

        /** An index on plain columns ({@code "name DESC"} for a descending key). */
        public static Candidate ofColumns(String schema, String table, List<String> columns, List<String> include,
                String where, String reason) {
            return new Candidate(schema, table, columns.stream().map(Key::of).toList(), include, where, reason);
        }

        /** The keys as status shows them: a column's name ("name DESC"), or an expression. */
        public List<String> columns() {
            return keys.stream().map(Key::label).toList();
        }

        /** The same index, proposed for another reason. */
        public Candidate withReason(String r) {
            return new Candidate(schema, table, keys, include, where, r);
        }

        /** Deterministic: the same index on the same table always gets the same name (63 bytes at most). */
        public String name() {
            boolean plain = keys.stream().allMatch(k -> !k.isExpression() && !k.desc() && k.opclass() == null
                    && k.collation() == null) && include.isEmpty();
            String base = "dba_" + table + "_" + String.join("_", keys.stream().map(Key::nameWord).toList())
                    + (where == null ? "" : "_part") + "_idx";
            base = base.replaceAll("[^a-z0-9_]", "_");
            if (plain && base.length() <= 63) {
                return base; // the names earlier releases gave stay the same
            }
            String stem = base.length() > 54 ? base.substring(0, 54) : base.substring(0, base.length() - 4);
            return stem + "_" + hash(ddlBody()).substring(0, 8);
        }

        /** {@code ON table (keys) [INCLUDE (...)] [WHERE ...]}, identifiers quoted. */
        public String ddlBody() {
            StringBuilder b = new StringBuilder("ON ");
            b.append(schema == null ? "" : Identifiers.quote(schema) + ".").append(Identifiers.quote(table))
                    .append(" (");
            b.append(String.join(", ", keys.stream().map(Key::sql).toList()));
            b.append(")");
            if (!include.isEmpty()) {
                b.append(" INCLUDE (").append(String.join(", ", include.stream().map(Identifiers::quote).toList()))
                        .append(")");
            }
            if (where != null) {
                b.append(" WHERE ").append(where);
            }
            return b.toString();
        }

        /** What production runs, after approval. */
        public String ddl() {
            return "CREATE INDEX CONCURRENTLY " + Identifiers.quote(name()) + " " + ddlBody();
        }

        /** What HypoPG and a staging build take. */
        public String plainDdl() {
            return "CREATE INDEX " + Identifiers.quote(name()) + " " + ddlBody();
        }

        /** {@code schema.table}. */
        public String qualifiedTable() {
            return (schema == null ? "" : schema + ".") + table;
        }
    }

    /**
     * @param existing the key columns of each valid, non-partial index, per {@code schema.table}
     * @param queryLiterals the string constants written in the query itself: EXPLAIN shows bound parameters as
     *            constants too, and a partial index on a parameter's value would serve one call only
     */
    public static List<Candidate> generate(PlanAnalyzer.Analysis analysis, Map<String, List<List<String>>> existing,
            Set<String> queryLiterals) {
        Map<String, Candidate> out = new LinkedHashMap<>();
        for (var e : analysis.needs().entrySet()) {
            PlanAnalyzer.TableNeeds t = e.getValue();
            List<List<String>> indexes = existing.getOrDefault(e.getKey(), List.of());
            List<String> eq = new ArrayList<>(t.equality);
            // IS NULL is an equality to a B-tree (NULLs are stored and searched like any value)
            t.isNull.stream().filter(c -> !eq.contains(c)).forEach(eq::add);
            String range = t.range.stream().filter(c -> !t.equality.contains(c)).findFirst().orElse(null);
            List<String> filterCols = new ArrayList<>(eq);
            if (range != null) {
                filterCols.add(range);
            }
            if (!filterCols.isEmpty()) {
                add(out, t, filterCols, "filter: equality on " + eq + (range == null ? "" : ", range on " + range),
                        indexes);
                // a second range column as a trailing key: it does not narrow the scan, but the index filters on
                // it before any heap visit
                String second = t.range.stream().filter(c -> !t.equality.contains(c) && !c.equals(range)).findFirst()
                        .orElse(null);
                if (range != null && second != null) {
                    List<String> both = new ArrayList<>(filterCols);
                    both.add(second);
                    add(out, t, both, "filter: equality on " + eq + ", range on " + range + ", then " + second
                            + " checked in the index", indexes);
                }
                // partial: a literal equality (status = 'open') moves into the WHERE clause
                for (var constant : t.constants.entrySet()) {
                    if (!queryLiterals.contains(constant.getValue())) {
                        continue;
                    }
                    List<String> rest = new ArrayList<>(filterCols);
                    rest.remove(constant.getKey());
                    if (rest.isEmpty() && !t.join.isEmpty()) {
                        rest.add(t.join.iterator().next()); // the rows the join looks up, among those it keeps
                    }
                    if (!rest.isEmpty()) {
                        String where = Identifiers.quote(constant.getKey()) + " = '"
                                + constant.getValue().replace("'", "''") + "'";
                        addPartial(out, t, rest, where, "partial: only rows where " + where + ", keyed on " + rest,
                                indexes);
                    }
                }
            }
            if (!t.sort.isEmpty()) {
                List<String> cols = new ArrayList<>(eq);
                for (String s : t.sort) {
                    if (!cols.contains(s) && !cols.contains(s.replace(" DESC", ""))) {
                        cols.add(s);
                    }
                }
                add(out, t, cols, "order: " + t.sort + (eq.isEmpty() ? "" : " after equality on " + eq), indexes);
            }
            for (String j : t.join) {
                add(out, t, List.of(j), "join key " + j, indexes);
                // the join key after the table's equality columns and before one range column: a nested loop's
                // lookups then each read only the rows of the window (orders (customer_id, created_at))
                Set<String> eqs = new LinkedHashSet<>(t.equality);
                eqs.addAll(t.joinEquality);
                eqs.remove(j);
                String window = java.util.stream.Stream.concat(t.range.stream(), t.joinRange.stream())
                        .filter(c -> !c.equals(j) && !eqs.contains(c)).findFirst().orElse(null);
                if (!eqs.isEmpty() || window != null) {
                    List<String> cols = new ArrayList<>(eqs);
                    cols.add(j);
                    if (window != null) {
                        cols.add(window);
                    }
                    add(out, t, cols, "join key " + j + (eqs.isEmpty() ? "" : " after equality on " + eqs)
                            + (window == null ? "" : ", then range on " + window), indexes);
                }
            }
        }
        return new ArrayList<>(out.values());
    }

    private static void add(Map<String, Candidate> out, PlanAnalyzer.TableNeeds t, List<String> cols, String reason,
            List<List<String>> indexes) {
        addPartial(out, t, cols, null, reason, indexes);
    }

    private static void addPartial(Map<String, Candidate> out, PlanAnalyzer.TableNeeds t, List<String> cols,
            String where, String reason, List<List<String>> indexes) {
        List<String> plain = cols.stream().map(c -> c.replace(" DESC", "")).toList();
        if (where == null && indexes.stream().anyMatch(ix -> ix.size() >= plain.size()
                && ix.subList(0, plain.size()).equals(plain))) {
            return; // an existing index already starts with these columns
        }
        Set<String> include = new LinkedHashSet<>(t.output);
        include.removeAll(plain);
        List<String> inc = include.size() <= MAX_INCLUDE && where == null ? new ArrayList<>(include) : List.of();
        Candidate c = Candidate.ofColumns(t.schema, t.table, cols, inc, where, reason
                + (inc.isEmpty() ? "" : "; INCLUDE " + inc + " for an index-only scan"));
        out.putIfAbsent(c.ddlBody(), c);
    }

    static String hash(String text) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(
                    text.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
