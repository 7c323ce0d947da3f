package io.dbaoperator.tuning;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import io.dbaoperator.sql.SqlLexer;
import io.dbaoperator.sql.Token;
import io.dbaoperator.tuning.ExplainPlan.Node;
import io.dbaoperator.tuning.IndexCandidates.Key;

/**
 * What a query asks of each table it reads, taken from its {@code EXPLAIN (VERBOSE)} plan, where PostgreSQL has
 * already resolved every name and prints each column qualified by its scan's alias: every column and every
 * expression of columns that appears in a restriction (equality, IN, IS NULL, range, a prefix pattern match, a row
 * comparison for keyset pagination, a boolean column), a join condition, a sort (with its directions), a GROUP BY
 * or DISTINCT, the argument of min() or max(), and the columns the query reads (for an index-only scan). This is
 * the raw material of {@link CandidateSearch}; it is not a rule about which index to build. An expression is kept
 * as PostgreSQL deparsed it, with the alias removed, so it can go into CREATE INDEX as written. Pure.
 */
public final class QueryShape {

    /** How a conjunct uses a column or expression. */
    public enum Role {
        EQUALITY, RANGE, PREFIX
    }

    /**
     * A restriction on one table: the key, its role, and for an equality with a literal the predicate a partial
     * index could carry ({@code (status = 'failed'::text)}) and the literal (to read its frequency).
     */
    public record Atom(Key key, Role role, String predicate, String literal) {
    }

    /** One table's needs. */
    public static final class TableShape {
        public final String schema;
        public final String table;
        public final List<Atom> restrictions = new ArrayList<>();
        /** Sort keys in order, with their directions. */
        public final List<Key> sort = new ArrayList<>();
        public final List<Key> group = new ArrayList<>();
        public final List<Key> minMax = new ArrayList<>();
        public final List<Key> join = new ArrayList<>();
        /** The members of a row comparison, {@code (created_at, id) < (...)}, in order. */
        public final List<Key> row = new ArrayList<>();
        /** Every column of this table the query reads, in the order first seen. */
        public final Set<String> columns = new LinkedHashSet<>();
        /** Boolean columns tested alone ({@code WHERE NOT archived}): partial predicates. */
        public final List<Atom> flags = new ArrayList<>();

        TableShape(String schema, String table) {
            this.schema = schema;
            this.table = table;
        }

        public String qualified() {
            return (schema == null ? "" : schema + ".") + table;
        }

        public List<Atom> role(Role r) {
            return restrictions.stream().filter(a -> a.role() == r).toList();
        }

        void restrict(Atom a) {
            if (restrictions.stream().noneMatch(x -> x.key().equals(a.key()) && x.role() == a.role()
                    && java.util.Objects.equals(x.predicate(), a.predicate()))) {
                restrictions.add(a);
            }
        }
    }

    private static final Set<String> SCANS = Set.of("Seq Scan", "Index Scan", "Index Only Scan", "Bitmap Heap Scan");
    private static final Set<String> OPERATORS = Set.of("=", "<", ">", "<=", ">=", "~~");
    private static final Pattern CAST = Pattern.compile("^\\(?\"?([a-z_][a-z0-9_$]*)\"?\\)?::[a-z ]+$");
    private static final Pattern MIN_MAX = Pattern.compile("^(min|max)\\((.*)\\)$");

    private QueryShape() {
    }

