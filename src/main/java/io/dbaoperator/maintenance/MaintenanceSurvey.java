package io.dbaoperator.maintenance;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads {@link MaintenanceFacts} from the live database: the statistics views and catalogs (bounded, under a
 * statement timeout), and, where the pgstattuple extension is installed, {@code pgstatindex} for each valid B-tree
 * index of at least {@code measureFloorBytes} (it reads the whole index, under an ACCESS SHARE lock only).
 * <p>
 * Without pgstattuple a B-tree's bloat is estimated: its leaf tuples' expected bytes (the index's row count times
 * an 8-byte tuple header plus the key and INCLUDE columns' average widths from pg_stats, aligned to 8 bytes, plus a
 * 4-byte line pointer), over the page's usable bytes at the index's fillfactor (90 by default), plus 1% for the
 * inner pages, against the pages it has. An index with an expression key, or on columns without statistics, is
 * not estimated (its bloat stays unknown, so it is never rebuilt for bloat).
 * <p>
 * The session keeps a 60 s statement timeout and a 2 s lock timeout: a survey that meets a held lock fails (SQLSTATE
 * 55P03) and is tried again later rather than queueing.
 */
public final class MaintenanceSurvey {

    private static final int BLOCK = 8192;
    private static final int PAGE_OVERHEAD = 24 + 16; // page header, B-tree special space

    private MaintenanceSurvey() {
    }

    public static MaintenanceFacts read(Connection c, long measureFloorBytes) throws SQLException {
        c.setAutoCommit(true);
        boolean pgstattuple;
        boolean repack;
        long freezeMaxAge;
        try (Statement s = c.createStatement()) {
            s.execute("SET statement_timeout = '60s'");
            // sizes are read under ACCESS SHARE locks: never queue behind a held ACCESS EXCLUSIVE one for long
            s.execute("SET lock_timeout = '2s'");
            try (ResultSet rs = s.executeQuery("select exists (select 1 from pg_extension where extname = "
                    + "'pgstattuple'), exists (select 1 from pg_extension where extname = 'pg_repack'), "
                    + "current_setting('autovacuum_freeze_max_age')::bigint")) {
                rs.next();
                pgstattuple = rs.getBoolean(1);
                repack = rs.getBoolean(2);
                freezeMaxAge = rs.getLong(3);
            }
        }
        List<MaintenanceFacts.Table> tables = new ArrayList<>();
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("select s.schemaname, s.relname, "
                + "case when c.reltuples >= 0 then c.reltuples::bigint else s.n_live_tup end, s.n_dead_tup, "
                + "s.n_mod_since_analyze, pg_table_size(s.relid), greatest(age(c.relfrozenxid), "
                + "coalesce(age(t.relfrozenxid), 0)), greatest(mxid_age(c.relminmxid), coalesce(mxid_age("
                + "t.relminmxid), 0)), greatest(s.last_vacuum, s.last_autovacuum), greatest(s.last_analyze, "
                + "s.last_autoanalyze) from pg_stat_user_tables s join pg_class c on c.oid = s.relid left join "
                + "pg_class t on t.oid = c.reltoastrelid where c.relkind in ('r', 'm') order by 1, 2")) {
            while (rs.next()) {
                tables.add(new MaintenanceFacts.Table(rs.getString(1), rs.getString(2), rs.getLong(3),
                        rs.getLong(4), rs.getLong(5), rs.getLong(6), rs.getLong(7), rs.getLong(8),
                        instant(rs.getTimestamp(9)), instant(rs.getTimestamp(10))));
            }
        }
        List<MaintenanceFacts.Index> indexes = new ArrayList<>();
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("select n.nspname, x.relname, "
                + "tn.nspname || '.' || t.relname, am.amname, pg_relation_size(x.oid), i.indisvalid, "
                + "pg_relation_filenode(x.oid), x.oid, greatest(x.reltuples, 0), coalesce((select "
                + "substring(o from 'fillfactor=(\\d+)')::int from unnest(x.reloptions) o where o like "
                + "'fillfactor=%'), 90), case when 0 = any(i.indkey::int2[]) then null else (select "
                + "sum(st.avg_width) from unnest(i.indkey::int2[]) k(attnum) join pg_attribute a on a.attrelid = "
                + "i.indrelid and a.attnum = k.attnum left join pg_stats st on st.schemaname = tn.nspname and "
                + "st.tablename = t.relname and st.attname = a.attname having count(st.avg_width) = count(*)) "
                + "end from pg_index i join pg_class x on x.oid = i.indexrelid join pg_namespace n on n.oid = "
                + "x.relnamespace join pg_class t on t.oid = i.indrelid join pg_namespace tn on tn.oid = "
                + "t.relnamespace join pg_am am on am.oid = x.relam where t.relkind in ('r', 'm') and "
                + "n.nspname not in ('pg_catalog', 'information_schema') and n.nspname !~ '^pg_toast' "
                + "order by 1, 2")) {
            while (rs.next()) {
                String name = rs.getString(2);
                boolean valid = rs.getBoolean(6);
                String method = rs.getString(4);
                long size = rs.getLong(5);
                long oid = rs.getLong(8);
                Double bloat = null;
                String how = null;
                if (valid && "btree".equals(method)) {
                    int fillfactor = rs.getInt(10);
                    if (pgstattuple && size >= measureFloorBytes) {
                        bloat = measured(c, oid, fillfactor);
                        how = bloat == null ? null : "pgstatindex";
                    } else {
                        long width = rs.getLong(11);
                        if (!rs.wasNull()) {
                            bloat = estimate(rs.getDouble(9), width, size / BLOCK, fillfactor);
                            how = bloat == null ? null : "estimate";
                        }
                    }
                }
                indexes.add(new MaintenanceFacts.Index(rs.getString(1), name, rs.getString(3), method, size, valid,
                        bloat, how, rs.getLong(7), !valid && name.matches(".*_cc(new|old)[0-9]*")));
            }
        }
        return new MaintenanceFacts(tables, indexes, pgstattuple, repack, freezeMaxAge);
    }

    /** pgstatindex's leaf density against the fillfactor a fresh build packs to; null for an empty index. */
    private static Double measured(Connection c, long oid, int fillfactor) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("select avg_leaf_density, leaf_pages from "
                + "pgstatindex(?::oid::regclass)")) {
            ps.setLong(1, oid);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next() || rs.getLong(2) == 0) {
                    return null;
                }
                double density = rs.getDouble(1);
                if (Double.isNaN(density)) {
                    return null;
                }
                return Math.max(0, Math.min(100, 100 - density * 100 / fillfactor));
            }
        }
    }

    /**
     * Pure: the estimated share (0-100) of {@code pages} a rebuild would give back, for {@code tuples} leaf tuples
     * whose columns average {@code width} bytes; null for an index of a page or less (its meta page and root).
     */
    static Double estimate(double tuples, long width, long pages, int fillfactor) {
        if (pages <= 1) {
            return null;
        }
        long tuple = align8(8 + width) + 4;
        double usable = (BLOCK - PAGE_OVERHEAD) * fillfactor / 100.0;
        double expectedLeaf = Math.ceil(tuples * tuple / usable);
        double expected = 1 + Math.max(1, expectedLeaf * 1.01); // the meta page, the leaves and the inner pages
        return Math.max(0, Math.min(100, 100 * (1 - expected / pages)));
    }

    private static long align8(long n) {
        return (n + 7) & ~7L;
    }

    private static Instant instant(Timestamp t) {
        return t == null ? null : t.toInstant();
    }
}
