package io.dbaoperator.migration;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.UUID;

import org.postgresql.util.PSQLException;

/**
 * Asks PostgreSQL's own grammar whether SQL parses, without running or even analysing it: the SQL becomes the body
 * of a temporary SQL function with a polymorphic argument, which makes CREATE FUNCTION run the raw parser only
 * (analysis waits for the argument types), inside a transaction that is rolled back. A syntax error comes back with
 * the server's message and its position in the SQL. Works for statements that may not run in a transaction
 * (CREATE INDEX CONCURRENTLY) and for statements that name columns an earlier statement adds.
 */
public final class SyntaxCheck {

    private SyntaxCheck() {
    }

    /** A syntax error: the server's message and 1-based position in the checked SQL. */
    public record SyntaxError(String message, int position) {
    }

    /** Returns null when {@code sql} parses, else the error. */
    public static SyntaxError check(Connection c, String sql) throws SQLException {
        String tag = "$dba_" + UUID.randomUUID().toString().replace("-", "") + "$";
        boolean auto = c.getAutoCommit();
        c.setAutoCommit(false);
        try (var s = c.createStatement()) {
            s.execute("SET LOCAL check_function_bodies = on");
            String prefix = "CREATE FUNCTION pg_temp.dba_operator_syntax_check(anyelement) RETURNS void LANGUAGE sql AS "
                    + tag;
            try {
                s.execute(prefix + sql + tag);
            } catch (PSQLException e) {
                var m = e.getServerErrorMessage();
                if (m != null && "42601".equals(m.getSQLState())) {
                    // the server maps the error into the CREATE FUNCTION text it was given; map it back
                    int position = m.getInternalPosition() > 0 ? m.getInternalPosition()
                            : Math.max(0, m.getPosition() - prefix.length());
                    return new SyntaxError(m.getMessage(), position);
                }
                throw e;
            }
            return null;
        } finally {
            c.rollback();
            c.setAutoCommit(auto);
        }
    }

    /** Line and column (1-based) of a 1-based position in {@code sql}, for messages a person can act on. */
    public static String where(String sql, int position) {
        if (position <= 0) {
            return "";
        }
        int line = 1;
        int column = 1;
        for (int i = 0; i < Math.min(position - 1, sql.length()); i++) {
            if (sql.charAt(i) == '\n') {
                line++;
                column = 1;
            } else {
                column++;
            }
        }
        return "line " + line + ", column " + column;
    }
}
