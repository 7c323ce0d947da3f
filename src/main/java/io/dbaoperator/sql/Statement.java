package io.dbaoperator.sql;

import java.util.List;

/** One parsed SQL statement: what it does, as far as locking, rewriting and destroying go. */
public sealed interface Statement {

    /** The statement's text as written (without the trailing ';'). */
    String sql();

    /** Offset of the statement in its script. */
    int offset();

    record CreateIndex(String sql, int offset, boolean unique, boolean concurrently, boolean ifNotExists, String name,
            QualifiedName table, boolean partial) implements Statement {
    }

    record DropIndex(String sql, int offset, boolean concurrently, boolean ifExists, List<QualifiedName> names)
            implements Statement {
    }

    record AlterTable(String sql, int offset, QualifiedName table, boolean ifExists, List<AlterAction> actions)
            implements Statement {
    }

    record CreateTable(String sql, int offset, QualifiedName table, List<QualifiedName> references)
            implements Statement {
    }

    record DropTable(String sql, int offset, boolean ifExists, List<QualifiedName> tables) implements Statement {
    }

    record Truncate(String sql, int offset, List<QualifiedName> tables) implements Statement {
    }

    /** SET / SET LOCAL / RESET of a setting. {@code value} is null for RESET and DEFAULT. */
    record SetVariable(String sql, int offset, String name, String value, boolean local) implements Statement {
    }

    /** INSERT, UPDATE or DELETE. {@code table} is null when it could not be told (e.g. WITH ... UPDATE). */
    record Dml(String sql, int offset, String verb, QualifiedName table, boolean hasWhere) implements Statement {
    }

    /** BEGIN, COMMIT, ROLLBACK, SAVEPOINT...: the operator owns transactions. */
    record TransactionControl(String sql, int offset, String verb) implements Statement {
    }

    /** Anything else (CREATE FUNCTION, COMMENT, GRANT...): classified conservatively. */
    record Other(String sql, int offset, String verb) implements Statement {
    }

    /** One action of an ALTER TABLE. */
    sealed interface AlterAction {
    }

    record AddColumn(String column, String type, boolean ifNotExists, boolean notNull, String defaultExpression,
            boolean volatileDefault, boolean generatedStored, boolean identity, boolean unique, boolean primaryKey,
            QualifiedName references) implements AlterAction {
    }

    record DropColumn(String column, boolean ifExists) implements AlterAction {
    }

    record AlterColumnType(String column, String type, boolean using) implements AlterAction {
    }

    record SetNotNull(String column) implements AlterAction {
    }

    record DropNotNull(String column) implements AlterAction {
    }

    record SetDefault(String column, String expression, boolean volatileDefault) implements AlterAction {
    }

    record DropDefault(String column) implements AlterAction {
    }

    /** kind: CHECK, UNIQUE, PRIMARY KEY, FOREIGN KEY, EXCLUDE. */
    record AddConstraint(String name, String kind, boolean notValid, String usingIndex, QualifiedName references)
            implements AlterAction {
    }

    record ValidateConstraint(String name) implements AlterAction {
    }

    record DropConstraint(String name, boolean ifExists) implements AlterAction {
    }

    record RenameColumn(String from, String to) implements AlterAction {
    }

    record RenameTable(String to) implements AlterAction {
    }

    record RenameConstraint(String from, String to) implements AlterAction {
    }

    /** Any other action, with the lock PostgreSQL documents for it and whether it rewrites the table. */
    record OtherAction(String text, LockLevel lock, boolean rewrites) implements AlterAction {
    }
}
