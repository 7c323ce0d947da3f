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
    public record Target(QueryText query, List<String> parameters, String queryId, double calls,
            double rowsPerCall) {

        public Target(QueryText query, List<String> parameters, String queryId) {
            this(query, parameters, queryId, 1, 1);
        }
    }

    /** The outcome. */
    public record Result(List<QueryTuningRequestStatus.AnalyzedQuery> analyzed,
            List<QueryTuningRequestStatus.IndexRecommendation> recommendations, String costingMethod,
            String advisorRationale, QueryTuningRequestStatus.WorkloadChoice workload) {
    }

    private TuningAnalysis() {
    }

    public static List<Target> targets(Connection prod, QueryTuningRequestSpec spec) throws SQLException {
        List<Target> out = new ArrayList<>();
        if (spec.query != null) {
            out.add(new Target(QueryText.of(spec.query), spec.parameters == null ? List.of() : spec.parameters, null));
            return out;
        }
        String sql = "select queryid::text, query, calls, rows from pg_stat_statements where dbid = (select oid from pg_database "
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
                    long calls = Math.max(1, rs.getLong(3));
                    out.add(new Target(QueryText.of(rs.getString(2)), null, rs.getString(1), calls,
                            (double) rs.getLong(4) / calls));
                }
            }
        }
        return out;
    }

    /**
     * @param searchBudgetMs how long the candidate search may cost candidates, per statement
     * @param workload the budget of workload mode (spec.topSlowQueries), or null for one statement
     * @param advisor the LLM advisor; {@link Advisor#advise} returns nothing when none is enabled
     */
    public static Result run(Connection prod, Connection staging, List<Target> targets, int minImprovement,
            int timeoutMs, long searchBudgetMs, WorkloadSelection.Budget workload, Advisor advisor)
            throws SQLException {
        String rationale = null;
        List<QueryTuningRequestStatus.AnalyzedQuery> analyzed = new ArrayList<>();
        List<QueryTuningRequestStatus.IndexRecommendation> recs = new ArrayList<>();
        java.util.Set<String> names = new java.util.HashSet<>();
        String method = HypoCosting.available(prod, false) ? "hypopg on production"
                : staging != null && HypoCosting.available(staging, true) ? "hypopg on staging"
                        : staging != null ? "built on staging" : null;
        Map<String, List<List<String>>> existing = existingIndexes(prod);
        Map<String, Double> rows = tableRows(prod);
        CandidateSearch.Stats stats = new CandidateSearch.CatalogStats(prod);
        List<IndexCandidates.Candidate> pool = new ArrayList<>();
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
            List<IndexCandidates.Candidate> rules = new ArrayList<>(IndexCandidates.generate(analysis, existing,
                    t.query().literals()));
            if (advisor != null && advisor.enabled()) {
                Advisor.Advice advice = advisor.advise(prod, t.query(), analysis);
                java.util.Set<String> have = new java.util.HashSet<>(rules.stream()
                        .map(IndexCandidates.Candidate::ddlBody).toList());
                advice.candidates().stream().filter(x -> have.add(x.ddlBody())).forEach(rules::add);
                rationale = (advice.rationale() == null ? "" : advice.rationale())
                        + (advice.rejected() == 0 ? "" : " (" + advice.rejected() + " proposal(s) dropped: not a plain "
                                + "index on the plan's tables and columns)");
            }
            // the rules first, then everything the query's shape allows: the rules order the search
            List<IndexCandidates.Candidate> candidates = CandidateSearch.generate(QueryShape.of(plan), stats,
                    CandidateSearch.literals(t.query().text()), existing, rules);
            if (candidates.isEmpty() || method == null) {
                continue;
            }
            List<HypoCosting.Costed> costed;
            if (method.startsWith("hypopg")) {
                Connection costOn = method.equals("hypopg on production") ? prod : staging;
                CandidateSearch.Result found = CandidateSearch.cost(costOn, t.query(), t.parameters(), candidates,
                        searchBudgetMs, timeoutMs);
                a.search = found.summary(searchBudgetMs);
                costed = found.costed();
            } else {
                // each candidate a real build: the rules' and the search's first few only
                int n = Math.min(candidates.size(), rules.size() + 10);
                costed = buildOnStaging(staging, t, candidates.subList(0, n), timeoutMs);
                a.search = "built " + n + " of " + candidates.size() + " candidate(s) on staging (no HypoPG)";
            }
            List<HypoCosting.Costed> best = CandidateSearch.best(costed, stats, minImprovement, 5);
            best.stream().map(HypoCosting.Costed::candidate).filter(c -> pool.stream()
                    .noneMatch(p -> p.ddlBody().equals(c.ddlBody()))).forEach(pool::add);
            for (HypoCosting.Costed c : best.subList(0, Math.min(3, best.size()))) {
                QueryTuningRequestStatus.IndexRecommendation r = recommendation(prod, c.candidate(), i);
                r.costBefore = round(c.costBefore());
                r.costAfter = round(c.costAfter());
                r.improvementPercent = c.improvementPercent();
                r.estimatedSizeBytes = c.sizeBytes() > 0 ? c.sizeBytes() : null;
                if (names.add(r.indexName)) {
                    recs.add(r);
                }
            }
        }
        // stable, on 5% steps: each statement's candidates keep the search's order among near-equal estimates
        recs.sort(Comparator.comparingLong((QueryTuningRequestStatus.IndexRecommendation r) -> -Ranking.step(
                r.improvementPercent)));
        QueryTuningRequestStatus.WorkloadChoice choice = null;
        if (workload != null && method != null && method.startsWith("hypopg") && !pool.isEmpty()) {
            Connection costOn = method.equals("hypopg on production") ? prod : staging;
            List<WorkloadSelection.Statement> statements = new ArrayList<>();
            for (int i = 0; i < targets.size(); i++) {
                Target t = targets.get(i);
                statements.add(new WorkloadSelection.Statement(i, t.query(), t.parameters(), t.calls(),
                        t.rowsPerCall()));
            }
            WorkloadSelection.Choice chosen = WorkloadSelection.choose(costOn, statements, pool, workload,
                    new WorkloadSelection.CatalogTables(prod), timeoutMs, searchBudgetMs * Math.max(1,
                            targets.size()));
            choice = workload(chosen, workload);
            List<QueryTuningRequestStatus.IndexRecommendation> set = new ArrayList<>();
            for (WorkloadSelection.Chosen ch : chosen.chosen()) {
                int q = ch.serves().isEmpty() ? 0 : ch.serves().get(0);
                WorkloadSelection.StatementCost sc = chosen.statements().get(q);
                QueryTuningRequestStatus.IndexRecommendation r = recommendation(prod, ch.candidate(), q);
                r.costBefore = sc.costBefore();
                r.costAfter = sc.costAfter();
                r.improvementPercent = sc.costBefore() <= 0 ? 0
                        : Math.round((sc.costBefore() - sc.costAfter()) / sc.costBefore() * 1000) / 10.0;
                r.selected = true;
                r.serves = ch.serves();
                r.estimatedSizeBytes = ch.sizeBytes();
                r.writeOverhead = ch.writeOverhead();
                r.rationale = r.rationale + "; serves statement(s) " + ch.serves() + " of the workload";
                set.add(r);
                choice.indexes.add(r.indexName);
            }
            recs.removeIf(r -> set.stream().anyMatch(x -> x.indexName.equals(r.indexName)));
            set.addAll(recs);
            recs = set;
        }
        return new Result(analyzed, recs, method, rationale, choice);
    }

    private static QueryTuningRequestStatus.IndexRecommendation recommendation(Connection prod,
            IndexCandidates.Candidate c, int query) throws SQLException {
        QueryTuningRequestStatus.IndexRecommendation r = new QueryTuningRequestStatus.IndexRecommendation();
        r.indexName = c.name();
        r.ddl = c.ddl();
        r.table = c.qualifiedTable();
        r.query = query;
        r.rationale = c.reason() + writeCost(prod, c);
        return r;
    }

    private static QueryTuningRequestStatus.WorkloadChoice workload(WorkloadSelection.Choice c,
            WorkloadSelection.Budget b) {
        QueryTuningRequestStatus.WorkloadChoice w = new QueryTuningRequestStatus.WorkloadChoice();
        w.costBefore = c.costBefore();
        w.costAfter = c.costAfter();
        w.improvementPercent = c.improvementPercent();
        w.totalSizeBytes = c.chosen().stream().mapToLong(WorkloadSelection.Chosen::sizeBytes).sum();
        for (WorkloadSelection.StatementCost s : c.statements()) {
            QueryTuningRequestStatus.StatementCost sc = new QueryTuningRequestStatus.StatementCost();
            sc.query = s.index();
            sc.calls = s.calls();
            sc.costBefore = s.costBefore();
            sc.costAfter = s.costAfter();
            w.statements.add(sc);
        }
        w.refused.addAll(c.refused().size() > 10 ? c.refused().subList(0, 10) : c.refused());
        w.budget = "maxIndexes " + b.maxIndexes() + ", maxIndexesPerTable " + b.maxIndexesPerTable()
                + ", maxTotalSize " + io.dbaoperator.status.Sizes.human(b.maxTotalBytes()) + ", maxRegressionPercent "
                + (int) b.maxRegressionPercent() + "; chosen in " + c.millis() + " ms"
                + (c.budgetSpent() ? " (the search budget ran out: not every candidate was tried)" : "");
        return w;
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
