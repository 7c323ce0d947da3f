package io.dbaoperator.tuning;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

import io.dbaoperator.sql.SqlLexer;
import io.dbaoperator.sql.Token;

/**
 * Reads the comparisons out of a condition as EXPLAIN prints it, e.g.
 * {@code ((o.customer_id = $1) AND (o.created_at >= '2026-01-01'::date))} or {@code (o.customer_id = c.id)}, with
 * PostgreSQL's own lexer rules ({@link SqlLexer}): a column, a comparison operator, and a constant, a parameter,
 * another column, or a bound the executor computes once per scan from constants and stable functions, such as
 * {@code (now() - '01:00:00'::interval)}, {@code CURRENT_DATE} or {@code date_trunc('month'::text, now())}: the
 * time windows of production queries, which an index scan can use as well as a literal. Anything else (a
 * function of a column, OR) is left out: a candidate index is only proposed for what the analyzer understood, and
 * every candidate is costed against the real planner anyway.
 */
public final class Predicates {

    static final Set<String> RANGE = Set.of("<", ">", "<=", ">=");

    /**
     * Stable functions and key words whose value is fixed for a statement (PostgreSQL evaluates them once, and the
     * planner estimates with their current value): a comparison with them bounds an index scan.
     */
    static final Set<String> STABLE_FUNCTIONS = Set.of("now", "current_date", "current_timestamp", "localtimestamp",
            "current_time", "localtime", "statement_timestamp", "transaction_timestamp", "date_trunc", "make_interval",
            "make_date", "make_timestamp", "make_timestamptz", "to_timestamp", "to_date");

    /** The type names and key words that may appear in such a bound's casts. */
    static final Set<String> TYPE_WORDS = Set.of("interval", "date", "timestamp", "timestamptz", "time", "timetz",
            "with", "without", "zone", "text", "integer", "int", "int4", "int8", "bigint", "smallint", "numeric",
            "double", "precision", "real", "character", "varying", "varchar");

    static final Set<String> EXPRESSION_SYMBOLS = Set.of("(", ")", "+", "-", "*", "/", "::", ",");

    /** One comparison: {@code qualifier.column op value}; {@code otherColumn} is set for a join condition. */
    public record Comparison(String qualifier, String column, String operator, String otherQualifier,
            String otherColumn, String constant) {

        public boolean equality() {
            return operator.equals("=") || operator.equals("IN");
        }

        public boolean range() {
            return RANGE.contains(operator);
        }

        public boolean join() {
            return otherColumn != null;
        }
    }

    private Predicates() {
    }

    /** The comparisons of {@code condition} joined by AND (a condition with OR yields only what is outside it). */
    public static List<Comparison> parse(String condition) {
        List<Comparison> out = new ArrayList<>();
        if (condition == null || condition.isBlank()) {
            return out;
        }
        List<Token> t = SqlLexer.tokenize(condition);
        if (t.stream().anyMatch(x -> x.is("or"))) {
            return out;
        }
        for (int i = 0; i < t.size(); i++) {
            Ref left = ref(t, i);
            if (left == null) {
                continue;
            }
            int j = left.next();
            if (j >= t.size()) {
                break;
            }
            Token op = t.get(j);
            if (op.is("is") && j + 1 < t.size()) {
                boolean not = t.get(j + 1).is("not");
                int k = not ? j + 2 : j + 1;
                if (k < t.size() && t.get(k).is("null")) {
                    out.add(new Comparison(left.qualifier(), left.column(), not ? "IS NOT NULL" : "IS NULL", null,
                            null, null));
                }
                i = k;
                continue;
            }
            if (op.kind() != Token.Kind.SYMBOL || !(op.text().equals("=") || RANGE.contains(op.text())
                    || op.text().equals("~~"))) {
                continue;
            }
            String operator = op.text().equals("~~") ? "LIKE" : op.text();
            int k = j + 1;
            if (k < t.size() && t.get(k).is("any")) {
                out.add(new Comparison(left.qualifier(), left.column(), "IN", null, null, "ANY(...)"));
                i = k;
                continue;
            }
            if (k < t.size() && (t.get(k).kind() == Token.Kind.STRING || t.get(k).kind() == Token.Kind.NUMBER
                    || t.get(k).kind() == Token.Kind.PARAMETER)) {
                String constant = t.get(k).text();
                if (operator.equals("LIKE") && (constant.startsWith("%") || constant.startsWith("_"))) {
                    i = k; // a leading wildcard: no B-tree helps
                    continue;
                }
                out.add(new Comparison(left.qualifier(), left.column(), operator, null, null, constant));
                i = k;
                continue;
            }
            int bound = operator.equals("LIKE") ? -1 : stableBound(t, k);
            if (bound > k) {
                out.add(new Comparison(left.qualifier(), left.column(), operator, null, null,
                        condition.substring(t.get(k).start(), t.get(bound - 1).end())));
                i = bound - 1;
                continue;
            }
            Ref right = ref(t, k);
            if (right != null && !operator.equals("LIKE")) {
                out.add(new Comparison(left.qualifier(), left.column(), operator, right.qualifier(), right.column(),
                        null));
                i = right.next() - 1;
            }
        }
        return out;
    }

