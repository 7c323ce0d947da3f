package io.dbaoperator.operator;

import static io.dbaoperator.operator.OperatorAssertions.get;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.sql.Connection;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import io.dbaoperator.api.tuning.QueryTuningRequest;
import io.dbaoperator.api.tuning.QueryTuningRequestSpec;
import io.dbaoperator.api.tuning.QueryTuningRequestStatus;
import io.dbaoperator.api.tuning.TuningPhase;
import io.dbaoperator.harness.OperatorHarness;
import io.dbaoperator.harness.OperatorTier;
import io.dbaoperator.harness.TestKubernetes;
import io.dbaoperator.harness.TestPostgres;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;

/**
 * Index tuning end to end on real databases: EXPLAIN ANALYZE of a slow query, HypoPG costing on production, the
 * index built and measured on staging, approval, CREATE INDEX CONCURRENTLY on production (an INVALID leftover
 * dropped first), and the index's real use followed; a write is never executed on production.
 */
@OperatorTier
@QuarkusTest
@QuarkusTestResource(OperatorHarness.class)
class QueryTuningRequestTest {

    static final String NS = "tuning";
    static final String QUERY = "select id, total from orders where customer_id = $1 and created_at > $2 "
            + "order by created_at desc limit 20";
    static KubernetesClient client;

    @jakarta.inject.Inject
    io.dbaoperator.audit.AuditLog audit;

    @BeforeAll
    static void setUp() {
        client = TestKubernetes.get().namespace(NS);
        TestPostgres pg = TestPostgres.get();
        for (String db : List.of("tune_prod", "tune_staging")) {
            pg.createDatabase(db, "tuner", "tuner-pw");
            pg.exec(db, "drop table if exists orders",
                    "create table orders (id bigint primary key, customer_id int not null, status text not null, "
                            + "created_at timestamptz not null, total numeric not null)",
                    "alter table orders owner to tuner",
                    "insert into orders select g, g % 5000, case when g % 20 = 0 then 'open' else 'shipped' end, "
                            + "timestamptz '2026-11-01' - g * interval '1 minute', g % 1000 "
                            + "from generate_series(1, 100000) g",
                    "analyze orders");
        }
        pg.exec("tune_prod", "create extension if not exists hypopg");
        Fixtures.secret(client, NS, "prod-db", Fixtures.dbKeys("tune_prod", "tuner", "tuner-pw"));
        Fixtures.secret(client, NS, "staging-db", Fixtures.dbKeys("tune_staging", "tuner", "tuner-pw"));
    }

    @org.junit.jupiter.api.AfterAll
    static void dropDatabases() {
        // every later test backup copies the whole cluster: leave it the size it was
        for (String db : List.of("tune_prod", "tune_staging")) {
            TestPostgres.get().exec("postgres", "drop database if exists " + db + " with (force)");
        }
    }

    static QueryTuningRequest create(String name, String query, List<String> params, boolean staging,
            QueryTuningRequestSpec.Apply.Policy policy) {
        QueryTuningRequest q = new QueryTuningRequest();
        q.getMetadata().setName(name);
        q.getMetadata().setNamespace(NS);
        QueryTuningRequestSpec spec = new QueryTuningRequestSpec();
        spec.database = Fixtures.db("prod-db");
        spec.stagingDatabase = staging ? Fixtures.db("staging-db") : null;
        spec.query = query;
        spec.parameters = params;
        spec.apply.policy = policy;
        spec.unusedAfter = "4s";
        q.setSpec(spec);
        return client.resource(q).create();
    }

    static QueryTuningRequestStatus awaitPhase(String name, TuningPhase phase) {
        return awaitTuningPhase(NS, name, phase);
    }

    /** Waits until the request is in {@code phase}; fails at once if it failed instead. Returns its status. */
    static QueryTuningRequestStatus awaitTuningPhase(String ns, String name, TuningPhase phase) {
        return OperatorAssertions.awaitPhase(QueryTuningRequest.class, ns, name, phase, Duration.ofSeconds(90),
                TuningPhase.Failed);
    }

    /** A person approves the request's pending step, as the approval command does. */
    static void approveTuning(String ns, String name) {
        OperatorAssertions.approve(QueryTuningRequest.class, ns, name, null);
    }

    static long scalar(String db, String sql) throws Exception {
        try (Connection c = TestPostgres.get().superuser(db); ResultSet rs = c.createStatement().executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        }
    }

