package io.dbaoperator.tuning;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Types;
import java.util.ArrayList;
import java.util.List;

import io.dbaoperator.sql.SqlLexer;
import io.dbaoperator.sql.Token;

/**
 * A user's query as the driver takes it: {@code $n} placeholders become JDBC parameters (found by PostgreSQL's
 * lexical rules, so a {@code $1} inside a string or a comment is left alone) and the values are bound, never spliced
 * into the text. Values go as untyped parameters, so the server infers their types as it would for $n.
 */
public final class QueryText {

    private final String original;
    private final String jdbcText;
    private final List<Integer> order;

    private QueryText(String original, String jdbcText, List<Integer> order) {
        this.original = original;
        this.jdbcText = jdbcText;
        this.order = order;
    }

    /** The statement as written. */
    public String text() {
        return original;
    }

    /** The highest $n the statement uses. */
    public int parameterCount() {
        return order.stream().mapToInt(Integer::intValue).max().orElse(0);
    }

    public static QueryText of(String query) {
        List<Token> tokens = SqlLexer.tokenize(query);
        StringBuilder b = new StringBuilder();
        List<Integer> order = new ArrayList<>();
        int last = 0;
        for (Token t : tokens) {
            if (t.kind() == Token.Kind.PARAMETER) {
                b.append(query, last, t.start()).append('?');
                order.add(Integer.parseInt(t.text().substring(1)));
                last = t.end();
            } else if (t.kind() == Token.Kind.SYMBOL && t.text().contains("?")) {
                throw new IllegalArgumentException("the query uses the operator " + t.text() + ", which the JDBC "
                        + "driver reads as a parameter; write it as a function call");
            }
        }
        b.append(query.substring(last));
        String text = b.toString().strip();
        while (text.endsWith(";")) {
            text = text.substring(0, text.length() - 1).strip();
        }
        String plain = query.strip();
        while (plain.endsWith(";")) {
            plain = plain.substring(0, plain.length() - 1).strip();
        }
        return new QueryText(plain, text, order);
    }

    /**
     * The generic plan of a statement whose parameter values are unknown (a pg_stat_statements entry): PREPARE, then
     * EXPLAIN EXECUTE with NULLs under plan_cache_mode = force_generic_plan, so the values play no part. Plain
     * EXPLAIN only; nothing is executed.
     */
    public ExplainPlan explainGeneric(Connection c, int timeoutMs) throws SQLException {
        boolean auto = c.getAutoCommit();
        c.setAutoCommit(false);
        boolean prepared = false;
        try (var st = c.createStatement()) {
            st.execute("SET LOCAL statement_timeout = " + Math.max(1, timeoutMs));
            st.execute("SET LOCAL plan_cache_mode = force_generic_plan");
            st.execute("PREPARE dba_tuning_generic AS " + original);
            prepared = true;
            String nulls = String.join(", ", java.util.Collections.nCopies(parameterCount(), "NULL"));
            try (ResultSet rs = st.executeQuery("EXPLAIN (VERBOSE, FORMAT JSON) EXECUTE dba_tuning_generic"
                    + (parameterCount() == 0 ? "" : "(" + nulls + ")"))) {
                rs.next();
                return ExplainPlan.parse(rs.getString(1));
            }
        } finally {
            c.rollback();
            if (prepared) {
                try (var st = c.createStatement()) {
                    st.execute("DEALLOCATE dba_tuning_generic"); // a prepared statement outlives the rollback
                }
                c.commit();
            }
            c.setAutoCommit(auto);
        }
    }

    /** Plain EXPLAIN: with the values when there are some, else the generic plan. Nothing is executed. */
    public ExplainPlan plan(Connection c, List<String> parameters, int timeoutMs) throws SQLException {
        return parameters == null ? explainGeneric(c, timeoutMs) : explain(c, parameters, false, timeoutMs);
    }

    /** The string constants written in the query (not the parameters' values). */
    public java.util.Set<String> literals() {
        java.util.Set<String> out = new java.util.HashSet<>();
        for (Token t : SqlLexer.tokenize(jdbcText)) {
            if (t.kind() == Token.Kind.STRING) {
                out.add(t.text());
            }
        }
        return out;
    }

    /** Whether the statement only reads, by its first key word (a read-only transaction enforces it anyway). */
    public boolean looksReadOnly() {
        List<Token> tokens = SqlLexer.tokenize(jdbcText);
        if (tokens.isEmpty() || !(tokens.get(0).is("select") || tokens.get(0).is("with") || tokens.get(0).is("values")
                || tokens.get(0).is("table"))) {
            return false;
        }
        return tokens.stream().noneMatch(t -> t.is("insert") || t.is("update") || t.is("delete") || t.is("merge")
                || t.is("into"));
    }

    /**
     * EXPLAIN in JSON. With {@code analyze}, the statement really runs, in a READ ONLY transaction under the
     * timeout, rolled back; the caller decides whether it may run at all.
     */
    public ExplainPlan explain(Connection c, List<String> parameters, boolean analyze, int timeoutMs)
            throws SQLException {
        return explain(c, parameters, analyze, true, timeoutMs);
    }

    /**
     * As {@link #explain(Connection, List, boolean, int)}; {@code readOnly} false lets EXPLAIN ANALYZE execute a
     * write, still rolled back: for staging only.
     */
    public ExplainPlan explain(Connection c, List<String> parameters, boolean analyze, boolean readOnly,
            int timeoutMs) throws SQLException {
        boolean auto = c.getAutoCommit();
        c.setAutoCommit(false);
        try {
            try (var st = c.createStatement()) {
                if (analyze && readOnly) {
                    st.execute("SET TRANSACTION READ ONLY");
                }
                st.execute("SET LOCAL statement_timeout = " + Math.max(1, timeoutMs));
            }
            String options = analyze ? "ANALYZE, BUFFERS, VERBOSE, FORMAT JSON" : "VERBOSE, FORMAT JSON";
            try (PreparedStatement ps = c.prepareStatement("EXPLAIN (" + options + ") " + jdbcText)) {
                for (int i = 0; i < order.size(); i++) {
                    int n = order.get(i);
                    if (parameters == null || n > parameters.size()) {
                        throw new IllegalArgumentException("the query uses $" + n + " but spec.parameters has "
                                + (parameters == null ? 0 : parameters.size()) + " value(s)");
                    }
                    ps.setObject(i + 1, parameters.get(n - 1), Types.OTHER);
                }
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    return ExplainPlan.parse(rs.getString(1));
                }
            }
        } finally {
            c.rollback();
            c.setAutoCommit(auto);
        }
    }
}
