package io.dbaoperator.sql;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

import io.dbaoperator.sql.Statement.AlterAction;

/**
 * A recursive-descent parser for the PostgreSQL statements a schema migration is made of. It reads the statements
 * whose locking and rewriting matter (ALTER TABLE and its actions, CREATE/DROP INDEX, CREATE/DROP TABLE, TRUNCATE,
 * SET, DML, transaction control) into {@link Statement}s and keeps any other statement whole as
 * {@link Statement.Other}. It is not the arbiter of syntax: PostgreSQL's own grammar checks every statement before
 * anything runs (see {@code io.dbaoperator.migration.SyntaxCheck}); this parser only has to understand what a
 * statement does, and fails loudly on a form it cannot read rather than guessing.
 */
public final class SqlParser extends TokenCursor {

    /** Functions whose default makes ADD COLUMN rewrite the table (PostgreSQL 11+ stores non-volatile ones). */
    static final Set<String> VOLATILE_FUNCTIONS = Set.of("random", "gen_random_uuid", "uuid_generate_v1",
            "uuid_generate_v1mc", "uuid_generate_v4", "clock_timestamp", "timeofday", "nextval", "txid_current",
            "pg_current_xact_id", "setseed");

    private static final Set<String> SERIAL_TYPES = Set.of("serial", "bigserial", "smallserial", "serial2", "serial4",
            "serial8");

    private static final Set<String> COLUMN_CONSTRAINT_WORDS = Set.of("constraint", "not", "null", "default", "check",
            "unique", "primary", "references", "generated", "collate", "deferrable", "initially", "using");

    private SqlParser(String script, List<Token> tokens, int offset) {
        super(script, tokens, offset);
    }

    /** Parses a script of statements separated by ';'. */
    public static List<Statement> parseScript(String script) {
        List<Token> all = SqlLexer.tokenize(script);
        List<Statement> statements = new ArrayList<>();
        int depth = 0;
        int begin = 0;
        for (int i = 0; i <= all.size(); i++) {
            Token t = i < all.size() ? all.get(i) : null;
            if (t != null && t.isSymbol("(")) {
                depth++;
            } else if (t != null && t.isSymbol(")")) {
                depth--;
            }
            if (t == null || (t.isSymbol(";") && depth <= 0)) {
                if (i > begin) {
                    List<Token> statement = all.subList(begin, i);
                    statements.add(new SqlParser(script, statement, statement.get(0).start()).statement());
                }
                begin = i + 1;
                depth = 0;
            }
        }
        return statements;
    }

    /** Checks that {@code expression} is one SQL expression: no ';' outside strings, balanced parentheses. */
    public static List<Token> expression(String expression) {
        List<Token> t = SqlLexer.tokenize(expression);
        int depth = 0;
        for (Token token : t) {
            if (token.isSymbol(";")) {
                throw new SqlSyntaxException("a ';' ends the statement here: an expression may not contain one",
                        token.start());
            }
            depth += token.isSymbol("(") ? 1 : token.isSymbol(")") ? -1 : 0;
            if (depth < 0) {
                throw new SqlSyntaxException("unbalanced ')'", token.start());
            }
        }
        if (depth != 0) {
            throw new SqlSyntaxException("unbalanced '('", expression.length());
        }
        if (t.isEmpty()) {
            throw new SqlSyntaxException("empty expression", 0);
        }
        return t;
    }

