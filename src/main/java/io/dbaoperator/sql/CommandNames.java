package io.dbaoperator.sql;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * The SQL commands of PostgreSQL 15's reference (Part VI, "SQL Commands"; psql's {@code \h} lists the same names),
 * and which of them a statement is. The command decides the statement's class in {@link CommandClassifier}; a
 * statement that is none of them is not recognised.
 */
public final class CommandNames {

    private CommandNames() {
    }

    /** Every command PostgreSQL 15 documents, lower case. */
    public static final List<String> ALL = List.of("abort", "alter aggregate", "alter collation", "alter conversion",
            "alter database", "alter default privileges", "alter domain", "alter event trigger", "alter extension",
            "alter foreign data wrapper", "alter foreign table", "alter function", "alter group", "alter index",
            "alter language", "alter large object", "alter materialized view", "alter operator",
            "alter operator class", "alter operator family", "alter policy", "alter procedure", "alter publication",
            "alter role", "alter routine", "alter rule", "alter schema", "alter sequence", "alter server",
            "alter statistics", "alter subscription", "alter system", "alter table", "alter tablespace",
            "alter text search configuration", "alter text search dictionary", "alter text search parser",
            "alter text search template", "alter trigger", "alter type", "alter user", "alter user mapping",
            "alter view", "analyze", "begin", "call", "checkpoint", "close", "cluster", "comment", "commit",
            "commit prepared", "copy", "create access method", "create aggregate", "create cast", "create collation",
            "create conversion", "create database", "create domain", "create event trigger", "create extension",
            "create foreign data wrapper", "create foreign table", "create function", "create group",
            "create index", "create language", "create materialized view", "create operator",
            "create operator class", "create operator family", "create policy", "create procedure",
            "create publication", "create role", "create rule", "create schema", "create sequence", "create server",
            "create statistics", "create subscription", "create table", "create table as", "create tablespace",
            "create text search configuration", "create text search dictionary", "create text search parser",
            "create text search template", "create transform", "create trigger", "create type", "create user",
            "create user mapping", "create view", "deallocate", "declare", "delete", "discard", "do",
            "drop access method", "drop aggregate", "drop cast", "drop collation", "drop conversion",
            "drop database", "drop domain", "drop event trigger", "drop extension", "drop foreign data wrapper",
            "drop foreign table", "drop function", "drop group", "drop index", "drop language",
            "drop materialized view", "drop operator", "drop operator class", "drop operator family", "drop owned",
            "drop policy", "drop procedure", "drop publication", "drop role", "drop routine", "drop rule",
            "drop schema", "drop sequence", "drop server", "drop statistics", "drop subscription", "drop table",
            "drop tablespace", "drop text search configuration", "drop text search dictionary",
            "drop text search parser", "drop text search template", "drop transform", "drop trigger", "drop type",
            "drop user", "drop user mapping", "drop view", "end", "execute", "explain", "fetch", "grant",
            "import foreign schema", "insert", "listen", "load", "lock", "merge", "move", "notify", "prepare",
            "prepare transaction", "reassign owned", "refresh materialized view", "reindex", "release savepoint",
            "reset", "revoke", "rollback", "rollback prepared", "rollback to savepoint", "savepoint",
            "security label", "select", "select into", "set", "set constraints", "set role",
            "set session authorization", "set transaction", "show", "start transaction", "table", "truncate",
            "unlisten", "update", "vacuum", "values", "with");

    /** Words that may stand between CREATE and what it creates without changing which command it is. */
    private static final Set<String> CREATE_MODIFIERS = Set.of("or", "replace", "unique", "global", "local", "temp",
            "temporary", "unlogged", "recursive", "trusted", "procedural", "constraint", "default");

    /** The command {@code tokens} (one statement) is, or null when it is none PostgreSQL 15 documents. */
    public static String of(List<Token> tokens) {
        List<String> words = new ArrayList<>();
        for (int i = 0; i < tokens.size() && words.size() < 6 && tokens.get(i).kind() == Token.Kind.WORD; i++) {
            String w = tokens.get(i).text();
            if (!(words.size() == 1 && words.get(0).equals("create") && CREATE_MODIFIERS.contains(w))) {
                words.add(w);
            }
        }
        if (words.isEmpty()) {
            return null;
        }
        String first = words.get(0);
        if (first.equals("rollback") && words.size() > 1 && words.get(1).equals("to")) {
            return "rollback to savepoint";
        }
        if (first.equals("release")) {
            return "release savepoint";
        }
        String best = null;
        for (String command : ALL) {
            String[] parts = command.split(" ");
            if (parts.length <= words.size() && (best == null || parts.length > best.split(" ").length)
                    && String.join(" ", words.subList(0, parts.length)).equals(command)) {
                best = command;
            }
        }
        if ("create table".equals(best) && TokenCursor.containsWord(tokens, "as")) {
            return "create table as";
        }
        if ("select".equals(best) && TokenCursor.containsWord(tokens, "into")) {
            return "select into";
        }
        return best;
    }

    /** Upper case, as the reference writes it. */
    public static String display(String command) {
        return command == null ? "?" : command.toUpperCase(Locale.ROOT);
    }
}
