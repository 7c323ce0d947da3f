package io.dbaoperator.sql;

import static io.dbaoperator.sql.StatementClass.ADDITIVE;
import static io.dbaoperator.sql.StatementClass.DESTRUCTIVE;
import static io.dbaoperator.sql.StatementClass.LOCK_HEAVY;
import static io.dbaoperator.sql.StatementClass.SESSION_CONTROL;

import java.util.List;
import java.util.Set;

/**
 * Puts every statement in a {@link StatementClass}, failing closed: a command the classifier does not know, or a form
 * of a known command it has no rule for, is {@link StatementClass#DESTRUCTIVE}. Only words count: a destructive word
 * inside a string, a dollar-quoted body, a quoted identifier or a comment is not a keyword (the {@link SqlLexer}
 * already told them apart), and a real one is never hidden by them.
 */
public final class CommandClassifier {

    private CommandClassifier() {
    }

    /** How the reason of a statement treated as destructive because it is not recognised ends. */
    public static final String UNRECOGNISED = "treated as destructive";

    /**
     * A statement's class, the command it is (lower case, as {@link CommandNames#ALL} lists it; null when it is none),
     * and why, in words for a person.
     */
    public record Verdict(StatementClass statementClass, String command, String why) {
    }

    /** What a rule decides: the class and why. */
    private record Decision(StatementClass statementClass, String why) {
    }

    /**
     * Functions a SELECT, VALUES or INSERT may call and stay additive: they read or compute and change nothing.
     * Any other call (a user's function, setval, pg_terminate_backend, dblink_exec, lo_unlink...) may do anything.
     */
    static final Set<String> READING_FUNCTIONS = Set.of("count", "sum", "min", "max", "avg", "coalesce", "nullif",
            "greatest", "least", "lower", "upper", "length", "char_length", "octet_length", "substring", "substr",
            "trim", "btrim", "ltrim", "rtrim", "replace", "concat", "concat_ws", "format", "left", "right", "abs",
            "round", "ceil", "floor", "mod", "now", "current_date", "date_trunc", "date_part", "extract", "to_char",
            "to_date", "to_timestamp", "to_number", "age", "md5", "sha256", "encode", "decode", "array_agg",
            "string_agg", "jsonb_build_object", "json_build_object", "jsonb_agg", "json_agg", "row_number", "rank",
            "generate_series", "unnest", "current_setting", "pg_relation_size", "pg_total_relation_size",
            "pg_size_pretty", "gen_random_uuid", "random", "bool_and", "bool_or", "split_part", "regexp_replace",
            "position", "strpos", "lpad", "rpad", "cast", "row", "array", "exists", "in", "any", "all", "some",
            "values", "filter", "over", "partition", "not", "and", "or", "on", "using", "when", "then", "else",
            "case", "where", "from", "select", "as", "into", "by", "having", "group", "order", "lateral", "join",
            "interval", "timestamp", "date", "numeric", "decimal", "varchar", "char", "character", "varying", "bit",
            "float", "precision", "time", "with",
            "conflict", "returning", "table", "union", "except", "intersect", "limit", "offset", "distinct");

    public static Verdict classify(Statement statement, Catalog catalog) {
        List<Token> tokens = SqlLexer.tokenize(statement.sql());
        String command = CommandNames.of(tokens);
        Decision d = decide(statement, catalog, command, new Words(tokens));
        return new Verdict(d.statementClass(), command, d.why());
    }

