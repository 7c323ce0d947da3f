package io.dbaoperator.tuning;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Connection;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import io.dbaoperator.api.tuning.QueryTuningRequestStatus;
import io.dbaoperator.harness.RealParts;
import io.dbaoperator.harness.TestPostgres;

/**
 * The general candidate search and workload mode on a real PostgreSQL with HypoPG: shapes no single rule covered
 * (expressions, a prefix match under an ICU collation, min/max, keyset pagination, a sort mixing directions, rare
 * values), what PostgreSQL refuses, and a workload's set chosen together, one index for two statements, an index
 * refused for making an UPDATE more expensive.
 */
@RealParts
class IndexSearchTest {

    static final String DB = "index_search";

    @BeforeAll
    static void data() throws Exception {
        TestPostgres pg = TestPostgres.get();
        pg.createDatabase(DB, "app", "search-pw");
        pg.exec(DB, "create extension if not exists hypopg",
                "create table accounts (id bigint primary key, tenant_id int not null, email text not null, "
                        + "name text collate \"en-x-icu\" not null, active boolean not null, "
                        + "created_at timestamptz not null)",
                "insert into accounts select g, g % 500, 'u' || g || '@example.org', (array['Ann','Bob','Émile'])"
                        + "[1 + g % 3] || ' ' || g, g % 40 <> 0, timestamptz '2026-11-01' - g * interval '1 minute' "
                        + "from generate_series(1, 60000) g",
                "create table events (id bigint primary key, tenant_id int not null, kind text not null, "
                        + "payload jsonb not null, at timestamp not null, amount int not null)",
                "insert into events select g, g % 400, 'k' || (g % 4), jsonb_build_object('type', 't' || (g % 200)), "
                        + "timestamp '2026-11-01' - g * interval '1 minute', g % 1000 from generate_series(1, 120000) g",
                "create table jobs (id bigint primary key, queue text not null, run_at timestamptz not null, "
                        + "status text not null, attempts int not null)",
                "insert into jobs select g, 'q' || (g % 300), timestamptz '2026-11-01' + g * interval '1 second', "
                        + "case when g % 100 = 0 then 'failed' else 'done' end, 0 from generate_series(1, 120000) g",
                "analyze");
        // the load is not the workload: its inserts would count as write overhead (the loading sessions have
        // closed, so their counts are in shared memory)
        Thread.sleep(1500);
        pg.exec(DB, "select pg_stat_reset()");
    }

    @AfterAll
    static void drop() {
        TestPostgres.get().exec("postgres", "drop database if exists " + DB + " with (force)");
    }

    /** The search as the controller runs it, for one statement with its values. */
    static CandidateSearch.Result search(Connection c, String sql, List<String> params) throws Exception {
        QueryText q = QueryText.of(sql);
        ExplainPlan plan = q.explain(c, params, false, 30_000);
        List<IndexCandidates.Candidate> rules = IndexCandidates.generate(PlanAnalyzer.analyze(plan, Map.of()),
                Map.of(), q.literals());
        List<IndexCandidates.Candidate> candidates = CandidateSearch.generate(QueryShape.of(plan),
                new CandidateSearch.CatalogStats(c), CandidateSearch.literals(sql), TuningAnalysis.existingIndexes(c),
                rules);
        return CandidateSearch.cost(c, q, params, candidates, 10_000, 30_000);
    }

    static HypoCosting.Costed best(Connection c, CandidateSearch.Result r) {
        List<HypoCosting.Costed> best = CandidateSearch.best(r.costed(), new CandidateSearch.CatalogStats(c), 30, 1);
        assertThat(best).as(r.summary(10_000)).isNotEmpty();
        return best.get(0);
    }

    @Test
    void predicatesOnExpressionsGetExpressionIndexes_AndOneThatIsNotImmutableIsRefusedWithTheReason() throws Exception {
        try (Connection c = TestPostgres.get().superuser(DB)) {
            HypoCosting.Costed lower = best(c, search(c, "select id from accounts where lower(email) = $1",
                    List.of("u77@example.org")));
            assertThat(lower.candidate().keys()).extracting(IndexCandidates.Key::expression).contains("lower(email)");
            assertThat(lower.used()).isTrue();
            assertThat(lower.improvementPercent()).isGreaterThan(50);

            HypoCosting.Costed json = best(c, search(c, "select id from events where tenant_id = $1 and "
                    + "payload->>'type' = 't7'", List.of("7")));
            assertThat(json.candidate().ddlBody()).contains("(payload ->> 'type'::text)");
            assertThat(json.improvementPercent()).isGreaterThan(90);

            // a timestamptz cast to date depends on TimeZone: PostgreSQL will not index it, and the search says so
            CandidateSearch.Result day = search(c, "select id from accounts where created_at::date = $1",
                    List.of("2026-10-30"));
            assertThat(day.refused()).anySatisfy(r -> assertThat(r).contains("IMMUTABLE"));
            assertThat(day.summary(10_000)).contains("refused by PostgreSQL");
            // ...where the same cast of a timestamp without time zone is immutable and indexed
            HypoCosting.Costed eventDay = best(c, search(c, "select count(*) from events where at::date = $1",
                    List.of("2026-10-30")));
            assertThat(eventDay.candidate().ddlBody()).contains("((at)::date)");
        }
    }

    @Test
    void aPrefixMatchUnderAnIcuCollationGetsTheCCollationOrAPatternClass() throws Exception {
        try (Connection c = TestPostgres.get().superuser(DB)) {
            CandidateSearch.Result r = search(c, "select id from accounts where tenant_id = $1 and name like 'Ann 1%'",
                    List.of("12"));
            HypoCosting.Costed b = best(c, r);
            // a plain B-tree on an ICU column cannot serve LIKE: the best one carries what makes it usable
            assertThat(b.candidate().keys()).anySatisfy(k -> assertThat("C".equals(k.collation())
                    || "text_pattern_ops".equals(k.opclass())).isTrue());
            assertThat(r.costed()).anySatisfy(x -> assertThat(x.candidate().ddlBody()).contains("COLLATE \"C\""));
            assertThat(r.costed()).anySatisfy(x -> assertThat(x.candidate().ddlBody()).contains("text_pattern_ops"));
        }
    }

