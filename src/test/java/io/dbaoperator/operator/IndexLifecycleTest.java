package io.dbaoperator.operator;

import static io.dbaoperator.operator.OperatorAssertions.get;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.AfterAll;
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
 * An index's life after the advice, end to end on the real API server and PostgreSQL: index hygiene (the review,
 * approval, DROP INDEX CONCURRENTLY of what is still worth dropping, the definition kept to recreate it) and the
 * closed loop (the statement's real mean time from pg_stat_statements before and after an applied index; an index
 * that brought nothing proposed for removal and dropped after approval).
 */
@OperatorTier
@QuarkusTest
@QuarkusTestResource(OperatorHarness.class)
class IndexLifecycleTest {

    static final String NS = "tuning-lifecycle";
    static final String HYGIENE_DB = "tune_hygiene";
    static final String LOOP_DB = "tune_loop";
    static KubernetesClient client;

    @jakarta.inject.Inject
    io.dbaoperator.audit.AuditLog audit;

    @BeforeAll
    static void setUp() {
        client = TestKubernetes.get().namespace(NS);
        TestPostgres pg = TestPostgres.get();
        for (String db : List.of(HYGIENE_DB, LOOP_DB)) {
            pg.createDatabase(db, "tuner", "tuner-pw");
            Fixtures.secret(client, NS, db.replace('_', '-'), Fixtures.dbKeys(db, "tuner",
                    "tuner-pw"));
        }
        pg.exec(HYGIENE_DB, "drop table if exists items",
                "create table items (id bigint primary key, sku text not null, shelf int not null, "
                        + "created_at timestamptz not null)",
                "alter table items owner to tuner",
                "insert into items select g, 'sku-' || (g % 100), g % 40, timestamptz '2026-01-01' + g * interval "
                        + "'1 minute' from generate_series(1, 20000) g",
                "create index items_shelf_idx on items (shelf)",
                "create index items_created_idx on items (created_at)",
                "create index items_created_twin on items (created_at)",
                "create index items_sku_idx on items (sku)",
                "analyze items",
                "create schema if not exists conflicts authorization tuner",
                "create table conflicts.parts (id bigint primary key, kind int not null, size int not null)",
                "alter table conflicts.parts owner to tuner",
                "insert into conflicts.parts select g, g % 10, g % 7 from generate_series(1, 5000) g",
                "create index parts_kind on conflicts.parts (kind)",
                "create index parts_kind_size on conflicts.parts (kind, size)",
                "create index parts_size on conflicts.parts (size)",
                "create index parts_size_twin on conflicts.parts (size)");
        pg.exec(LOOP_DB, "create extension if not exists pg_stat_statements", "create extension if not exists hypopg",
                "drop table if exists visits",
                "create table visits (id bigint primary key, site int not null, path text not null, ms int not null)",
                "alter table visits owner to tuner",
                "insert into visits select g, g % 2000, '/p/' || (g % 97), g % 300 from generate_series(1, 200000) g",
                "analyze visits");
    }

    @AfterAll
    static void dropDatabases() {
        for (String db : List.of(HYGIENE_DB, LOOP_DB)) {
            TestPostgres.get().exec("postgres", "drop database if exists " + db + " with (force)");
        }
    }

    static QueryTuningRequestStatus awaitPhase(String name, TuningPhase phase) {
        return QueryTuningRequestTest.awaitTuningPhase(NS, name, phase);
    }

    static void approve(String name) {
        QueryTuningRequestTest.approveTuning(NS, name);
    }