    /** The needs per {@code schema.table}, in plan order. */
    public static Map<String, TableShape> of(ExplainPlan plan) {
        Map<String, Node> byAlias = new LinkedHashMap<>();
        for (Node n : plan.nodes()) {
            if (n.relation() != null && SCANS.contains(n.nodeType())) {
                byAlias.putIfAbsent(alias(n), n);
            }
        }
        Map<String, TableShape> out = new LinkedHashMap<>();
        for (Node n : plan.nodes()) {
            if (n.relation() != null && SCANS.contains(n.nodeType())) {
                TableShape t = shape(out, n);
                String alias = alias(n);
                for (String cond : new String[] { n.filter(), n.indexCond(), n.recheckCond() }) {
                    for (List<Token> c : conjuncts(cond)) {
                        restriction(t, alias, cond, c, byAlias);
                    }
                }
                for (String o : n.output()) {
                    Set<String> cols = columnsOf(o, alias);
                    if (cols.isEmpty() && byAlias.size() == 1) {
                        cols = bareColumns(o); // a one-table plan prints its output unqualified
                    }
                    t.columns.addAll(cols);
                }
            }
            for (String cond : new String[] { n.hashCond(), n.mergeCond(), n.joinFilter() }) {
                for (List<Token> c : conjuncts(cond)) {
                    join(cond, c, byAlias, out);
                }
            }
            if (!n.sortKey().isEmpty()) {
                keyList(n.sortKey(), byAlias, out, true);
            }
            if (!n.groupKey().isEmpty()) {
                keyList(n.groupKey(), byAlias, out, false);
            }
            if (n.nodeType().equals("Aggregate") || n.nodeType().equals("Result")) {
                for (String o : n.output()) {
                    Matcher m = MIN_MAX.matcher(o.strip().replaceFirst("^\\(PARTIAL (.*)\\)$", "$1"));
                    if (m.matches()) {
                        Owned own = owner(m.group(2), byAlias);
                        if (own != null) {
                            TableShape t = shape(out, own.scan());
                            addKey(t.minMax, own.key());
                        }
                    }
                }
            }
        }
        return out;
    }

    /** A key with the scan it belongs to. */
    private record Owned(Node scan, Key key) {
    }

    /** The one scan whose columns {@code expr} references, and the key it makes; null for none or several. */
    private static Owned owner(String expr, Map<String, Node> byAlias) {
        List<Token> t = SqlLexer.tokenize(expr);
        Set<String> aliases = refs(t, byAlias.keySet());
        if (aliases.isEmpty() && byAlias.size() == 1 && bare(t)) {
            // above a Gather or an Aggregate of a one-table query, PostgreSQL prints columns unqualified
            List<Token> s = strip(t);
            Node only = byAlias.values().iterator().next();
            if (s.size() == 1) {
                return new Owned(only, Key.of(s.get(0).text()));
            }
            String e = expr.strip();
            while (e.startsWith("(") && balancedOuter(e)) {
                e = e.substring(1, e.length() - 1).strip();
            }
            return new Owned(only, Key.expression(e));
        }
        if (aliases.size() != 1 || otherRefs(t, byAlias.keySet())) {
            return null;
        }
        String alias = aliases.iterator().next();
        return new Owned(byAlias.get(alias), key(expr, t, alias));
    }

    private static void keyList(List<String> items, Map<String, Node> byAlias, Map<String, TableShape> out,
            boolean sort) {
        List<Key> keys = new ArrayList<>();
        Node scan = null;
        for (String item : items) {
            String e = item.strip();
            boolean desc = false;
            // "t.at DESC NULLS LAST", "(lower(a.name)) USING <": the order and null placement after the expression
            e = e.replaceAll("(?i)\\s+NULLS\\s+(FIRST|LAST)$", "");
            if (e.matches("(?is).*\\sDESC$")) {
                desc = true;
                e = e.substring(0, e.length() - 4).strip();
            } else if (e.matches("(?is).*\\sASC$")) {
                e = e.substring(0, e.length() - 3).strip();
            }
            Owned own = owner(e, byAlias);
            if (own == null || (scan != null && own.scan() != scan)) {
                return; // a sort over several tables: no one index delivers it
            }
            scan = own.scan();
            keys.add(sort ? own.key().descending(desc) : own.key());
        }
        if (scan == null) {
            return;
        }
        TableShape t = shape(out, scan);
        List<Key> into = sort ? t.sort : t.group;
        if (into.isEmpty()) {
            into.addAll(keys);
        }
    }

    private static void join(String cond, List<Token> c, Map<String, Node> byAlias, Map<String, TableShape> out) {
        int op = operator(c);
        if (op < 0 || !c.get(op).isSymbol("=")) {
            return;
        }
        for (List<Token> side : List.of(c.subList(0, op), c.subList(op + 1, c.size()))) {
            if (side.isEmpty()) {
                return;
            }
            String text = cond.substring(side.get(0).start(), side.get(side.size() - 1).end());
            Owned own = owner(text, byAlias);
            if (own != null) {
                addKey(shape(out, own.scan()).join, own.key());
            }
        }
    }

