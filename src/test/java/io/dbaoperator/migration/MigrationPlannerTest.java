package io.dbaoperator.migration;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;

import org.junit.jupiter.params.ParameterizedTest;
import java.util.stream.Stream;

import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.Test;

import io.dbaoperator.api.migration.DatabaseMigrationSpec;
import io.dbaoperator.api.migration.DatabaseMigrationStatus.LintFinding;
import io.dbaoperator.sql.Catalog;
import io.dbaoperator.sql.QualifiedName;

/** Each lint rule fires on its unsafe form and stays quiet on the safe alternative. */
class MigrationPlannerTest {

    /** "users" exists, is in use, has email varchar(100); "existing_unique" is a valid unique index. */
    static final Catalog CATALOG = new Catalog() {
        @Override
        public boolean tableExists(QualifiedName table) {
            return table.name().equals("users") || table.name().equals("orgs");
        }

        @Override
        public java.util.Optional<String> columnType(QualifiedName table, String column) {
            return column.equals("email") ? java.util.Optional.of("character varying(100)") : java.util.Optional.empty();
        }

        @Override
        public boolean tableInUse(QualifiedName table) {
            return tableExists(table);
        }

        @Override
        public boolean indexExists(String name, boolean unique) {
            return name.equals("existing_unique");
        }

        @Override
        public boolean hasNotNullCheck(QualifiedName table, String column) {
            return column.equals("checked");
        }
    };

