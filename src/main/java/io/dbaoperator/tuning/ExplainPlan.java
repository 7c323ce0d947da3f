package io.dbaoperator.tuning;

import java.util.ArrayList;
import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * A plan as {@code EXPLAIN (FORMAT JSON)} reports it, with the fields the analyzer reads. Actual figures are null
 * when the plan was not executed (plain EXPLAIN). {@code queryId} is the statement's pg_stat_statements queryid as
 * EXPLAIN VERBOSE reports it (when compute_query_id is on, or auto with pg_stat_statements loaded), else null.
 */
public record ExplainPlan(Node root, Double planningMs, Double executionMs, String queryId) {

    private static final ObjectMapper JSON = new ObjectMapper();

    /** One plan node. */
    public record Node(String nodeType, String relation, String schema, String alias, String indexName,
            String filter, String indexCond, String joinFilter, String hashCond, String mergeCond,
            String recheckCond, List<String> sortKey, List<String> groupKey, double planRows, Double actualRows, Double rowsRemovedByFilter, double loops,
            double totalCost, Double actualTotalMs, String parentRelationship, List<String> output,
            List<Node> children) {

        /** Rows the node produced over all its loops (actual when known, else estimated). */
        public double rows() {
            return actualRows != null ? actualRows * Math.max(1, loops) : planRows;
        }
    }

    public static ExplainPlan parse(String json) {
        try {
            JsonNode top = JSON.readTree(json);
            JsonNode first = top.isArray() ? top.get(0) : top;
            return new ExplainPlan(node(first.path("Plan"), null), number(first, "Planning Time"),
                    number(first, "Execution Time"), text(first, "Query Identifier"));
        } catch (java.io.IOException e) {
            throw new IllegalArgumentException("not an EXPLAIN (FORMAT JSON) document: " + e.getMessage(), e);
        }
    }

    private static Node node(JsonNode n, String parentRelationship) {
        List<Node> children = new ArrayList<>();
        for (JsonNode c : n.path("Plans")) {
            children.add(node(c, c.path("Parent Relationship").asText(null)));
        }
        List<String> sortKey = new ArrayList<>();
        n.path("Sort Key").forEach(k -> sortKey.add(k.asText()));
        List<String> groupKey = new ArrayList<>();
        n.path("Group Key").forEach(k -> groupKey.add(k.asText()));
        List<String> output = new ArrayList<>();
        n.path("Output").forEach(k -> output.add(k.asText()));
        return new Node(n.path("Node Type").asText(), text(n, "Relation Name"), text(n, "Schema"), text(n, "Alias"),
                text(n, "Index Name"), text(n, "Filter"), text(n, "Index Cond"), text(n, "Join Filter"),
                text(n, "Hash Cond"), text(n, "Merge Cond"), text(n, "Recheck Cond"), sortKey, groupKey, n.path("Plan Rows").asDouble(),
                number(n, "Actual Rows"), number(n, "Rows Removed by Filter"),
                n.has("Actual Loops") ? n.path("Actual Loops").asDouble() : 1, n.path("Total Cost").asDouble(),
                number(n, "Actual Total Time"), parentRelationship, output, children);
    }

    private static String text(JsonNode n, String field) {
        return n.hasNonNull(field) ? n.get(field).asText() : null;
    }

    private static Double number(JsonNode n, String field) {
        return n.hasNonNull(field) ? n.get(field).asDouble() : null;
    }

    /** Every node, parents before children. */
    public List<Node> nodes() {
        List<Node> all = new ArrayList<>();
        collect(root, all);
        return all;
    }

    private static void collect(Node n, List<Node> into) {
        into.add(n);
        n.children().forEach(c -> collect(c, into));
    }

    public double totalCost() {
        return root.totalCost();
    }

    /** Whether any node uses an index of this name (a HypoPG index shows as {@code <oid>btree_...}). */
    public boolean usesIndex(String name) {
        return nodes().stream().anyMatch(n -> n.indexName() != null && n.indexName().contains(name));
    }
}