    private static void restriction(TableShape t, String alias, String cond, List<Token> c,
            Map<String, Node> byAlias) {
        if (c.isEmpty()) {
            return;
        }
        Set<String> names = byAlias.keySet();
        // a boolean column alone, or negated: "t.archived", "(NOT t.archived)"
        List<Token> bare = c.get(0).is("not") ? c.subList(1, c.size()) : c;
        if (bare.size() == 3 && bare.get(0).isName() && bare.get(0).text().equals(alias) && bare.get(1).isSymbol(".")
                && bare.get(2).isName()) {
            String col = bare.get(2).text();
            t.columns.add(col);
            String pred = c.get(0).is("not") ? "(NOT " + io.dbaoperator.sql.Identifiers.quote(col) + ")"
                    : io.dbaoperator.sql.Identifiers.quote(col);
            Atom flag = new Atom(Key.of(col), Role.EQUALITY, pred, c.get(0).is("not") ? "false" : "true");
            t.flags.add(flag);
            t.restrict(flag);
            return;
        }
        int i = 0;
        int depth = 0;
        for (; i < c.size(); i++) {
            Token x = c.get(i);
            depth += x.isSymbol("(") ? 1 : x.isSymbol(")") ? -1 : 0;
            if (depth == 0 && x.is("is")) {
                break;
            }
        }
        if (i < c.size() && i > 0) { // IS [NOT] NULL
            boolean not = i + 1 < c.size() && c.get(i + 1).is("not");
            List<Token> left = c.subList(0, i);
            if (!not && refs(left, names).equals(Set.of(alias)) && !otherRefs(left, names)) {
                String text = cond.substring(left.get(0).start(), left.get(left.size() - 1).end());
                Key k = key(text, left, alias);
                t.columns.addAll(columnsOf(text, alias));
                t.restrict(new Atom(k, Role.EQUALITY, "(" + k.sql() + " IS NULL)", null));
            }
            return;
        }
        int op = operator(c);
        if (op <= 0 || op >= c.size() - 1) {
            return;
        }
        List<Token> left = c.subList(0, op);
        List<Token> right = c.subList(op + 1, c.size());
        String operator = c.get(op).text();
        boolean any = right.get(0).is("any");
        if (!refs(left, names).equals(Set.of(alias)) || otherRefs(left, names)) {
            if (refs(right, names).equals(Set.of(alias)) && !otherRefs(right, names) && refs(left, names).isEmpty()
                    && !operator.equals("~~")) {
                // the constant on the left: (5 < t.x) is (t.x > 5)
                List<Token> tmp = left;
                left = right;
                right = tmp;
                any = false;
            } else {
                return;
            }
        }
        if (!refs(right, names).isEmpty() || otherRefs(right, names)) {
            return; // a join condition, read by join()
        }
        String leftText = cond.substring(left.get(0).start(), left.get(left.size() - 1).end());
        String rightText = cond.substring(right.get(0).start(), right.get(right.size() - 1).end());
        t.columns.addAll(columnsOf(leftText, alias));
        if (left.get(0).is("row")) {
            // keyset pagination: ROW(t.created_at, t.id) < ROW(...)
            for (String member : members(leftText)) {
                List<Token> mt = SqlLexer.tokenize(member);
                if (refs(mt, names).equals(Set.of(alias))) {
                    addKey(t.row, key(member, mt, alias));
                }
            }
            return;
        }
        Key k = key(leftText, left, alias);
        switch (operator) {
            case "=" -> {
                String literal = !any && right.get(0).kind() == Token.Kind.STRING ? right.get(0).text()
                        : !any && right.get(0).kind() == Token.Kind.NUMBER ? right.get(0).text() : null;
                boolean pure = literal != null && (right.size() == 1 || right.size() == 3 && right.get(1)
                        .isSymbol("::") && right.get(2).kind() == Token.Kind.WORD);
                t.restrict(new Atom(k, Role.EQUALITY, pure ? "(" + k.sql() + " = " + rightText + ")" : null,
                        pure ? literal : null));
            }
            case "~~" -> {
                if (right.get(0).kind() == Token.Kind.STRING && !right.get(0).text().isEmpty()
                        && right.get(0).text().charAt(0) != '%' && right.get(0).text().charAt(0) != '_') {
                    t.restrict(new Atom(k, Role.PREFIX, null, null));
                }
            }
            default -> t.restrict(new Atom(k, Role.RANGE, null, null));
        }
        // a cast of a bare column ((t.code)::text = ...): an index on the column itself may serve as well (a
        // binary-compatible cast, varchar to text), which costing tells
        Matcher m = CAST.matcher(k.isExpression() ? k.expression() : "");
        if (m.matches()) {
            Atom last = t.restrictions.get(t.restrictions.size() - 1);
            t.restrict(new Atom(Key.of(m.group(1)), last.role(), null, null));
        }
    }