    /** Each rule, an unsafe statement that trips it, and the safe alternative that does not. */
    static Stream<Arguments> rules() {
        return Stream.of(
            Arguments.of("require-concurrent-index-creation", "CREATE INDEX users_email ON users (email)", "CREATE INDEX CONCURRENTLY users_email ON users (email)"),
            Arguments.of("require-concurrent-index-deletion", "DROP INDEX users_email", "DROP INDEX CONCURRENTLY users_email"),
            Arguments.of("adding-required-field", "ALTER TABLE users ADD COLUMN age int NOT NULL", "ALTER TABLE users ADD COLUMN age int NOT NULL DEFAULT 0"),
            Arguments.of("adding-field-with-volatile-default", "ALTER TABLE users ADD COLUMN token uuid DEFAULT gen_random_uuid()", "ALTER TABLE users ADD COLUMN token uuid"),
            Arguments.of("changing-column-type", "ALTER TABLE users ALTER COLUMN email TYPE varchar(50)", "ALTER TABLE users ALTER COLUMN email TYPE varchar(200)"),
            Arguments.of("constraint-missing-not-valid", "ALTER TABLE users ADD CONSTRAINT age_positive CHECK (age > 0)", "ALTER TABLE users ADD CONSTRAINT age_positive CHECK (age > 0) NOT VALID"),
            Arguments.of("disallowed-unique-constraint", "ALTER TABLE users ADD CONSTRAINT email_unique UNIQUE (email)", "ALTER TABLE users ADD CONSTRAINT email_unique UNIQUE USING INDEX existing_unique"),
            Arguments.of("renaming-column", "ALTER TABLE users RENAME COLUMN email TO mail", "ALTER TABLE users ADD COLUMN mail text"),
            Arguments.of("renaming-table", "ALTER TABLE users RENAME TO people", "CREATE TABLE people (id bigint)"),
            Arguments.of("ban-drop-column", "ALTER TABLE users DROP COLUMN email", "ALTER TABLE users ADD COLUMN email2 text"),
            Arguments.of("ban-drop-table", "DROP TABLE users", "CREATE TABLE users2 (id bigint)"),
            Arguments.of("ban-truncate", "TRUNCATE users", "CREATE TABLE t2 (id bigint)"),
            Arguments.of("require-lock-timeout", "SET lock_timeout = 0", "SET lock_timeout = '2s'"),
            Arguments.of("setting-not-nullable-field", "ALTER TABLE users ALTER COLUMN email SET NOT NULL", "ALTER TABLE users ALTER COLUMN checked SET NOT NULL"),
            Arguments.of("unbatched-dml", "UPDATE users SET email = lower(email)", "INSERT INTO users (email) VALUES ('a')"),
            Arguments.of("transaction-control", "BEGIN", "CREATE TABLE t3 (id bigint)"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("rules")
    void ruleFiresOnlyOnTheUnsafeForm(String rule, String unsafe, String safe) {
        assertThat(findings(unsafe)).extracting(f -> f.rule).contains(rule);
        assertThat(findings(safe)).extracting(f -> f.rule).doesNotContain(rule);
    }

    @Test
    void uniqueConstraintNeedsAUniqueIndexCreatedBefore() {
        assertThat(findings("CREATE UNIQUE INDEX CONCURRENTLY users_email_key ON users (email);"
                + "ALTER TABLE users ADD CONSTRAINT email_unique UNIQUE USING INDEX users_email_key"))
                .extracting(f -> f.rule).doesNotContain("disallowed-unique-constraint");
        assertThat(findings("ALTER TABLE users ADD CONSTRAINT email_unique UNIQUE USING INDEX nowhere"))
                .anySatisfy(f -> assertThat(f.message).contains("nowhere"));
    }

    @Test
    void tablesCreatedByTheMigrationAreNotLockedForAnyone() {
        assertThat(findings("CREATE TABLE audit (id bigint); CREATE INDEX audit_id ON audit (id); "
                + "ALTER TABLE audit ADD COLUMN at timestamptz NOT NULL")).isEmpty();
    }

    @Test
    void dropsAreExpectedInContractAndRollbackButStillReported() {
        DatabaseMigrationSpec spec = spec("ALTER TABLE users ADD COLUMN email_lower text");
        spec.contract = new DatabaseMigrationSpec.SqlStep("ALTER TABLE users DROP COLUMN email");
        spec.rollback = new DatabaseMigrationSpec.SqlStep("ALTER TABLE users DROP COLUMN email_lower");
        MigrationPlan plan = MigrationPlanner.plan(spec, CATALOG);
        assertThat(plan.findings()).extracting(f -> f.step + ":" + f.rule + ":" + f.severity)
                .containsExactly("contract:ban-drop-column:warning", "rollback:rollback-destroys-data:warning",
                        "rollback:ban-drop-column:info");
        assertThat(plan.hasErrors()).isFalse();
        assertThat(plan.destructive(MigrationPlan.CONTRACT)).isTrue();
        assertThat(plan.destructive(MigrationPlan.EXPAND)).isFalse();
        assertThat(plan.statements()).extracting(MigrationPlan.Planned::id)
                .containsExactly("expand#1", "contract#1", "rollback#1");
        assertThat(plan.statements().get(0).toStatus().lockLevel).isEqualTo("ACCESS EXCLUSIVE");
    }

    /** The statements that ran unapproved as expand before the gate failed closed. */
    static final List<String> ONCE_UNGATED = List.of("DROP SCHEMA s CASCADE", "DROP VIEW v", "DROP MATERIALIZED VIEW mv",
            "DROP SEQUENCE s", "DROP FUNCTION f()", "DROP TYPE ty CASCADE", "ALTER TABLE users DROP CONSTRAINT ck",
            "DELETE FROM users WHERE id > 50", "UPDATE users SET email = NULL", "ALTER TABLE users SET UNLOGGED",
            "DROP TABLE IF EXISTS users CASCADE", "FROBNICATE users");

    @Test
    void aDestructiveStatementInExpandIsRefusedWithWhereItBelongs() {
        for (String sql : ONCE_UNGATED) {
            MigrationPlan plan = MigrationPlanner.plan(spec("ALTER TABLE users ADD COLUMN a text; " + sql), CATALOG);
            assertThat(plan.hasErrors()).as(sql).isTrue();
            LintFinding f = plan.errors().stream().filter(e -> e.rule.equals("destructive-in-expand")).findFirst()
                    .orElseThrow(() -> new AssertionError("no destructive-in-expand for " + sql));
            assertThat(f.statement).isEqualTo(sql);
            assertThat(f.message).as(sql).contains("move this statement to contract", "approves its exact text");
            assertThat(plan.destructive(MigrationPlan.EXPAND)).isTrue();
            assertThat(plan.statements().get(1).toStatus().statementClass).isEqualTo("destructive");
            assertThat(plan.statements().get(1).toStatus().classReason).isNotBlank();
        }
        assertThat(MigrationPlanner.plan(spec("FROBNICATE users"), CATALOG).findings())
                .extracting(f -> f.rule + ":" + f.severity)
                .containsExactly("unrecognised-statement:warning", "destructive-in-expand:error");
        assertThat(MigrationPlanner.plan(spec("DELETE FROM users"), CATALOG).errors().get(0).message)
                .contains("spec.backfill");
    }

    @Test
    void theSameStatementsInContractWaitForApprovalBoundToThem() {
        for (String sql : ONCE_UNGATED) {
            DatabaseMigrationSpec spec = spec("ALTER TABLE users ADD COLUMN a text");
            spec.contract = new DatabaseMigrationSpec.SqlStep(sql);
            MigrationPlan plan = MigrationPlanner.plan(spec, CATALOG);
            assertThat(plan.errors()).as(sql).isEmpty();
            assertThat(plan.destructive(MigrationPlan.CONTRACT)).as(sql).isTrue();
            assertThat(plan.destructive(MigrationPlan.EXPAND)).isFalse();
        }
    }

    @Test
    void theGateRulesCannotBeAllowedAway() {
        DatabaseMigrationSpec spec = spec("DROP SCHEMA s CASCADE");
        spec.lint = new DatabaseMigrationSpec.Lint();
        spec.lint.allow = List.of("destructive-in-expand", "ban-vacuum-full");
        assertThat(MigrationPlanner.lockedRules(spec.lint)).containsExactly("destructive-in-expand");
        assertThat(MigrationPlanner.plan(spec, CATALOG).errors()).extracting(f -> f.rule)
                .contains("destructive-in-expand");
    }

    static Stream<Arguments> lockHeavy() {
        return Stream.of(
            Arguments.of("ban-vacuum-full", "VACUUM FULL users", "VACUUM users", "ACCESS EXCLUSIVE"),
            Arguments.of("ban-cluster", "CLUSTER users USING users_pkey", "ANALYZE users", "ACCESS EXCLUSIVE"),
            Arguments.of("require-concurrent-reindex", "REINDEX TABLE users", "REINDEX TABLE CONCURRENTLY users",
                    "CONCURRENTLY"),
            Arguments.of("ban-lock-table", "LOCK TABLE users IN ACCESS EXCLUSIVE MODE",
                    "LOCK TABLE users IN ROW EXCLUSIVE MODE", "ACCESS EXCLUSIVE"),
            Arguments.of("ban-set-tablespace", "ALTER TABLE users SET TABLESPACE fast", "ALTER TABLE users SET "
                    + "(fillfactor = 90)", "pg_repack"),
            Arguments.of("require-concurrent-refresh", "REFRESH MATERIALIZED VIEW mv",
                    "REFRESH MATERIALIZED VIEW CONCURRENTLY mv", "CONCURRENTLY"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("lockHeavy")
    void lockHeavyStatementsNameTheirLockAndTheSafeForm(String rule, String heavy, String safe, String advice) {
        for (String step : List.of(MigrationPlan.EXPAND, MigrationPlan.CONTRACT)) {
            DatabaseMigrationSpec spec = spec("ALTER TABLE users ADD COLUMN a text");
            if (step.equals(MigrationPlan.EXPAND)) {
                spec.expand = new DatabaseMigrationSpec.SqlStep(heavy);
            } else {
                spec.contract = new DatabaseMigrationSpec.SqlStep(heavy);
            }
            List<LintFinding> found = MigrationPlanner.plan(spec, CATALOG).findings();
            assertThat(found).as(step + ": " + heavy).anySatisfy(f -> {
                assertThat(f.rule).isEqualTo(rule);
                assertThat(f.severity).isEqualTo("error");
                assertThat(f.message).contains(advice);
            });
        }
        assertThat(findings(safe)).extracting(f -> f.rule).doesNotContain(rule);
    }

    @Test
    void aRollbackThatDropsWhatExpandDidNotAddIsRefusedAndOneThatDropsDataSaysSo() {
        DatabaseMigrationSpec spec = spec("ALTER TABLE users ADD COLUMN email_lower text; CREATE TABLE audit (id int)");
        spec.rollback = new DatabaseMigrationSpec.SqlStep("ALTER TABLE users DROP COLUMN email_lower; DROP TABLE audit");
        MigrationPlan plan = MigrationPlanner.plan(spec, CATALOG);
        assertThat(plan.errors()).isEmpty();
        assertThat(plan.findings()).extracting(f -> f.rule).contains("rollback-destroys-data");
        assertThat(plan.step(MigrationPlan.ROLLBACK)).allSatisfy(p -> assertThat(p.classification().destructive())
                .isTrue());
        spec.rollback = new DatabaseMigrationSpec.SqlStep("ALTER TABLE users DROP COLUMN email_lower, DROP COLUMN email");
        assertThat(MigrationPlanner.plan(spec, CATALOG).errors()).singleElement().satisfies(f -> {
            assertThat(f.rule).isEqualTo("rollback-drops-existing");
            assertThat(f.message).contains("column users.email exists and expand does not add it");
        });
        spec.rollback = new DatabaseMigrationSpec.SqlStep("DROP TABLE users");
        assertThat(MigrationPlanner.plan(spec, CATALOG).errors()).extracting(f -> f.rule)
                .containsExactly("rollback-drops-existing");
    }

    @Test
    void aBackfillOverwritingExistingDataIsDestructiveAndNeedsPolicyAlways() {
        DatabaseMigrationSpec spec = spec("ALTER TABLE users ADD COLUMN email_lower text");
        spec.backfill = new DatabaseMigrationSpec.Backfill();
        spec.backfill.table = "users";
        spec.backfill.set = "email_lower = lower(email)";
        MigrationPlan fills = MigrationPlanner.plan(spec, CATALOG);
        assertThat(fills.errors()).isEmpty();
        assertThat(fills.destructive(MigrationPlan.BACKFILL)).isFalse();

        spec.backfill.set = "email_lower = lower(email), email = NULL";
        MigrationPlan overwrites = MigrationPlanner.plan(spec, CATALOG);
        assertThat(overwrites.destructive(MigrationPlan.BACKFILL)).isTrue();
        assertThat(overwrites.errors()).singleElement().satisfies(f -> {
            assertThat(f.rule).isEqualTo("backfill-overwrites-data");
            assertThat(f.message).contains("overwrites existing column(s) email of users", "approval.policy: Always");
        });
        spec.approval.policy = DatabaseMigrationSpec.ApprovalPolicy.Policy.Always;
        assertThat(MigrationPlanner.plan(spec, CATALOG).errors()).isEmpty();
        assertThat(MigrationPlanner.plan(spec, CATALOG).findings()).extracting(f -> f.rule + ":" + f.severity)
                .containsExactly("backfill-overwrites-data:warning");
        assertThat(MigrationPlanner.plan(spec, CATALOG).destructive(MigrationPlan.BACKFILL)).isTrue();
    }

    @Test
    void droppingATableTheSameStepCreatedLosesNothing() {
        MigrationPlan plan = MigrationPlanner.plan(spec("CREATE TABLE scratch (id int); DROP TABLE scratch"), CATALOG);
        assertThat(plan.errors()).isEmpty();
        assertThat(plan.destructive(MigrationPlan.EXPAND)).isFalse();
    }

    @Test
    void findingsFitTheStepTheirStatementIsIn() {
        DatabaseMigrationSpec spec = spec("ALTER TABLE users ADD COLUMN email_lower text");
        spec.contract = new DatabaseMigrationSpec.SqlStep("ALTER TABLE users DROP COLUMN email; DROP TABLE orgs; "
                + "DELETE FROM users WHERE id < 0");
        spec.rollback = new DatabaseMigrationSpec.SqlStep("ALTER TABLE users DROP COLUMN email_lower");
        List<LintFinding> found = MigrationPlanner.plan(spec, CATALOG).findings();
        assertThat(found).filteredOn(f -> !f.step.equals(MigrationPlan.EXPAND)).isNotEmpty()
                .allSatisfy(f -> assertThat(f.message).as(f.step + ": " + f.rule)
                        .doesNotContain("drop it in contract", "before cutover", "use spec.backfill"));
        assertThat(findings("ALTER TABLE users DROP COLUMN email")).extracting(f -> f.message)
                .anySatisfy(m -> assertThat(m).contains("drop it in contract"));
    }

    @Test
    void specLintRaisesAndAllows() {
        DatabaseMigrationSpec spec = spec("ALTER TABLE users ALTER COLUMN email SET NOT NULL; CREATE INDEX i ON users (email)");
        spec.lint = new DatabaseMigrationSpec.Lint();
        spec.lint.errors = List.of("setting-not-nullable-field");
        spec.lint.allow = List.of("require-concurrent-index-creation");
        assertThat(MigrationPlanner.plan(spec, CATALOG).findings()).extracting(f -> f.rule + ":" + f.severity)
                .containsExactly("setting-not-nullable-field:error", "require-concurrent-index-creation:info");
        spec.lint.errors = List.of("no-such-rule");
        assertThat(MigrationPlanner.unknownRules(spec.lint)).containsExactly("no-such-rule");
    }

    @Test
    void digestChangesWithTheSqlAndOnlyWithIt() {
        String a = MigrationPlanner.plan(spec("ALTER TABLE users ADD COLUMN a text"), CATALOG).digest();
        assertThat(MigrationPlanner.plan(spec("ALTER TABLE users ADD COLUMN a text"), CATALOG).digest()).isEqualTo(a);
        assertThat(MigrationPlanner.plan(spec("ALTER TABLE users ADD COLUMN b text"), CATALOG).digest()).isNotEqualTo(a);
    }

    static DatabaseMigrationSpec spec(String expand) {
        DatabaseMigrationSpec spec = new DatabaseMigrationSpec();
        spec.expand = new DatabaseMigrationSpec.SqlStep(expand);
        spec.rollback = new DatabaseMigrationSpec.SqlStep("SELECT 1");
        return spec;
    }

    private static List<LintFinding> findings(String expand) {
        return findings(expand, CATALOG);
    }

    static List<LintFinding> findings(String expand, Catalog catalog) {
        return MigrationPlanner.plan(spec(expand), catalog).findings().stream()
                .filter(f -> f.step.equals(MigrationPlan.EXPAND)).toList();
    }
}
