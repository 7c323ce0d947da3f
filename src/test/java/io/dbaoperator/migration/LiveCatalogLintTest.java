package io.dbaoperator.migration;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Connection;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import io.dbaoperator.harness.RealParts;
import io.dbaoperator.harness.TestPostgres;
import io.dbaoperator.sql.QualifiedName;

/**
 * The lint rules again, with the planner asking a real PostgreSQL about the tables (in use, column types, unique
 * indexes, NOT NULL checks), and PostgreSQL's grammar checking each statement the rules are tried on.
 */
@RealParts
class LiveCatalogLintTest {

    static Connection c;

    @BeforeAll
    static void setUp() throws Exception {
        TestPostgres pg = TestPostgres.get();
        pg.createDatabase("lint_live", "app", "lint-live-pw");
        pg.exec("lint_live", "drop table if exists users, orgs cascade",
                "create table orgs (id bigint primary key)",
                "create table users (id bigint primary key, email varchar(100), checked text, age int, "
                        + "constraint checked_nn check (checked is not null))",
                "create unique index existing_unique on users (email)",
                "insert into users select g, 'u' || g, 'x', g from generate_series(1, 100) g", "analyze users");
        c = pg.superuser("lint_live");
    }

    @AfterAll
    static void tearDown() throws Exception {
        c.close();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("io.dbaoperator.migration.MigrationPlannerTest#rules")
    void ruleFiresOnlyOnTheUnsafeFormAgainstALiveCatalog(String rule, String unsafe, String safe) throws Exception {
        LiveCatalog catalog = new LiveCatalog(c);
        assertThat(SyntaxCheck.check(c, unsafe)).as("PostgreSQL parses %s", unsafe).isNull();
        assertThat(SyntaxCheck.check(c, safe)).as("PostgreSQL parses %s", safe).isNull();
        assertThat(MigrationPlannerTest.findings(unsafe, catalog)).extracting(f -> f.rule).contains(rule);
        assertThat(MigrationPlannerTest.findings(safe, catalog)).extracting(f -> f.rule).doesNotContain(rule);
    }

    @Test
    void catalogAnswers() {
        LiveCatalog catalog = new LiveCatalog(c);
        QualifiedName users = new QualifiedName(null, "users");
        assertThat(catalog.tableExists(users)).isTrue();
        assertThat(catalog.tableExists(new QualifiedName(null, "nope"))).isFalse();
        assertThat(catalog.columnType(users, "email")).contains("character varying(100)");
        assertThat(catalog.tableInUse(users)).isTrue();
        assertThat(catalog.indexExists("existing_unique", true)).isTrue();
        assertThat(catalog.hasNotNullCheck(users, "checked")).isTrue();
        assertThat(catalog.hasNotNullCheck(users, "age")).isFalse();
        String before = catalog.fingerprint(java.util.List.of(users));
        TestPostgres.get().exec("lint_live", "alter table users add column if not exists extra int");
        assertThat(catalog.fingerprint(java.util.List.of(users))).isNotEqualTo(before);
    }
}
