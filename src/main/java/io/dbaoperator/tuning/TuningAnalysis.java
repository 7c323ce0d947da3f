package io.dbaoperator.tuning;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import io.dbaoperator.api.tuning.QueryTuningRequestSpec;
import io.dbaoperator.api.tuning.QueryTuningRequestStatus;

/**
 * The Analyzing phase: which statements (the query, a pg_stat_statements entry, or the slowest ones), how each is
 * explained (ANALYZE only for a read with its values, in a read-only transaction; plain EXPLAIN for a write; a
 * generic plan when the values are unknown), what the plans show, the candidate indexes, and their cost with
 * HypoPG (on production if it is installed there, else on staging, where the operator may install it, else by
 * building each candidate on staging). Only candidates the planner uses and that cut the cost by
 * minImprovementPercent are kept, best first; a write-heavy table is said to be one.
 */
public final class TuningAnalysis {

    /** A statement to tune: its text and values (null when unknown). */
    public record Target(QueryText query, List<String> parameters, String queryId) {
    }

    /** The outcome. */
    public record Result(List<QueryTuningRequestStatus.AnalyzedQuery> analyzed,
            List<QueryTuningRequestStatus.IndexRecommendation> recommendations, String costingMethod,
            String advisorRationale) {
    }

    private TuningAnalysis() {
    }