    private static Decision decide(Statement statement, Catalog catalog, String command, Words w) {
        String shown = CommandNames.display(command);
        if (command == null) {
            return new Decision(DESTRUCTIVE, "not a statement the planner recognises: " + UNRECOGNISED);
        }
        String cascade = w.cascade();
        if (cascade != null) {
            return new Decision(DESTRUCTIVE, "CASCADE also drops or empties whatever depends on it");
        }
        if (command.startsWith("drop ")) {
            return new Decision(DESTRUCTIVE, command.equals("drop owned")
                    ? "DROP OWNED drops every object the role owns and revokes its privileges"
                    : shown + " removes it, and whatever it holds, for good");
        }
        if (statement instanceof Statement.AlterTable s) {
            return alterTable(s, catalog);
        }
        if (statement instanceof Statement.CreateIndex s) {
            boolean blocksWrites = !s.concurrently() && catalog.tableExists(s.table());
            return blocksWrites ? new Decision(LOCK_HEAVY, "CREATE INDEX without CONCURRENTLY blocks writes to "
                    + s.table() + " (SHARE) for the whole build") : new Decision(ADDITIVE, "creates an index");
        }
        if (command.startsWith("create ")) {
            return create(command, w);
        }
        if (command.startsWith("alter ")) {
            return alter(command, shown, w);
        }
        return other(command, shown, w);
    }

    private static Decision create(String command, Words w) {
        if (command.equals("create rule")) {
            return new Decision(DESTRUCTIVE, "a rule rewrites the running version's queries (DO INSTEAD can "
                    + "make its writes vanish)");
        }
        if (command.equals("create policy") && w.has("restrictive")) {
            return new Decision(DESTRUCTIVE, "a restrictive policy hides rows from roles that see them now");
        }
        if ((command.equals("create table as") || command.equals("create materialized view")) && w.callsUnknown()) {
            return new Decision(DESTRUCTIVE, "its query calls " + w.unknownCall() + "(), whose effects the "
                    + "planner cannot see");
        }
        return new Decision(ADDITIVE, "creates something new");
    }

    private static Decision alter(String command, String shown, Words w) {
        if (w.has("rename")) {
            return new Decision(DESTRUCTIVE, "a rename breaks the version still running, which uses the old name");
        }
        if (w.seq("set", "schema")) {
            return new Decision(DESTRUCTIVE, "moving it to another schema breaks the version still running");
        }
        if (w.seq("owner", "to")) {
            return new Decision(DESTRUCTIVE, "a new owner changes who may use and change it");
        }
        switch (command) {
            case "alter index" -> {
                if (w.seq("set", "tablespace")) {
                    return lockHeavy("moving an index to another tablespace copies it under ACCESS EXCLUSIVE");
                }
                if (w.seq("set", "(") || w.seq("reset", "(") || w.has("statistics") || w.seq("attach", "partition")) {
                    return new Decision(ADDITIVE, "changes a storage parameter or statistics target");
                }
            }
            case "alter materialized view" -> {
                if (w.seq("set", "tablespace") || w.seq("set", "access", "method")) {
                    return lockHeavy("rewrites the materialized view under ACCESS EXCLUSIVE");
                }
                if (w.seq("set", "(") || w.seq("reset", "(") || w.has("statistics") || w.has("storage")
                        || w.has("compression") || w.seq("cluster", "on") || w.seq("without", "cluster")) {
                    return new Decision(ADDITIVE, "changes a storage parameter or statistics target");
                }
            }
            case "alter view" -> {
                if (w.seq("set", "default") || w.seq("set", "(") || w.seq("reset", "(")) {
                    return new Decision(ADDITIVE, "sets a default or an option of the view");
                }
            }
            case "alter sequence" -> {
                boolean movesValues = w.hasAny("restart", "start", "increment", "minvalue", "maxvalue", "cycle", "as",
                        "none", "no");
                if (!movesValues && (w.seq("owned", "by") || w.has("cache"))) {
                    return new Decision(ADDITIVE, "ties the sequence to a column, or changes its cache");
                }
                return new Decision(DESTRUCTIVE, "changing a sequence's values or bounds can repeat or exhaust "
                        + "the keys the running version takes from it");
            }
            case "alter type" -> {
                if (w.seq("add", "value") || w.seq("add", "attribute")) {
                    return new Decision(ADDITIVE, "adds an enum value or an attribute");
                }
            }
            case "alter domain" -> {
                if (w.seq("add", "constraint") || w.seq("validate", "constraint") || w.seq("set", "default")
                        || w.seq("set", "not", "null") || w.has("check")) {
                    return new Decision(ADDITIVE, "adds a default or a constraint to the domain");
                }
            }
            case "alter function", "alter procedure", "alter routine", "alter aggregate" -> {
                if (w.hasAny("cost", "rows", "parallel", "set", "reset") && !w.hasAny("security", "depends")) {
                    return new Decision(ADDITIVE, "changes a planner estimate or a setting of the function");
                }
            }
            case "alter extension" -> {
                if (w.at(3, "add")) {
                    return new Decision(ADDITIVE, "adds a member to the extension");
                }
            }
            case "alter default privileges" -> {
                if (w.has("grant") && !w.has("revoke")) {
                    return new Decision(ADDITIVE, "grants privileges on objects created later");
                }
                return new Decision(DESTRUCTIVE, "revokes privileges the running version may rely on");
            }
            case "alter group" -> {
                if (w.seq("add", "user")) {
                    return new Decision(ADDITIVE, "adds members to a role");
                }
            }
            case "alter publication" -> {
                if (w.at(3, "add")) {
                    return new Decision(ADDITIVE, "adds tables to the publication");
                }
            }
            case "alter statistics" -> {
                if (w.seq("set", "statistics")) {
                    return new Decision(ADDITIVE, "changes a statistics target");
                }
            }
            case "alter tablespace" -> {
                if (w.seq("set", "(") || w.seq("reset", "(")) {
                    return new Decision(ADDITIVE, "changes a tablespace's cost parameters");
                }
            }
            default -> {
            }
        }
        return new Decision(DESTRUCTIVE, "the planner has no rule for this form of " + shown
                + ": " + UNRECOGNISED);
    }