    static boolean indexExists(String db, String name) throws Exception {
        try (Connection c = TestPostgres.get().superuser(db);
                PreparedStatement ps = c.prepareStatement("select 1 from pg_class where relname = ?")) {
            ps.setString(1, name);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next();
            }
        }
    }

    /** The application's own queries, as its role, in a session that ends (and so flushes its statistics). */
    static void application(String db, String sql, int times, boolean indexScansOnly) throws Exception {
        try (Connection app = java.sql.DriverManager.getConnection(TestPostgres.get().jdbcUrl(db), "tuner",
                "tuner-pw")) {
            if (indexScansOnly) {
                app.createStatement().execute("set enable_seqscan = off");
                app.createStatement().execute("set enable_bitmapscan = off");
            }
            try (PreparedStatement ps = app.prepareStatement(sql)) {
                for (int i = 0; i < times; i++) {
                    ps.setInt(1, 1 + i % 50);
                    ps.executeQuery().close();
                }
            }
        }
    }

    @Test
    void anApprovedHygieneReviewDropsWhatIsStillWorthDropping_AndItsDefinitionRecreatesIt() throws Exception {
        QueryTuningRequest q = new QueryTuningRequest();
        q.getMetadata().setName("hygiene");
        q.getMetadata().setNamespace(NS);
        q.setSpec(new QueryTuningRequestSpec());
        q.getSpec().database = Fixtures.db("tune-hygiene");
        q.getSpec().indexHygiene = new QueryTuningRequestSpec.IndexHygiene();
        q.getSpec().indexHygiene.minObservation = "0s";
        q.getSpec().indexHygiene.schemas = List.of("public");
        client.resource(q).create();
        QueryTuningRequestStatus waiting = awaitPhase("hygiene", TuningPhase.AwaitingApproval);
        assertThat(waiting.approvalRequest.step).isEqualTo("drop");
        assertThat(waiting.indexFindings).extracting(f -> f.index + " " + f.finding).containsExactlyInAnyOrder(
                "public.items_created_twin Duplicate", "public.items_created_idx Unused",
                "public.items_shelf_idx Unused", "public.items_sku_idx Unused");
        var twin = waiting.indexFindings.stream().filter(f -> f.finding.equals("Duplicate")).findFirst().orElseThrow();
        assertThat(twin.coveredBy).isEqualTo("public.items_created_idx");
        assertThat(waiting.indexFindings).allSatisfy(f -> {
            assertThat(f.drop).startsWith("DROP INDEX CONCURRENTLY IF EXISTS \"public\".");
            assertThat(f.recreate).startsWith("CREATE INDEX CONCURRENTLY ").contains(" ON public.items USING btree ");
            assertThat(f.sizeBytes).isPositive();
        });
        assertThat(indexExists(HYGIENE_DB, "items_shelf_idx")).as("nothing dropped before the approval").isTrue();

        // before the approval, the application starts using one of them: it is kept when reviewed again
        application(HYGIENE_DB, "select id from items where shelf = ?", 3, true);
        await().atMost(Duration.ofSeconds(20)).until(() -> {
            try (Connection c = TestPostgres.get().superuser(HYGIENE_DB); ResultSet rs = c.createStatement()
                    .executeQuery("select idx_scan from pg_stat_user_indexes where indexrelname = 'items_shelf_idx'")) {
                return rs.next() && rs.getLong(1) > 0;
            }
        });
        approve("hygiene");
        QueryTuningRequestStatus done = awaitPhase("hygiene", TuningPhase.Completed);
        assertThat(done.indexFindings).filteredOn(f -> f.index.equals("public.items_shelf_idx")).singleElement()
                .satisfies(f -> assertThat(f.outcome).startsWith("kept: no longer unused"));
        assertThat(indexExists(HYGIENE_DB, "items_shelf_idx")).isTrue();
        assertThat(indexExists(HYGIENE_DB, "items_created_twin")).isFalse();
        assertThat(indexExists(HYGIENE_DB, "items_sku_idx")).isFalse();
        assertThat(indexExists(HYGIENE_DB, "items_pkey")).as("a constraint's index is never proposed").isTrue();
        assertThat(done.message).startsWith("dropped 3 of 4 index(es) under drop approved by ");
        // the twin's keeper was itself unused: both go, as approved
        assertThat(indexExists(HYGIENE_DB, "items_created_idx")).isFalse();
        // a dropped index's definition brings it back as it was
        var sku = done.indexFindings.stream().filter(f -> f.index.equals("public.items_sku_idx")).findFirst()
                .orElseThrow();
        assertThat(sku.droppedAt).isNotNull();
        try (Connection c = TestPostgres.get().superuser(HYGIENE_DB)) {
            c.createStatement().execute(sku.recreate);
            try (ResultSet rs = c.createStatement().executeQuery("select pg_get_indexdef('items_sku_idx'::regclass)")) {
                rs.next();
                assertThat(rs.getString(1)).isEqualTo(sku.definition);
            }
        }
        assertThat(done.approvals).extracting(a -> a.step).containsExactly("drop");
    }

    @Test
    void anAppliedIndexIsJudgedByTheStatementsRealMeanTime_AndOneThatBroughtNothingIsRemovedAfterApproval()
            throws Exception {
        String query = "select id, ms from visits where site = $1";
        // the application has been running the statement without an index
        application(LOOP_DB, "select id, ms from visits where site = ?", 20, false);
        QueryTuningRequest q = new QueryTuningRequest();
        q.getMetadata().setName("loop");
        q.getMetadata().setNamespace(NS);
        q.setSpec(new QueryTuningRequestSpec());
        q.getSpec().database = Fixtures.db("tune-loop");
        q.getSpec().query = query;
        q.getSpec().parameters = List.of("7");
        q.getSpec().apply.policy = QueryTuningRequestSpec.Apply.Policy.Automatic;
        q.getSpec().unusedAfter = "8s";
        client.resource(q).create();
        QueryTuningRequestStatus monitoring = awaitPhase("loop", TuningPhase.Monitoring);
        var baseline = monitoring.recommendations.get(0).measured;
        assertThat(baseline.queryId).as("EXPLAIN VERBOSE gave the statement's queryid")
                .isEqualTo(monitoring.analyzed.get(0).queryId);
        assertThat(baseline.callsBefore).isGreaterThanOrEqualTo(20);
        assertThat(baseline.meanMsBefore).isPositive();
        // and goes on running it, now with the index
        application(LOOP_DB, "select id, ms from visits where site = ?", 20, false);
        QueryTuningRequestStatus done = awaitPhase("loop", TuningPhase.Completed);
        var measured = done.recommendations.get(0).measured;
        assertThat(measured.callsAfter).isGreaterThanOrEqualTo(20);
        assertThat(measured.meanMsAfter).isLessThan(measured.meanMsBefore);
        assertThat(measured.gainPercent).isGreaterThan(50);
        assertThat(measured.verdict).isEqualTo("improved");
        assertThat(done.message).contains("is in use").contains("improved");

        // an index the application then never uses: reported, proposed for removal, dropped after approval
        QueryTuningRequest idle = new QueryTuningRequest();
        idle.getMetadata().setName("idle");
        idle.getMetadata().setNamespace(NS);
        idle.setSpec(new QueryTuningRequestSpec());
        idle.getSpec().database = Fixtures.db("tune-loop");
        idle.getSpec().query = "select id from visits where path = $1 and ms = $2";
        idle.getSpec().parameters = List.of("/p/3", "17");
        idle.getSpec().apply.policy = QueryTuningRequestSpec.Apply.Policy.Automatic;
        idle.getSpec().unusedAfter = "3s";
        idle.getSpec().followUp.onNoGain = QueryTuningRequestSpec.FollowUp.OnNoGain.ProposeRemoval;
        client.resource(idle).create();
        QueryTuningRequestStatus proposed = awaitPhase("idle", TuningPhase.AwaitingRemovalApproval);
        String index = proposed.recommendations.get(0).indexName;
        assertThat(proposed.recommendations.get(0).measured.verdict).isEqualTo("unused");
        assertThat(proposed.approvalRequest.step).isEqualTo("remove");
        assertThat(indexExists(LOOP_DB, index)).as("kept until a person approves").isTrue();
        approve("idle");
        QueryTuningRequestStatus removed = awaitPhase("idle", TuningPhase.Completed);
        assertThat(indexExists(LOOP_DB, index)).isFalse();
        assertThat(removed.recommendations.get(0).removedAt).isNotNull();
        assertThat(removed.recommendations.get(0).removedUnder).startsWith("remove approved by ");
        assertThat(removed.message).contains("recreate it with: " + removed.recommendations.get(0).ddl);

        // the next request ranks with both measured outcomes as evidence
        QueryTuningRequest next = new QueryTuningRequest();
        next.getMetadata().setName("next");
        next.getMetadata().setNamespace(NS);
        next.setSpec(new QueryTuningRequestSpec());
        next.getSpec().database = Fixtures.db("tune-loop");
        next.getSpec().query = "select id from visits where ms = $1";
        next.getSpec().parameters = List.of("5");
        next.getSpec().apply.policy = QueryTuningRequestSpec.Apply.Policy.RecommendOnly;
        client.resource(next).create();
        await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> assertThat(get(QueryTuningRequest.class, NS,
                "next").getStatus().ranking).contains("of the estimated gain realized"));
    }

    @Test
    void aHygieneReviewWhoseEveryStatusWriteMeetsAConflictOnceDropsEachApprovedIndexOnce() throws Exception {
        QueryTuningRequest q = new QueryTuningRequest();
        q.getMetadata().setName("hygiene-conflicts");
        q.getMetadata().setNamespace(NS);
        q.setSpec(new QueryTuningRequestSpec());
        q.getSpec().database = Fixtures.db("tune-hygiene");
        q.getSpec().indexHygiene = new QueryTuningRequestSpec.IndexHygiene();
        q.getSpec().indexHygiene.minObservation = "0s";
        q.getSpec().indexHygiene.schemas = List.of("conflicts");
        TestKubernetes.get().api().interfere(io.dbaoperator.harness.FaultMatrix.everyOtherStatusWrite(NS,
                "querytuningrequests", "hygiene-conflicts"));
        QueryTuningRequestStatus done;
        int conflictsBefore = TestKubernetes.get().api().interfered();
        try {
            client.resource(q).create();
            QueryTuningRequestStatus waiting = awaitPhase("hygiene-conflicts", TuningPhase.AwaitingApproval);
            // parts_kind leads parts_kind_size; parts_size_twin duplicates parts_size, which is then unused as are
            // the others: the keeper of a redundant one stays
            assertThat(waiting.indexFindings).extracting(f -> f.index + " " + f.finding).containsExactlyInAnyOrder(
                    "conflicts.parts_size_twin Duplicate", "conflicts.parts_kind Redundant",
                    "conflicts.parts_size Unused");
            approve("hygiene-conflicts");
            done = awaitPhase("hygiene-conflicts", TuningPhase.Completed);
        } finally {
            TestKubernetes.get().api().interfere(null);
        }
        assertThat(TestKubernetes.get().api().interfered() - conflictsBefore).as("409s met").isGreaterThanOrEqualTo(3);
        assertThat(indexExists(HYGIENE_DB, "parts_kind")).isFalse();
        assertThat(indexExists(HYGIENE_DB, "parts_size")).isFalse();
        assertThat(indexExists(HYGIENE_DB, "parts_size_twin")).isFalse();
        assertThat(indexExists(HYGIENE_DB, "parts_kind_size")).isTrue();
        assertThat(indexExists(HYGIENE_DB, "parts_pkey")).isTrue();
        assertThat(done.approvals).extracting(a -> a.step).containsExactly("drop");
        // each drop that ran is recorded once, with the approval it ran under; a retry after a 409 finds the
        // index gone and says so instead of dropping again
        assertThat(done.indexFindings).allSatisfy(f -> assertThat(f.outcome).matches(o -> o.startsWith("dropped")
                || o.startsWith("already gone"), "dropped or already gone"));
        List<io.dbaoperator.audit.AuditEvent> drops = audit.history(NS, "QueryTuningRequest", "hygiene-conflicts")
                .stream().filter(e -> e.action().equals("drop")).toList();
        assertThat(drops).extracting(e -> e.details().get("index")).containsExactlyInAnyOrder(
                "conflicts.parts_size_twin", "conflicts.parts_kind", "conflicts.parts_size");
        assertThat(drops).allSatisfy(e -> assertThat(String.valueOf(e.details().get("approval")))
                .startsWith("drop approved by "));
        io.dbaoperator.harness.FaultMatrix.record("QueryTuningRequest (index hygiene)", "every status write 409 once",
                "Completed; 3 approved indexes dropped once each, 1 approval before the first DROP INDEX");
    }

    static QueryTuningRequest loopRequest(String ns, String name) {
        QueryTuningRequest q = new QueryTuningRequest();
        q.getMetadata().setName(name);
        q.getMetadata().setNamespace(ns);
        q.setSpec(new QueryTuningRequestSpec());
        q.getSpec().database = Fixtures.db("tune-loop");
        q.getSpec().query = "select id from visits where path = $1 and ms = $2";
        q.getSpec().parameters = List.of("/p/5", "29");
        q.getSpec().apply.policy = QueryTuningRequestSpec.Apply.Policy.Automatic;
        return q;
    }

    @Test
    void aRejectedIndexIsNeverBuilt() throws Exception {
        QueryTuningRequest q = loopRequest(NS, "nay");
        q.getSpec().parameters = List.of("/p/7", "11");
        q.getSpec().apply.policy = QueryTuningRequestSpec.Apply.Policy.AfterApproval;
        client.resource(q).create();
        String index = awaitPhase("nay", TuningPhase.AwaitingApproval).recommendations.get(0).indexName;
        OperatorAssertions.reject(QueryTuningRequest.class, NS, "nay");
        QueryTuningRequestStatus done = awaitPhase("nay", TuningPhase.Rejected);
        assertThat(done.rejection.step).isEqualTo("apply");
        assertThat(done.approvals == null || done.approvals.isEmpty()).isTrue();
        assertThat(indexExists(LOOP_DB, index)).isFalse();
    }

    static void awaitWaitingFor(String ns, String name, String window) {
        await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> {
            QueryTuningRequestStatus st = get(QueryTuningRequest.class, ns, name).getStatus();
            assertThat(st.phase).isEqualTo(TuningPhase.Applying);
            assertThat(st.waitingForWindow).endsWith("-12-31T23:00:00Z");
            assertThat(st.conditions).anySatisfy(c -> {
                assertThat(c.reason).isEqualTo("OutsideMaintenanceWindow");
                assertThat(c.message).contains("waits: outside the maintenance window (" + window + "); "
                        + "the next opens at ").contains("-12-31T23:00:00Z");
            });
        });
    }

    @Test
    void anIndexWaitsForItsMaintenanceWindow_OwnOrItsNamespaces_AndTheRequestSaysWhenThatOpens() throws Exception {
        // New Year's Eve at 23:00 only: not now
        QueryTuningRequest own = loopRequest(NS, "windowed");
        own.getSpec().maintenanceWindow = new io.dbaoperator.api.common.MaintenanceWindow("0 23 31 12 *", "1h", "UTC");
        client.resource(own).create();
        // a namespace whose default is that window: one request without a window of its own waits for it, one with
        // its own (always open) does not
        String windowed = "tuning-windowed";
        TestKubernetes.get().namespace(windowed);
        client.namespaces().withName(windowed).edit(n -> new io.fabric8.kubernetes.api.model.NamespaceBuilder(n)
                .editMetadata().addToAnnotations(io.dbaoperator.kube.MaintenanceWindows.NAMESPACE_ANNOTATION,
                        "{\"schedule\": \"0 23 31 12 *\", \"duration\": \"1h\"}").endMetadata().build());
        TestPostgres pg = TestPostgres.get();
        Fixtures.secret(client, windowed, "tune-loop", Fixtures.dbKeys(LOOP_DB, "tuner", "tuner-pw"));
        client.resource(loopRequest(windowed, "by-namespace")).create();

        awaitWaitingFor(NS, "windowed", "0 23 31 12 * for 1h, UTC");
        awaitWaitingFor(windowed, "by-namespace", "0 23 31 12 * for 1h, UTC, namespace tuning-windowed's default");
        String index = get(QueryTuningRequest.class, NS, "windowed").getStatus().recommendations.get(0).indexName;
        assertThat(indexExists(LOOP_DB, index)).as("analysis ran, the index waits").isFalse();

        QueryTuningRequest free = loopRequest(windowed, "own-window");
        free.getSpec().maintenanceWindow = new io.dbaoperator.api.common.MaintenanceWindow("* * * * *", "2m", "UTC");
        client.resource(free).create();
        await().atMost(Duration.ofSeconds(90)).untilAsserted(() -> assertThat(get(QueryTuningRequest.class, windowed,
                "own-window").getStatus().phase).as("its own window, over the namespace's")
                .isIn(TuningPhase.Monitoring, TuningPhase.Completed));
        String applied = get(QueryTuningRequest.class, windowed, "own-window").getStatus().recommendations.get(0)
                .indexName;
        assertThat(indexExists(LOOP_DB, applied)).isTrue();
        // the other tests of this class measure visits without it
        client.resources(QueryTuningRequest.class).inNamespace(windowed).delete();
        client.resources(QueryTuningRequest.class).inNamespace(NS).withName("windowed").delete();
        pg.exec(LOOP_DB, "drop index if exists " + io.dbaoperator.sql.Identifiers.quote(applied));
    }
}
