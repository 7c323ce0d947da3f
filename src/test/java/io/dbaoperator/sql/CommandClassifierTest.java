package io.dbaoperator.sql;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The approval gate's classifier, proven over PostgreSQL 15's command list rather than over examples: every command
 * the reference documents has a representative statement and the class it must get; a form no rule knows falls to
 * destructive, never to additive; and words inside strings, dollar quotes, quoted identifiers and comments never
 * count, while a real destructive word is never hidden by them.
 */
public class CommandClassifierTest {

    /** Table t (columns id, v) exists; nothing else does. */
    static final Catalog CATALOG = new Catalog() {
        @Override
        public boolean tableExists(QualifiedName table) {
            return table.name().equals("t");
        }

        @Override
        public Optional<String> columnType(QualifiedName table, String column) {
            return table.name().equals("t") && (column.equals("v") || column.equals("id")) ? Optional.of("text")
                    : Optional.empty();
        }

        @Override
        public boolean tableInUse(QualifiedName table) {
            return tableExists(table);
        }

        @Override
        public boolean indexExists(String name, boolean unique) {
            return false;
        }

        @Override
        public boolean hasNotNullCheck(QualifiedName table, String column) {
            return false;
        }
    };

    /** The checked-in walk of the command list: command, class, statement. */
    public static List<String[]> commandWalk() throws IOException {
        try (InputStream in = CommandClassifierTest.class.getResourceAsStream("/sql/postgresql15-commands.tsv")) {
            List<String[]> rows = new ArrayList<>();
            for (String line : new String(in.readAllBytes(), StandardCharsets.UTF_8).split("\n")) {
                if (!line.isBlank() && !line.startsWith("#")) {
                    rows.add(line.split("\t", 3));
                }
            }
            return rows;
        }
    }

    static StatementClass classOf(String sql) {
        List<Statement> statements = SqlParser.parseScript(sql);
        assertThat(statements).as("one statement in %s", sql).hasSize(1);
        return Classification.of(statements.get(0), CATALOG).statementClass();
    }

    @Test
    void theWalkCoversEveryDocumentedCommandOnce() throws IOException {
        List<String> walked = commandWalk().stream().map(r -> r[0].toLowerCase(java.util.Locale.ROOT)).toList();
        assertThat(walked).doesNotHaveDuplicates();
        assertThat(walked).containsExactlyInAnyOrderElementsOf(CommandNames.ALL);
    }

    static Stream<Arguments> walk() throws IOException {
        return commandWalk().stream().map(r -> Arguments.of(r[0], r[1], r[2]));
    }

    @ParameterizedTest(name = "{0}: {1}")
    @MethodSource("walk")
    void everyCommandGetsItsClass(String command, String expected, String sql) {
        assertThat(CommandNames.of(SqlLexer.tokenize(sql))).as("the command of %s", sql)
                .isEqualTo(command.toLowerCase(java.util.Locale.ROOT));
        assertThat(classOf(sql)).as("%s", sql).isEqualTo(StatementClass.ofLabel(expected));
    }

    /** Every ALTER with an action no rule knows, and words that are no command at all: destructive, never additive. */
    @Test
    void aFormNoRuleKnowsIsDestructive() {
        for (String command : CommandNames.ALL) {
            if (command.startsWith("alter ") && !command.equals("alter table")) {
                String sql = command.toUpperCase(java.util.Locale.ROOT) + " some_object FROBNICATE";
                assertThat(classOf(sql)).as(sql).isEqualTo(StatementClass.DESTRUCTIVE);
            }
        }
        assertThat(classOf("ALTER TABLE t FROBNICATE")).isEqualTo(StatementClass.DESTRUCTIVE);
        assertThat(classOf("FROBNICATE t")).isEqualTo(StatementClass.DESTRUCTIVE);
        assertThat(classOf("(SELECT 1)")).isEqualTo(StatementClass.DESTRUCTIVE);
        assertThat(Classification.of(SqlParser.parseScript("FROBNICATE t").get(0), CATALOG).why())
                .endsWith(CommandClassifier.UNRECOGNISED);
    }

