package io.dbaoperator.disposal;

import java.util.List;
import java.util.Locale;
import java.util.Set;

import io.dbaoperator.sql.SqlLexer;
import io.dbaoperator.sql.SqlSyntaxException;
import io.dbaoperator.sql.Token;

/**
 * Checks a rule's {@code where} predicate against a safe subset of SQL before it is ever sent to the database:
 * column names of the rule's table, literals, comparisons, AND/OR/NOT, IN lists, IS [NOT] NULL, [I]LIKE, BETWEEN,
 * casts to plain types, and calls of an allow-list of side-effect-free functions. No subquery (no SELECT), no
 * statement separator, no parameter, no other function (pg_sleep, set_config, dblink...), no system column.
 * PostgreSQL then plans it (EXPLAIN in a read-only transaction) to check its types.
 */
public final class SafePredicate {

    static final Set<String> KEYWORDS = Set.of("and", "or", "not", "in", "is", "null", "like", "ilike", "between",
            "true", "false", "interval", "escape", "similar", "to", "distinct", "from", "current_date",
            "current_timestamp", "localtimestamp", "unknown", "at", "time", "zone", "year", "month", "day", "hour",
            "minute", "second", "epoch", "dow", "doy", "week", "quarter", "days", "hours", "months", "years");

    static final Set<String> FUNCTIONS = Set.of("now", "lower", "upper", "length", "char_length", "coalesce",
            "nullif", "date_trunc", "extract", "abs", "trim", "btrim", "ltrim", "rtrim", "left", "right", "substr",
            "substring", "age", "make_interval", "greatest", "least", "starts_with", "to_timestamp", "to_date",
            "date_part");

    static final Set<String> CAST_TYPES = Set.of("date", "timestamp", "timestamptz", "text", "int", "integer",
            "bigint", "numeric", "boolean", "interval", "varchar", "smallint");

    private SafePredicate() {
    }

    /**
     * Throws {@link SqlSyntaxException} (with the offending position) unless {@code predicate} stays in the subset.
     *
     * @param columns the table's column names
     */
    public static void check(String predicate, Set<String> columns) {
        List<Token> tokens = SqlLexer.tokenize(predicate);
        if (tokens.isEmpty()) {
            throw new SqlSyntaxException("empty predicate", 0);
        }
        int depth = 0;
        for (int i = 0; i < tokens.size(); i++) {
            Token t = tokens.get(i);
            Token next = i + 1 < tokens.size() ? tokens.get(i + 1) : null;
            Token prev = i > 0 ? tokens.get(i - 1) : null;
            switch (t.kind()) {
                case STRING, NUMBER -> {
                }
                case PARAMETER -> throw new SqlSyntaxException("parameters ($n) are not allowed", t.start());
                case QUOTED_IDENTIFIER -> {
                    if (!columns.contains(t.text())) {
                        throw new SqlSyntaxException("\"" + t.text() + "\" is not a column of the table", t.start());
                    }
                }
                case WORD -> {
                    String w = t.text();
                    boolean call = next != null && next.isSymbol("(");
                    boolean castTarget = prev != null && prev.isSymbol("::");
                    if (castTarget) {
                        if (!CAST_TYPES.contains(w)) {
                            throw new SqlSyntaxException("cast to " + w + " is not allowed", t.start());
                        }
                    } else if (KEYWORDS.contains(w)) {
                        // IN (...), NOT (...), EXTRACT(x FROM y) keep their parentheses
                    } else if (call) {
                        if (!FUNCTIONS.contains(w)) {
                            throw new SqlSyntaxException("function " + w + "() is not in the allow-list " + FUNCTIONS,
                                    t.start());
                        }
                    } else if (w.equals("select") || w.equals("with") || w.equals("values")) {
                        throw new SqlSyntaxException("subqueries are not allowed", t.start());
                    } else if (!columns.contains(w)) {
                        throw new SqlSyntaxException("'" + w + "' is neither a column of the table nor an allowed key "
                                + "word", t.start());
                    }
                }
                case SYMBOL -> {
                    String s = t.text().toLowerCase(Locale.ROOT);
                    if (s.equals(";")) {
                        throw new SqlSyntaxException("';' is not allowed: a predicate is one expression", t.start());
                    }
                    if (s.equals("(")) {
                        depth++;
                    } else if (s.equals(")")) {
                        depth--;
                        if (depth < 0) {
                            throw new SqlSyntaxException("unbalanced ')'", t.start());
                        }
                    } else if (!Set.of(",", "::", "=", "<>", "!=", "<", ">", "<=", ">=", "+", "-", "*", "/", "%",
                            "||").contains(s)) {
                        throw new SqlSyntaxException("operator " + s + " is not allowed", t.start());
                    }
                }
                default -> throw new SqlSyntaxException("unexpected token", t.start());
            }
        }
        if (depth != 0) {
            throw new SqlSyntaxException("unbalanced '('", predicate.length());
        }
    }
}
