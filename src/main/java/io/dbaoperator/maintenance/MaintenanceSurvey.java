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
 * A table's bloat (for a repack) is measured only with pgstattuple: {@code pgstattuple_approx}'s free space plus
 * dead tuples, for heap tables of at least {@code measureFloorBytes}; without the extension it stays unknown and no
 * repack is planned.
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
            // pgstattuple's functions are for superusers and pg_stat_scan_tables only: a role without them
            // estimates, as without the extension
            try (ResultSet rs = s.executeQuery("select exists (select 1 from pg_extension e where extname = "
                    + "'pgstattuple' and has_function_privilege(format('%I.pgstatindex(regclass)', (select nspname "
                    + "from pg_namespace where oid = e.extnamespace)), 'execute') and has_function_privilege("
                    + "format('%I.pgstattuple_approx(regclass)', (select nspname from pg_namespace where oid = "
                    + "e.extnamespace)), 'execute')), exists (select 1 from pg_extension where extname = 'pg_repack'),"
                    + " current_setting('autovacuum_freeze_max_age')::bigint")) {
                rs.next();
                pgstattuple = rs.getBoolean(1); // installed, and this role may run it
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
                + "s.last_autoanalyze), c.oid, c.relkind = 'r' and exists (select 1 from pg_index k where "
                + "k.indrelid = c.oid and k.indisvalid and (k.indisprimary or (k.indisunique and k.indpred is "
                + "null and k.indexprs is null and not exists (select 1 from unnest(k.indkey::int2[]) a(n) join "
                + "pg_attribute att on att.attrelid = c.oid and att.attnum = a.n where not att.attnotnull)))), "
                + "c.relkind::text from pg_stat_user_tables s join pg_class c on c.oid = s.relid left join "
                + "pg_class t on t.oid = c.reltoastrelid where c.relkind in ('r', 'm') order by 1, 2")) {
            while (rs.next()) {
                long size = rs.getLong(6);
                // pgstattuple_approx measures heap tables only (not a materialized view)
                Double bloat = pgstattuple && "r".equals(rs.getString(13)) && size >= Math.max(measureFloorBytes,
                        BLOCK) ? tableBloat(c, rs.getLong(11)) : null;
                tables.add(new MaintenanceFacts.Table(rs.getString(1), rs.getString(2), rs.getLong(3),
                        rs.getLong(4), rs.getLong(5), size, rs.getLong(7), rs.getLong(8),
                        instant(rs.getTimestamp(9)), instant(rs.getTimestamp(10)), bloat,
                        bloat == null ? null : "pgstattuple_approx", rs.getBoolean(12)));
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

    /**
     * Only each table's name and freeze ages (cheap: the catalogs, no size, no pgstattuple): what a resting policy
     * checks for an urgent freeze. The other fields are zero or null.
     */
    public static List<MaintenanceFacts.Table> ages(Connection c) throws SQLException {
        c.setAutoCommit(true);
        List<MaintenanceFacts.Table> out = new ArrayList<>();
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("select n.nspname, c.relname, "
                + "greatest(age(c.relfrozenxid), coalesce(age(t.relfrozenxid), 0)), greatest(mxid_age("
                + "c.relminmxid), coalesce(mxid_age(t.relminmxid), 0)) from pg_class c join pg_namespace n on n.oid "
                + "= c.relnamespace left join pg_class t on t.oid = c.reltoastrelid where c.relkind in ('r', 'm') "
                + "and n.nspname not in ('pg_catalog', 'information_schema') and n.nspname !~ '^pg_toast'")) {
            while (rs.next()) {
                out.add(new MaintenanceFacts.Table(rs.getString(1), rs.getString(2), 0, 0, 0, 0, rs.getLong(3),
                        rs.getLong(4), null, null, null, null, false));
            }
        }
        return out;
    }

    /**
     * The bloat of a rebuilt index or a repacked table, measured again (pgstatindex, pgstattuple_approx); null
     * without pgstattuple or for the other tasks.
     */
    public static Double bloatAfter(Connection c, MaintenancePlanner.Task task) throws SQLException {
        if (task.kind() != MaintenancePlanner.Kind.Reindex && task.kind() != MaintenancePlanner.Kind.Repack) {
            return null;
        }
        long oid;
        int fillfactor;
        try (PreparedStatement ps = c.prepareStatement("select c.oid, coalesce((select substring(o from "
                + "'fillfactor=(\\d+)')::int from unnest(c.reloptions) o where o like 'fillfactor=%'), 90), exists "
                + "(select 1 from pg_extension e where extname = 'pgstattuple' and has_function_privilege(format("
                + "'%I.pgstatindex(regclass)', (select nspname from pg_namespace where oid = e.extnamespace)), "
                + "'execute')) from pg_class c where c.oid = to_regclass(?)")) {
            ps.setString(1, io.dbaoperator.sql.Identifiers.quote(task.object().substring(0, task.object()
                    .indexOf('.'))) + "." + io.dbaoperator.sql.Identifiers.quote(task.object().substring(
                            task.object().indexOf('.') + 1)));
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next() || !rs.getBoolean(3)) {
                    return null;
                }
                oid = rs.getLong(1);
                fillfactor = rs.getInt(2);
            }
        }
        return task.kind() == MaintenancePlanner.Kind.Reindex ? measured(c, oid, fillfactor) : tableBloat(c, oid);
    }

    /**
     * pgstattuple_approx's free space plus dead tuples, as a share (0-100) of the table: what a rewrite gives back
     * (it reads the visibility map and only the pages it does not mark all-visible). Null for a table it cannot
     * measure (a materialized view is measured too).
     */
    private static Double tableBloat(Connection c, long oid) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("select approx_free_percent + dead_tuple_percent from "
                + "pgstattuple_approx(?::oid::regclass)")) {
            ps.setLong(1, oid);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    return null;
                }
                double v = rs.getDouble(1);
                return rs.wasNull() || Double.isNaN(v) ? null : Math.max(0, Math.min(100, v));
            }
        } catch (SQLException e) {
            // not a relation pgstattuple_approx can read: not measured
            return null;
        }
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
