package io.dbaoperator.tuning;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import io.dbaoperator.tuning.ExplainPlan.Node;
import io.dbaoperator.tuning.Predicates.Comparison;

/**
 * Walks a plan for what an index could fix, the way a DBA reads EXPLAIN: sequential scans whose filter throws away
 * most rows, sorts over a single table, the inner side of a nested loop scanned whole for every outer row, and
 * join keys read by sequential scans. It records, per table, the columns compared for equality, by range, sorted
 * on, and joined on, and the columns the query reads from it (for INCLUDE).
 */
public final class PlanAnalyzer {

    /** A scan returning at most this share of the rows it reads is selective enough for an index. */
    static final double SELECTIVE = 0.2;

    private PlanAnalyzer() {
    }

    /** Something in the plan an index could help with. */
    public record Finding(String kind, String table, String detail) {
    }

    /** What one table's access needs, in the order the plan showed it. */
    public static final class TableNeeds {
        public final String schema;
        public final String table;
        public final Set<String> equality = new LinkedHashSet<>();
        public final Set<String> range = new LinkedHashSet<>();
        public final List<String> sort = new ArrayList<>();
        public final Set<String> join = new LinkedHashSet<>();
        /** The equality and range columns of a joined Seq Scan's own filter, however selective it is. */
        public final Set<String> joinEquality = new LinkedHashSet<>();
        public final Set<String> joinRange = new LinkedHashSet<>();
        public final Set<String> isNull = new LinkedHashSet<>();
        /** Literal equality constants per column (for partial indexes); parameters are not constants. */
        public final Map<String, String> constants = new LinkedHashMap<>();
        public final Set<String> output = new LinkedHashSet<>();

        TableNeeds(String schema, String table) {
            this.schema = schema;
            this.table = table;
        }

        public String qualified() {
            return (schema == null ? "" : schema + ".") + table;
        }
    }

    /** The findings and the needs per table ({@code schema.table}). */
    public record Analysis(List<Finding> findings, Map<String, TableNeeds> needs) {
    }

