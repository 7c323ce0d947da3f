package io.dbaoperator.tuning;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

import io.dbaoperator.sql.SqlLexer;
import io.dbaoperator.sql.Token;

/**
 * Reads the comparisons out of a condition as EXPLAIN prints it, e.g.
 * {@code ((o.customer_id = $1) AND (o.created_at >= '2026-01-01'::date))} or {@code (o.customer_id = c.id)}, with
 * PostgreSQL's own lexer rules ({@link SqlLexer}): a column, a comparison operator, and a constant, a parameter or
 * another column. Anything else (functions, expressions, OR) is left out: a candidate index is only proposed for
 * what the analyzer understood, and every candidate is costed against the real planner anyway.
 */
public final class Predicates {

    static final Set<String> RANGE = Set.of("<", ">", "<=", ">=");

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
