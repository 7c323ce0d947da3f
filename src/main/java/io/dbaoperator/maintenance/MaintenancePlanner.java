package io.dbaoperator.maintenance;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Pure: routine maintenance planned from evidence. Each table and index the policy covers is compared with its
 * thresholds (the defaults, or the table's own), and what passes one becomes a {@link Task} that says why, in the
 * order a DBA works: urgent freezes (wraparound is the one maintenance failure that stops writes), other freezes
 * oldest first, vacuums by dead tuples, stale statistics, the leftovers of failed concurrent rebuilds, INVALID
 * indexes, then bloated indexes by the bytes a rebuild gives back.
 */
public final class MaintenancePlanner {

    private static final java.util.Locale ROOT = java.util.Locale.ROOT;

    private MaintenancePlanner() {
    }

    /** What a task does. */
    public enum Kind {
        /** VACUUM (FREEZE, ANALYZE): transaction IDs past the freeze age. */
        Freeze,
        /** VACUUM (ANALYZE): dead tuples past the threshold. */
        Vacuum,
        /** ANALYZE: statistics gone stale. */
        Analyze,
        /** DROP INDEX CONCURRENTLY of an INVALID _ccnew/_ccold index a failed REINDEX CONCURRENTLY left. */
        DropLeftover,
        /** REINDEX INDEX CONCURRENTLY: bloated, or INVALID after a failed build. */
        Reindex,
        /** pg_repack of a bloated table: rewritten online, ACCESS EXCLUSIVE only briefly at its start and end. */
        Repack
    }

    /** The tasks a policy may plan: vacuum (with freeze), analyze, reindex, repack. */
    public enum Duty {
        vacuum, analyze, reindex, repack
    }

    /**
     * When an object needs work. Ratios are shares (0-1) and percentages 0-100.
     *
     * @param deadTupleRatio dead over dead plus live tuples for a VACUUM (autovacuum's default scale factor: 0.2)
     * @param minDeadTuples and at least this many dead tuples
     * @param analyzeRatio modifications since the last ANALYZE over live tuples for an ANALYZE (autovacuum's: 0.1)
     * @param minModifications and at least this many modifications
     * @param freezeAge a table's transaction (or multixact) ID age at which it is frozen
     * @param urgentFreezeAge the age past which a freeze is urgent: it may run outside the maintenance window
     * @param indexBloatPercent the share of an index a rebuild would give back for a REINDEX
     * @param minIndexBytes and at least this size
     * @param tableBloatPercent the share of a table a repack would give back (free and dead space) for a repack
     * @param minTableBytes and at least this size
     */
    public record Thresholds(double deadTupleRatio, long minDeadTuples, double analyzeRatio, long minModifications,
            long freezeAge, long urgentFreezeAge, double indexBloatPercent, long minIndexBytes,
            double tableBloatPercent, long minTableBytes) {

        /** Safe defaults: autovacuum's own ratios, a freeze at half of the default autovacuum_freeze_max_age. */
        public static final Thresholds DEFAULTS = new Thresholds(0.2, 1_000, 0.1, 1_000, 100_000_000L,
                1_000_000_000L, 30, 8L * 1024 * 1024, 40, 64L * 1024 * 1024);

        /** What is out of range, each naming its field under {@code field}; empty when all is well. */
        List<String> problems(String field) {
            List<String> out = new ArrayList<>();
            share(out, field + ".deadTupleRatio", deadTupleRatio);
            share(out, field + ".analyzeRatio", analyzeRatio);
            for (var n : Map.of("indexBloatPercent", indexBloatPercent, "tableBloatPercent", tableBloatPercent)
                    .entrySet()) {
                if (!(n.getValue() > 0 && n.getValue() < 100)) {
                    out.add(field + "." + n.getKey() + " must be above 0 and below 100, not " + n.getValue());
                }
            }
            for (var n : Map.of("minDeadTuples", minDeadTuples, "minModifications", minModifications,
                    "minIndexBytes", minIndexBytes, "minTableBytes", minTableBytes).entrySet()) {
                if (n.getValue() < 0) {
                    out.add(field + "." + n.getKey() + " must not be negative, not " + n.getValue());
                }
            }
            // 2^31 - 1: no age is older; autovacuum's own settings go from 100,000 up
            if (freezeAge < 100_000 || freezeAge > 2_000_000_000L) {
                out.add(field + ".freezeAge must be between 100000 and 2000000000, not " + freezeAge);
            }
            if (urgentFreezeAge <= freezeAge || urgentFreezeAge > 2_000_000_000L) {
                out.add(field + ".urgentFreezeAge must be above freezeAge (" + freezeAge + ") and at most "
                        + "2000000000, not " + urgentFreezeAge);
            }
            return out;
        }

        private static void share(List<String> out, String field, double v) {
            if (!(v > 0 && v <= 1)) {
                out.add(field + " must be above 0 and at most 1, not " + v);
            }
        }
    }

    /**
     * What to look after, and how.
     *
     * @param include table names ({@code schema.table}, or {@code table} for public; {@code *} matches any run of
     *        characters); empty: every table
     * @param exclude the same, taken out of what include gives
     * @param perTable a table's own thresholds, by name as in include
     * @param reindexApprovalBytes a REINDEX of an index at least this large waits for a person's approval
     */
    public record Policy(Set<Duty> duties, Thresholds defaults, Map<String, Thresholds> perTable, List<String> include,
            List<String> exclude, long reindexApprovalBytes) {

        public static Policy all(Thresholds t) {
            return new Policy(EnumSet.allOf(Duty.class), t, Map.of(), List.of(), List.of(), 1024L * 1024 * 1024);
        }

        Thresholds of(MaintenanceFacts.Table table) {
            for (var e : perTable.entrySet()) {
                if (matches(e.getKey(), table)) {
                    return e.getValue();
                }
            }
            return defaults;
        }

        boolean covers(MaintenanceFacts.Table table) {
            return (include.isEmpty() || include.stream().anyMatch(p -> matches(p, table)))
                    && exclude.stream().noneMatch(p -> matches(p, table));
        }
    }

    /**
     * One object's work.
     *
     * @param object the table's or index's qualified name
     * @param table the table it belongs to
     * @param why the evidence, e.g. "42% dead tuples (120000 dead, 165000 live)"
     * @param approval it waits for a person's approval before it runs
     * @param urgent it may run outside the maintenance window
     */
    public record Task(Kind kind, String object, String table, String why, boolean approval, boolean urgent) {
    }

    /**
     * What the policy is asked to do that the database refutes or the thresholds forbid: tables named (without a
     * wildcard) that do not exist, thresholds out of range. Empty when the policy can be planned.
     */
    public static List<String> problems(Policy p, MaintenanceFacts facts) {
        List<String> out = new ArrayList<>(thresholdProblems(p));
        if (p.duties().contains(Duty.repack) && !facts.pgRepack()) {
            out.add("task repack needs the pg_repack extension in the database (CREATE EXTENSION pg_repack, with "
                    + "the same version as the operator image's pg_repack program)");
        }
        List<String> named = new ArrayList<>(p.include());
        named.addAll(p.perTable().keySet());
        for (String name : named) {
            if (!name.contains("*") && facts.tables().stream().noneMatch(t -> matches(name, t))) {
                out.add("table " + name + " does not exist (or is not a table this role can see)");
            }
        }
        return out;
    }

    /** The thresholds out of range (the defaults' and each table's), each naming its field; needs no database. */
    public static List<String> thresholdProblems(Policy p) {
        List<String> out = new ArrayList<>(p.defaults().problems("thresholds"));
        p.perTable().forEach((name, t) -> out.addAll(t.problems("tables[" + name + "].thresholds")));
        return out;
    }

    /**
     * The covered tables whose freeze age is past their urgent threshold, oldest first, as "schema.table (age N)":
     * what makes a resting policy start a run at once. Reads only the tables' names and ages.
     */
    public static List<String> urgent(Policy p, List<MaintenanceFacts.Table> tables) {
        if (!p.duties().contains(Duty.vacuum)) {
            return List.of();
        }
        return tables.stream().filter(p::covers).filter(t -> Math.max(t.xidAge(), t.mxidAge()) >= p.of(t)
                .urgentFreezeAge()).sorted(Comparator.comparingLong(t -> -Math.max(t.xidAge(), t.mxidAge())))
                .map(t -> t.qualified() + " (age " + Math.max(t.xidAge(), t.mxidAge()) + ")").toList();
    }

    public static List<Task> plan(Policy p, MaintenanceFacts facts) {
        List<Task> freezes = new ArrayList<>();
        List<Task> vacuums = new ArrayList<>();
        List<Task> analyzes = new ArrayList<>();
        List<MaintenanceFacts.Table> covered = facts.tables().stream().filter(p::covers).toList();
        covered.stream().sorted(Comparator.comparingLong((MaintenanceFacts.Table t) -> -Math.max(t.xidAge(),
                t.mxidAge())).thenComparing(t -> -t.dead())).forEach(t -> {
                    Thresholds th = p.of(t);
                    long age = Math.max(t.xidAge(), t.mxidAge());
                    boolean deadOver = t.dead() >= th.minDeadTuples() && t.deadRatio() >= th.deadTupleRatio();
                    boolean stale = t.live() + t.dead() > 0 && (t.lastAnalyze() == null
                            || t.modifiedSinceAnalyze() >= Math.max(th.minModifications(),
                                    th.analyzeRatio() * t.live()));
                    if (p.duties().contains(Duty.vacuum) && age >= th.freezeAge()) {
                        boolean urgent = age >= th.urgentFreezeAge();
                        freezes.add(new Task(Kind.Freeze, t.qualified(), t.qualified(), String.format(ROOT,
                                "transaction ID age %d%s (freeze at %d)%s%s", t.xidAge(), t.mxidAge() > t.xidAge()
                                        ? ", multixact ID age " + t.mxidAge() : "", th.freezeAge(), urgent
                                                ? "; past the urgent age " + th.urgentFreezeAge() + ": runs outside "
                                                        + "the maintenance window if need be" : "",
                                deadOver ? "; " + dead(t) : ""), false, urgent));
                    } else if (p.duties().contains(Duty.vacuum) && deadOver) {
                        vacuums.add(new Task(Kind.Vacuum, t.qualified(), t.qualified(), dead(t) + ", last vacuum "
                                + (t.lastVacuum() == null ? "never" : t.lastVacuum()), false, false));
                    } else if (p.duties().contains(Duty.analyze) && stale) {
                        analyzes.add(new Task(Kind.Analyze, t.qualified(), t.qualified(), t.lastAnalyze() == null
                                ? "never analyzed (" + t.live() + " live tuples)"
                                : t.modifiedSinceAnalyze() + " rows modified since the last analyze at "
                                        + t.lastAnalyze() + " (" + t.live() + " live tuples)", false, false));
                    }
                });
        vacuums.sort(Comparator.comparingLong(x -> -deadOf(covered, x.table())));
        List<Task> out = new ArrayList<>();
        freezes.stream().filter(Task::urgent).forEach(out::add);
        freezes.stream().filter(x -> !x.urgent()).forEach(out::add);
        out.addAll(vacuums);
        out.addAll(analyzes);
        List<Task> repacks = repacks(p, covered);
        // a repacked table's indexes are rebuilt with it: no REINDEX of them in the same plan
        Set<String> repacked = new java.util.HashSet<>(repacks.stream().map(Task::table).toList());
        if (p.duties().contains(Duty.reindex)) {
            List<MaintenanceFacts.Index> ours = facts.indexes().stream().filter(i -> covered.stream()
                    .anyMatch(t -> t.qualified().equals(i.table()))).toList();
            ours.stream().filter(MaintenanceFacts.Index::leftover).forEach(i -> out.add(new Task(Kind.DropLeftover,
                    i.qualified(), i.table(), "INVALID, left by a REINDEX CONCURRENTLY that did not finish", false,
                    false)));
            ours.stream().filter(i -> !i.valid() && !i.leftover()).forEach(i -> out.add(new Task(Kind.Reindex,
                    i.qualified(), i.table(), "INVALID (a failed concurrent build): the planner cannot use it, "
                            + "writes still maintain it; " + human(i.sizeBytes()), i.sizeBytes()
                                    >= p.reindexApprovalBytes(), false)));
            ours.stream().filter(i -> i.valid() && i.bloatPercent() != null && i.sizeBytes() >= tableThresholds(p,
                    covered, i).minIndexBytes() && i.bloatPercent() >= tableThresholds(p, covered, i)
                            .indexBloatPercent())
                    .sorted(Comparator.comparingDouble(i -> -i.sizeBytes() * i.bloatPercent()))
                    .filter(i -> !repacked.contains(i.table()))
                    .forEach(i -> out.add(new Task(Kind.Reindex, i.qualified(), i.table(), String.format(ROOT,
                            "bloat %.0f%% (%s) of %s: about %s to give back", i.bloatPercent(), i.bloatMethod(),
                            human(i.sizeBytes()), human((long) (i.sizeBytes() * i.bloatPercent() / 100))),
                            i.sizeBytes() >= p.reindexApprovalBytes(), false)));
        }
        repacks.forEach(out::add);
        return out;
    }

    /**
     * Tables past their bloat threshold that pg_repack can rewrite (it needs a primary key or a unique index on
     * NOT NULL columns), largest gain first; always after a person's approval, since each rewrites a whole table.
     */
    private static List<Task> repacks(Policy p, List<MaintenanceFacts.Table> covered) {
        if (!p.duties().contains(Duty.repack)) {
            return List.of();
        }
        return covered.stream().filter(t -> t.bloatPercent() != null && t.repackable()
                && t.sizeBytes() >= p.of(t).minTableBytes() && t.bloatPercent() >= p.of(t).tableBloatPercent())
                .sorted(Comparator.comparingDouble(t -> -t.sizeBytes() * t.bloatPercent()))
                .map(t -> new Task(Kind.Repack, t.qualified(), t.qualified(), String.format(ROOT,
                        "table bloat %.0f%% (%s) of %s: about %s to give back; pg_repack rewrites it online "
                                + "(its indexes too)", t.bloatPercent(), t.bloatMethod(), human(t.sizeBytes()),
                        human((long) (t.sizeBytes() * t.bloatPercent() / 100))), true, false))
                .toList();
    }

    private static Thresholds tableThresholds(Policy p, List<MaintenanceFacts.Table> covered,
            MaintenanceFacts.Index i) {
        return covered.stream().filter(t -> t.qualified().equals(i.table())).findFirst().map(p::of)
                .orElse(p.defaults());
    }

    private static long deadOf(List<MaintenanceFacts.Table> tables, String table) {
        return tables.stream().filter(t -> t.qualified().equals(table)).mapToLong(MaintenanceFacts.Table::dead)
                .findFirst().orElse(0);
    }

    private static String dead(MaintenanceFacts.Table t) {
        return String.format(ROOT, "%.0f%% dead tuples (%d dead, %d live)", 100 * t.deadRatio(), t.dead(),
                t.live());
    }

    private static String human(long bytes) {
        return io.dbaoperator.status.Sizes.human(bytes);
    }

    /** Whether {@code pattern} ({@code schema.table}, or {@code table} in public; {@code *} any run) names t. */
    static boolean matches(String pattern, MaintenanceFacts.Table t) {
        return io.dbaoperator.api.maintenance.DatabaseMaintenanceSpec.matches(pattern, t.qualified());
    }
}