    /**
     * @param tableRows pg_class.reltuples per {@code schema.table}, to judge a filter's selectivity when the plan
     *            was not executed
     */
    public static Analysis analyze(ExplainPlan plan, Map<String, Double> tableRows) {
        Map<String, Node> byAlias = new HashMap<>();
        for (Node n : plan.nodes()) {
            if (n.relation() != null) {
                byAlias.put(n.alias() != null ? n.alias() : n.relation(), n);
            }
        }
        List<Finding> findings = new ArrayList<>();
        Map<String, TableNeeds> needs = new LinkedHashMap<>();
        for (Node n : plan.nodes()) {
            if (n.nodeType().equals("Seq Scan") && n.filter() != null) {
                double returned = n.rows();
                Double removed = n.rowsRemovedByFilter() == null ? null
                        : n.rowsRemovedByFilter() * Math.max(1, n.loops());
                double read = removed != null ? returned + removed
                        : tableRows.getOrDefault(key(n), 0.0);
                if (read > 0 && returned / read <= SELECTIVE) {
                    TableNeeds t = needs(needs, n);
                    for (Comparison c : own(Predicates.parse(n.filter()), n)) {
                        if (c.join()) {
                            t.join.add(c.column());
                        } else if (c.equality()) {
                            t.equality.add(c.column());
                            if (c.constant() != null && !c.constant().startsWith("$") && !c.operator().equals("IN")) {
                                t.constants.put(c.column(), c.constant());
                            }
                        } else if (c.range() || c.operator().equals("LIKE")) {
                            t.range.add(c.column());
                        } else if (c.operator().equals("IS NULL")) {
                            t.isNull.add(c.column());
                        }
                    }
                    output(t, n);
                    findings.add(new Finding("SeqScanFilter", t.qualified(), String.format(
                            "Seq Scan on %s keeps %.0f of %.0f rows with filter %s", t.qualified(), returned, read,
                            n.filter())));
                }
            }
            if (n.nodeType().equals("Sort") && !n.sortKey().isEmpty()) {
                Node scan = singleScan(n);
                if (scan != null) {
                    TableNeeds t = needs(needs, scan);
                    for (String k : n.sortKey()) {
                        String[] parts = k.trim().split("\\s+");
                        String col = parts[0];
                        String alias = scan.alias() != null ? scan.alias() : scan.relation();
                        if (col.contains(".")) {
                            if (!col.substring(0, col.lastIndexOf('.')).equals(alias)) {
                                continue;
                            }
                            col = col.substring(col.lastIndexOf('.') + 1);
                        }
                        if (col.matches("[a-z_][a-z0-9_$]*")) {
                            t.sort.add(parts.length > 1 && parts[1].equalsIgnoreCase("DESC") ? col + " DESC" : col);
                        }
                    }
                    output(t, scan);
                    if (!t.sort.isEmpty()) {
                        findings.add(new Finding("Sort", t.qualified(), "Sort on " + n.sortKey() + " over "
                                + scan.nodeType() + " on " + t.qualified()));
                    }
                }
            }
            if (n.nodeType().equals("Nested Loop")) {
                for (Node inner : n.children()) {
                    Node scan = inner.nodeType().equals("Materialize") && inner.children().size() == 1
                            ? inner.children().get(0) : inner;
                    if (!"Inner".equals(inner.parentRelationship()) || !scan.nodeType().equals("Seq Scan")) {
                        continue;
                    }
                    TableNeeds t = needs(needs, scan);
                    String alias = scan.alias() != null ? scan.alias() : scan.relation();
                    for (String cond : new String[] { n.joinFilter(), scan.filter() }) {
                        for (Comparison c : Predicates.parse(cond)) {
                            if (c.join() && c.equality()) {
                                t.join.add(alias.equals(c.qualifier()) ? c.column() : c.otherColumn());
                            }
                        }
                    }
                    findings.add(new Finding("NestedLoopInner", t.qualified(), String.format(
                            "the inner side of a Nested Loop scans %s whole %.0f time(s)", t.qualified(),
                            Math.max(scan.loops(), 1))));
                }
            }
            String joinCond = n.hashCond() != null ? n.hashCond() : n.mergeCond();
            if (joinCond != null) {
                for (Comparison c : Predicates.parse(joinCond)) {
                    if (!c.join() || !c.equality()) {
                        continue;
                    }
                    for (String[] side : new String[][] { { c.qualifier(), c.column() },
                            { c.otherQualifier(), c.otherColumn() } }) {
                        Node scan = side[0] == null ? null : byAlias.get(side[0]);
                        if (scan != null && scan.nodeType().equals("Seq Scan")) {
                            TableNeeds t = needs(needs, scan);
                            t.join.add(side[1]);
                            // the scan's own filter, selective or not: with the join key first, it narrows each
                            // lookup of a nested loop the planner may then prefer (customer_id, created_at)
                            for (Comparison f : own(Predicates.parse(scan.filter()), scan)) {
                                if (!f.join() && f.equality()) {
                                    t.joinEquality.add(f.column());
                                } else if (!f.join() && f.range()) {
                                    t.joinRange.add(f.column());
                                }
                            }
                            findings.add(new Finding("JoinKey", key(scan), n.nodeType() + " on " + joinCond
                                    + " reads " + key(scan) + " by a Seq Scan"));
                        }
                    }
                }
            }
        }
        return new Analysis(findings, needs);
    }

    private static String key(Node n) {
        return (n.schema() == null ? "" : n.schema() + ".") + n.relation();
    }

    private static TableNeeds needs(Map<String, TableNeeds> needs, Node scan) {
        return needs.computeIfAbsent(key(scan), k -> new TableNeeds(scan.schema(), scan.relation()));
    }

    /** The comparisons about this scan's own columns: unqualified, or qualified by its alias. */
    private static List<Comparison> own(List<Comparison> all, Node scan) {
        String alias = scan.alias() != null ? scan.alias() : scan.relation();
        return all.stream().filter(c -> c.qualifier() == null || c.qualifier().equals(alias)
                || c.qualifier().equals(scan.relation())).toList();
    }

    private static void output(TableNeeds t, Node scan) {
        String alias = scan.alias() != null ? scan.alias() : scan.relation();
        for (String o : scan.output()) {
            String col = o.trim();
            if (col.startsWith(alias + ".")) {
                col = col.substring(alias.length() + 1);
            }
            if (col.matches("[a-z_][a-z0-9_$]*")) {
                t.output.add(col);
            }
        }
    }

    /** The one scan under a node, through nodes with a single child (a Sort over a Seq Scan, a Limit...). */
    private static Node singleScan(Node n) {
        Node cur = n;
        while (cur.children().size() == 1) {
            cur = cur.children().get(0);
        }
        return cur.relation() != null && cur.children().isEmpty() ? cur : null;
    }
}
