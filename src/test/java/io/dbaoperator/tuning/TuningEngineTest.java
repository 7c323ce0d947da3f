package io.dbaoperator.tuning;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Connection;
import java.sql.ResultSet;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import io.dbaoperator.harness.RealParts;
import io.dbaoperator.harness.TestPostgres;

/**
 * The tuning engine on a real PostgreSQL with HypoPG: EXPLAIN of a slow query, what the analyzer reads from the
 * plan, the candidate indexes, and their cost with hypothetical indexes; a write is never executed.
 */
@RealParts
class TuningEngineTest {

    static final String DB = "tuning";

    @BeforeAll
    static void data() {
        TestPostgres pg = TestPostgres.get();
        pg.createDatabase(DB, "app", "tuning-pw");
        pg.exec(DB, "create extension if not exists hypopg",
                "drop table if exists orders, customers",
                "create table customers (id int primary key, name text not null, region text not null)",
                "insert into customers select g, 'customer ' || g, case when g % 10 = 0 then 'north' else 'south' end "
                        + "from generate_series(1, 5000) g",
                "create table orders (id bigint primary key, customer_id int not null, status text not null, "
                        + "created_at timestamptz not null, total numeric not null)",
                "insert into orders select g, g % 5000, case when g % 20 = 0 then 'open' else 'shipped' end, "
                        + "timestamptz '2026-11-01' - g * interval '1 minute', g % 1000 from generate_series(1, 100000) g",
                "analyze customers", "analyze orders");
    }

    @org.junit.jupiter.api.AfterAll
    static void drop() {
        // every later test backup copies the whole cluster: leave it the size it was
        TestPostgres.get().exec("postgres", "drop database if exists " + DB + " with (force)");
    }

    static Connection connect() throws Exception {
        return TestPostgres.get().superuser(DB);
    }

    static Map<String, List<List<String>>> indexes(Connection c) throws Exception {
        Map<String, List<List<String>>> out = new HashMap<>();
        try (ResultSet rs = c.createStatement().executeQuery("select n.nspname || '.' || t.relname, "
                + "array(select a.attname from unnest(i.indkey) with ordinality k(attnum, ord) join pg_attribute a "
                + "on a.attrelid = t.oid and a.attnum = k.attnum order by k.ord)::text[] from pg_index i "
                + "join pg_class t on t.oid = i.indrelid join pg_namespace n on n.oid = t.relnamespace "
                + "where i.indisvalid and i.indpred is null and n.nspname = 'public'")) {
            while (rs.next()) {
                out.computeIfAbsent(rs.getString(1), k -> new ArrayList<>())
                        .add(List.of((String[]) rs.getArray(2).getArray()));
            }
        }
        return out;
    }

    /** The candidate on these columns is used by the planner and cuts the estimated cost by more than minPercent. */
    static void assertUsedAndCutsTheCost(List<HypoCosting.Costed> costed, List<String> columns, double minPercent) {
        assertThat(costed).anySatisfy(x -> {
            assertThat(x.candidate().columns()).isEqualTo(columns);
            assertThat(x.used()).isTrue();
            assertThat(x.improvementPercent()).isGreaterThan(minPercent);
        });
    }

    @Test
    void aFilteredSortedQueryGetsAnEqualityThenRangeIndex_ThatHypoPgShowsCuttingTheCost() throws Exception {
        QueryText q = QueryText.of("select id, total from orders where customer_id = $1 and created_at > $2 "
                + "order by created_at desc limit 20;");
        try (Connection c = connect()) {
            ExplainPlan plan = q.explain(c, List.of("42", "2026-10-01"), q.looksReadOnly(), 30_000);
            assertThat(plan.executionMs()).as("read-only: EXPLAIN ANALYZE ran").isNotNull();
            PlanAnalyzer.Analysis a = PlanAnalyzer.analyze(plan, Map.of());
            assertThat(a.findings()).extracting(PlanAnalyzer.Finding::kind).contains("SeqScanFilter", "Sort");
            var needs = a.needs().get("public.orders");
            assertThat(needs.equality).containsExactly("customer_id");
            assertThat(needs.range).containsExactly("created_at");
            assertThat(needs.sort).containsExactly("created_at DESC");

            List<IndexCandidates.Candidate> candidates = IndexCandidates.generate(a, indexes(c), q.literals());
            assertThat(candidates).extracting(IndexCandidates.Candidate::ddlBody).contains(
                    "ON \"public\".\"orders\" (\"customer_id\", \"created_at\") INCLUDE (\"id\", \"total\")");
            assertThat(HypoCosting.available(c, false)).isTrue();
            List<HypoCosting.Costed> costed = HypoCosting.cost(c, q, List.of("42", "2026-10-01"), candidates, 30_000);
            assertThat(costed).isNotEmpty().allSatisfy(x -> {
                assertThat(x.used()).as(x.candidate().ddl()).isTrue();
                assertThat(x.improvementPercent()).as(x.candidate().ddl()).isGreaterThan(90);
            });
            try (ResultSet rs = c.createStatement().executeQuery("select count(*) from hypopg_list_indexes")) {
                rs.next();
                assertThat(rs.getInt(1)).as("no hypothetical index left behind").isZero();
            }
        }
    }

