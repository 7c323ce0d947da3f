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

    private final String jdbcText;
    private final List<Integer> order;

    private QueryText(String jdbcText, List<Integer> order) {
        this.jdbcText = jdbcText;
        this.order = order;
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
        return new QueryText(text, order);
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
        boolean auto = c.getAutoCommit();
        c.setAutoCommit(false);
        try {
            try (var st = c.createStatement()) {
                if (analyze) {
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
