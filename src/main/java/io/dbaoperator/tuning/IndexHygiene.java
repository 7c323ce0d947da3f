package io.dbaoperator.tuning;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

import io.dbaoperator.sql.Identifiers;

/**
 * Index hygiene: the indexes a database pays for on every write and gains nothing from. Four findings, in the order
 * they are decided (an index gets at most one, the strongest evidence first):
 * <ul>
 * <li><b>Invalid</b>: {@code indisvalid} false and no build in progress (pg_stat_progress_create_index): the leftover
 * of a failed CREATE INDEX CONCURRENTLY or REINDEX, maintained by writes, never used by a plan.</li>
 * <li><b>Duplicate</b>: the same table, access method, key and INCLUDE columns, operator classes, collations,
 * options, expressions and predicate as another valid index; the one kept is the one that backs a constraint, else
 * a unique one, else the most scanned, else the oldest.</li>
 * <li><b>Redundant</b>: a non-unique btree without expressions or predicate whose key columns are a leading prefix of
 * another valid btree's (same operator classes, collations and options) and whose INCLUDE columns that one also
 * holds: every scan it serves, the longer index serves.</li>
 * <li><b>Unused</b>: no index scan since the statistics began ({@code pg_stat_database.stats_reset}, else the server's
 * start), observed for at least the minimum period.</li>
 * </ul>
 * Never proposed: an index that backs a constraint (primary key, unique, exclusion, or one a foreign key references),
 * the replica identity, a unique index as unused or redundant (it enforces a rule, not a speed-up), a partition's
 * index attached to a partitioned one, and the indexes the caller names as too young to judge. The facts come from
 * the catalogs in one bounded query ({@link #facts}); the rules are pure ({@link #review}).
 */
public final class IndexHygiene {

    private IndexHygiene() {
    }

    /** What the catalogs say about one index. Columns are attribute numbers, 0 for an expression. */
    public record IndexFact(long oid, String schema, String table, String name, String method, int[] keys,
            int[] includes, String opclasses, String collations, String options, String expressions,
            String predicate, boolean unique, boolean valid, boolean buildInProgress, boolean backsConstraint,
            boolean replicaIdentity, boolean partitionChild, long scans, long sizeBytes, long tableWrites,
            String definition) {

        String qualified() {
            return schema + "." + name;
        }

        boolean protectedFromDrop() {
            return backsConstraint || replicaIdentity || partitionChild;
        }

        /** Everything that makes two indexes interchangeable. */
        List<Object> shape() {
            return List.of(schema, table, method, Arrays.toString(keys), Arrays.toString(includes), opclasses,
                    collations, options, Objects.toString(expressions), Objects.toString(predicate));
        }
    }

    /** The kinds of finding. */
    public enum Kind {
        Invalid, Duplicate, Redundant, Unused
    }

    /** One index worth dropping, with its evidence. */
    public record Finding(IndexFact index, Kind kind, String coveredBy, String evidence) {

        /** The statement that drops it without blocking reads or writes. */
        public String dropStatement() {
            return "DROP INDEX CONCURRENTLY IF EXISTS " + Identifiers.quote(index.schema()) + "."
                    + Identifiers.quote(index.name());
        }

        /** The statement that builds it again as it was (pg_get_indexdef, made concurrent). */
        public String recreateStatement() {
            return recreate(index.definition());
        }
    }

    /** The outcome of one review: the findings and how long the usage statistics have been collected. */
    public record Review(List<Finding> findings, Instant observedSince, boolean usageJudged, int protectedIndexes,
            int examined) {
    }

    /** {@code CREATE [UNIQUE] INDEX name ON ...} as {@code CREATE [UNIQUE] INDEX CONCURRENTLY name ON ...}. */
    public static String recreate(String definition) {
        return definition.replaceFirst("^CREATE (UNIQUE )?INDEX ", "CREATE $1INDEX CONCURRENTLY ");
    }