    private static Decision other(String command, String shown, Words w) {
        switch (command) {
            case "abort", "begin", "commit", "commit prepared", "end", "prepare transaction", "rollback",
                    "rollback prepared", "rollback to savepoint", "savepoint", "release savepoint", "start transaction",
                    "set transaction", "set constraints", "set role", "set session authorization", "declare", "fetch",
                    "move", "close", "prepare", "execute", "deallocate", "discard", "listen", "unlisten", "notify",
                    "load", "checkpoint" -> {
                return new Decision(SESSION_CONTROL, "transaction and session control belong to the operator, "
                        + "which runs each statement in its own transaction with lock_timeout");
            }
            case "set" -> {
                if (w.hasAny("role", "authorization", "transaction", "constraints")) {
                    return new Decision(SESSION_CONTROL, "who the session is and how its transactions behave "
                            + "belong to the operator");
                }
                if (w.has("session_replication_role")) {
                    return new Decision(DESTRUCTIVE, "session_replication_role switches off triggers and "
                            + "foreign-key checks for the statements after it");
                }
                return new Decision(ADDITIVE, "a setting of the operator's own session");
            }
            case "reset", "show" -> {
                return new Decision(ADDITIVE, "a setting of the operator's own session");
            }
            case "analyze", "comment", "security label", "grant", "import foreign schema" -> {
                return new Decision(ADDITIVE, switch (command) {
                    case "analyze" -> "refreshes planner statistics";
                    case "grant" -> "grants privileges";
                    case "import foreign schema" -> "creates foreign tables";
                    default -> "describes an object";
                });
            }
            case "revoke" -> {
                return new Decision(DESTRUCTIVE, "revokes privileges the running version may rely on");
            }
            case "reassign owned" -> {
                return new Decision(DESTRUCTIVE, "hands every object a role owns to another role");
            }
            case "truncate" -> {
                return new Decision(DESTRUCTIVE, "TRUNCATE removes every row");
            }
            case "delete", "update", "merge" -> {
                return new Decision(DESTRUCTIVE, shown + " changes or removes existing rows; data changes belong "
                        + "in spec.backfill (batched, resumable)");
            }
            case "insert" -> {
                if (w.seq("do", "update")) {
                    return new Decision(DESTRUCTIVE, "ON CONFLICT DO UPDATE overwrites existing rows");
                }
                return readsOrAdds(w, "adds rows");
            }
            case "with" -> {
                if (w.hasAny("update", "delete", "merge")) {
                    return new Decision(DESTRUCTIVE, "a data-modifying WITH changes or removes existing rows");
                }
                return readsOrAdds(w, w.has("insert") ? "adds rows" : "reads");
            }
            case "select", "select into", "values", "table" -> {
                return readsOrAdds(w, command.equals("select into") ? "creates a table from a query" : "reads");
            }
            case "explain" -> {
                if (w.has("analyze") && w.hasAny("update", "delete", "merge", "insert", "create", "drop")) {
                    return new Decision(DESTRUCTIVE, "EXPLAIN ANALYZE runs the statement it explains");
                }
                return new Decision(ADDITIVE, "plans a query without running it");
            }
            case "copy" -> {
                if (w.has("program")) {
                    return new Decision(DESTRUCTIVE, "COPY ... PROGRAM runs a shell command on the server");
                }
                if (w.has("to") && !w.has("stdout")) {
                    return new Decision(DESTRUCTIVE, "COPY ... TO a file overwrites a file on the server");
                }
                return new Decision(ADDITIVE, w.has("from") ? "adds rows" : "reads");
            }
            case "call", "do" -> {
                return new Decision(DESTRUCTIVE, shown + " runs code whose effects the planner cannot see");
            }
            case "lock" -> {
                return lock(w);
            }
            case "vacuum" -> {
                if (w.has("full")) {
                    return lockHeavy("VACUUM FULL rewrites the table under ACCESS EXCLUSIVE: reads and "
                            + "writes stop until it ends; plain VACUUM (or pg_repack) reclaims space without it");
                }
                return new Decision(ADDITIVE, "reclaims dead rows without blocking reads or writes");
            }
            case "cluster" -> {
                return lockHeavy("CLUSTER rewrites the table under ACCESS EXCLUSIVE: reads and writes stop "
                        + "until it ends; pg_repack --order-by does it online");
            }
            case "reindex" -> {
                if (w.has("concurrently")) {
                    return new Decision(ADDITIVE, "rebuilds indexes without blocking writes");
                }
                return lockHeavy("REINDEX without CONCURRENTLY blocks writes to the table (SHARE) and reads "
                        + "through the index (ACCESS EXCLUSIVE on it); use REINDEX ... CONCURRENTLY");
            }
            case "refresh materialized view" -> {
                if (w.seq("with", "no", "data")) {
                    return new Decision(DESTRUCTIVE, "WITH NO DATA empties the materialized view: reading it "
                            + "fails until the next refresh");
                }
                if (w.has("concurrently")) {
                    return new Decision(ADDITIVE, "refreshes without blocking reads");
                }
                return lockHeavy("REFRESH MATERIALIZED VIEW without CONCURRENTLY takes ACCESS EXCLUSIVE: "
                        + "reads stop until it ends; use CONCURRENTLY (needs a unique index on the view)");
            }
            default -> {
                return new Decision(DESTRUCTIVE, "the planner has no rule for " + shown
                        + ": " + UNRECOGNISED);
            }
        }
    }

