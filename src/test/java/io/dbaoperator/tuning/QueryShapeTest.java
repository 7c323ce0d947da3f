package io.dbaoperator.tuning;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import java.util.Set;

import org.junit.jupiter.api.Test;

import io.dbaoperator.tuning.IndexCandidates.Key;
import io.dbaoperator.tuning.QueryShape.Role;

/** What the shape reads from EXPLAIN (VERBOSE) plans as PostgreSQL 15 prints them, and the candidates it makes. */
class QueryShapeTest {

    /** A hash join of tenants and events under a sort and a limit, as EXPLAIN (VERBOSE, FORMAT JSON) gives it. */
    static final String JOIN = """
            [{"Plan": {"Node Type": "Limit", "Output": ["e.id", "e.at"], "Total Cost": 900, "Plan Rows": 10,
              "Plans": [{"Node Type": "Sort", "Parent Relationship": "Outer", "Output": ["e.id", "e.at"],
                "Sort Key": ["e.at DESC", "e.id"], "Total Cost": 899, "Plan Rows": 100,
                "Plans": [{"Node Type": "Hash Join", "Parent Relationship": "Outer", "Output": ["e.id", "e.at"],
                  "Hash Cond": "(e.tenant_id = t.id)", "Total Cost": 880, "Plan Rows": 100,
                  "Plans": [
                    {"Node Type": "Seq Scan", "Parent Relationship": "Outer", "Relation Name": "events",
                     "Schema": "public", "Alias": "e", "Output": ["e.id", "e.tenant_id", "e.at", "e.payload"],
                     "Filter": "(((e.payload ->> 'type'::text) = 'refund'::text) AND (lower(e.kind) ~~ 'ref%'::text) AND (e.at >= '2026-01-01 00:00:00'::timestamp without time zone) AND (NOT e.archived))",
                     "Total Cost": 700, "Plan Rows": 1000},
                    {"Node Type": "Hash", "Parent Relationship": "Inner", "Output": ["t.id"], "Total Cost": 20,
                     "Plan Rows": 1, "Plans": [{"Node Type": "Seq Scan", "Parent Relationship": "Outer",
                       "Relation Name": "tenants", "Schema": "public", "Alias": "t", "Output": ["t.id"],
                       "Filter": "((t.slug = $1) AND (t.deleted_at IS NULL))", "Total Cost": 19, "Plan Rows": 1}]}
                  ]}]}]}}]""";

    @Test
    void everyRestrictionSortAndJoinKeyIsReadPerTable_ExpressionsWithoutTheirAlias() {
        Map<String, QueryShape.TableShape> shapes = QueryShape.of(ExplainPlan.parse(JOIN));
        QueryShape.TableShape e = shapes.get("public.events");
        assertThat(e.role(Role.EQUALITY)).extracting(a -> a.key().label())
                .contains("payload ->> 'type'::text", "archived");
        assertThat(e.role(Role.EQUALITY)).filteredOn(a -> a.key().isExpression()).singleElement()
                .satisfies(a -> assertThat(a.predicate()).isEqualTo("((payload ->> 'type'::text) = 'refund'::text)"));
        assertThat(e.role(Role.PREFIX)).extracting(a -> a.key().expression()).containsExactly("lower(kind)");
        assertThat(e.role(Role.RANGE)).extracting(a -> a.key().column()).containsExactly("at");
        assertThat(e.sort).containsExactly(Key.of("at").descending(true), Key.of("id"));
        assertThat(e.join).containsExactly(Key.of("tenant_id"));
        assertThat(e.flags).singleElement().satisfies(f -> assertThat(f.predicate()).isEqualTo("(NOT \"archived\")"));
        assertThat(e.columns).contains("id", "tenant_id", "at", "payload", "archived");

        QueryShape.TableShape t = shapes.get("public.tenants");
        assertThat(t.role(Role.EQUALITY)).extracting(a -> a.key().column()).containsExactly("slug", "deleted_at");
        assertThat(t.role(Role.EQUALITY).get(1).predicate()).isEqualTo("(\"deleted_at\" IS NULL)");
        assertThat(t.join).containsExactly(Key.of("id"));
    }

    @Test
    void theCandidatesCoverOrdersPatternClassesDirectionsCoveringAndRarePartials() {
        QueryShape.TableShape e = QueryShape.of(ExplainPlan.parse(JOIN)).get("public.events");
        CandidateSearch.Stats stats = new CandidateSearch.Stats() {
            @Override
            public Double frequency(String schema, String table, String column, String literal) {
                return column.equals("archived") && literal.equals("f") ? 0.02 : 0.5;
            }

            @Override
            public Double distinct(String schema, String table, String column) {
                return column.equals("archived") ? 2.0 : 1e6;
            }

            @Override
            public Double nullFraction(String schema, String table, String column) {
                return 0.0;
            }

            @Override
            public long tableBytes(String schema, String table) {
                return 1 << 30;
            }

            @Override
            public double writeShare(String schema, String table) {
                return 0;
            }
        };
        List<IndexCandidates.Candidate> all = CandidateSearch.forTable(e, stats, Set.of("refund"));
        List<String> ddl = all.stream().map(IndexCandidates.Candidate::ddlBody).toList();
        assertThat(all).allSatisfy(c -> assertThat(c.keys().size()).isBetween(1, CandidateSearch.MAX_KEYS));
        // equality keys in either order, then one suffix
        assertThat(ddl).contains("ON \"public\".\"events\" (\"archived\", (payload ->> 'type'::text), \"at\")",
                "ON \"public\".\"events\" ((payload ->> 'type'::text), \"archived\", \"at\")");
        assertThat(ddl).anySatisfy(d -> assertThat(d).contains("(lower(kind)) text_pattern_ops"));
        assertThat(ddl).anySatisfy(d -> assertThat(d).contains("(lower(kind)) COLLATE \"C\""));
        // the sort DESC, id: an ascending first key, the second reversed
        assertThat(ddl).anySatisfy(d -> assertThat(d).endsWith("(\"at\", \"id\" DESC)"));
        // the flag is rare (2% not archived): partial; the JSON value is not a column, so no partial on it
        assertThat(all).anySatisfy(c -> assertThat(c.where()).isEqualTo("(NOT \"archived\")"));
        assertThat(all).noneSatisfy(c -> assertThat(c.where()).contains("payload"));
        assertThat(all).anySatisfy(c -> assertThat(c.include()).isNotEmpty());
        // the fullest first: the budget leaves out the least promising
        assertThat(all.get(0).keys()).hasSize(3);
        assertThat(all.stream().map(IndexCandidates.Candidate::name).distinct().count()).isEqualTo(all.size());
    }
}
