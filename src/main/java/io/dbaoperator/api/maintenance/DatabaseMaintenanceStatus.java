package io.dbaoperator.api.maintenance;

import java.util.ArrayList;
import java.util.List;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;

import io.dbaoperator.api.common.GatedStatus;

/** Observed state of a DatabaseMaintenance: the current run's plan, each task's evidence before and after. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class DatabaseMaintenanceStatus extends GatedStatus {

    @JsonPropertyDescription("Pending, Planning, Maintaining, AwaitingApproval, Completed, Scheduled, Rejected or "
            + "Failed.")
    public MaintenancePhase phase;

    @JsonPropertyDescription("Id of the current or last run (its start time).")
    public String runId;

    @JsonPropertyDescription("Digest (sha256:...) of the spec the current run was planned from; a change plans again.")
    public String specDigest;

    @JsonPropertyDescription("Digest (sha256:...) of the run's tasks that wait for a person; an approval binds to it.")
    public String gatedDigest;

    @JsonPropertyDescription("When the current run's plan was made (RFC 3339).")
    public String plannedAt;

    @JsonPropertyDescription("The current or last run's plan, in the order it runs: each object, why, and once run "
            + "its evidence before and after.")
    public List<TaskStatus> tasks = new ArrayList<>();

    @JsonPropertyDescription("Objects past a threshold that this run leaves for the next (spec.maxTasksPerRun).")
    public Integer deferred;

    @JsonPropertyDescription("Tasks finished of the run's tasks, e.g. 3/7.")
    public String progress;

    @JsonPropertyDescription("Bytes the run's tasks gave back so far (sizes before minus after).")
    public Long bytesReclaimed;

    @JsonPropertyDescription("When the last run finished (RFC 3339).")
    public String lastRunAt;

    @JsonPropertyDescription("When the schedule runs next (RFC 3339).")
    public String nextRunAt;

    @JsonPropertyDescription("The last dbaoperator.io/run-now annotation value acted on.")
    public String lastRunRequest;

    @JsonPropertyDescription("While a task waits for its maintenance window: when the next one opens (RFC 3339).")
    public String waitingForWindow;

    @JsonPropertyDescription("The database's oldest transaction ID age (age(datfrozenxid)) when last looked at.")
    public Long databaseXidAge;

    @Override
    public Enum<?> phase() {
        return phase;
    }

    /** One task of a run. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static class TaskStatus {
        @JsonPropertyDescription("Freeze, Vacuum, Analyze, DropLeftover, Reindex or Repack.")
        public String kind;
        @JsonPropertyDescription("The table or index (schema.name).")
        public String object;
        @JsonPropertyDescription("The table it belongs to.")
        public String table;
        @JsonPropertyDescription("The evidence it was planned from.")
        public String why;
        @JsonPropertyDescription("It waits for a person's approval before it runs.")
        public Boolean approval;
        @JsonPropertyDescription("An urgent freeze: it may run outside the maintenance window.")
        public Boolean urgent;
        @JsonPropertyDescription("Planned, Running, Done (the evidence shows its effect), Ineffective (it ran; the "
                + "evidence does not show the effect: note says why), Failed, or Skipped.")
        public String state;
        @JsonPropertyDescription("The statement (or program) it ran.")
        public String statement;
        @JsonPropertyDescription("When it started (RFC 3339).")
        public String startedAt;
        @JsonPropertyDescription("How long it took, in milliseconds.")
        public Long durationMs;
        @JsonPropertyDescription("Attempts (more than 1 after a lock timeout).")
        public Integer attempts;
        @JsonPropertyDescription("The object before the task.")
        public Evidence before;
        @JsonPropertyDescription("The object after the task.")
        public Evidence after;
        @JsonPropertyDescription("What else the evidence says, or why it failed.")
        public String note;
        @JsonPropertyDescription("The approval it ran under (gated tasks).")
        public String approvedUnder;
    }

    /** One object as the database showed it. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static class Evidence {
        @JsonPropertyDescription("Dead tuples (tables).")
        public Long deadTuples;
        @JsonPropertyDescription("Size in bytes (a table's with its TOAST, without its indexes).")
        public Long sizeBytes;
        @JsonPropertyDescription("Size, for people.")
        public String size;
        @JsonPropertyDescription("Bloat, percent: what a rewrite would give back (as measured for the plan; after a "
                + "rebuild, measured again).")
        public Double bloatPercent;
        @JsonPropertyDescription("Transaction ID age (tables: the larger of the table's, its TOAST table's and the "
                + "multixact age).")
        public Long xidAge;
        @JsonPropertyDescription("Last ANALYZE (tables, RFC 3339).")
        public String lastAnalyze;
        @JsonPropertyDescription("The file behind the relation: a rebuild gives a new one.")
        public Long relfilenode;
        @JsonPropertyDescription("Whether an index is valid (usable by the planner).")
        public Boolean valid;
        @JsonPropertyDescription("Whether the object exists.")
        public Boolean exists;
    }
}