    @Test
    void theBestIndexIsCostedTestedOnStagingApprovedCreatedConcurrentlyAndFollowed() throws Exception {
        create("orders-by-customer", QUERY, List.of("42", "2026-10-01"), true,
                QueryTuningRequestSpec.Apply.Policy.AfterApproval);
        QueryTuningRequestStatus waiting = awaitPhase("orders-by-customer", TuningPhase.AwaitingApproval);
        assertThat(waiting.costingMethod).isEqualTo("hypopg on production");
        assertThat(waiting.analyzed.get(0).explain).startsWith("ANALYZE");
        assertThat(waiting.analyzed.get(0).findings).anySatisfy(f -> assertThat(f).startsWith("Seq Scan on public.orders"));
        QueryTuningRequestStatus.IndexRecommendation best = waiting.recommendations.get(0);
        assertThat(best.ddl).startsWith("CREATE INDEX CONCURRENTLY \"dba_orders_customer_id_created_at");
        assertThat(best.improvementPercent).isGreaterThan(30);
        assertThat(best.staging.used).isTrue();
        assertThat(best.staging.msAfter).isLessThan(best.staging.msBefore);
        assertThat(waiting.approvalRequest.step).isEqualTo("apply");
        assertThat(scalar("tune_staging", "select count(*) from pg_indexes where indexname like 'dba_%'"))
                .as("staging is left as it was").isZero();
        // a failed earlier build left an INVALID index under the very name the operator will use
        try (Connection c = TestPostgres.get().superuser("tune_prod")) {
            c.createStatement().execute("create unique index concurrently " + best.indexName + " on orders (status)");
        } catch (java.sql.SQLException expected) {
            // duplicate key: the INVALID index stays
        }
        assertThat(scalar("tune_prod", "select count(*) from pg_index i join pg_class c on c.oid = i.indexrelid "
                + "where c.relname = '" + best.indexName + "' and not i.indisvalid")).isEqualTo(1);

        approveTuning(NS, "orders-by-customer");
        QueryTuningRequestStatus monitoring = awaitPhase("orders-by-customer", TuningPhase.Monitoring);
        // a status write that lost a race repeats the step, which then finds the index there (both are fine)
        assertThat(monitoring.recommendations.get(0).applied).containsAnyOf("INVALID leftover", "exists and is valid");
        // the leftover (on status, INVALID) was replaced by the recommended index, valid
        assertThat(scalar("tune_prod", "select count(*) from pg_index i join pg_class c on c.oid = i.indexrelid "
                + "where c.relname = '" + best.indexName + "' and i.indisvalid and pg_get_indexdef(c.oid) like "
                + "'%(customer_id, created_at%'")).isEqualTo(1);
        assertThat(scalar("tune_prod", "select count(*) from pg_index where not indisvalid")).isZero();
        // the application runs the query: the index is used
        for (int i = 0; i < 5; i++) {
            scalar("tune_prod", "select count(*) from (select id from orders where customer_id = " + (i + 1)
                    + " and created_at > '2026-10-01' order by created_at desc limit 20) x");
        }
        QueryTuningRequestStatus done = awaitPhase("orders-by-customer", TuningPhase.Completed);
        assertThat(done.recommendations.get(0).usage.idxScan).isPositive();
        assertThat(done.recommendations.get(0).usage.unused).isFalse();
        assertThat(done.message).contains("is in use");
        assertThat(done.approvals).extracting(a -> a.step).containsExactly("apply");

        // the next request in the namespace ranks with that outcome as evidence
        create("after-learning", "select id from orders where status = $1 and total = $2", List.of("open", "5"),
                false, QueryTuningRequestSpec.Apply.Policy.RecommendOnly);
        await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> assertThat(get(QueryTuningRequest.class, NS,
                "after-learning").getStatus().ranking).contains("1 of 1 used"));
    }

    @Test
    void anApprovedIndexWhoseEveryStatusWriteMeetsAConflictOnceIsBuiltOnceAfterItsApprovalIsRecorded()
            throws Exception {
        TestPostgres.get().exec("tune_prod", "drop table if exists tune_conflicts",
                "create table tune_conflicts as select * from orders", "alter table tune_conflicts owner to tuner",
                "analyze tune_conflicts");
        TestKubernetes.get().api().interfere(io.dbaoperator.harness.FaultMatrix.everyOtherStatusWrite(NS,
                "querytuningrequests", "conflicts"));
        QueryTuningRequestStatus done;
        try {
            create("conflicts", "select id, total from tune_conflicts where customer_id = $1", List.of("77"), false,
                    QueryTuningRequestSpec.Apply.Policy.AfterApproval);
            awaitPhase("conflicts", TuningPhase.AwaitingApproval);
            assertThat(scalar("tune_prod", "select count(*) from pg_indexes where tablename = 'tune_conflicts'"))
                    .isZero();
            approveTuning(NS, "conflicts");
            done = awaitPhase("conflicts", TuningPhase.Completed);
            assertThat(scalar("tune_prod", "select count(*) from pg_index i join pg_class c on c.oid = i.indrelid "
                    + "where c.relname = 'tune_conflicts'")).as("one index").isEqualTo(1);
            assertThat(scalar("tune_prod", "select count(*) from pg_index i join pg_class c on c.oid = i.indrelid "
                    + "where c.relname = 'tune_conflicts' and i.indisvalid")).as("and valid").isEqualTo(1);
        } finally {
            TestKubernetes.get().api().interfere(null);
            TestPostgres.get().exec("tune_prod", "drop table if exists tune_conflicts");
        }
        assertThat(done.approvals).extracting(a -> a.step).containsExactly("apply");
        var approval = done.approvals.get(0);
        var best = done.recommendations.get(0);
        assertThat(best.appliedUnder).isEqualTo("apply approved by " + approval.approvedBy + " at "
                + approval.approvedAt + " for plan " + approval.planDigest);
        assertThat(java.time.Instant.parse(approval.approvedAt)).isBeforeOrEqualTo(java.time.Instant.parse(best.appliedAt));
        List<String> trail = audit.history(NS, "QueryTuningRequest", "conflicts").stream()
                .map(e -> e.action() + " " + e.outcome()).filter(e -> !e.startsWith("usage")).toList();
        assertThat(trail).containsExactly("approval approved", "apply succeeded", "follow-up unused");
        io.dbaoperator.harness.FaultMatrix.record("QueryTuningRequest", "every status write 409 once",
                "Completed; index built once (valid), 1 approval before CREATE INDEX CONCURRENTLY");
    }

    @Test
    void recommendOnlyCreatesNothing_AndAWriteIsOnlyExplained() throws Exception {
        create("recommend-only", "select id from orders where status = 'open' and total = $1", List.of("7"),
                false, QueryTuningRequestSpec.Apply.Policy.RecommendOnly);
        QueryTuningRequestStatus st = awaitPhase("recommend-only", TuningPhase.Recommended);
        assertThat(st.recommendations).isNotEmpty();
        // a partial index on the rare status: the rule writes WHERE "status" = 'open', the search prints PostgreSQL's
        // own form WHERE ("status" = 'open'::text); which of them ranks in the top three depends on the estimates
        assertThat(st.recommendations).anySatisfy(r -> assertThat(r.ddl).containsPattern(
                "WHERE \\(?\"status\" = 'open'(::text)?\\)?$"));
        String name = st.recommendations.get(0).indexName;
        assertThat(scalar("tune_prod", "select count(*) from pg_class where relname = '" + name + "'")).isZero();

        long before = scalar("tune_prod", "select count(*) from orders where status = 'cancelled'");
        create("a-write", "update orders set status = 'cancelled' where customer_id = $1", List.of("9"), false,
                QueryTuningRequestSpec.Apply.Policy.RecommendOnly);
        await().atMost(Duration.ofSeconds(60)).until(() -> {
            var s = get(QueryTuningRequest.class, NS, "a-write").getStatus();
            return s != null && (s.phase == TuningPhase.Recommended || s.phase == TuningPhase.NoRecommendation);
        });
        var w = get(QueryTuningRequest.class, NS, "a-write").getStatus();
        assertThat(w.analyzed.get(0).explain).startsWith("plain");
        assertThat(w.analyzed.get(0).executionMs).isNull();
        assertThat(scalar("tune_prod", "select count(*) from orders where status = 'cancelled'")).isEqualTo(before);
    }

    @Test
    void theSlowestStatementsComeFromPgStatStatements_AndABadQueryFailsWithTheDatabasesWords() throws Exception {
        // the set-up's load is not the workload: its rows would count as write overhead in workload mode
        TestPostgres.get().exec("tune_prod", "create extension if not exists pg_stat_statements",
                "select pg_stat_reset()", "select pg_stat_statements_reset()");
        // the application's role runs it (without pg_read_all_stats a role sees only its own statements' text)
        try (Connection app = java.sql.DriverManager.getConnection(TestPostgres.get().jdbcUrl("tune_prod"), "tuner",
                "tuner-pw")) {
            for (int i = 0; i < 5; i++) {
                app.createStatement().executeQuery("select count(*) from orders where total = " + i
                        + " and status = 'shipped'").close();
            }
        }
        QueryTuningRequest q = new QueryTuningRequest();
        q.getMetadata().setName("top-slow");
        q.getMetadata().setNamespace(NS);
        q.setSpec(new QueryTuningRequestSpec());
        q.getSpec().database = Fixtures.db("prod-db");
        q.getSpec().topSlowQueries = new QueryTuningRequestSpec.TopSlowQueries();
        q.getSpec().topSlowQueries.limit = 1;
        q.getSpec().topSlowQueries.minMeanTimeMs = 0;
        q.getSpec().apply.policy = QueryTuningRequestSpec.Apply.Policy.RecommendOnly;
        client.resource(q).create();
        await().atMost(Duration.ofSeconds(60)).until(() -> {
            var s = get(QueryTuningRequest.class, NS, "top-slow").getStatus();
            return s != null && (s.phase == TuningPhase.Recommended || s.phase == TuningPhase.NoRecommendation);
        });
        var top = get(QueryTuningRequest.class, NS, "top-slow").getStatus();
        assertThat(top.analyzed).hasSize(1);
        assertThat(top.analyzed.get(0).queryId).isNotBlank();
        assertThat(top.analyzed.get(0).query).contains("from orders where total = $1 and status = $2");
        assertThat(top.analyzed.get(0).explain).startsWith("generic");
        assertThat(top.recommendations).anySatisfy(r -> assertThat(r.ddl).contains("\"total\""));
        // topSlowQueries is workload mode: the set is chosen for the statements together
        assertThat(top.workload).isNotNull();
        assertThat(top.recommendations).anySatisfy(r -> assertThat(r.selected).isTrue());

        create("no-such-table", "select * from no_such_table where id = $1", List.of("1"), false,
                QueryTuningRequestSpec.Apply.Policy.RecommendOnly);
        QueryTuningRequestStatus failed = awaitPhase("no-such-table", TuningPhase.Failed);
        assertThat(failed.message).contains("relation \"no_such_table\" does not exist").contains("42P01");
    }

    @Test
    void expressionAndPartialIndexesAreBuiltForRealOnStagingBeforeTheApproval_ThenOnProduction() throws Exception {
        for (String db : List.of("tune_prod", "tune_staging")) {
            TestPostgres.get().exec(db, "drop table if exists members",
                    "create table members (id bigint primary key, email text not null, state text not null, "
                            + "joined date not null)",
                    "alter table members owner to tuner",
                    "insert into members select g, 'Member' || g || '@Example.org', case when g % 200 = 0 then "
                            + "'banned' else 'active' end, date '2026-01-01' + (g % 300) from generate_series(1, 80000) g",
                    "analyze members");
        }
        create("by-email", "select id from members where lower(email) = $1", List.of("member77@example.org"), true,
                QueryTuningRequestSpec.Apply.Policy.AfterApproval);
        create("banned", "select id, joined from members where state = 'banned' and joined > $1",
                List.of("2026-09-01"), true, QueryTuningRequestSpec.Apply.Policy.AfterApproval);
        QueryTuningRequestStatus email = awaitPhase("by-email", TuningPhase.AwaitingApproval);
        QueryTuningRequestStatus banned = awaitPhase("banned", TuningPhase.AwaitingApproval);
        QueryTuningRequestStatus.IndexRecommendation expr = email.recommendations.get(0);
        QueryTuningRequestStatus.IndexRecommendation part = banned.recommendations.get(0);
        assertThat(expr.ddl).contains("((lower(email)))");
        assertThat(part.ddl).contains(" WHERE ").contains("\"state\" = 'banned'");
        // built for real on staging, used there, faster there, and gone from staging again
        for (QueryTuningRequestStatus.IndexRecommendation r : List.of(expr, part)) {
            assertThat(r.staging.used).as(r.ddl).isTrue();
            assertThat(r.staging.costAfter).as(r.ddl).isLessThan(r.staging.costBefore);
        }
        assertThat(scalar("tune_staging", "select count(*) from pg_indexes where tablename = 'members' "
                + "and indexname like 'dba_%'")).isZero();
        approveTuning(NS, "by-email");
        approveTuning(NS, "banned");
        awaitPhase("by-email", TuningPhase.Monitoring);
        awaitPhase("banned", TuningPhase.Monitoring);
        assertThat(scalar("tune_prod", "select count(*) from pg_index i join pg_class c on c.oid = i.indexrelid "
                + "where c.relname = '" + expr.indexName + "' and i.indisvalid and pg_get_indexdef(c.oid) like "
                + "'%lower(email)%'")).isEqualTo(1);
        assertThat(scalar("tune_prod", "select count(*) from pg_index i join pg_class c on c.oid = i.indexrelid "
                + "where c.relname = '" + part.indexName + "' and i.indisvalid and i.indpred is not null"))
                .isEqualTo(1);
    }

    @Test
    void aWorkloadsSetIsApprovedOnceAndEachOfItsIndexesIsBuiltAndFollowed() throws Exception {
        TestPostgres.get().exec("tune_prod", "create extension if not exists pg_stat_statements",
                "drop table if exists tickets",
                "create table tickets (id bigint primary key, queue int not null, opened_at timestamptz not null, "
                        + "state text not null, total int not null)",
                "alter table tickets owner to tuner",
                "insert into tickets select g, g % 300, timestamptz '2026-11-01' - g * interval '1 minute', "
                        + "case when g % 50 = 0 then 'open' else 'closed' end, g % 997 from generate_series(1, 150000) g",
                "analyze tickets");
        // the load is not the workload: its rows would count as write overhead (a session's counts reach shared
        // memory within a second)
        Thread.sleep(1500);
        TestPostgres.get().exec("tune_prod", "select pg_stat_reset()", "select pg_stat_statements_reset()");
        try (Connection app = java.sql.DriverManager.getConnection(TestPostgres.get().jdbcUrl("tune_prod"), "tuner",
                "tuner-pw")) {
            for (int i = 0; i < 5; i++) {
                app.createStatement().executeQuery("select id from tickets where queue = " + i
                        + " and opened_at > '2026-10-25'").close();
                app.createStatement().executeQuery("select id from tickets where queue = " + (i + 7)
                        + " order by opened_at limit 5").close();
                app.createStatement().executeQuery("select count(*) from tickets where total = " + i).close();
            }
        }
        QueryTuningRequest q = new QueryTuningRequest();
        q.getMetadata().setName("workload");
        q.getMetadata().setNamespace(NS);
        q.setSpec(new QueryTuningRequestSpec());
        q.getSpec().database = Fixtures.db("prod-db");
        q.getSpec().topSlowQueries = new QueryTuningRequestSpec.TopSlowQueries();
        q.getSpec().topSlowQueries.limit = 3;
        q.getSpec().topSlowQueries.minMeanTimeMs = 0;
        q.getSpec().unusedAfter = "4s";
        client.resource(q).create();
        QueryTuningRequestStatus waiting = awaitPhase("workload", TuningPhase.AwaitingApproval);
        assertThat(waiting.analyzed).extracting(a -> a.query).allSatisfy(x -> assertThat(x).contains("tickets"));
        List<QueryTuningRequestStatus.IndexRecommendation> set = waiting.recommendations.stream()
                .filter(r -> Boolean.TRUE.equals(r.selected)).toList();
        // one index for the two reads by queue, one for the count by total
        assertThat(set).hasSize(2);
        assertThat(set).anySatisfy(r -> {
            assertThat(r.ddl).contains("(\"queue\", \"opened_at\"");
            assertThat(r.serves).hasSize(2);
        });
        assertThat(set).anySatisfy(r -> assertThat(r.ddl).contains("(\"total\""));
        assertThat(waiting.workload.indexes).containsExactlyInAnyOrderElementsOf(set.stream().map(r -> r.indexName)
                .toList());
        assertThat(waiting.workload.costAfter).isLessThan(waiting.workload.costBefore);
        assertThat(waiting.approvalRequest.reason).contains("2 indexes");
        assertThat(scalar("tune_prod", "select count(*) from pg_indexes where tablename = 'tickets' "
                + "and indexname like 'dba_%'")).as("nothing before the approval").isZero();

        approveTuning(NS, "workload");
        QueryTuningRequestStatus done = awaitPhase("workload", TuningPhase.Completed);
        for (QueryTuningRequestStatus.IndexRecommendation r : set) {
            assertThat(scalar("tune_prod", "select count(*) from pg_index i join pg_class c on c.oid = i.indexrelid "
                    + "where c.relname = '" + r.indexName + "' and i.indisvalid")).as(r.indexName).isEqualTo(1);
        }
        assertThat(done.recommendations.stream().filter(r -> Boolean.TRUE.equals(r.selected)))
                .hasSize(2).allSatisfy(r -> {
                    assertThat(r.applied).contains("created");
                    assertThat(r.appliedUnder).isNotBlank();
                    assertThat(r.usage).isNotNull();
                });
        assertThat(done.approvals).extracting(a -> a.step).containsExactly("apply");
        assertThat(scalar("tune_prod", "select count(*) from pg_indexes where tablename = 'tickets' "
                + "and indexname like 'dba_%'")).as("only the set").isEqualTo(2);
    }

    @Test
    void anAlertmanagerWebhookCreatesOneRequestPerAlert() throws Exception {
        int port = org.eclipse.microprofile.config.ConfigProvider.getConfig()
                .getOptionalValue("quarkus.http.test-port", Integer.class).orElse(8081);
        String payload = """
                {"version": "4", "status": "firing", "receiver": "dba-operator",
                 "alerts": [
                   {"status": "firing", "fingerprint": "8a1f0c2b9d3e4f50",
                    "labels": {"alertname": "PostgresSlowQuery", "namespace": "tuning", "database": "prod-db",
                               "queryid": "-4242424242", "apply_policy": "RecommendOnly"},
                    "annotations": {"summary": "mean time 2.3 s"}, "startsAt": "2026-11-21T10:00:00Z"},
                   {"status": "resolved", "fingerprint": "0b0b0b0b0b0b0b0b",
                    "labels": {"alertname": "PostgresSlowQuery", "namespace": "tuning", "database": "prod-db",
                               "queryid": "7"}}
                 ]}""";
        java.net.http.HttpClient http = java.net.http.HttpClient.newBuilder()
                .version(java.net.http.HttpClient.Version.HTTP_1_1).build(); // as Alertmanager posts
        java.net.http.HttpRequest post = java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://localhost:"
                + port + "/alerts/slow-query")).header("Content-Type", "application/json")
                .POST(java.net.http.HttpRequest.BodyPublishers.ofString(payload)).build();
        var first = http.send(post, java.net.http.HttpResponse.BodyHandlers.ofString());
        assertThat(first.statusCode()).isEqualTo(200);
        assertThat(first.body()).contains("\"created\":[\"tuning/slow-query-8a1f0c2b9d3e4f50\"]")
                .contains("0b0b0b0b0b0b0b0b: not firing");
        var again = http.send(post, java.net.http.HttpResponse.BodyHandlers.ofString());
        assertThat(again.body()).contains("\"existing\":[\"tuning/slow-query-8a1f0c2b9d3e4f50\"]")
                .contains("\"created\":[]");
        QueryTuningRequest made = get(QueryTuningRequest.class, NS, "slow-query-8a1f0c2b9d3e4f50");
        assertThat(made.getSpec().queryId).isEqualTo("-4242424242");
        assertThat(made.getSpec().database.secretRef.name).isEqualTo("prod-db");
        assertThat(made.getSpec().apply.policy).isEqualTo(QueryTuningRequestSpec.Apply.Policy.RecommendOnly);
        assertThat(made.getMetadata().getAnnotations()).containsEntry("dbaoperator.io/alert-summary",
                "mean time 2.3 s");
        assertThat(client.resources(QueryTuningRequest.class).inNamespace(NS).list().getItems())
                .filteredOn(x -> x.getMetadata().getName().startsWith("slow-query-")).hasSize(1);
        // the queryid is not in pg_stat_statements of that database: a normal outcome, said so
        await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> assertThat(get(QueryTuningRequest.class, NS,
                "slow-query-8a1f0c2b9d3e4f50").getStatus().message).contains("queryid -4242424242 is not in "
                        + "pg_stat_statements"));
    }
}