    private record Ref(String qualifier, String column, int next) {
    }

    /**
     * The end (exclusive) of a bound at {@code k} made only of constants, parameters, casts, arithmetic and
     * {@link #STABLE_FUNCTIONS}: a parenthesised expression, a stable function call, or a stable key word such as
     * {@code CURRENT_DATE}, with any casts after it; -1 when {@code k} starts none, or it names a column.
     */
    static int stableBound(List<Token> t, int k) {
        if (k >= t.size()) {
            return -1;
        }
        Token first = t.get(k);
        int end;
        if (first.isSymbol("(")) {
            end = closing(t, k);
        } else if (first.kind() == Token.Kind.WORD && STABLE_FUNCTIONS.contains(first.text())) {
            end = k + 1;
            if (end < t.size() && t.get(end).isSymbol("(")) {
                end = closing(t, end);
            }
        } else {
            return -1;
        }
        if (end < 0) {
            return -1;
        }
        while (end + 1 < t.size() && t.get(end).isSymbol("::") && t.get(end + 1).kind() == Token.Kind.WORD
                && TYPE_WORDS.contains(t.get(end + 1).text())) {
            end += 2;
        }
        boolean value = false;
        for (int i = k; i < end; i++) {
            Token x = t.get(i);
            switch (x.kind()) {
                case STRING, NUMBER, PARAMETER -> value = true;
                case SYMBOL -> {
                    if (!EXPRESSION_SYMBOLS.contains(x.text())) {
                        return -1;
                    }
                }
                case WORD -> {
                    if (STABLE_FUNCTIONS.contains(x.text())) {
                        value = true;
                    } else if (!TYPE_WORDS.contains(x.text())) {
                        return -1; // a column, or a function this parser does not know to be stable
                    }
                }
                default -> {
                    return -1; // a quoted identifier: a column
                }
            }
        }
        return value ? end : -1;
    }

    /** The index after the parenthesis that closes the one at {@code open}, or -1 when it is not closed. */
    private static int closing(List<Token> t, int open) {
        int depth = 0;
        for (int i = open; i < t.size(); i++) {
            if (t.get(i).isSymbol("(")) {
                depth++;
            } else if (t.get(i).isSymbol(")") && --depth == 0) {
                return i + 1;
            }
        }
        return -1;
    }


    /** A column reference at {@code i}: {@code name} or {@code qualifier.name}, not a function call or key word. */
    private static Ref ref(List<Token> t, int i) {
        if (i >= t.size() || !t.get(i).isName() || isKeyword(t.get(i))) {
            return null;
        }
        if (i > 0 && t.get(i - 1).isSymbol(".")) {
            return null; // the column part of a reference read already
        }
        if (i > 0 && t.get(i - 1).isSymbol("::")) {
            return null; // a type name
        }
        String first = name(t.get(i));
        if (i + 2 < t.size() && t.get(i + 1).isSymbol(".") && t.get(i + 2).isName()) {
            int next = i + 3;
            if (next < t.size() && t.get(next).isSymbol("(")) {
                return null;
            }
            return new Ref(first, name(t.get(i + 2)), next);
        }
        if (i + 1 < t.size() && t.get(i + 1).isSymbol("(")) {
            return null;
        }
        return new Ref(null, first, i + 1);
    }

    private static boolean isKeyword(Token t) {
        return t.kind() == Token.Kind.WORD && Set.of("and", "not", "is", "null", "true", "false", "any", "all",
                "array", "case", "when", "then", "else", "end", "in", "like", "between").contains(t.text());
    }

    private static String name(Token t) {
        return t.text(); // the lexer gives a quoted identifier's name without its quotes
    }
}
