package io.dbaoperator.operator;

import static io.dbaoperator.operator.OperatorAssertions.get;
import static org.assertj.core.api.Assertions.assertThat;

import java.sql.SQLException;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import io.dbaoperator.api.migration.DatabaseMigration;
import io.dbaoperator.api.migration.DatabaseMigrationSpec;
import io.dbaoperator.api.migration.DatabaseMigrationStatus;
import io.dbaoperator.api.migration.MigrationPhase;
import io.dbaoperator.harness.OperatorHarness;
import io.dbaoperator.harness.OperatorTier;
import io.dbaoperator.harness.TestPostgres;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;

/**
 * The statements that once ran unapproved as a migration's expand, on the real PostgreSQL and the real control plane:
 * as expand each is refused at planning and nothing runs (the catalog and the row counts say so); as contract each
 * waits for a person's approval bound to its text, touches nothing while it waits, and runs once approved.
 */
@OperatorTier
@QuarkusTest
@QuarkusTestResource(OperatorHarness.class)
class FailClosedGateTest {

    static final String NS = "gate";
    static KubernetesClient client;

    /** Each statement, and a name for the databases it runs against. */
    static final Map<String, String> STATEMENTS = new LinkedHashMap<>();

    static {
        STATEMENTS.put("schema", "DROP SCHEMA s CASCADE");
        STATEMENTS.put("view", "DROP VIEW vv");
        STATEMENTS.put("matview", "DROP MATERIALIZED VIEW mv");
        STATEMENTS.put("sequence", "DROP SEQUENCE sq");
        STATEMENTS.put("function", "DROP FUNCTION f()");
        STATEMENTS.put("type", "DROP TYPE ty CASCADE");
        STATEMENTS.put("constraint", "ALTER TABLE t DROP CONSTRAINT ck");
        STATEMENTS.put("delete", "DELETE FROM t WHERE id > 50");
        STATEMENTS.put("update", "UPDATE t SET v = NULL");
        STATEMENTS.put("unlogged", "ALTER TABLE t SET UNLOGGED");
        STATEMENTS.put("droptable", "DROP TABLE IF EXISTS t CASCADE");
    }

    @BeforeAll
    static void setUp() {
        client = Fixtures.namespace(NS);
    }

    @Test
    void asExpandEachIsRefusedAtPlanningAndNothingRuns() throws Exception {
        Map<String, Map<String, Long>> before = new LinkedHashMap<>();
        for (var e : STATEMENTS.entrySet()) {
            String db = "gate_expand_" + e.getKey();
            database(db);
            before.put(e.getKey(), catalog(db));
            DatabaseMigration m = migration("expand-" + e.getKey(), db, "ALTER TABLE t ADD COLUMN added text;\n"
                    + e.getValue());
            client.resource(m).create();
        }
        for (var e : STATEMENTS.entrySet()) {
            String name = "expand-" + e.getKey();
            DatabaseMigrationStatus st = OperatorAssertions.awaitPhase(DatabaseMigration.class, NS, name,
                    MigrationPhase.Failed, Duration.ofSeconds(60));
            assertThat(st.failedStep).isEqualTo("planning");
            assertThat(st.message).as(name).contains("destructive-in-expand", e.getValue(), "move this statement "
                    + "to contract");
            assertThat(st.findings).as(name).anySatisfy(f -> {
                assertThat(f.rule).isEqualTo("destructive-in-expand");
                assertThat(f.statement).isEqualTo(e.getValue());
            });
            assertThat(st.plan).filteredOn(p -> p.sql.equals(e.getValue())).singleElement()
                    .satisfies(p -> assertThat(p.statementClass).isEqualTo("destructive"));
            String db = "gate_expand_" + e.getKey();
            assertThat(catalog(db)).as("%s touched nothing", e.getValue()).isEqualTo(before.get(e.getKey()));
            assertThat(scalar(db, "select count(*) from pg_attribute where attname = 'added' and not attisdropped"))
                    .as("the additive statement before it did not run either").isZero();
        }
    }

    @Test
    void asContractEachWaitsForApprovalOfItsTextTouchesNothingAndRunsOnceApproved() throws Exception {
        Map<String, Map<String, Long>> before = new LinkedHashMap<>();
        for (var e : STATEMENTS.entrySet()) {
            String db = "gate_contract_" + e.getKey();
            database(db);
            before.put(e.getKey(), catalog(db));
            DatabaseMigration m = migration("contract-" + e.getKey(), db, "ALTER TABLE t ADD COLUMN added text");
            m.getSpec().contract = new DatabaseMigrationSpec.SqlStep(e.getValue());
            client.resource(m).create();
        }
        for (var e : STATEMENTS.entrySet()) {
            String name = "contract-" + e.getKey();
            OperatorAssertions.awaitPhase(DatabaseMigration.class, NS, name, MigrationPhase.AwaitingCutover,
                    Duration.ofSeconds(90));
            OperatorAssertions.approve(DatabaseMigration.class, NS, name, null); // the cutover
        }
        for (var e : STATEMENTS.entrySet()) {
            String name = "contract-" + e.getKey();
            String db = "gate_contract_" + e.getKey();
            OperatorAssertions.awaitPhase(DatabaseMigration.class, NS, name, MigrationPhase.AwaitingApproval,
                    Duration.ofSeconds(60));
            DatabaseMigrationStatus st = get(DatabaseMigration.class, NS, name).getStatus();
            assertThat(st.approvalRequest.step).isEqualTo("contract");
            assertThat(st.approvalRequest.reason).as(name).contains("destructive", e.getValue());
            Thread.sleep(200);
            assertThat(catalog(db)).as("%s waits: nothing touched", e.getValue()).isEqualTo(before.get(e.getKey()));
            OperatorAssertions.approve(DatabaseMigration.class, NS, name, st.planDigest);
        }
        for (var e : STATEMENTS.entrySet()) {
            String name = "contract-" + e.getKey();
            String db = "gate_contract_" + e.getKey();
            OperatorAssertions.awaitPhase(DatabaseMigration.class, NS, name, MigrationPhase.Completed,
                    Duration.ofSeconds(60));
            assertThat(catalog(db)).as("%s ran once approved", e.getValue()).isNotEqualTo(before.get(e.getKey()));
            assertThat(get(DatabaseMigration.class, NS, name).getStatus().approvals).extracting(a -> a.step)
                    .containsExactly("cutover", "contract");
        }
    }

