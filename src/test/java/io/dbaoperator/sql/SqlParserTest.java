package io.dbaoperator.sql;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;

import org.junit.jupiter.api.Test;

class SqlParserTest {

    @Test
    void splitsOnlyOnTopLevelSemicolons() {
        List<Statement> s = SqlParser.parseScript("""
                -- a comment; with a semicolon
                ALTER TABLE users ADD COLUMN note text DEFAULT 'a;b';
                /* nested /* comment; */ still */ CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $fn$ SELECT 1; $fn$;
                UPDATE "Weird;Name" SET x = E'it\\'s;' WHERE id = 1
                """);
        assertThat(s).hasSize(3);
        assertThat(s.get(0)).isInstanceOf(Statement.AlterTable.class);
        assertThat(s.get(1)).isInstanceOf(Statement.Other.class);
        assertThat(((Statement.Dml) s.get(2)).table().name()).isEqualTo("Weird;Name");
        assertThat(((Statement.Dml) s.get(2)).hasWhere()).isTrue();
    }

    @Test
    void readsAlterTableActions() {
        var alter = (Statement.AlterTable) SqlParser.parseScript("ALTER TABLE IF EXISTS app.users "
                + "ADD COLUMN IF NOT EXISTS email_lower varchar(200) NOT NULL DEFAULT lower('X'), "
                + "DROP COLUMN legacy CASCADE, ALTER COLUMN age TYPE bigint USING age::bigint, "
                + "ADD CONSTRAINT fk FOREIGN KEY (org) REFERENCES orgs (id) NOT VALID, "
                + "ADD CONSTRAINT u UNIQUE USING INDEX users_email_key, ALTER name SET NOT NULL, "
                + "RENAME COLUMN a TO b").get(0);
        assertThat(alter.table()).isEqualTo(new QualifiedName("app", "users"));
        assertThat(alter.actions()).hasSize(7).element(0).isEqualTo(new Statement.AddColumn("email_lower",
                "varchar(200)", true, true, "lower('X')", false, false, false, false, false, null));
        assertThat(alter.actions().get(2)).isEqualTo(new Statement.AlterColumnType("age", "bigint", true));
        assertThat(alter.actions().get(3)).isEqualTo(new Statement.AddConstraint("fk", "FOREIGN KEY", true, null,
                new QualifiedName(null, "orgs")));
        assertThat(alter.actions().get(4)).isEqualTo(new Statement.AddConstraint("u", "UNIQUE", false,
                "users_email_key", null));
        assertThat(alter.actions().get(5)).isEqualTo(new Statement.SetNotNull("name"));
        var rename = (Statement.AlterTable) SqlParser.parseScript("alter table t rename column a to b").get(0);
        assertThat(rename.actions()).containsExactly(new Statement.RenameColumn("a", "b"));
    }

    @Test
    void classifiesLocksAndRewrites() {
        assertThat(classify("CREATE INDEX CONCURRENTLY i ON t (a)")).isEqualTo(new Classification(
                LockLevel.SHARE_UPDATE_EXCLUSIVE, false, "create index", StatementClass.ADDITIVE, "creates an index", false,
                List.of(new QualifiedName(null, "t"))));
        assertThat(classify("CREATE UNIQUE INDEX i ON t (a)").lock()).isEqualTo(LockLevel.SHARE);
        assertThat(classify("DROP INDEX i").lock()).isEqualTo(LockLevel.ACCESS_EXCLUSIVE);
        assertThat(classify("ALTER TABLE t ADD COLUMN c uuid DEFAULT gen_random_uuid()").rewritesTable()).isTrue();
        assertThat(classify("ALTER TABLE t ADD COLUMN c int DEFAULT 0").rewritesTable()).isFalse();
        assertThat(classify("ALTER TABLE t ADD COLUMN c bigserial").rewritesTable()).isTrue();
        assertThat(classify("ALTER TABLE t ADD CONSTRAINT f FOREIGN KEY (a) REFERENCES o (id) NOT VALID").lock())
                .isEqualTo(LockLevel.SHARE_ROW_EXCLUSIVE);
        assertThat(classify("ALTER TABLE t VALIDATE CONSTRAINT f").lock()).isEqualTo(LockLevel.SHARE_UPDATE_EXCLUSIVE);
        assertThat(classify("ALTER TABLE t DROP COLUMN c").destructive()).isTrue();
        assertThat(classify("TRUNCATE t").destructive()).isTrue();
        assertThat(classify("VACUUM t").transactional()).isFalse();
    }

    @Test
    void typeChangesThatSkipTheRewrite() {
        assertThat(TypeChanges.rewrites("character varying(50)", "varchar(100)", false)).isFalse();
        assertThat(TypeChanges.rewrites("character varying(50)", "text", false)).isFalse();
        assertThat(TypeChanges.rewrites("numeric(10,2)", "numeric(12,2)", false)).isFalse();
        assertThat(TypeChanges.rewrites("character varying(100)", "varchar(50)", false)).isTrue();
        assertThat(TypeChanges.rewrites("integer", "bigint", false)).isTrue();
        assertThat(TypeChanges.rewrites("text", "text", true)).isTrue();
    }

    @Test
    void reportsWhereItStopped() {
        assertThatThrownBy(() -> SqlParser.parseScript("ALTER TABLE t ADD COLUMN x text DEFAULT 'open"))
                .isInstanceOf(SqlSyntaxException.class).hasMessageContaining("unterminated quoted string")
                .satisfies(e -> assertThat(((SqlSyntaxException) e).position()).isEqualTo(40));
        assertThatThrownBy(() -> SqlParser.expression("x = 1; DROP TABLE users"))
                .isInstanceOf(SqlSyntaxException.class).hasMessageContaining("';'");
        assertThatThrownBy(() -> SqlParser.expression("true) OR (1 = 1"))
                .isInstanceOf(SqlSyntaxException.class).hasMessageContaining("unbalanced");
    }

    @Test
    void quotesIdentifiers() {
        assertThat(Identifiers.quote("a\"b")).isEqualTo("\"a\"\"b\"");
        assertThat(QualifiedName.parse("\"My Schema\".users").quoted()).isEqualTo("\"My Schema\".\"users\"");
        assertThatThrownBy(() -> QualifiedName.parse("users; drop table x")).isInstanceOf(SqlSyntaxException.class);
    }

    private static Classification classify(String sql) {
        return Classification.of(SqlParser.parseScript(sql).get(0), new FakeCatalog());
    }

    /** Every table exists, is in use, and has text columns. */
    static class FakeCatalog implements Catalog {
        @Override
        public boolean tableExists(QualifiedName table) {
            return true;
        }

        @Override
        public java.util.Optional<String> columnType(QualifiedName table, String column) {
            return java.util.Optional.of("text");
        }

        @Override
        public boolean tableInUse(QualifiedName table) {
            return true;
        }

        @Override
        public boolean indexExists(String name, boolean unique) {
            return name.equals("existing_unique");
        }

        @Override
        public boolean hasNotNullCheck(QualifiedName table, String column) {
            return false;
        }
    }
}