    public static List<Target> targets(Connection prod, QueryTuningRequestSpec spec) throws SQLException {
        List<Target> out = new ArrayList<>();
        if (spec.query != null) {
            out.add(new Target(QueryText.of(spec.query), spec.parameters == null ? List.of() : spec.parameters, null));
            return out;
        }
        String sql = "select queryid::text, query from pg_stat_statements where dbid = (select oid from pg_database "
                + "where datname = current_database()) and toplevel and query <> '<insufficient privilege>' "
                + "and query !~* '^\\s*(explain|prepare|deallocate|"
                + "set|show|begin|commit|rollback|vacuum|analyze|create|alter|drop)\\M' ";
        try (PreparedStatement ps = prod.prepareStatement(spec.queryId != null
                ? sql + "and queryid = ?::bigint limit 1"
                : sql + "and mean_exec_time >= ? order by mean_exec_time desc limit ?")) {
            if (spec.queryId != null) {
                ps.setString(1, spec.queryId);
            } else {
                var top = spec.topSlowQueries;
                ps.setDouble(1, top.minMeanTimeMs);
                ps.setInt(2, top.limit);
            }
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(new Target(QueryText.of(rs.getString(2)), null, rs.getString(1)));
                }
            }
        }
        return out;
    }

    /** @param advisor the LLM advisor; {@link Advisor#advise} returns nothing when none is enabled */
    public static Result run(Connection prod, Connection staging, List<Target> targets, int minImprovement,
            int timeoutMs, Advisor advisor) throws SQLException {
        String rationale = null;
        List<QueryTuningRequestStatus.AnalyzedQuery> analyzed = new ArrayList<>();
        List<QueryTuningRequestStatus.IndexRecommendation> recs = new ArrayList<>();
        java.util.Set<String> names = new java.util.HashSet<>();
        String method = HypoCosting.available(prod, false) ? "hypopg on production"
                : staging != null && HypoCosting.available(staging, true) ? "hypopg on staging"
                        : staging != null ? "built on staging" : null;
        Map<String, List<List<String>>> existing = existingIndexes(prod);
        Map<String, Double> rows = tableRows(prod);
        for (int i = 0; i < targets.size(); i++) {
            Target t = targets.get(i);
            QueryTuningRequestStatus.AnalyzedQuery a = new QueryTuningRequestStatus.AnalyzedQuery();
            a.query = t.query().text().length() > 300 ? t.query().text().substring(0, 300) + "..." : t.query().text();
            a.queryId = t.queryId();
            ExplainPlan plan;
            if (t.parameters() == null) {
                plan = t.query().explainGeneric(prod, timeoutMs);
                a.explain = "generic (values unknown)";
            } else {
                boolean analyze = t.query().looksReadOnly();
                plan = t.query().explain(prod, t.parameters(), analyze, timeoutMs);
                a.explain = analyze ? "ANALYZE, rolled back" : "plain (a write is never executed on production)";
            }
            a.queryId = a.queryId != null ? a.queryId : plan.queryId();
            a.cost = plan.totalCost();
            a.executionMs = plan.executionMs();
            PlanAnalyzer.Analysis analysis = PlanAnalyzer.analyze(plan, rows);
            analysis.findings().forEach(f -> a.findings.add(f.detail()));
            analyzed.add(a);
            List<IndexCandidates.Candidate> candidates = new ArrayList<>(IndexCandidates.generate(analysis, existing,
                    t.query().literals()));
            if (advisor != null && advisor.enabled()) {
                Advisor.Advice advice = advisor.advise(prod, t.query(), analysis);
                java.util.Set<String> have = new java.util.HashSet<>(candidates.stream()
                        .map(IndexCandidates.Candidate::ddlBody).toList());
                advice.candidates().stream().filter(x -> have.add(x.ddlBody())).forEach(candidates::add);
                rationale = (advice.rationale() == null ? "" : advice.rationale())
                        + (advice.rejected() == 0 ? "" : " (" + advice.rejected() + " proposal(s) dropped: not a plain "
                                + "index on the plan's tables and columns)");
            }
            if (candidates.isEmpty() || method == null) {
                continue;
            }
            Connection costOn = method.equals("hypopg on production") ? prod : staging;
            List<HypoCosting.Costed> costed = method.startsWith("hypopg")
                    ? HypoCosting.cost(costOn, t.query(), t.parameters(), candidates, timeoutMs)
                    : buildOnStaging(staging, t, candidates, timeoutMs);
            for (HypoCosting.Costed c : costed) {
                if (!c.used() || c.improvementPercent() < minImprovement) {
                    continue;
                }
                QueryTuningRequestStatus.IndexRecommendation r = new QueryTuningRequestStatus.IndexRecommendation();
                r.indexName = c.candidate().name();
                r.ddl = c.candidate().ddl();
                r.costBefore = round(c.costBefore());
                r.costAfter = round(c.costAfter());
                r.improvementPercent = c.improvementPercent();
                r.table = (c.candidate().schema() == null ? "" : c.candidate().schema() + ".") + c.candidate().table();
                r.query = i;
                r.rationale = c.candidate().reason() + writeCost(prod, c.candidate());
                if (names.add(r.indexName)) {
                    recs.add(r);
                }
            }
        }
        recs.sort(Comparator.comparing((QueryTuningRequestStatus.IndexRecommendation r) -> -r.improvementPercent));
        return new Result(analyzed, recs, method, rationale);
    }

    /** Without HypoPG anywhere: each candidate built for real on staging, planned, dropped. */
    private static List<HypoCosting.Costed> buildOnStaging(Connection staging, Target t,
            List<IndexCandidates.Candidate> candidates, int timeoutMs) throws SQLException {
        List<HypoCosting.Costed> out = new ArrayList<>();
        double before = t.query().plan(staging, t.parameters(), timeoutMs).totalCost();
        staging.setAutoCommit(true);
        for (IndexCandidates.Candidate c : candidates) {
            try (var st = staging.createStatement()) {
                st.execute(c.plainDdl());
                try {
                    ExplainPlan plan = t.query().plan(staging, t.parameters(), timeoutMs);
                    out.add(new HypoCosting.Costed(c, before, plan.totalCost(), plan.usesIndex(c.name())));
                } finally {
                    st.execute("DROP INDEX IF EXISTS " + io.dbaoperator.sql.Identifiers.quote(c.schema()) + "."
                            + io.dbaoperator.sql.Identifiers.quote(c.name()));
                }
            }
        }
        return out;
    }

    /** A word on the write side: more rows written than read by scans means every write now pays for the index. */
    private static String writeCost(Connection c, IndexCandidates.Candidate cand) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("select n_tup_ins + n_tup_upd + n_tup_del, "
                + "coalesce(seq_scan, 0) + coalesce(idx_scan, 0) from pg_stat_user_tables where schemaname = ? "
                + "and relname = ?")) {
            ps.setString(1, cand.schema() == null ? "public" : cand.schema());
            ps.setString(2, cand.table());
            try (ResultSet rs = ps.executeQuery()) {
                if (rs.next() && rs.getLong(1) > 10 * Math.max(1, rs.getLong(2))) {
                    return "; write-heavy table (" + rs.getLong(1) + " rows written against " + rs.getLong(2)
                            + " scans since the statistics were reset): every insert and update will also "
                            + "maintain this index";
                }
            }
        }
        return "";
    }

    static Map<String, List<List<String>>> existingIndexes(Connection c) throws SQLException {
        Map<String, List<List<String>>> out = new HashMap<>();
        try (ResultSet rs = c.createStatement().executeQuery("select n.nspname || '.' || t.relname, "
                + "array(select a.attname from unnest(i.indkey) with ordinality k(attnum, ord) join pg_attribute a "
                + "on a.attrelid = t.oid and a.attnum = k.attnum where k.ord <= i.indnkeyatts order by k.ord)::text[] "
                + "from pg_index i join pg_class t on t.oid = i.indrelid join pg_namespace n on n.oid = "
                + "t.relnamespace where i.indisvalid and i.indpred is null and i.indexprs is null "
                + "and n.nspname not in ('pg_catalog', 'information_schema')")) {
            while (rs.next()) {
                out.computeIfAbsent(rs.getString(1), k -> new ArrayList<>())
                        .add(List.of((String[]) rs.getArray(2).getArray()));
            }
        }
        return out;
    }

    static Map<String, Double> tableRows(Connection c) throws SQLException {
        Map<String, Double> out = new HashMap<>();
        try (ResultSet rs = c.createStatement().executeQuery("select n.nspname || '.' || c.relname, c.reltuples "
                + "from pg_class c join pg_namespace n on n.oid = c.relnamespace where c.relkind in ('r', 'p', 'm') "
                + "and n.nspname not in ('pg_catalog', 'information_schema')")) {
            while (rs.next()) {
                out.put(rs.getString(1), rs.getDouble(2));
            }
        }
        return out;
    }

    private static double round(double v) {
        return Math.round(v * 100) / 100.0;
    }
}