    private static Decision readsOrAdds(Words w, String what) {
        if (w.callsUnknown()) {
            return new Decision(DESTRUCTIVE, "calls " + w.unknownCall() + "(), whose effects the planner cannot "
                    + "see");
        }
        return new Decision(ADDITIVE, what);
    }

    private static Decision lock(Words w) {
        // LOCK [TABLE] name [IN mode MODE]: without a mode it is ACCESS EXCLUSIVE
        String mode = w.between("in", "mode");
        if (Set.of("access share", "row share", "row exclusive", "share update exclusive").contains(mode)) {
            return new Decision(ADDITIVE, "a lock mode that lets reads and writes go on");
        }
        return lockHeavy("LOCK TABLE in this mode (ACCESS EXCLUSIVE without IN ... MODE) stops the "
                + "application's writes, or reads too, until the transaction ends; the operator's own lock_timeout "
                + "discipline needs no explicit lock");
    }

    private static Decision lockHeavy(String why) {
        return new Decision(LOCK_HEAVY, why);
    }

    private static Decision alterTable(Statement.AlterTable s, Catalog catalog) {
        Decision worst = null;
        for (Statement.AlterAction a : s.actions()) {
            Decision v = action(s.table(), a, catalog);
            if (worst == null || rank(v.statementClass()) > rank(worst.statementClass())) {
                worst = v;
            }
        }
        return worst;
    }