    @Test
    void aTimeWindowRelativeToNowIsARange_AndAnIndexOnItIsCostedAsAWin() throws Exception {
        // one day, thirty days back from now: a window production queries have, with no literal in it
        QueryText q = QueryText.of("select id, total from orders where created_at between now() - interval "
                + "'31 days' and now() - interval '30 days'");
        try (Connection c = connect()) {
            ExplainPlan plan = q.explain(c, List.of(), true, 30_000);
            PlanAnalyzer.Analysis a = PlanAnalyzer.analyze(plan, Map.of());
            assertThat(a.needs().get("public.orders").range).containsExactly("created_at");
            List<IndexCandidates.Candidate> candidates = IndexCandidates.generate(a, indexes(c), q.literals());
            assertThat(candidates).extracting(IndexCandidates.Candidate::columns).contains(List.of("created_at"));
            List<HypoCosting.Costed> costed = HypoCosting.cost(c, q, List.of(), candidates, 30_000);
            assertUsedAndCutsTheCost(costed, List.of("created_at"), 90);
        }
    }

    @Test
    void equalityThenAWindowOnASecondColumnKeysTheIndexOnBoth_EqualityFirst() throws Exception {
        QueryText q = QueryText.of("select id from orders where status = 'open' and created_at > now() - "
                + "interval '36 days'");
        try (Connection c = connect()) {
            PlanAnalyzer.Analysis a = PlanAnalyzer.analyze(q.explain(c, List.of(), true, 30_000), Map.of());
            var needs = a.needs().get("public.orders");
            assertThat(needs.equality).containsExactly("status");
            assertThat(needs.range).containsExactly("created_at");
            List<IndexCandidates.Candidate> candidates = IndexCandidates.generate(a, indexes(c), q.literals());
            List<HypoCosting.Costed> costed = HypoCosting.cost(c, q, List.of(), candidates, 30_000);
            HypoCosting.Costed best = costed.stream().filter(HypoCosting.Costed::used)
                    .max(java.util.Comparator.comparingDouble(HypoCosting.Costed::improvementPercent)).orElseThrow();
            // the equality column alone narrows to 5% of the rows; with the window as second key, to a fraction
            assertThat(best.candidate().columns()).as(best.candidate().ddl()).contains("created_at");
            assertThat(best.improvementPercent()).isGreaterThan(90);
            assertThat(candidates).extracting(IndexCandidates.Candidate::columns)
                    .contains(List.of("status", "created_at"));
        }
    }

    @Test
    void aBigTableReadWholeUnderAHashJoinGetsItsJoinKeyThenItsOwnWindow() throws Exception {
        // the selective filter is on the small side (five customers); orders' own window keeps most of its rows,
        // so orders is read by a Seq Scan under the Hash Join and only the join key tells which rows matter
        QueryText q = QueryText.of("select o.id, o.total from customers c join orders o on o.customer_id = c.id "
                + "where c.region = 'north' and c.id < 50 and o.created_at > now() - interval '90 days'");
        try (Connection c = connect()) {
            ExplainPlan plan = q.explain(c, List.of(), true, 30_000);
            PlanAnalyzer.Analysis a = PlanAnalyzer.analyze(plan, Map.of());
            assertThat(a.findings()).anySatisfy(f -> assertThat(f.kind()).isEqualTo("JoinKey"));
            List<IndexCandidates.Candidate> candidates = IndexCandidates.generate(a, indexes(c), q.literals());
            assertThat(candidates).extracting(IndexCandidates.Candidate::columns)
                    .contains(List.of("customer_id"), List.of("customer_id", "created_at"));
            List<HypoCosting.Costed> costed = HypoCosting.cost(c, q, List.of(), candidates, 30_000);
            HypoCosting.Costed both = costed.stream().filter(x -> x.candidate().columns()
                    .equals(List.of("customer_id", "created_at"))).findFirst().orElseThrow();
            HypoCosting.Costed keyOnly = costed.stream().filter(x -> x.candidate().columns()
                    .equals(List.of("customer_id"))).findFirst().orElseThrow();
            // costed in a plan where the planner may pick a nested loop over the hypothetical index
            assertThat(both.used()).isTrue();
            // what is left is the Seq Scan of customers, which no index on orders changes
            assertThat(both.improvementPercent()).isGreaterThan(80);
            assertThat(both.costAfter()).isLessThanOrEqualTo(keyOnly.costAfter());
        }
    }

