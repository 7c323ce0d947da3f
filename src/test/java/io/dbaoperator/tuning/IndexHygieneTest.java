package io.dbaoperator.tuning;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Connection;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import io.dbaoperator.harness.RealParts;
import io.dbaoperator.harness.TestPostgres;
import io.dbaoperator.tuning.IndexHygiene.Finding;
import io.dbaoperator.tuning.IndexHygiene.IndexFact;
import io.dbaoperator.tuning.IndexHygiene.Kind;

/**
 * Index hygiene on a real PostgreSQL: planted unused, duplicate, prefix-redundant and invalid indexes are found with
 * their evidence, while indexes that back a constraint, the replica identity, a unique rule, or that are in use are
 * never proposed; and the rules themselves on facts alone.
 */
@RealParts
class IndexHygieneTest {

    static final String DB = "hygiene";

    @BeforeAll
    static void plant() throws Exception {
        TestPostgres pg = TestPostgres.get();
        pg.createDatabase(DB, "app", "hygiene-pw");
        pg.exec(DB, "drop table if exists h_orders, h_customers",
                "create table h_customers (id int primary key, name text)",
                "insert into h_customers select g, 'c' || g from generate_series(1, 1000) g",
                "create table h_orders (id bigint primary key, customer_id int not null references h_customers, "
                        + "status text not null, created_at timestamptz not null, ref int, code text unique, "
                        + "code2 text, ri int not null, ex int, exclude using btree (ex with =))",
                "insert into h_orders select g, 1 + g % 1000, case when g % 10 = 0 then 'open' else 'done' end, "
                        + "timestamptz '2026-01-01' + g * interval '1 minute', g % 500, 'c' || g, 'd' || g, g, g "
                        + "from generate_series(1, 20000) g",
                // in use
                "create index h_orders_customer_idx on h_orders (customer_id)",
                "create index h_orders_ref_status_idx on h_orders (ref, status)",
                // planted: unused, duplicate pair, prefix-redundant, an INCLUDE-covered one
                "create index h_orders_status_idx on h_orders (status)",
                "create index h_orders_created_a on h_orders (created_at)",
                "create index h_orders_created_b on h_orders (created_at)",
                "create index h_orders_ref_idx on h_orders (ref)",
                // never proposed: a unique rule without a constraint, the replica identity, a partial index
                "create unique index h_orders_code2_key on h_orders (code2)",
                "create unique index h_orders_ri_key on h_orders (ri)",
                "alter table h_orders replica identity using index h_orders_ri_key",
                "analyze h_orders", "analyze h_customers");
        try (Connection c = TestPostgres.get().superuser(DB)) {
            // a failed unique build leaves an INVALID index behind
            try {
                c.createStatement().execute("create unique index concurrently h_orders_status_bad on h_orders (status)");
            } catch (java.sql.SQLException expected) {
                // duplicate key
            }
            var st = c.createStatement();
            st.execute("set enable_seqscan = off");
            st.execute("set enable_bitmapscan = off");
            for (int i = 0; i < 3; i++) {
                st.executeQuery("select count(*) from h_orders where customer_id = " + (i + 1)).close();
                st.executeQuery("select count(*) from h_orders where ref = 7 and status = 'open'").close();
                st.executeQuery("select id from h_orders where created_at = '2026-01-02'").close();
            }
            st.execute("select pg_stat_force_next_flush()");
        }
        // pg_stat_force_next_flush() flushes at the end of that session's next transaction: it has ended above
        waitForScans("h_orders_customer_idx");
    }