    private static int rank(StatementClass c) {
        return switch (c) {
            case ADDITIVE -> 0;
            case LOCK_HEAVY -> 1;
            case SESSION_CONTROL -> 2;
            case DESTRUCTIVE -> 3;
        };
    }

    private static Decision action(QualifiedName table, Statement.AlterAction a, Catalog catalog) {
        if (a instanceof Statement.DropColumn d) {
            return new Decision(DESTRUCTIVE, "drops column " + d.column() + " and its data");
        }
        if (a instanceof Statement.DropConstraint d) {
            return new Decision(DESTRUCTIVE, "drops constraint " + d.name() + ": rows that break it may follow");
        }
        if (a instanceof Statement.DropNotNull || a instanceof Statement.DropDefault) {
            return new Decision(DESTRUCTIVE, "drops a NOT NULL or a default the running version relies on");
        }
        if (a instanceof Statement.RenameColumn || a instanceof Statement.RenameTable
                || a instanceof Statement.RenameConstraint) {
            return new Decision(DESTRUCTIVE, "a rename breaks the version still running, which uses the old name");
        }
        if (a instanceof Statement.AlterColumnType t) {
            boolean converts = catalog.columnType(table, t.column())
                    .map(from -> TypeChanges.rewrites(from, t.type(), t.using())).orElse(true);
            return converts ? new Decision(DESTRUCTIVE, "changing " + t.column() + "'s type converts every value "
                    + "and can lose precision or fail; add a new column and backfill it")
                    : new Decision(ADDITIVE, "widens " + t.column() + "'s type without a rewrite");
        }
        if (a instanceof Statement.AddColumn || a instanceof Statement.AddConstraint
                || a instanceof Statement.ValidateConstraint || a instanceof Statement.SetNotNull
                || a instanceof Statement.SetDefault) {
            return new Decision(ADDITIVE, "adds a column, a constraint or a default");
        }
        Statement.OtherAction o = (Statement.OtherAction) a;
        Words w = new Words(SqlLexer.tokenize(o.text()));
        if (w.seq("set", "unlogged")) {
            return new Decision(DESTRUCTIVE, "an UNLOGGED table is emptied by a crash and never reaches "
                    + "replicas or WAL-based backups");
        }
        if (w.seq("set", "tablespace") || w.seq("set", "logged") || w.seq("set", "access", "method")) {
            return lockHeavy("rewrites " + table + " under ACCESS EXCLUSIVE: reads and writes stop until it "
                    + "ends; pg_repack moves a table online");
        }
        if (w.at(0, "disable") || w.at(0, "no") || w.hasAny("detach", "inherit") || w.seq("row", "level", "security")
                || w.seq("replica", "identity") || w.seq("drop")) {
            return new Decision(DESTRUCTIVE, "changes what the running version's queries see or what fires on "
                    + "its writes (" + o.text() + ")");
        }
        if (w.at(0, "enable") || w.seq("set", "(") || w.at(0, "reset") || w.has("statistics") || w.has("storage")
                || w.has("compression") || w.seq("cluster", "on") || w.seq("without", "cluster")
                || w.seq("attach", "partition") || w.seq("add", "generated") || w.seq("alter", "constraint")) {
            return new Decision(ADDITIVE, "changes a setting or adds behaviour (" + o.text() + ")");
        }
        return new Decision(DESTRUCTIVE, "the planner has no rule for ALTER TABLE ... " + o.text()
                + ": " + UNRECOGNISED);
    }

