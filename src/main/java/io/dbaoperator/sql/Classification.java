package io.dbaoperator.sql;

import java.util.List;

/**
 * What running a statement does to the application.
 *
 * @param lock the strongest table lock it takes
 * @param rewritesTable whether it rewrites the table (and its indexes) while holding that lock
 * @param command the command it is, as {@link CommandNames#ALL} lists it; null when it is none of them
 * @param statementClass additive, lock-heavy, destructive (loses data or breaks the version still running, or is not
 *        recognised: see {@link CommandClassifier}) or session control
 * @param why the class in words, for the plan a person approves
 * @param transactional whether it may run inside a transaction block (CONCURRENTLY may not)
 * @param tables the existing tables it locks
 */
public record Classification(LockLevel lock, boolean rewritesTable, String command, StatementClass statementClass,
        String why, boolean transactional, List<QualifiedName> tables) {

    /** Whether the approval gate treats it as destructive: it waits for a person, and expand refuses it. */
    public boolean destructive() {
        return statementClass == StatementClass.DESTRUCTIVE;
    }

    /** The same lock and tables, another class: e.g. a DROP of a table the same step created is not destructive. */
    public Classification withClass(StatementClass c, String reason) {
        return new Classification(lock, rewritesTable, command, c, reason, transactional, tables);
    }

    /** Classifies a statement; {@code catalog} tells whether a type change rewrites. */
    public static Classification of(Statement statement, Catalog catalog) {
        CommandClassifier.Verdict v = CommandClassifier.classify(statement, catalog);
        Locks l = locks(statement, catalog);
        return new Classification(l.lock(), l.rewritesTable(), v.command(), v.statementClass(), v.why(),
                l.transactional(), l.tables());
    }

    private record Locks(LockLevel lock, boolean rewritesTable, boolean transactional, List<QualifiedName> tables) {
    }

    private static Locks locks(Statement statement, Catalog catalog) {
        if (statement instanceof Statement.CreateIndex s) {
            return new Locks(s.concurrently() ? LockLevel.SHARE_UPDATE_EXCLUSIVE : LockLevel.SHARE, false,
                    !s.concurrently(), List.of(s.table()));
        }
        if (statement instanceof Statement.DropIndex s) {
            return new Locks(s.concurrently() ? LockLevel.SHARE_UPDATE_EXCLUSIVE : LockLevel.ACCESS_EXCLUSIVE,
                    false, !s.concurrently(), List.of());
        }
        if (statement instanceof Statement.AlterTable s) {
            return alterTable(s, catalog);
        }
        if (statement instanceof Statement.CreateTable s) {
            return new Locks(s.references().isEmpty() ? LockLevel.NONE : LockLevel.SHARE_ROW_EXCLUSIVE, false,
                    true, s.references());
        }
        if (statement instanceof Statement.DropTable s) {
            return new Locks(LockLevel.ACCESS_EXCLUSIVE, false, true, s.tables());
        }
        if (statement instanceof Statement.Truncate s) {
            return new Locks(LockLevel.ACCESS_EXCLUSIVE, true, true, s.tables());
        }
        if (statement instanceof Statement.SetVariable) {
            return new Locks(LockLevel.NONE, false, true, List.of());
        }
        if (statement instanceof Statement.Dml s) {
            return new Locks(LockLevel.ROW_EXCLUSIVE, false, true,
                    s.table() == null ? List.of() : List.of(s.table()));
        }
        if (statement instanceof Statement.TransactionControl) {
            return new Locks(LockLevel.NONE, false, false, List.of());
        }
        Statement.Other s = (Statement.Other) statement;
        if (s.verb().startsWith("SELECT") || s.verb().startsWith("COMMENT") || s.verb().startsWith("ANALYZE")) {
            return new Locks(s.verb().startsWith("SELECT") ? LockLevel.ACCESS_SHARE
                    : LockLevel.SHARE_UPDATE_EXCLUSIVE, false, true, List.of());
        }
        String lower = s.sql().toLowerCase(java.util.Locale.ROOT);
        boolean outsideTransaction = s.verb().startsWith("VACUUM") || s.verb().startsWith("CREATE DATABASE")
                || s.verb().startsWith("DROP DATABASE") || s.verb().startsWith("ALTER SYSTEM")
                || (s.verb().startsWith("REINDEX") && lower.contains("concurrently"));
        return new Locks(LockLevel.ACCESS_EXCLUSIVE, false, !outsideTransaction, List.of());
    }

    private static Locks alterTable(Statement.AlterTable s, Catalog catalog) {
        LockLevel lock = LockLevel.NONE;
        boolean rewrites = false;
        List<QualifiedName> tables = new java.util.ArrayList<>(List.of(s.table()));
        for (Statement.AlterAction action : s.actions()) {
            if (action instanceof Statement.AddColumn a) {
                lock = lock.max(LockLevel.ACCESS_EXCLUSIVE);
                rewrites |= a.volatileDefault() || a.generatedStored() || a.identity();
                if (a.references() != null) {
                    tables.add(a.references());
                }
            } else if (action instanceof Statement.DropColumn) {
                lock = lock.max(LockLevel.ACCESS_EXCLUSIVE);
            } else if (action instanceof Statement.AlterColumnType a) {
                lock = lock.max(LockLevel.ACCESS_EXCLUSIVE);
                rewrites |= catalog.columnType(s.table(), a.column())
                        .map(from -> TypeChanges.rewrites(from, a.type(), a.using()))
                        .orElse(catalog.tableExists(s.table()));
            } else if (action instanceof Statement.AddConstraint a) {
                boolean foreignKey = a.kind().equals("FOREIGN KEY");
                lock = lock.max(foreignKey ? LockLevel.SHARE_ROW_EXCLUSIVE : LockLevel.ACCESS_EXCLUSIVE);
                if (a.references() != null) {
                    tables.add(a.references());
                }
            } else if (action instanceof Statement.ValidateConstraint) {
                lock = lock.max(LockLevel.SHARE_UPDATE_EXCLUSIVE);
            } else if (action instanceof Statement.RenameColumn || action instanceof Statement.RenameTable) {
                lock = lock.max(LockLevel.ACCESS_EXCLUSIVE);
            } else if (action instanceof Statement.OtherAction a) {
                lock = lock.max(a.lock());
                rewrites |= a.rewrites();
            } else {
                lock = lock.max(LockLevel.ACCESS_EXCLUSIVE);
            }
        }
        return new Locks(lock, rewrites, true, List.copyOf(tables));
    }
}