    static void waitForScans(String index) throws Exception {
        org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(20)).until(() -> {
            try (Connection c = TestPostgres.get().superuser(DB);
                    var rs = c.createStatement().executeQuery("select idx_scan from pg_stat_user_indexes where "
                            + "indexrelname = '" + index + "'")) {
                return rs.next() && rs.getLong(1) > 0;
            }
        });
    }

    @AfterAll
    static void drop() {
        TestPostgres.get().exec("postgres", "drop database if exists " + DB + " with (force)");
    }

    static Map<String, Finding> review(Duration minObservation) throws Exception {
        try (Connection c = TestPostgres.get().superuser(DB)) {
            List<IndexFact> facts = IndexHygiene.facts(c, List.of("public"));
            return IndexHygiene.review(facts, IndexHygiene.observedSince(c), Instant.now(), minObservation, Set.of())
                    .findings().stream().collect(Collectors.toMap(f -> f.index().name(), f -> f));
        }
    }

    @Test
    void everyPlantedIndexIsFound_AndNothingThatBacksARuleOrIsUsed() throws Exception {
        Map<String, Finding> found = review(Duration.ZERO);
        // of the identical pair, the planner scanned one: that one is kept, the other is the duplicate
        String twin = found.containsKey("h_orders_created_b") ? "h_orders_created_b" : "h_orders_created_a";
        String kept = twin.endsWith("_b") ? "h_orders_created_a" : "h_orders_created_b";
        assertThat(found.keySet()).containsExactlyInAnyOrder("h_orders_status_bad", twin, "h_orders_ref_idx",
                "h_orders_status_idx");
        assertThat(found.get("h_orders_status_bad").kind()).isEqualTo(Kind.Invalid);
        Finding dup = found.get(twin);
        assertThat(dup.kind()).isEqualTo(Kind.Duplicate);
        assertThat(dup.coveredBy()).isEqualTo("public." + kept);
        assertThat(dup.index().scans()).isZero();
        assertThat(dup.evidence()).contains("3 scan(s)");
        Finding redundant = found.get("h_orders_ref_idx");
        assertThat(redundant.kind()).isEqualTo(Kind.Redundant);
        assertThat(redundant.coveredBy()).isEqualTo("public.h_orders_ref_status_idx");
        Finding unused = found.get("h_orders_status_idx");
        assertThat(unused.kind()).isEqualTo(Kind.Unused);
        assertThat(unused.evidence()).contains("no index scan", "bytes", "row write(s)");
        assertThat(unused.index().tableWrites()).isEqualTo(20000);
        assertThat(unused.dropStatement()).isEqualTo("DROP INDEX CONCURRENTLY IF EXISTS \"public\".\"h_orders_status_idx\"");
        assertThat(unused.recreateStatement())
                .isEqualTo("CREATE INDEX CONCURRENTLY h_orders_status_idx ON public.h_orders USING btree (status)");
    }

    @Test
    void tooShortAnObservationJudgesNoIndexUnused_ButStillFindsTheRest() throws Exception {
        Map<String, Finding> found = review(Duration.ofDays(3650));
        assertThat(found.keySet()).hasSize(3).contains("h_orders_status_bad", "h_orders_ref_idx");
        assertThat(found.values()).extracting(Finding::kind).doesNotContain(Kind.Unused);
    }

    @Test
    void aDroppedIndexComesBackFromItsRecreateStatement() throws Exception {
        try (Connection c = TestPostgres.get().superuser(DB)) {
            c.createStatement().execute("create index h_scratch_idx on h_customers (name)");
            Finding f = review(Duration.ZERO).get("h_scratch_idx");
            assertThat(f.kind()).isEqualTo(Kind.Unused);
            String definition = f.index().definition();
            assertThat(IndexApplier.drop(c, "public", "h_scratch_idx", Duration.ofMillis(500), 2,
                    Duration.ofMinutes(1))).isEqualTo(1);
            assertThat(review(Duration.ZERO)).doesNotContainKey("h_scratch_idx");
            c.setAutoCommit(true);
            c.createStatement().execute(f.recreateStatement());
            try (var rs = c.createStatement().executeQuery("select pg_get_indexdef('h_scratch_idx'::regclass)")) {
                rs.next();
                assertThat(rs.getString(1)).isEqualTo(definition);
            }
            assertThat(IndexApplier.drop(c, "public", "h_scratch_idx", Duration.ofMillis(500), 2,
                    Duration.ofMinutes(1))).isEqualTo(1);
            assertThat(IndexApplier.drop(c, "public", "h_scratch_idx", Duration.ofMillis(500), 2,
                    Duration.ofMinutes(1))).as("gone: nothing to do").isZero();
        }
    }

    static IndexFact fact(long oid, String name, int[] keys, int[] includes, boolean unique, String predicate,
            long scans) {
        String classes = String.join(" ", java.util.Collections.nCopies(keys.length, "3124"));
        String zeros = String.join(" ", java.util.Collections.nCopies(keys.length, "0"));
        return new IndexFact(oid, "public", "t", name, "btree", keys, includes, classes, zeros, zeros, null,
                predicate, unique, true, false, false, false, false, scans, 8192, 100, "CREATE INDEX " + name
                        + " ON public.t USING btree (...)");
    }

    @Test
    void theRulesOnFactsAlone() {
        Instant now = Instant.parse("2026-12-01T00:00:00Z");
        Instant since = now.minus(Duration.ofDays(30));
        List<IndexFact> facts = List.of(
                fact(1, "a_b_c", new int[] { 1, 2, 3 }, new int[0], false, null, 10),
                fact(2, "a_b", new int[] { 1, 2 }, new int[0], false, null, 5),
                fact(3, "a", new int[] { 1 }, new int[0], false, null, 5),
                fact(4, "a_unique", new int[] { 8 }, new int[0], true, null, 0),
                fact(5, "a_partial", new int[] { 1 }, new int[0], false, "(x > 0)", 3),
                fact(6, "d_incl_e", new int[] { 4 }, new int[] { 5 }, false, null, 2),
                fact(7, "d", new int[] { 4 }, new int[0], false, null, 1),
                fact(8, "f_young", new int[] { 6 }, new int[0], false, null, 0),
                fact(9, "g_old", new int[] { 7 }, new int[0], false, null, 0));
        var review = IndexHygiene.review(facts, since, now, Duration.ofDays(7), Set.of("public.f_young"));
        Map<String, Finding> found = review.findings().stream()
                .collect(Collectors.toMap(f -> f.index().name(), f -> f));
        // a chain: both shorter ones are covered by the one that survives
        assertThat(found.get("a_b").coveredBy()).isEqualTo("public.a_b_c");
        assertThat(found.get("a").coveredBy()).isEqualTo("public.a_b_c");
        // an INCLUDE index covers the same keys without it
        assertThat(found.get("d").kind()).isEqualTo(Kind.Redundant);
        assertThat(found.get("d").coveredBy()).isEqualTo("public.d_incl_e");
        // a unique index enforces a rule; a partial one serves other rows; a young one is not judged yet
        assertThat(found).doesNotContainKeys("a_unique", "a_partial", "f_young", "a_b_c", "d_incl_e");
        assertThat(found.get("g_old").kind()).isEqualTo(Kind.Unused);
        assertThat(found.get("g_old").evidence()).contains("no index scan in 30 day(s)");
        assertThat(review.usageJudged()).isTrue();
        // an index that covers a redundant one is never itself dropped as unused: the scans it serves are theirs
        List<IndexFact> coverUnused = List.of(fact(1, "a_b", new int[] { 1, 2 }, new int[0], false, null, 0),
                fact(2, "a", new int[] { 1 }, new int[0], false, null, 9));
        Map<String, Finding> two = IndexHygiene.review(coverUnused, since, now, Duration.ofDays(7), Set.of())
                .findings().stream().collect(Collectors.toMap(f -> f.index().name(), f -> f));
        assertThat(two.keySet()).containsExactly("a");
    }
}