    @Test
    void aLockHeavyStatementIsRefusedInEitherStep() throws Exception {
        database("gate_vacuum");
        Map<String, Long> before = catalog("gate_vacuum");
        DatabaseMigration m = migration("contract-vacuum", "gate_vacuum", "ALTER TABLE t ADD COLUMN added text");
        m.getSpec().contract = new DatabaseMigrationSpec.SqlStep("VACUUM FULL t");
        client.resource(m).create();
        DatabaseMigrationStatus st = OperatorAssertions.awaitPhase(DatabaseMigration.class, NS, "contract-vacuum",
                MigrationPhase.Failed, Duration.ofSeconds(60));
        assertThat(st.message).contains("ban-vacuum-full", "ACCESS EXCLUSIVE", "pg_repack");
        assertThat(catalog("gate_vacuum")).isEqualTo(before);
    }

    // --- helpers ---

    /** Objects of every kind the statements destroy, owned by app, and 100 rows in t. */
    static void database(String db) {
        TestPostgres pg = TestPostgres.get();
        pg.createDatabase(db, "app", Fixtures.APP_PASSWORD);
        pg.exec(db, "drop schema if exists dba_operator cascade", "drop schema if exists s cascade",
                "drop table if exists t cascade", "drop sequence if exists sq", "drop function if exists f()",
                "drop type if exists ty cascade",
                "create schema s authorization app", "create table s.items (id int)",
                "insert into s.items select generate_series(1, 20)", "alter table s.items owner to app",
                "create type ty as (a int, b text)", "alter type ty owner to app",
                "create table t (id bigint primary key, v text, w ty, constraint ck check (id > 0))",
                "insert into t select g, 'v' || g, row(g, 'x')::ty from generate_series(1, 100) g",
                "alter table t owner to app", "create view vv as select id from t", "alter view vv owner to app",
                "create materialized view mv as select count(*) from t", "alter materialized view mv owner to app",
                "create sequence sq", "alter sequence sq owner to app",
                "create function f() returns int language sql as 'select 1'", "alter function f() owner to app",
                "analyze t");
        Map<String, String> keys = new java.util.HashMap<>(Fixtures.appDbKeys());
        keys.put("dbname", db);
        Fixtures.secret(client, NS, secret(db), keys);
    }

    static String secret(String db) {
        return db.replace('_', '-') + "-db";
    }

    static DatabaseMigration migration(String name, String db, String expand) {
        DatabaseMigration m = new DatabaseMigration();
        m.getMetadata().setName(name);
        m.getMetadata().setNamespace(NS);
        DatabaseMigrationSpec spec = new DatabaseMigrationSpec();
        spec.database = Fixtures.db(secret(db));
        spec.expand = new DatabaseMigrationSpec.SqlStep(expand);
        spec.rollback = new DatabaseMigrationSpec.SqlStep("ALTER TABLE t DROP COLUMN IF EXISTS added");
        m.setSpec(spec);
        return m;
    }

    /** What a person would check: each object, the rows of t and s.items, the values of t.v, t's persistence. */
    static Map<String, Long> catalog(String db) throws SQLException {
        Map<String, Long> seen = new LinkedHashMap<>();
        for (String q : List.of("select count(*) from pg_namespace where nspname = 's'",
                "select count(*) from pg_views where viewname = 'vv'",
                "select count(*) from pg_matviews where matviewname = 'mv'",
                "select count(*) from pg_class where relname = 'sq' and relkind = 'S'",
                "select count(*) from pg_proc where proname = 'f'",
                "select count(*) from pg_type where typname = 'ty'",
                "select count(*) from pg_attribute where attname = 'w' and attrelid = to_regclass('public.t')",
                "select count(*) from pg_constraint where conname = 'ck'",
                "select count(*) from pg_class where relname = 't' and relpersistence = 'p'",
                "select count(*) from pg_class where relname = 't'")) {
            seen.put(q, scalar(db, q));
        }
        if (seen.get("select count(*) from pg_class where relname = 't'") > 0) {
            seen.put("rows of t", scalar(db, "select count(*) from t"));
            seen.put("values of t.v", scalar(db, "select count(v) from t"));
        }
        if (seen.get("select count(*) from pg_namespace where nspname = 's'") > 0) {
            seen.put("rows of s.items", scalar(db, "select count(*) from s.items"));
        }
        return seen;
    }

    static long scalar(String db, String sql) throws SQLException {
        return DatabaseMigrationTest.scalar(db, sql);
    }
}