    /** The words of one statement, strings and comments already set apart by the lexer. */
    private static final class Words {
        private final List<Token> tokens;

        Words(List<Token> tokens) {
            this.tokens = tokens;
        }

        boolean has(String word) {
            return tokens.stream().anyMatch(t -> t.is(word));
        }

        boolean hasAny(String... words) {
            for (String word : words) {
                if (has(word)) {
                    return true;
                }
            }
            return false;
        }

        boolean at(int index, String word) {
            return index < tokens.size() && tokens.get(index).is(word);
        }

        /** A run of tokens: words, or the symbol "(". */
        boolean seq(String... words) {
            for (int i = 0; i + words.length <= tokens.size(); i++) {
                boolean all = true;
                for (int j = 0; j < words.length && all; j++) {
                    Token t = tokens.get(i + j);
                    all = words[j].equals("(") ? t.isSymbol("(") : t.is(words[j]);
                }
                if (all) {
                    return true;
                }
            }
            return false;
        }

        /** The words between the first {@code from} and the next {@code to}, space-separated; "" when absent. */
        String between(String from, String to) {
            StringBuilder b = new StringBuilder();
            boolean in = false;
            for (Token t : tokens) {
                if (!in && t.is(from)) {
                    in = true;
                } else if (in && t.is(to)) {
                    return b.toString().trim();
                } else if (in && t.kind() == Token.Kind.WORD) {
                    b.append(t.text()).append(' ');
                }
            }
            return "";
        }

        /** The first CASCADE that cascades now (not ON DELETE/UPDATE CASCADE, which defines a foreign key). */
        String cascade() {
            for (int i = 0; i < tokens.size(); i++) {
                if (tokens.get(i).is("cascade") && !(i > 0 && (tokens.get(i - 1).is("delete")
                        || tokens.get(i - 1).is("update")))) {
                    return "cascade";
                }
            }
            return null;
        }

        boolean callsUnknown() {
            return unknownCall() != null;
        }

        /** The first name called as a function that is not a known reading one (quoted names count too). */
        String unknownCall() {
            for (int i = 0; i + 1 < tokens.size(); i++) {
                Token t = tokens.get(i);
                if (t.isName() && tokens.get(i + 1).isSymbol("(")
                        && !(t.kind() == Token.Kind.WORD && READING_FUNCTIONS.contains(t.text()))
                        && !namesARelation(i) && !columnListOfACte(i + 1)) {
                    return t.text();
                }
            }
            return null;
        }

        /** INSERT INTO [schema.]t (...), AS alias (...), TABLE t: a column list, not a call. */
        private boolean namesARelation(int name) {
            int start = name;
            while (start >= 2 && tokens.get(start - 1).isSymbol(".") && tokens.get(start - 2).isName()) {
                start -= 2;
            }
            if (start == 0) {
                return false;
            }
            Token before = tokens.get(start - 1);
            return before.is("as") || before.is("into") || before.is("table");
        }

        /** WITH name (columns) AS (...): the parenthesis at {@code open} is followed, once closed, by AS. */
        private boolean columnListOfACte(int open) {
            int depth = 0;
            for (int i = open; i < tokens.size(); i++) {
                depth += tokens.get(i).isSymbol("(") ? 1 : tokens.get(i).isSymbol(")") ? -1 : 0;
                if (depth == 0) {
                    return i + 1 < tokens.size() && tokens.get(i + 1).is("as");
                }
            }
            return false;
        }
    }
}
