package io.dbaoperator.maintenance;

import java.time.Instant;
import java.util.List;

/**
 * What routine maintenance is planned from, read from the live catalog and statistics ({@link MaintenanceSurvey}):
 * per table its dead tuples, modifications since the last ANALYZE, freeze age and size; per index its size, validity
 * and bloat.
 */
public record MaintenanceFacts(List<Table> tables, List<Index> indexes, boolean pgstattuple, boolean pgRepack,
        long freezeMaxAge) {

    /**
     * One table (or materialized view).
     *
     * @param live live tuples as autovacuum counts them ({@code pg_class.reltuples}; {@code n_live_tup} before the
     *        first VACUUM or ANALYZE)
     * @param xidAge {@code age(relfrozenxid)}, the larger of the table's and its TOAST table's
     * @param lastVacuum the later of the last VACUUM and autovacuum; null: never
     * @param lastAnalyze the later of the last ANALYZE and autoanalyze; null: never
     * @param bloatPercent the share of the table (free space and dead tuples) a rewrite would give back, 0-100;
     *        null when not measured (pgstattuple is not installed, or the table is below the measuring floor)
     * @param bloatMethod {@code pgstattuple_approx} when measured; null otherwise
     * @param repackable it has what pg_repack needs to rewrite it online: a primary key, or a unique index (no
     *        expression, no predicate) on NOT NULL columns
     */
    public record Table(String schema, String name, long live, long dead, long modifiedSinceAnalyze, long sizeBytes,
            long xidAge, long mxidAge, Instant lastVacuum, Instant lastAnalyze, Double bloatPercent,
            String bloatMethod, boolean repackable) {

        public String qualified() {
            return schema + "." + name;
        }

        /** Dead tuples over dead plus live: what autovacuum's scale factor is compared with. */
        public double deadRatio() {
            return dead + live == 0 ? 0 : (double) dead / (dead + live);
        }
    }

    /**
     * One index.
     *
     * @param bloatPercent the share of the index's size a rebuild would give back (0-100); null when not measured
     *        (not a B-tree, or no statistics)
     * @param bloatMethod {@code pgstatindex} (measured: pgstattuple's leaf density against the fillfactor) or
     *        {@code estimate} (from the table's row count and the key columns' average width); null when not
     *        measured
     * @param relfilenode the file behind it: a rebuild gives a new one
     * @param leftover an INVALID {@code _ccnew}/{@code _ccold} index a failed REINDEX CONCURRENTLY left behind: to
     *        be dropped, never rebuilt
     */
    public record Index(String schema, String name, String table, String method, long sizeBytes, boolean valid,
            Double bloatPercent, String bloatMethod, long relfilenode, boolean leftover) {

        public String qualified() {
            return schema + "." + name;
        }
    }
}