    static Stream<Arguments> forms() {
        return Stream.of(
            // the issue's table: each ran unapproved before
            Arguments.of("DROP SCHEMA s CASCADE", "destructive"),
            Arguments.of("DROP VIEW v", "destructive"),
            Arguments.of("DROP MATERIALIZED VIEW mv", "destructive"),
            Arguments.of("DROP SEQUENCE s", "destructive"),
            Arguments.of("DROP FUNCTION f()", "destructive"),
            Arguments.of("DROP TYPE ty CASCADE", "destructive"),
            Arguments.of("ALTER TABLE t DROP CONSTRAINT ck", "destructive"),
            Arguments.of("DELETE FROM t WHERE id > 50", "destructive"),
            Arguments.of("UPDATE t SET v = NULL", "destructive"),
            Arguments.of("ALTER TABLE t SET UNLOGGED", "destructive"),
            Arguments.of("DROP TABLE IF EXISTS t CASCADE", "destructive"),
            // lock-heavy, and their safe forms
            Arguments.of("VACUUM FULL t", "lock-heavy"),
            Arguments.of("VACUUM (FULL, ANALYZE) t", "lock-heavy"),
            Arguments.of("VACUUM (ANALYZE) t", "additive"),
            Arguments.of("CLUSTER t", "lock-heavy"),
            Arguments.of("REINDEX TABLE t", "lock-heavy"),
            Arguments.of("REINDEX INDEX t_v", "lock-heavy"),
            Arguments.of("REINDEX TABLE CONCURRENTLY t", "additive"),
            Arguments.of("LOCK t", "lock-heavy"),
            Arguments.of("LOCK TABLE t IN SHARE MODE", "lock-heavy"),
            Arguments.of("LOCK TABLE t IN SHARE ROW EXCLUSIVE MODE", "lock-heavy"),
            Arguments.of("LOCK TABLE t IN ROW EXCLUSIVE MODE", "additive"),
            Arguments.of("ALTER TABLE t SET TABLESPACE fast", "lock-heavy"),
            Arguments.of("ALTER TABLE t SET LOGGED", "lock-heavy"),
            Arguments.of("REFRESH MATERIALIZED VIEW mv", "lock-heavy"),
            Arguments.of("REFRESH MATERIALIZED VIEW CONCURRENTLY mv", "additive"),
            Arguments.of("REFRESH MATERIALIZED VIEW mv WITH NO DATA", "destructive"),
            Arguments.of("CREATE INDEX t_v2 ON t (v)", "lock-heavy"),
            Arguments.of("CREATE INDEX new_v ON new_table (v)", "additive"),
            // destructive forms of otherwise additive commands
            Arguments.of("ALTER TABLE t RENAME COLUMN v TO w", "destructive"),
            Arguments.of("ALTER TABLE t RENAME TO t2", "destructive"),
            Arguments.of("ALTER VIEW v RENAME TO v2", "destructive"),
            Arguments.of("ALTER TABLE t OWNER TO bob", "destructive"),
            Arguments.of("ALTER TABLE t SET SCHEMA other", "destructive"),
            Arguments.of("ALTER TABLE t ALTER COLUMN v DROP NOT NULL", "destructive"),
            Arguments.of("ALTER TABLE t ALTER COLUMN v DROP DEFAULT", "destructive"),
            Arguments.of("ALTER TABLE t ALTER COLUMN v TYPE integer USING v::integer", "destructive"),
            Arguments.of("ALTER TABLE t DISABLE TRIGGER ALL", "destructive"),
            Arguments.of("ALTER TABLE t ENABLE ROW LEVEL SECURITY", "destructive"),
            Arguments.of("ALTER TABLE t DETACH PARTITION t_2020", "destructive"),
            Arguments.of("ALTER TABLE t NO INHERIT parent", "destructive"),
            Arguments.of("ALTER TYPE mood RENAME VALUE 'sad' TO 'blue'", "destructive"),
            Arguments.of("ALTER TYPE mood DROP ATTRIBUTE a", "destructive"),
            Arguments.of("ALTER SEQUENCE s OWNED BY t.id", "additive"),
            Arguments.of("ALTER SEQUENCE s OWNED BY NONE", "destructive"),
            Arguments.of("REVOKE ALL ON t FROM app", "destructive"),
            Arguments.of("ALTER DEFAULT PRIVILEGES REVOKE SELECT ON TABLES FROM app", "destructive"),
            Arguments.of("DROP OWNED BY app", "destructive"),
            Arguments.of("INSERT INTO t (id, v) VALUES (1, 'x') ON CONFLICT (id) DO UPDATE SET v = excluded.v",
                    "destructive"),
            Arguments.of("INSERT INTO t (id, v) VALUES (1, 'x') ON CONFLICT (id) DO NOTHING", "additive"),
            Arguments.of("INSERT INTO public.t (v) SELECT v FROM t", "additive"),
            Arguments.of("WITH gone AS (DELETE FROM t RETURNING *) SELECT count(*) FROM gone", "destructive"),
            Arguments.of("WITH x (a) AS (SELECT 1) SELECT a FROM x", "additive"),
            Arguments.of("SELECT setval('s', 1)", "destructive"),
            Arguments.of("SELECT pg_terminate_backend(42)", "destructive"),
            Arguments.of("SELECT public.drop_everything()", "destructive"),
            Arguments.of("SELECT count(*) FROM t WHERE v IN ('a', 'b')", "additive"),
            Arguments.of("EXPLAIN ANALYZE DELETE FROM t", "destructive"),
            Arguments.of("COPY t TO '/tmp/t.csv'", "destructive"),
            Arguments.of("COPY t FROM PROGRAM 'curl http://example.invalid'", "destructive"),
            Arguments.of("COPY t TO STDOUT", "additive"),
            Arguments.of("SET session_replication_role = replica", "destructive"),
            Arguments.of("SET LOCAL ROLE admin", "session-control"),
            Arguments.of("CREATE RULE r AS ON UPDATE TO t DO INSTEAD NOTHING", "destructive"),
            Arguments.of("CREATE POLICY p ON t AS RESTRICTIVE USING (false)", "destructive"),
            Arguments.of("CREATE TABLE t3 AS SELECT wipe_all()", "destructive"),
            // a foreign key's ON DELETE CASCADE defines behaviour; it cascades nothing now
            Arguments.of("ALTER TABLE t ADD CONSTRAINT fk FOREIGN KEY (id) REFERENCES o (id) ON DELETE CASCADE "
                    + "NOT VALID", "additive"),
            Arguments.of("REVOKE SELECT ON t FROM app CASCADE", "destructive"),
            // words inside strings, dollar quotes, quoted identifiers and comments are not keywords
            Arguments.of("CREATE OR REPLACE FUNCTION f() RETURNS int LANGUAGE sql AS $$ DROP TABLE t; SELECT 1 $$",
                    "additive"),
            Arguments.of("COMMENT ON TABLE t IS 'DELETE FROM t; DROP TABLE t CASCADE'", "additive"),
            Arguments.of("SELECT 1 AS \"drop table t cascade\"", "additive"),
            Arguments.of("CREATE TABLE t4 (id bigint) -- DROP TABLE t CASCADE", "additive"));
    }

