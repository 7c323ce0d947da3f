package io.dbaoperator.migration;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.Collection;
import java.util.Optional;
import java.util.TreeSet;

import io.dbaoperator.approval.PlanDigest;
import io.dbaoperator.sql.Catalog;
import io.dbaoperator.sql.QualifiedName;

/** The planner's questions answered from pg_catalog of a live database. */
public final class LiveCatalog implements Catalog {

    private final Connection c;

    public LiveCatalog(Connection c) {
        this.c = c;
    }

    @Override
    public boolean tableExists(QualifiedName table) {
        return query("SELECT to_regclass(?) IS NOT NULL", table.quoted());
    }

    @Override
    public Optional<String> columnType(QualifiedName table, String column) {
        try (PreparedStatement ps = c.prepareStatement("SELECT format_type(a.atttypid, a.atttypmod) FROM pg_attribute a "
                + "WHERE a.attrelid = to_regclass(?) AND a.attname = ? AND NOT a.attisdropped AND a.attnum > 0")) {
            ps.setString(1, table.quoted());
            ps.setString(2, column);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? Optional.of(rs.getString(1)) : Optional.empty();
            }
        } catch (SQLException e) {
            throw new IllegalStateException("catalog query failed: " + e.getMessage(), e);
        }
    }

    @Override
    public boolean tableInUse(QualifiedName table) {
        return query("SELECT coalesce((SELECT c.reltuples > 0 OR coalesce(s.seq_scan, 0) + coalesce(s.idx_scan, 0) "
                + "+ coalesce(s.n_live_tup, 0) > 0 FROM pg_class c LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid "
                + "WHERE c.oid = to_regclass(?)), false)", table.quoted());
    }

    @Override
    public boolean indexExists(String name, boolean unique) {
        try (PreparedStatement ps = c.prepareStatement("SELECT 1 FROM pg_index i JOIN pg_class x ON x.oid = i.indexrelid "
                + "WHERE x.relname = ? AND i.indisvalid AND (i.indisunique OR NOT ?) AND pg_table_is_visible(x.oid)")) {
            ps.setString(1, name);
            ps.setBoolean(2, unique);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next();
            }
        } catch (SQLException e) {
            throw new IllegalStateException("catalog query failed: " + e.getMessage(), e);
        }
    }

    @Override
    public boolean hasNotNullCheck(QualifiedName table, String column) {
        try (PreparedStatement ps = c.prepareStatement("SELECT 1 FROM pg_constraint k WHERE k.conrelid = to_regclass(?) "
                + "AND k.contype = 'c' AND k.convalidated AND regexp_replace(pg_get_constraintdef(k.oid), '[()\" ]', '', "
                + "'g') ILIKE ?")) {
            ps.setString(1, table.quoted());
            ps.setString(2, "CHECK" + column.replace("\"", "") + "ISNOTNULL");
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next();
            }
        } catch (SQLException e) {
            throw new IllegalStateException("catalog query failed: " + e.getMessage(), e);
        }
    }

    /**
     * A fingerprint of the live definition of these tables (columns, types, nullability, indexes, constraints): an
     * approval is bound to it, and any change between approval and execution asks again.
     */
    public String fingerprint(Collection<QualifiedName> tables) {
        StringBuilder text = new StringBuilder();
        for (String t : new TreeSet<>(tables.stream().map(QualifiedName::quoted).toList())) {
            text.append(t).append('\n');
            appendRows(text, "SELECT a.attname || ' ' || format_type(a.atttypid, a.atttypmod) || CASE WHEN a.attnotnull "
                    + "THEN ' not null' ELSE '' END FROM pg_attribute a WHERE a.attrelid = to_regclass(?) "
                    + "AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum", t);
            appendRows(text, "SELECT pg_get_indexdef(i.indexrelid) || CASE WHEN i.indisvalid THEN '' ELSE ' INVALID' END "
                    + "FROM pg_index i WHERE i.indrelid = to_regclass(?) ORDER BY 1", t);
            appendRows(text, "SELECT conname || ' ' || pg_get_constraintdef(oid) FROM pg_constraint "
                    + "WHERE conrelid = to_regclass(?) ORDER BY 1", t);
        }
        return PlanDigest.sha256(text.toString());
    }

    private void appendRows(StringBuilder text, String sql, String table) {
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            ps.setString(1, table);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    text.append("  ").append(rs.getString(1)).append('\n');
                }
            }
        } catch (SQLException e) {
            throw new IllegalStateException("catalog query failed: " + e.getMessage(), e);
        }
    }

    private boolean query(String sql, String arg) {
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            ps.setString(1, arg);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() && rs.getBoolean(1);
            }
        } catch (SQLException e) {
            throw new IllegalStateException("catalog query failed: " + e.getMessage(), e);
        }
    }
}