    private Statement statement() {
        String sql = script.substring(offset, tokens.get(tokens.size() - 1).end());
        Token first = peek();
        if (first.is("create")) {
            at++;
            accept("or", "replace");
            boolean unique = accept("unique");
            if (accept("index")) {
                return createIndex(sql, unique);
            }
            if (!unique && (peekIs("table") || peekIs("unlogged", "table") || peekIs("temporary") || peekIs("temp"))) {
                return createTable(sql);
            }
            return other(sql);
        }
        if (first.is("drop")) {
            at++;
            if (accept("index")) {
                boolean concurrently = accept("concurrently");
                boolean ifExists = accept("if", "exists");
                return new Statement.DropIndex(sql, offset, concurrently, ifExists, nameList());
            }
            if (accept("table")) {
                boolean ifExists = accept("if", "exists");
                return new Statement.DropTable(sql, offset, ifExists, nameList());
            }
            return other(sql);
        }
        if (first.is("alter") && peekIs("alter", "table")) {
            at += 2;
            return alterTable(sql);
        }
        if (first.is("truncate")) {
            at++;
            accept("table");
            return new Statement.Truncate(sql, offset, nameList());
        }
        if (first.is("set") || first.is("reset")) {
            return setVariable(sql);
        }
        if (first.is("update") || first.is("delete") || first.is("insert") || first.is("merge")) {
            return dml(sql);
        }
        if (first.is("with")) {
            return new Statement.Dml(sql, offset, "with", null, containsWord("where"));
        }
        if (Set.of("begin", "start", "commit", "end", "rollback", "abort", "savepoint", "release", "prepare")
                .contains(first.text()) && first.kind() == Token.Kind.WORD) {
            return new Statement.TransactionControl(sql, offset, first.text());
        }
        return other(sql);
    }

    private Statement other(String sql) {
        StringBuilder verb = new StringBuilder();
        for (int i = 0; i < Math.min(3, tokens.size()) && tokens.get(i).kind() == Token.Kind.WORD; i++) {
            verb.append(i == 0 ? "" : " ").append(tokens.get(i).text().toUpperCase(java.util.Locale.ROOT));
        }
        return new Statement.Other(sql, offset, verb.toString());
    }

    private Statement createIndex(String sql, boolean unique) {
        boolean concurrently = accept("concurrently");
        boolean ifNotExists = accept("if", "not", "exists");
        String name = null;
        if (!peekIs("on")) {
            name = name();
        }
        expect("on");
        accept("only");
        QualifiedName table = qualifiedName();
        return new Statement.CreateIndex(sql, offset, unique, concurrently, ifNotExists, name, table,
                containsWord("where"));
    }

    private Statement createTable(String sql) {
        while (!accept("table")) {
            at++;
        }
        accept("if", "not", "exists");
        QualifiedName table = qualifiedName();
        List<QualifiedName> references = new ArrayList<>();
        for (int i = at; i < tokens.size() - 1; i++) {
            if (tokens.get(i).is("references")) {
                at = i + 1;
                references.add(qualifiedName());
            }
        }
        return new Statement.CreateTable(sql, offset, table, references);
    }

    private Statement alterTable(String sql) {
        boolean ifExists = accept("if", "exists");
        accept("only");
        QualifiedName table = qualifiedName();
        accept("*");
        List<AlterAction> actions = new ArrayList<>();
        do {
            actions.add(alterAction());
        } while (acceptSymbol(","));
        if (at < tokens.size()) {
            throw error("unexpected '" + peek().text() + "' after an ALTER TABLE action");
        }
        return new Statement.AlterTable(sql, offset, table, ifExists, actions);
    }