    @ParameterizedTest(name = "{0}: {1}")
    @MethodSource("forms")
    void formsOfCommands(String sql, String expected) {
        assertThat(classOf(sql)).as("%s", sql).isEqualTo(StatementClass.ofLabel(expected));
    }

    // --- generated statements: the splitter and the classifier against comments, strings and dollar quotes ---

    static final String[] PAYLOADS = { "DROP TABLE t CASCADE", "DELETE FROM t", "TRUNCATE t", "'; DROP SCHEMA s CASCADE; --",
        "UPDATE t SET v = NULL;", "REVOKE ALL ON t FROM app", "*/ DROP VIEW v /*", "$$; DROP TABLE t; $$",
        "\"; DELETE FROM t; --", "E'\\'; DROP TABLE t; --", "-- ; VACUUM FULL t", "CALL wipe();" };

    /** Additive statements with a slot where a string, dollar quote or quoted identifier may hold anything. */
    static final String[] ADDITIVE_TEMPLATES = { "COMMENT ON TABLE t IS %s", "INSERT INTO t (v) VALUES (%s)",
        "SELECT %s AS label", "CREATE FUNCTION f%d() RETURNS text LANGUAGE sql AS %s", "SELECT 1 AS %s",
        "ALTER TABLE t ADD COLUMN w%d text DEFAULT %s", "CREATE VIEW v%d AS SELECT %s AS x" };