    /** The top-level members of {@code ROW(a, b, c)}. */
    private static List<String> members(String row) {
        int open = row.indexOf('(');
        String inner = row.substring(open + 1, row.lastIndexOf(')'));
        List<String> out = new ArrayList<>();
        int depth = 0;
        int start = 0;
        for (int i = 0; i < inner.length(); i++) {
            char ch = inner.charAt(i);
            if (ch == '(') {
                depth++;
            } else if (ch == ')') {
                depth--;
            } else if (ch == ',' && depth == 0) {
                out.add(inner.substring(start, i).strip());
                start = i + 1;
            }
        }
        out.add(inner.substring(start).strip());
        return out;
    }

    /** The comparison operator at depth 0 of a conjunct, or -1. */
    private static int operator(List<Token> c) {
        int depth = 0;
        for (int i = 0; i < c.size(); i++) {
            Token x = c.get(i);
            if (x.isSymbol("(")) {
                depth++;
            } else if (x.isSymbol(")")) {
                depth--;
            } else if (depth == 0 && x.kind() == Token.Kind.SYMBOL && OPERATORS.contains(x.text())) {
                return i;
            }
        }
        return -1;
    }

    /** The conjuncts of a condition joined by AND at its top level, each without its outer parentheses. */
    static List<List<Token>> conjuncts(String cond) {
        List<List<Token>> out = new ArrayList<>();
        if (cond == null || cond.isBlank()) {
            return out;
        }
        List<Token> t = strip(SqlLexer.tokenize(cond));
        int depth = 0;
        int start = 0;
        for (int i = 0; i <= t.size(); i++) {
            if (i == t.size() || depth == 0 && t.get(i).is("and")) {
                List<Token> part = strip(t.subList(start, i));
                if (!part.isEmpty() && part.stream().noneMatch(x -> x.is("or"))) {
                    if (topLevelAnd(part)) {
                        out.addAll(conjuncts(cond.substring(part.get(0).start(), part.get(part.size() - 1).end())));
                    } else {
                        out.add(part);
                    }
                }
                start = i + 1;
                continue;
            }
            depth += t.get(i).isSymbol("(") ? 1 : t.get(i).isSymbol(")") ? -1 : 0;
        }
        return out;
    }

    private static boolean topLevelAnd(List<Token> t) {
        int depth = 0;
        for (Token x : t) {
            depth += x.isSymbol("(") ? 1 : x.isSymbol(")") ? -1 : 0;
            if (depth == 0 && x.is("and")) {
                return true;
            }
        }
        return false;
    }

    /** Without the parentheses that enclose the whole list, as often as they do. */
    private static List<Token> strip(List<Token> t) {
        while (t.size() >= 2 && t.get(0).isSymbol("(") && closes(t) == t.size() - 1) {
            t = t.subList(1, t.size() - 1);
        }
        return t;
    }

    private static int closes(List<Token> t) {
        int depth = 0;
        for (int i = 0; i < t.size(); i++) {
            depth += t.get(i).isSymbol("(") ? 1 : t.get(i).isSymbol(")") ? -1 : 0;
            if (depth == 0) {
                return i;
            }
        }
        return -1;
    }

    /** Whether unqualified tokens name a column: a name that is no function, type, key word or qualifier. */
    private static boolean bare(List<Token> t) {
        boolean name = false;
        for (int i = 0; i < t.size(); i++) {
            Token x = t.get(i);
            if (x.isSymbol(".")) {
                return false;
            }
            if (x.isName() && !(i + 1 < t.size() && t.get(i + 1).isSymbol("(")) && !(i > 0 && t.get(i - 1)
                    .isSymbol("::")) && !NOT_COLUMNS.contains(x.text())) {
                name = true;
            }
        }
        return name;
    }

    /** The unqualified column names in an expression of a one-table plan. */
    private static Set<String> bareColumns(String expr) {
        List<Token> t = SqlLexer.tokenize(expr);
        Set<String> out = new LinkedHashSet<>();
        for (int i = 0; i < t.size(); i++) {
            Token x = t.get(i);
            if (x.isName() && !(i + 1 < t.size() && (t.get(i + 1).isSymbol("(") || t.get(i + 1).isSymbol(".")))
                    && !(i > 0 && (t.get(i - 1).isSymbol("::") || t.get(i - 1).isSymbol(".")))
                    && !NOT_COLUMNS.contains(x.text())) {
                out.add(x.text());
            }
        }
        return out;
    }