    private AlterAction alterAction() {
        int actionStart = at;
        if (accept("rename")) {
            if (accept("to")) {
                return new Statement.RenameTable(name());
            }
            if (accept("constraint")) {
                String from = name();
                expect("to");
                return new Statement.RenameConstraint(from, name());
            }
            accept("column");
            String from = name();
            expect("to");
            return new Statement.RenameColumn(from, name());
        }
        if (accept("add")) {
            if (peekIs("constraint") || peekIs("check") || peekIs("unique") || peekIs("primary") || peekIs("foreign")
                    || peekIs("exclude")) {
                return addConstraint();
            }
            accept("column");
            return addColumn();
        }
        if (accept("drop")) {
            if (accept("constraint")) {
                boolean ifExists = accept("if", "exists");
                String name = name();
                skipToActionEnd();
                return new Statement.DropConstraint(name, ifExists);
            }
            accept("column");
            boolean ifExists = accept("if", "exists");
            String column = name();
            skipToActionEnd();
            return new Statement.DropColumn(column, ifExists);
        }
        if (accept("validate", "constraint")) {
            return new Statement.ValidateConstraint(name());
        }
        if (accept("alter")) {
            accept("column");
            String column = name();
            if (accept("set", "data", "type") || accept("type")) {
                int typeStart = at;
                while (at < tokens.size() && !peekIs("using") && !peekIs("collate") && !peek().isSymbol(",")) {
                    skipBalanced();
                }
                String type = text(typeStart, at);
                boolean using = false;
                while (at < tokens.size() && !peek().isSymbol(",")) {
                    using |= peekIs("using");
                    skipBalanced();
                }
                return new Statement.AlterColumnType(column, type, using);
            }
            if (accept("set", "not", "null")) {
                return new Statement.SetNotNull(column);
            }
            if (accept("drop", "not", "null")) {
                return new Statement.DropNotNull(column);
            }
            if (accept("set", "default")) {
                int exprStart = at;
                skipToActionEnd();
                return new Statement.SetDefault(column, text(exprStart, at), volatileIn(exprStart, at));
            }
            if (accept("drop", "default")) {
                return new Statement.DropDefault(column);
            }
            if (peekIs("set", "statistics") || peekIs("set", "(") || peekIs("reset") || peekIs("set", "storage")
                    || peekIs("set", "compression")) {
                skipToActionEnd();
                return new Statement.OtherAction(text(actionStart, at), LockLevel.SHARE_UPDATE_EXCLUSIVE, false);
            }
            skipToActionEnd();
            return new Statement.OtherAction(text(actionStart, at), LockLevel.ACCESS_EXCLUSIVE, false);
        }
        if (peekIs("set", "logged") || peekIs("set", "unlogged") || peekIs("set", "tablespace")
                || peekIs("set", "access")) {
            skipToActionEnd();
            return new Statement.OtherAction(text(actionStart, at), LockLevel.ACCESS_EXCLUSIVE, true);
        }
        if (peekIs("set", "(") || peekIs("reset") || peekIs("set", "statistics") || peekIs("cluster")
                || peekIs("set", "without", "cluster") || peekIs("attach")) {
            skipToActionEnd();
            return new Statement.OtherAction(text(actionStart, at), LockLevel.SHARE_UPDATE_EXCLUSIVE, false);
        }
        if (peekIs("enable") || peekIs("disable")) {
            skipToActionEnd();
            return new Statement.OtherAction(text(actionStart, at), LockLevel.SHARE_ROW_EXCLUSIVE, false);
        }
        if (at >= tokens.size()) {
            throw error("ALTER TABLE needs an action");
        }
        skipToActionEnd();
        return new Statement.OtherAction(text(actionStart, at), LockLevel.ACCESS_EXCLUSIVE, false);
    }