    @Test
    void aSecondRangeColumnIsOfferedAsATrailingKey() throws Exception {
        QueryText q = QueryText.of("select id from orders where created_at between $1 and $2 and total > $3");
        try (Connection c = connect()) {
            PlanAnalyzer.Analysis a = PlanAnalyzer.analyze(q.explain(c, List.of("2026-09-01", "2026-09-02", "990"),
                    true, 30_000), Map.of());
            List<IndexCandidates.Candidate> candidates = IndexCandidates.generate(a, indexes(c), q.literals());
            assertThat(candidates).extracting(IndexCandidates.Candidate::columns)
                    .contains(List.of("created_at"), List.of("created_at", "total"));
            // one day of 69, and 1% of its orders
            var costed = HypoCosting.cost(c, q, List.of("2026-09-01", "2026-09-02", "990"), candidates, 30_000);
            assertUsedAndCutsTheCost(costed, List.of("created_at", "total"), 90);
            // which of the two wins depends on the data: here the rows lie in created_at order, so the heap visits
            // the trailing key saves are few and the narrower index is cheaper; on bench/tuning's shop data
            // (random order) the trailing key wins, 96.5% against 76%
        }
    }

    @Test
    void anIsNullColumnIsAKeyLikeAnEquality() throws Exception {
        TestPostgres.get().exec(DB, "drop table if exists tasks",
                "create table tasks (id int primary key, assignee int, state text not null)",
                "insert into tasks select g, case when g % 499 = 0 then null else g % 300 end, "
                        + "case when g % 10 = 0 then 'open' else 'done' end from generate_series(1, 100000) g",
                "analyze tasks");
        QueryText q = QueryText.of("select id from tasks where assignee is null and state = $1");
        try (Connection c = connect()) {
            PlanAnalyzer.Analysis a = PlanAnalyzer.analyze(q.explain(c, List.of("open"), true, 30_000), Map.of());
            List<IndexCandidates.Candidate> candidates = IndexCandidates.generate(a, indexes(c), q.literals());
            assertThat(candidates).extracting(IndexCandidates.Candidate::columns)
                    .contains(List.of("state", "assignee"));
            assertUsedAndCutsTheCost(HypoCosting.cost(c, q, List.of("open"), candidates, 30_000),
                    List.of("state", "assignee"), 90);
        }
    }

    @Test
    void aJoinOnAnUnindexedKeyAndAPartialIndexForALiteral() throws Exception {
        QueryText q = QueryText.of("select c.name, count(*) from customers c join orders o on o.customer_id = c.id "
                + "where c.region = $1 and o.status = 'open' group by c.name");
        try (Connection c = connect()) {
            ExplainPlan plan = q.explain(c, List.of("north"), true, 30_000);
            PlanAnalyzer.Analysis a = PlanAnalyzer.analyze(plan, Map.of());
            assertThat(a.needs().get("public.orders").join).contains("customer_id");
            List<IndexCandidates.Candidate> candidates = IndexCandidates.generate(a, indexes(c), q.literals());
            assertThat(candidates).extracting(IndexCandidates.Candidate::ddlBody)
                    .contains("ON \"public\".\"orders\" (\"customer_id\")");
            // status = 'open' is written in the query: a partial index on it is proposed; region = $1 is not
            assertThat(candidates).anySatisfy(x -> assertThat(x.where()).isEqualTo("\"status\" = 'open'"));
            assertThat(candidates).noneSatisfy(x -> assertThat(String.valueOf(x.where())).contains("north"));
        }
    }

    @Test
    void aWriteIsOnlyExplainedNeverRun_AndAnExistingIndexIsNotProposedAgain() throws Exception {
        QueryText write = QueryText.of("update orders set status = 'cancelled' where customer_id = $1");
        assertThat(write.looksReadOnly()).isFalse();
        try (Connection c = connect()) {
            ExplainPlan plan = write.explain(c, List.of("7"), write.looksReadOnly(), 30_000);
            assertThat(plan.executionMs()).isNull();
            assertThat(plan.root().nodeType()).isEqualTo("ModifyTable");
            try (ResultSet rs = c.createStatement().executeQuery(
                    "select count(*) from orders where status = 'cancelled'")) {
                rs.next();
                assertThat(rs.getInt(1)).isZero();
            }
            // even a "read" that writes is stopped by the read-only transaction EXPLAIN ANALYZE runs in
            QueryText sneaky = QueryText.of("select nextval('orders_seq_probe')");
            c.createStatement().execute("create sequence if not exists orders_seq_probe");
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> sneaky.explain(c, List.of(), true, 30_000))
                    .hasMessageContaining("read-only transaction");

            // plain EXPLAIN: selectivity from the table's size; an index starting with the columns covers them
            QueryText q = QueryText.of("select id from orders where customer_id = $1 and created_at > $2");
            PlanAnalyzer.Analysis a = PlanAnalyzer.analyze(q.explain(c, List.of("42", "2026-10-01"), false, 30_000),
                    Map.of("public.orders", 100000.0));
            assertThat(IndexCandidates.generate(a, Map.of(), Set.of())).extracting(x -> x.columns())
                    .containsExactly(List.of("customer_id", "created_at"));
            assertThat(IndexCandidates.generate(a, Map.of("public.orders", List.of(List.of("customer_id",
                    "created_at", "status"))), Set.of())).isEmpty();
        }
    }
}
