package io.dbaoperator.migration;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;

import io.dbaoperator.sql.QualifiedName;
import io.dbaoperator.sql.Statement;

/**
 * What the live catalog shows of a statement's effects: the evidence behind "applied" and "already present". An
 * expand statement's effects are the tables, columns, named constraints and valid indexes it adds; a contract
 * statement's are the tables, columns and indexes it drops being gone. A statement with no effect the catalog can
 * show (a COMMENT, a function) has no evidence either way.
 */
final class SchemaEvidence {

    /** PRESENT: every effect shows; ABSENT: none does; PARTIAL: some do; UNKNOWN: nothing to look at. */
    enum State {
        PRESENT, ABSENT, PARTIAL, UNKNOWN
    }

    record Verdict(State state, String evidence) {
        static Verdict of(List<String> present, List<String> absent) {
            if (present.isEmpty() && absent.isEmpty()) {
                return new Verdict(State.UNKNOWN, "nothing in the catalog shows its effect");
            }
            State state = absent.isEmpty() ? State.PRESENT : present.isEmpty() ? State.ABSENT : State.PARTIAL;
            List<String> all = new ArrayList<>(present);
            all.addAll(absent);
            return new Verdict(state, String.join("; ", all));
        }
    }

    private final Connection c;

    SchemaEvidence(Connection c) {
        this.c = c;
    }

    /** Whether what an expand statement adds is there. */
    Verdict added(Statement s) throws SQLException {
        List<String> present = new ArrayList<>();
        List<String> absent = new ArrayList<>();
        if (s instanceof Statement.CreateTable t) {
            sort(tableExists(t.table()), "table " + t.table(), present, absent);
        } else if (s instanceof Statement.CreateIndex i && i.name() != null) {
            Boolean valid = indexValid(i.table().schema(), i.name());
            if (valid == null) {
                absent.add("index " + i.name() + " does not exist");
            } else if (valid) {
                present.add("index " + i.name() + " exists and is valid");
            } else {
                absent.add("index " + i.name() + " exists but is INVALID (a failed build's leftover)");
            }
        } else if (s instanceof Statement.AlterTable a && tableExists(a.table())) {
            for (Statement.AlterAction action : a.actions()) {
                if (action instanceof Statement.AddColumn col) {
                    sort(columnExists(a.table(), col.column()), "column " + a.table() + "." + col.column(), present,
                            absent);
                } else if (action instanceof Statement.AddConstraint con && con.name() != null) {
                    sort(constraintExists(a.table(), con.name()), "constraint " + con.name() + " on " + a.table(),
                            present, absent);
                }
            }
        } else if (s instanceof Statement.AlterTable a) {
            a.actions().stream().filter(x -> x instanceof Statement.AddColumn || x instanceof Statement.AddConstraint)
                    .findFirst().ifPresent(x -> absent.add("table " + a.table() + " does not exist"));
        }
        return Verdict.of(present, absent);
    }

    /** Whether what a contract (or rollback) statement drops is gone. */
    Verdict dropped(Statement s) throws SQLException {
        List<String> gone = new ArrayList<>();
        List<String> still = new ArrayList<>();
        if (s instanceof Statement.DropTable d) {
            for (QualifiedName t : d.tables()) {
                sortGone(tableExists(t), "table " + t, gone, still);
            }
        } else if (s instanceof Statement.DropIndex d) {
            for (QualifiedName i : d.names()) {
                sortGone(indexValid(i.schema(), i.name()) != null, "index " + i, gone, still);
            }
        } else if (s instanceof Statement.AlterTable a) {
            boolean table = tableExists(a.table());
            for (Statement.AlterAction action : a.actions()) {
                if (action instanceof Statement.DropColumn col) {
                    sortGone(table && columnExists(a.table(), col.column()), "column " + a.table() + "."
                            + col.column(), gone, still);
                } else if (action instanceof Statement.DropConstraint con) {
                    sortGone(table && constraintExists(a.table(), con.name()), "constraint " + con.name() + " on "
                            + a.table(), gone, still);
                }
            }
        }
        return Verdict.of(gone, still);
    }

    private static void sort(boolean exists, String what, List<String> present, List<String> absent) {
        (exists ? present : absent).add(what + (exists ? " exists" : " does not exist"));
    }

    private static void sortGone(boolean exists, String what, List<String> gone, List<String> still) {
        (exists ? still : gone).add(what + (exists ? " still exists" : " is gone"));
    }

    private boolean tableExists(QualifiedName table) throws SQLException {
        return bool("SELECT to_regclass(?) IS NOT NULL", table.quoted());
    }

    private boolean columnExists(QualifiedName table, String column) throws SQLException {
        return bool("SELECT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass(?) AND attname = ? "
                + "AND attnum > 0 AND NOT attisdropped)", table.quoted(), column);
    }

    private boolean constraintExists(QualifiedName table, String name) throws SQLException {
        return bool("SELECT EXISTS (SELECT 1 FROM pg_constraint WHERE conrelid = to_regclass(?) AND conname = ?)",
                table.quoted(), name);
    }

    /** null when no such index (in the search path, or in {@code schema}); else whether it is valid. */
    private Boolean indexValid(String schema, String name) throws SQLException {
        String qualified = new QualifiedName(schema, name).quoted();
        try (PreparedStatement ps = c.prepareStatement("SELECT i.indisvalid FROM pg_index i "
                + "WHERE i.indexrelid = to_regclass(?)")) {
            ps.setString(1, qualified);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? rs.getBoolean(1) : null;
            }
        }
    }

    private boolean bool(String sql, String... values) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            for (int i = 0; i < values.length; i++) {
                ps.setString(i + 1, values[i]);
            }
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() && rs.getBoolean(1);
            }
        }
    }
}
