package io.dbaoperator.api.maintenance;

import java.util.ArrayList;
import java.util.List;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;

import io.dbaoperator.api.common.DatabaseRef;
import io.dbaoperator.api.common.MaintenanceWindow;
import io.dbaoperator.api.common.Patterns;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.Size;
import io.fabric8.generator.annotation.ValidationRule;

/**
 * What routine maintenance a database gets, when, and what waits for a person. Any change of the spec plans the
 * current run again.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class DatabaseMaintenanceSpec {

    /** A size: bytes, or with a binary suffix. */
    public static final String SIZE = io.dbaoperator.api.common.Patterns.SIZE;

    @Required
    @JsonPropertyDescription("The database to look after.")
    public DatabaseRef database;

    @Size(min = 1)
    @JsonPropertyDescription("The tasks this resource may plan: vacuum (VACUUM ANALYZE of tables with dead tuples past "
            + "the threshold; VACUUM FREEZE of tables past the freeze age), analyze (ANALYZE of tables whose "
            + "statistics went stale), reindex (REINDEX INDEX CONCURRENTLY of bloated or INVALID indexes; the "
            + "INVALID leftovers of failed concurrent rebuilds are dropped), repack (pg_repack of bloated tables: "
            + "needs the pg_repack extension, and always waits for approval). Default: vacuum, analyze, reindex.")
    public List<Task> tasks = new ArrayList<>(List.of(Task.vacuum, Task.analyze, Task.reindex));

    @ValidationRule(value = Patterns.CRON_RULE, message = Patterns.CRON_MESSAGE)
    @JsonPropertyDescription("Plan and run on this cron schedule; without it the resource runs once (and again when "
            + "asked with annotation dbaoperator.io/run-now).")
    public String schedule;

    @Default("UTC")
    @JsonPropertyDescription("IANA time zone the schedule is read in.")
    public String timeZone = "UTC";

    @Default("false")
    @JsonPropertyDescription("Only plan: the plan (each object and why) is written to status and nothing runs.")
    public Boolean dryRun = false;

    @JsonPropertyDescription("When tasks may run (planning runs at any time); without it the namespace's (annotation "
            + "dbaoperator.io/maintenance-window), else the operator's default window (Helm value maintenanceWindow), "
            + "else any time. A task that is running when the window closes finishes (a VACUUM is never cut off); "
            + "the next waits for the next window.")
    public MaintenanceWindow maintenanceWindow;

    @Default("{}")
    @JsonPropertyDescription("When an object needs work; each field's default is said in its description.")
    public Thresholds thresholds = new Thresholds();

    @JsonPropertyDescription("Per-table thresholds: the first entry whose name matches a table replaces the fields it "
            + "sets; the others come from spec.thresholds.")
    public List<TableThresholds> tables;

    @JsonPropertyDescription("Only these tables ('schema.table', or 'table' for schema public; '*' matches any run of "
            + "characters). Empty: every table the role can see. A name without '*' must exist.")
    public List<String> include;

    @JsonPropertyDescription("Tables left alone, named as in include; taken out of what include gives.")
    public List<String> exclude;

    @Default("{}")
    @JsonPropertyDescription("Vacuum cost-based delay for this resource's VACUUMs (their session only), to spare the "
            + "application's I/O; unset fields keep the server's settings.")
    public Vacuum vacuum = new Vacuum();

    @Default("1s")
    @Pattern(Patterns.DURATION)
    @JsonPropertyDescription("lock_timeout of every statement that takes a lock on an application's table; a statement "
            + "that times out is tried again with backoff, so it never queues the application behind a long "
            + "transaction.")
    public String lockTimeout = "1s";

    @Default("10")
    @Min(0)
    @Max(100)
    @JsonPropertyDescription("How often a statement that met a held lock is tried again before the task fails.")
    public Integer maxLockRetries = 10;

    @Default("100")
    @Min(1)
    @Max(500)
    @JsonPropertyDescription("At most this many tasks per run (the most needed first); the rest wait for the next run.")
    public Integer maxTasksPerRun = 100;

    @Default("{}")
    @JsonPropertyDescription("Which tasks wait for a person.")
    public Approval approval = new Approval();

    @Default("true")
    @JsonPropertyDescription("A freeze of a table past thresholds.urgentFreezeAge runs even outside the maintenance "
            + "window (said in status and a Warning Event): past it, autovacuum's forced anti-wraparound vacuum is "
            + "near, and the database stops taking writes at 2^31. While the resource rests, the database's oldest "
            + "age is checked every 10 minutes and such a freeze starts a run.")
    public Boolean urgentFreezeOutsideWindow = true;

    /**
     * Whether this spec looks after {@code qualified} ("schema.table") with VACUUM: the vacuum task is on, include
     * names it (or is empty) and exclude does not.
     */
    public boolean vacuums(String qualified) {
        boolean on = tasks == null || tasks.isEmpty() || tasks.contains(Task.vacuum);
        return on && (include == null || include.isEmpty() || include.stream().anyMatch(p -> matches(p, qualified)))
                && (exclude == null || exclude.stream().noneMatch(p -> matches(p, qualified)));
    }

    /** Whether {@code pattern} ({@code schema.table}, or {@code table} in public; {@code *} any run) names it. */
    public static boolean matches(String pattern, String qualified) {
        String full = pattern.contains(".") ? pattern : "public." + pattern;
        String regex = java.util.Arrays.stream(full.split("\\*", -1)).map(java.util.regex.Pattern::quote)
                .collect(java.util.stream.Collectors.joining(".*"));
        return qualified.matches(regex);
    }

    /** The tasks. */
    public enum Task {
        vacuum, analyze, reindex, repack
    }

    /** Thresholds; a field left unset takes its default (spec.thresholds) or spec.thresholds' (spec.tables[]). */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static class Thresholds {
        @Min(1)
        @Max(100)
        @JsonPropertyDescription("VACUUM a table whose dead tuples are at least this share (percent) of its tuples "
                + "(default 20, autovacuum's scale factor)...")
        public Integer deadTuplePercent;

        @Min(0)
        @JsonPropertyDescription("...and at least this many (default 1000).")
        public Long minDeadTuples;

        @Min(1)
        @Max(100)
        @JsonPropertyDescription("ANALYZE a table whose rows modified since its last ANALYZE are at least this share "
                + "(percent) of its live rows (default 10)...")
        public Integer analyzePercent;

        @Min(0)
        @JsonPropertyDescription("...and at least this many (default 1000).")
        public Long minModifications;

        @Min(100000)
        @Max(2000000000)
        @JsonPropertyDescription("VACUUM FREEZE a table whose transaction (or multixact) ID age is at least this "
                + "(default 100000000, half of autovacuum_freeze_max_age's default).")
        public Long freezeAge;

        @Min(100001)
        @Max(2000000000)
        @JsonPropertyDescription("Past this age a freeze is urgent: first in the plan, and outside the maintenance "
                + "window when urgentFreezeOutsideWindow (default 1000000000).")
        public Long urgentFreezeAge;

        @Min(1)
        @Max(99)
        @JsonPropertyDescription("REINDEX CONCURRENTLY a B-tree index when a rebuild would give back at least this "
                + "share (percent) of it (default 30): measured with pgstattuple's pgstatindex where the extension is "
                + "installed, else estimated from the row count and the key columns' widths (docs/reference.md)...")
        public Integer indexBloatPercent;

        @Pattern(SIZE)
        @JsonPropertyDescription("...and the index is at least this large (default 8Mi).")
        public String minIndexSize;

        @Min(1)
        @Max(99)
        @JsonPropertyDescription("pg_repack a table when a rewrite would give back at least this share (percent) of it: "
                + "free space plus dead tuples, by pgstattuple_approx (default 40; needs pgstattuple)...")
        public Integer tableBloatPercent;

        @Pattern(SIZE)
        @JsonPropertyDescription("...and the table is at least this large (default 64Mi).")
        public String minTableSize;
    }

    /** A table's own thresholds. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static class TableThresholds {
        @Required
        @JsonPropertyDescription("The table ('schema.table', 'table' for public, '*' matches any run of characters).")
        public String name;

        @Required
        @JsonPropertyDescription("The fields that differ from spec.thresholds.")
        public Thresholds thresholds;
    }

    /** Vacuum cost settings. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static class Vacuum {
        @Min(0)
        @Max(100)
        @JsonPropertyDescription("vacuum_cost_delay in milliseconds (0 turns the delay off).")
        public Integer costDelayMs;

        @Min(1)
        @Max(10000)
        @JsonPropertyDescription("vacuum_cost_limit.")
        public Integer costLimit;
    }

    /** Approval policy. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static class Approval {
        @Default("Rewrites")
        @JsonPropertyDescription("Rewrites: vacuum, analyze and freeze run without asking; a REINDEX of an index of "
                + "at least reindexApprovalSize and every repack wait for a person. Always: every task waits.")
        public Policy policy = Policy.Rewrites;

        @Default("1Gi")
        @Pattern(SIZE)
        @JsonPropertyDescription("A REINDEX of an index at least this large waits for a person (policy Rewrites).")
        public String reindexApprovalSize = "1Gi";

        /** Policies. */
        public enum Policy {
            Rewrites, Always
        }
    }
}