    @Test
    void minMaxKeysetPaginationMixedOrderAndARareValueEachGetTheIndexThatAnswersThem() throws Exception {
        try (Connection c = TestPostgres.get().superuser(DB)) {
            HypoCosting.Costed max = best(c, search(c, "select max(at) from events where tenant_id = $1",
                    List.of("9")));
            assertThat(max.candidate().columns()).containsExactly("tenant_id", "at");

            HypoCosting.Costed keyset = best(c, search(c, "select id, kind from events where tenant_id = $1 and "
                    + "(at, id) < ($2::timestamp, $3::bigint) order by at desc, id desc limit 20",
                    List.of("9", "2026-06-01 00:00:00", "999999")));
            assertThat(keyset.candidate().columns()).startsWith("tenant_id", "at", "id");

            HypoCosting.Costed mixed = best(c, search(c, "select id from events where tenant_id = $1 "
                    + "order by amount desc, at asc limit 10", List.of("9")));
            // an index read backwards gives the reverse of its order: the keys' directions must differ
            List<IndexCandidates.Key> keys = mixed.candidate().keys();
            assertThat(keys).extracting(IndexCandidates.Key::column).startsWith("tenant_id", "amount", "at");
            assertThat(keys.get(1).desc()).isNotEqualTo(keys.get(2).desc());

            CandidateSearch.Result rare = search(c, "select id, queue from jobs where status = 'failed' "
                    + "and run_at > timestamptz '2026-11-02'", List.of());
            assertThat(rare.costed()).anySatisfy(x -> {
                assertThat(x.candidate().where()).isEqualTo("(\"status\" = 'failed'::text)");
                assertThat(x.used()).isTrue();
            });
            // the common value makes no partial index: it would hold nearly the whole table
            CandidateSearch.Result common = search(c, "select id from jobs where status = 'done' and queue = $1",
                    List.of("q3"));
            assertThat(common.costed()).isNotEmpty().allSatisfy(x -> assertThat(x.candidate().where()).isNull());
        }
    }

    @Test
    void workloadModeChoosesOneIndexForTwoStatements_AndRefusesOneThatMakesTheUpdateMoreExpensive()
            throws Exception {
        try (Connection c = TestPostgres.get().superuser(DB)) {
            List<TuningAnalysis.Target> targets = List.of(
                    new TuningAnalysis.Target(QueryText.of("select id from jobs where queue = $1 and run_at < $2"),
                            null, "1", 500, 400),
                    new TuningAnalysis.Target(QueryText.of("select id from jobs where queue = $1 order by run_at "
                            + "limit 10"), null, "2", 500, 10),
                    new TuningAnalysis.Target(QueryText.of("update jobs set status = $1 where id = $2"), null, "3",
                            20_000, 1),
                    new TuningAnalysis.Target(QueryText.of("select count(*) from jobs where status = 'failed'"), null,
                            "4", 5, 1));
            TuningAnalysis.Result r = TuningAnalysis.run(c, null, targets, 30, 30_000, 10_000,
                    new WorkloadSelection.Budget(3, 2, 1L << 30, 10, 30), null);
            QueryTuningRequestStatus.WorkloadChoice w = r.workload();
            assertThat(w).isNotNull();
            List<QueryTuningRequestStatus.IndexRecommendation> set = r.recommendations().stream()
                    .filter(x -> Boolean.TRUE.equals(x.selected)).toList();
            // one index on (queue, run_at ...) serves both reads: no second one where one suffices
            assertThat(set).hasSize(1);
            assertThat(set.get(0).ddl).contains("(\"queue\", \"run_at\"");
            assertThat(set.get(0).serves).containsExactly(0, 1);
            assertThat(set.get(0).estimatedSizeBytes).isPositive();
            assertThat(w.indexes).containsExactly(set.get(0).indexName);
            // the count's own best index (on status) would cost every UPDATE its HOT path: refused, with why
            assertThat(w.refused).anySatisfy(x -> assertThat(x).contains("status").contains("makes statement 2")
                    .contains("more expensive"));
            assertThat(r.recommendations()).anySatisfy(x -> {
                assertThat(x.ddl).contains("status");
                assertThat(x.selected).isNotEqualTo(Boolean.TRUE);
            });
            assertThat(w.costAfter).isLessThan(w.costBefore);
            assertThat(w.statements).hasSize(4);
            assertThat(w.statements.get(0).costAfter).isLessThan(w.statements.get(0).costBefore * 0.5);
            assertThat(w.statements.get(2).costAfter).isEqualTo(w.statements.get(2).costBefore);
            assertThat(targets.get(0).query().text()).isNotBlank();
        }
    }

    @Test
    void writesAreRecognisedWithTheColumnsAnUpdateSets() {
        var w = WorkloadSelection.write("UPDATE ONLY app.jobs SET status = $1, (attempts, run_at) = ($2, now()) "
                + "WHERE id = $3");
        assertThat(w.schema()).isEqualTo("app");
        assertThat(w.table()).isEqualTo("jobs");
        assertThat(w.sets()).containsExactlyInAnyOrder("status", "attempts", "run_at");
        assertThat(WorkloadSelection.write("insert into jobs (queue) values ($1)").kind()).isEqualTo("insert");
        assertThat(WorkloadSelection.write("select 1")).isNull();
    }
}