    private AlterAction addColumn() {
        boolean ifNotExists = accept("if", "not", "exists");
        String column = name();
        int typeStart = at;
        while (at < tokens.size() && !peek().isSymbol(",")
                && !(peek().kind() == Token.Kind.WORD && COLUMN_CONSTRAINT_WORDS.contains(peek().text()))) {
            skipBalanced();
        }
        if (typeStart == at) {
            throw error("ADD COLUMN " + column + " needs a data type");
        }
        String type = text(typeStart, at);
        boolean notNull = false;
        String defaultExpression = null;
        boolean volatileDefault = SERIAL_TYPES.contains(type.toLowerCase(java.util.Locale.ROOT).trim());
        boolean generatedStored = false;
        boolean identity = false;
        boolean unique = false;
        boolean primaryKey = false;
        QualifiedName references = null;
        while (at < tokens.size() && !peek().isSymbol(",")) {
            if (accept("constraint")) {
                name();
            } else if (accept("not", "null")) {
                notNull = true;
            } else if (accept("null")) {
                notNull = false;
            } else if (accept("default")) {
                int exprStart = at;
                while (at < tokens.size() && !peek().isSymbol(",") && !(peek().kind() == Token.Kind.WORD
                        && COLUMN_CONSTRAINT_WORDS.contains(peek().text()) && !peek().is("null"))) {
                    skipBalanced();
                }
                defaultExpression = text(exprStart, at);
                volatileDefault |= volatileIn(exprStart, at);
            } else if (accept("primary", "key")) {
                primaryKey = true;
                notNull = true;
            } else if (accept("unique")) {
                unique = true;
            } else if (accept("references")) {
                references = qualifiedName();
            } else if (accept("generated")) {
                int start = at;
                while (at < tokens.size() && !peek().isSymbol(",") && !peekIs("stored") && !peekIs("identity")) {
                    skipBalanced();
                }
                if (accept("identity")) {
                    identity = true;
                    notNull = true;
                } else if (accept("stored")) {
                    generatedStored = true;
                } else {
                    throw error("GENERATED needs STORED or AS IDENTITY", start);
                }
            } else {
                skipBalanced();
            }
        }
        return new Statement.AddColumn(column, type, ifNotExists, notNull, defaultExpression, volatileDefault,
                generatedStored, identity, unique, primaryKey, references);
    }

    private AlterAction addConstraint() {
        String name = null;
        if (accept("constraint")) {
            name = name();
        }
        String kind;
        if (accept("check")) {
            kind = "CHECK";
        } else if (accept("unique")) {
            kind = "UNIQUE";
        } else if (accept("primary", "key")) {
            kind = "PRIMARY KEY";
        } else if (accept("foreign", "key")) {
            kind = "FOREIGN KEY";
        } else if (accept("exclude")) {
            kind = "EXCLUDE";
        } else {
            throw error("expected CHECK, UNIQUE, PRIMARY KEY, FOREIGN KEY or EXCLUDE");
        }
        boolean notValid = false;
        String usingIndex = null;
        QualifiedName references = null;
        while (at < tokens.size() && !peek().isSymbol(",")) {
            if (accept("not", "valid")) {
                notValid = true;
            } else if (accept("using", "index")) {
                if (peek() != null && peek().isName() && !peekIs("tablespace")) {
                    usingIndex = name();
                }
            } else if (accept("references")) {
                references = qualifiedName();
            } else {
                skipBalanced();
            }
        }
        return new Statement.AddConstraint(name, kind, notValid, usingIndex, references);
    }

    private Statement setVariable(String sql) {
        boolean reset = accept("reset");
        if (!reset) {
            expect("set");
        }
        boolean local = accept("local");
        accept("session");
        if (peekIs("transaction") || peekIs("role") || peekIs("session", "authorization") || peekIs("authorization")
                || peekIs("time") || peekIs("constraints") || peekIs("schema") || peekIs("names") || peekIs("xml")) {
            return new Statement.SetVariable(sql, offset, peek().text(), null, local);
        }
        StringBuilder name = new StringBuilder(name());
        while (acceptSymbol(".")) {
            name.append('.').append(name());
        }
        if (reset) {
            return new Statement.SetVariable(sql, offset, name.toString(), null, false);
        }
        if (!accept("to") && !acceptSymbol("=")) {
            throw error("expected TO or = after SET " + name);
        }
        String value = at < tokens.size() ? text(at, tokens.size()) : null;
        if (value != null && value.equalsIgnoreCase("default")) {
            value = null;
        } else if (at < tokens.size() && tokens.get(at).kind() == Token.Kind.STRING && at == tokens.size() - 1) {
            value = tokens.get(at).text();
        }
        return new Statement.SetVariable(sql, offset, name.toString(), value, local);
    }

    private Statement dml(String sql) {
        String verb = peek().text();
        at++;
        if (verb.equals("delete")) {
            expect("from");
        } else if (verb.equals("insert") || verb.equals("merge")) {
            expect("into");
        }
        accept("only");
        QualifiedName table = qualifiedName();
        return new Statement.Dml(sql, offset, verb, table, containsWord("where"));
    }
}