    /**
     * The findings, pure. {@code tooYoung}: qualified names (schema.index) of indexes created after the statistics
     * began (for instance by a tuning request still following them), whose zero scans say nothing yet.
     */
    public static Review review(List<IndexFact> facts, Instant observedSince, Instant now, Duration minObservation,
            Collection<String> tooYoung) {
        Map<Long, Finding> found = new LinkedHashMap<>();
        Set<Long> dropped = new HashSet<>();
        int protectedCount = (int) facts.stream().filter(IndexFact::protectedFromDrop).count();
        for (IndexFact f : facts) {
            if (!f.valid() && !f.buildInProgress() && !f.protectedFromDrop()) {
                found.put(f.oid(), new Finding(f, Kind.Invalid, null, "INVALID (left by a failed CREATE INDEX "
                        + "CONCURRENTLY or REINDEX): never used by a plan, yet maintained on every write ("
                        + f.tableWrites() + " row(s) written to the table since the statistics began), "
                        + f.sizeBytes() + " bytes"));
                dropped.add(f.oid());
            }
        }
        List<IndexFact> valid = facts.stream().filter(IndexFact::valid).toList();
        Map<List<Object>, List<IndexFact>> byShape = new LinkedHashMap<>();
        valid.forEach(f -> byShape.computeIfAbsent(f.shape(), k -> new ArrayList<>()).add(f));
        Comparator<IndexFact> keepFirst = Comparator.comparing((IndexFact f) -> !f.backsConstraint())
                .thenComparing(f -> !f.replicaIdentity()).thenComparing(f -> !f.unique())
                .thenComparing(f -> -f.scans()).thenComparingLong(IndexFact::oid);
        for (List<IndexFact> same : byShape.values()) {
            if (same.size() < 2) {
                continue;
            }
            List<IndexFact> ordered = same.stream().sorted(keepFirst).toList();
            IndexFact kept = ordered.get(0);
            for (IndexFact f : ordered.subList(1, ordered.size())) {
                if (f.protectedFromDrop() || (f.unique() && !kept.unique())) {
                    continue;
                }
                found.put(f.oid(), new Finding(f, Kind.Duplicate, kept.qualified(), "the same definition as "
                        + kept.qualified() + " (" + kept.scans() + " scan(s)); this one: " + f.scans() + " scan(s), "
                        + f.sizeBytes() + " bytes, maintained on " + f.tableWrites() + " row write(s)"));
                dropped.add(f.oid());
            }
        }
        // longest first, so an index covered by one that is itself redundant finds the one that covers both
        List<IndexFact> byWidth = valid.stream().filter(f -> !dropped.contains(f.oid()))
                .sorted(Comparator.comparingInt((IndexFact f) -> -(f.keys().length + f.includes().length))
                        .thenComparingLong(IndexFact::oid))
                .toList();
        Map<String, List<IndexFact>> byTable = new LinkedHashMap<>();
        byWidth.forEach(f -> byTable.computeIfAbsent(f.schema() + "." + f.table(), k -> new ArrayList<>()).add(f));
        Set<Long> covering = new HashSet<>();
        for (IndexFact a : byWidth) {
            if (a.protectedFromDrop() || a.unique() || !a.method().equals("btree") || a.expressions() != null
                    || a.predicate() != null) {
                continue;
            }
            for (IndexFact b : byTable.get(a.schema() + "." + a.table())) {
                if (b.oid() != a.oid() && !dropped.contains(b.oid()) && covers(b, a)) {
                    found.put(a.oid(), new Finding(a, Kind.Redundant, b.qualified(), "its key columns lead "
                            + b.qualified() + " (" + b.scans() + " scan(s)), which serves every scan it does; this "
                            + "one: " + a.scans() + " scan(s), " + a.sizeBytes() + " bytes, maintained on "
                            + a.tableWrites() + " row write(s)"));
                    dropped.add(a.oid());
                    covering.add(b.oid());
                    break;
                }
            }
        }
        Duration observed = Duration.between(observedSince, now);
        boolean judged = observed.compareTo(minObservation) >= 0;
        if (judged) {
            for (IndexFact f : valid) {
                // an index that covers a redundant one now serves that one's scans too: never dropped with it
                if (dropped.contains(f.oid()) || covering.contains(f.oid()) || f.protectedFromDrop() || f.unique()
                        || f.scans() > 0 || tooYoung.contains(f.qualified())) {
                    continue;
                }
                found.put(f.oid(), new Finding(f, Kind.Unused, null, "no index scan in " + human(observed)
                        + " (since " + observedSince + "), " + f.sizeBytes() + " bytes, maintained on "
                        + f.tableWrites() + " row write(s)"));
            }
        }
        List<Finding> out = new ArrayList<>(found.values());
        out.sort(Comparator.comparing((Finding x) -> x.kind().ordinal()).thenComparing(x -> x.index().qualified()));
        return new Review(out, observedSince, judged, protectedCount, facts.size());
    }

    /** Whether {@code b} serves every scan {@code a} serves: a's keys lead b's, a's INCLUDE columns are in b. */
    static boolean covers(IndexFact b, IndexFact a) {
        if (!b.valid() || !b.method().equals("btree") || b.expressions() != null || b.predicate() != null
                || b.keys().length < a.keys().length || !b.schema().equals(a.schema())
                || !b.table().equals(a.table())) {
            return false;
        }
        for (int i = 0; i < a.keys().length; i++) {
            if (a.keys()[i] != b.keys()[i]) {
                return false;
            }
        }
        if (!prefix(a.opclasses(), b.opclasses(), a.keys().length)
                || !prefix(a.collations(), b.collations(), a.keys().length)
                || !prefix(a.options(), b.options(), a.keys().length)) {
            return false;
        }
        Set<Integer> bColumns = new HashSet<>();
        Arrays.stream(b.keys()).forEach(bColumns::add);
        Arrays.stream(b.includes()).forEach(bColumns::add);
        boolean sameKeys = a.keys().length == b.keys().length;
        boolean includesCovered = Arrays.stream(a.includes()).allMatch(bColumns::contains);
        // the same keys and the same columns is a duplicate in another order, not a redundancy: left to the person
        return includesCovered && !(sameKeys && a.includes().length == b.includes().length);
    }