    private static final Set<String> NOT_COLUMNS = Set.of("and", "or", "not", "is", "null", "true", "false", "any",
            "all", "array", "case", "when", "then", "else", "end", "in", "desc", "asc", "nulls", "first", "last",
            "partial", "distinct", "filter", "where", "collate", "using");

    /** The aliases among {@code known} that tokens reference as {@code alias.column}. */
    private static Set<String> refs(List<Token> t, Set<String> known) {
        Set<String> out = new LinkedHashSet<>();
        for (int i = 0; i + 2 < t.size(); i++) {
            if (isRef(t, i) && known.contains(t.get(i).text())) {
                out.add(t.get(i).text());
            }
        }
        return out;
    }

    /** Whether tokens reference a column of a relation the plan does not scan (a subquery's, a CTE's). */
    private static boolean otherRefs(List<Token> t, Set<String> known) {
        for (int i = 0; i + 2 < t.size(); i++) {
            if (isRef(t, i) && !known.contains(t.get(i).text())) {
                return true;
            }
        }
        return t.stream().anyMatch(x -> x.is("subplan") || x.is("initplan") || x.is("select"));
    }

    private static boolean isRef(List<Token> t, int i) {
        return t.get(i).isName() && t.get(i + 1).isSymbol(".") && t.get(i + 2).isName()
                && (i == 0 || !t.get(i - 1).isSymbol("::") && !t.get(i - 1).isSymbol("."))
                && (i + 3 >= t.size() || !t.get(i + 3).isSymbol("(") && !t.get(i + 3).isSymbol("."));
    }

    /** The columns of {@code alias} an expression reads. */
    static Set<String> columnsOf(String expr, String alias) {
        List<Token> t = SqlLexer.tokenize(expr);
        Set<String> out = new LinkedHashSet<>();
        for (int i = 0; i + 2 < t.size(); i++) {
            if (isRef(t, i) && t.get(i).text().equals(alias)) {
                out.add(t.get(i + 2).text());
            }
        }
        return out;
    }

    /** The key an expression of one alias makes: the column itself, or the expression without the alias. */
    private static Key key(String expr, List<Token> t, String alias) {
        List<Token> s = strip(t);
        if (s.size() == 3 && isRef(s, 0)) {
            return Key.of(s.get(2).text());
        }
        if (s.size() == 5 && isRef(s, 0) && s.get(3).is("collate") && s.get(4).isName()) {
            return Key.of(s.get(2).text()).withCollation(s.get(4).text()); // a sort under a named collation
        }
        StringBuilder b = new StringBuilder();
        int last = t.get(0).start();
        int base = t.get(0).start();
        for (int i = 0; i < t.size(); i++) {
            if (i + 2 < t.size() && isRef(t, i) && t.get(i).text().equals(alias)) {
                b.append(expr, last - base, t.get(i).start() - base);
                last = t.get(i + 2).start();
                i += 1;
            }
        }
        b.append(expr.substring(last - base));
        String e = b.toString().strip();
        while (e.startsWith("(") && balancedOuter(e)) {
            e = e.substring(1, e.length() - 1).strip();
        }
        return Key.expression(e);
    }

    private static boolean balancedOuter(String e) {
        if (!e.endsWith(")")) {
            return false;
        }
        int depth = 0;
        for (int i = 0; i < e.length(); i++) {
            char ch = e.charAt(i);
            depth += ch == '(' ? 1 : ch == ')' ? -1 : 0;
            if (depth == 0 && i < e.length() - 1) {
                return false;
            }
        }
        return true;
    }

    private static void addKey(List<Key> into, Key k) {
        if (into.stream().noneMatch(x -> x.sameTarget(k))) {
            into.add(k);
        }
    }

    private static TableShape shape(Map<String, TableShape> out, Node scan) {
        String key = (scan.schema() == null ? "" : scan.schema() + ".") + scan.relation();
        return out.computeIfAbsent(key, k -> new TableShape(scan.schema(), scan.relation()));
    }

    private static String alias(Node n) {
        return n.alias() != null ? n.alias() : n.relation();
    }
}