    static final String[] DESTRUCTIVE = { "DROP SCHEMA s CASCADE", "DELETE FROM t WHERE id > 50",
        "UPDATE t SET v = NULL", "ALTER TABLE t DROP CONSTRAINT ck", "ALTER TABLE t SET UNLOGGED", "TRUNCATE t",
        "DROP FUNCTION f()", "REVOKE ALL ON t FROM app", "DO $$BEGIN NULL; END$$", "MERGE INTO t USING s ON t.id = s.id "
            + "WHEN MATCHED THEN DELETE", "SELECT wipe()", "ALTER SEQUENCE s RESTART" };

    /** A string literal of one of PostgreSQL's kinds holding {@code payload}, or a quoted identifier. */
    static String quoted(String payload, Random r) {
        return switch (r.nextInt(4)) {
            case 0 -> "'" + payload.replace("'", "''") + "'";
            case 1 -> "E'" + payload.replace("\\", "\\\\").replace("'", "\\'") + "'";
            case 2 -> {
                String tag = "$q" + r.nextInt(100) + "$";
                yield tag + payload + tag;
            }
            default -> "'" + payload.replace("'", "''") + "'";
        };
    }

    /** A line comment, or a nested block comment (whose payload may not open or close one of its own). */
    static String comment(String payload, Random r) {
        String inBlock = payload.replace("*/", "* /").replace("/*", "/ *");
        return r.nextBoolean() ? " -- " + payload.replace("\n", " ") + "\n"
                : " /* " + inBlock + " /* nested " + inBlock + " */ */ ";
    }

    /** The statement's tokens again, with comments holding payloads between some of them. */
    static String withComments(String sql, Random r) {
        StringBuilder b = new StringBuilder();
        for (Token t : SqlLexer.tokenize(sql)) {
            b.append(sql, t.start(), t.end());
            b.append(r.nextInt(3) == 0 ? comment(PAYLOADS[r.nextInt(PAYLOADS.length)], r) : " ");
        }
        return b.toString();
    }

    @Test
    void destructiveWordsInStringsAndCommentsNeverCountAndRealOnesNeverHide() {
        for (long seed = 1; seed <= 400; seed++) {
            Random r = new Random(seed);
            List<StatementClass> expected = new ArrayList<>();
            StringBuilder script = new StringBuilder();
            int n = 1 + r.nextInt(6);
            for (int i = 0; i < n; i++) {
                String statement;
                if (r.nextBoolean()) {
                    String template = ADDITIVE_TEMPLATES[r.nextInt(ADDITIVE_TEMPLATES.length)];
                    String payload = PAYLOADS[r.nextInt(PAYLOADS.length)];
                    String slot = template.startsWith("SELECT 1 AS") ? "\"" + payload.replace("\"", "\"\"") + "\""
                            : quoted(payload, r);
                    statement = template.contains("%d") ? String.format(template, i, slot)
                            : String.format(template, slot);
                    expected.add(StatementClass.ADDITIVE);
                } else {
                    statement = DESTRUCTIVE[r.nextInt(DESTRUCTIVE.length)];
                    expected.add(StatementClass.DESTRUCTIVE);
                }
                script.append(withComments(statement, r)).append(r.nextBoolean() ? ";\n" : " ; ");
                if (r.nextInt(4) == 0) {
                    script.append(comment(PAYLOADS[r.nextInt(PAYLOADS.length)], r));
                }
            }
            List<Statement> split = SqlParser.parseScript(script.toString());
            String why = "seed " + seed + ":\n" + script;
            assertThat(split).as(why).hasSize(n);
            for (int i = 0; i < n; i++) {
                assertThat(Classification.of(split.get(i), CATALOG).statementClass()).as(why + "\nstatement " + i)
                        .isEqualTo(expected.get(i));
            }
        }
    }
}