    /** The first n space-separated words of two int2vector/oidvector texts agree. */
    private static boolean prefix(String a, String b, int n) {
        String[] x = a.isBlank() ? new String[0] : a.strip().split("\\s+");
        String[] y = b.isBlank() ? new String[0] : b.strip().split("\\s+");
        if (x.length < n || y.length < n) {
            return false;
        }
        for (int i = 0; i < n; i++) {
            if (!x[i].equals(y[i])) {
                return false;
            }
        }
        return true;
    }

    private static String human(Duration d) {
        long days = d.toDays();
        return days >= 1 ? days + " day(s)"
                : d.toHours() >= 1 ? d.toHours() + " hour(s)" : d.toMinutes() + " minute(s)";
    }

    /**
     * The facts for every index on user tables (optionally only in {@code schemas}), read from the catalogs and
     * pg_stat_user_indexes in one query; nothing touches a user table.
     */
    public static List<IndexFact> facts(Connection c, List<String> schemas) throws SQLException {
        String sql = "select i.indexrelid::bigint, n.nspname, t.relname, x.relname, am.amname, "
                + "i.indkey::text, i.indnkeyatts, i.indclass::text, i.indcollation::text, i.indoption::text, "
                + "pg_get_expr(i.indexprs, i.indrelid), pg_get_expr(i.indpred, i.indrelid), i.indisunique, "
                + "i.indisvalid and i.indisready, "
                + "exists (select 1 from pg_stat_progress_create_index p where p.index_relid = i.indexrelid "
                + "or (p.relid = i.indrelid and p.index_relid = 0)), "
                + "exists (select 1 from pg_constraint k where k.conindid = i.indexrelid), "
                + "i.indisreplident, exists (select 1 from pg_inherits h where h.inhrelid = i.indexrelid) "
                + "or x.relkind = 'I', coalesce(s.idx_scan, 0), pg_relation_size(i.indexrelid), "
                + "coalesce(u.n_tup_ins + u.n_tup_upd - u.n_tup_hot_upd, 0), pg_get_indexdef(i.indexrelid) "
                + "from pg_index i join pg_class x on x.oid = i.indexrelid join pg_class t on t.oid = i.indrelid "
                + "join pg_namespace n on n.oid = t.relnamespace join pg_am am on am.oid = x.relam "
                + "left join pg_stat_user_indexes s on s.indexrelid = i.indexrelid "
                + "left join pg_stat_user_tables u on u.relid = i.indrelid "
                + "where n.nspname not in ('pg_catalog', 'information_schema') and n.nspname !~ '^pg_toast' "
                + "and (cardinality(?::text[]) = 0 or n.nspname = any(?::text[])) "
                + "order by n.nspname, t.relname, x.relname";
        List<IndexFact> out = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            var arr = c.createArrayOf("text", (schemas == null ? List.<String>of() : schemas).toArray());
            ps.setArray(1, arr);
            ps.setArray(2, arr);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    int[] all = words(rs.getString(6));
                    int nkeys = rs.getInt(7);
                    out.add(new IndexFact(rs.getLong(1), rs.getString(2), rs.getString(3), rs.getString(4),
                            rs.getString(5), Arrays.copyOfRange(all, 0, nkeys),
                            Arrays.copyOfRange(all, nkeys, all.length), rs.getString(8), rs.getString(9),
                            rs.getString(10), rs.getString(11), rs.getString(12), rs.getBoolean(13),
                            rs.getBoolean(14), rs.getBoolean(15), rs.getBoolean(16), rs.getBoolean(17),
                            rs.getBoolean(18), rs.getLong(19), rs.getLong(20), rs.getLong(21), rs.getString(22)));
                }
            }
        }
        return out;
    }

    /**
     * Since when the usage statistics of this database have been collected: the last reset, else the server's start
     * (statistics kept across a clean restart are older, so this errs towards judging too little, never too much).
     */
    public static Instant observedSince(Connection c) throws SQLException {
        try (ResultSet rs = c.createStatement().executeQuery("select greatest(coalesce(d.stats_reset, "
                + "pg_postmaster_start_time()), pg_postmaster_start_time()) from pg_stat_database d "
                + "where d.datname = current_database()")) {
            rs.next();
            return rs.getTimestamp(1).toInstant();
        }
    }

    private static int[] words(String int2vector) {
        String s = int2vector == null ? "" : int2vector.strip();
        return s.isEmpty() ? new int[0] : Arrays.stream(s.split("\\s+")).mapToInt(Integer::parseInt).toArray();
    }
}
