package io.dbaoperator.migration;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

import io.dbaoperator.harness.RealParts;
import io.dbaoperator.harness.TestPostgres;
import io.dbaoperator.sql.CommandClassifierTest;
import io.dbaoperator.sql.CommandNames;

/**
 * The classifier's command list against the real PostgreSQL 15: psql's {@code \h} (generated from the reference
 * pages) names exactly the commands {@link CommandNames} knows, and every statement of the command walk is real SQL
 * that the server's own grammar accepts.
 */
@RealParts
class CommandListTest {

    @Test
    void psqlHelpListsExactlyTheCommandsTheClassifierKnows() throws Exception {
        TestPostgres pg = TestPostgres.get();
        ProcessBuilder psql = new ProcessBuilder(pg.binDir().resolve("psql").toString(), "-X", "-h", pg.host(), "-p",
                String.valueOf(pg.port()), "-U", TestPostgres.SUPERUSER, "-d", "postgres", "-c", "\\h")
                .redirectErrorStream(true);
        psql.environment().put("PGPASSWORD", TestPostgres.SUPERUSER_PASSWORD);
        Process p = psql.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(out).isZero();
        List<String> listed = helpList(out);
        assertThat(listed).as("psql \\h on PostgreSQL 15").hasSizeGreaterThan(150);
        assertThat(CommandNames.ALL).containsExactlyInAnyOrderElementsOf(listed);
    }

    /**
     * psql prints the names after "Available help:" in columns of one width, each name padded to the longest name
     * plus one space (help.c), after a two-space indent: the second name of the first row starts at that width.
     */
    static List<String> helpList(String out) {
        List<String> lines = new ArrayList<>();
        for (String line : out.split("\n")) {
            if (!line.isBlank() && !line.startsWith("Available help")) {
                lines.add(line.substring(2));
            }
        }
        String first = lines.get(0);
        int width = first.indexOf(' ');
        while (first.charAt(width) == ' ') {
            width++;
        }
        List<String> names = new ArrayList<>();
        for (String line : lines) {
            for (int at = 0; at < line.length(); at += width) {
                String name = line.substring(at, Math.min(line.length(), at + width)).trim();
                if (!name.isEmpty()) {
                    names.add(name.toLowerCase(Locale.ROOT));
                }
            }
        }
        return names;
    }

    @Test
    void everyStatementOfTheWalkParsesInPostgreSQL() throws IOException, Exception {
        try (Connection c = TestPostgres.get().superuser("postgres")) {
            for (String[] row : CommandClassifierTest.commandWalk()) {
                assertThat(SyntaxCheck.check(c, row[2])).as("%s: %s", row[0], row[2]).isNull();
            }
        }
    }
}
