package io.dbaoperator.api.migration;

import java.util.ArrayList;
import java.util.List;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;

import io.dbaoperator.api.common.GatedStatus;

/** Observed state of a DatabaseMigration. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class DatabaseMigrationStatus extends GatedStatus {

    @JsonPropertyDescription("Where the migration is: Pending, Planning, BackingUp, Expanding, Backfilling, "
            + "AwaitingCutover, AwaitingApproval, Contracting, Completed, RollingBack, RolledBack, Rejected, Failed.")
    public MigrationPhase phase;

    @JsonPropertyDescription("Digest (sha256:...) of the plan: every statement with its classification.")
    public String planDigest;

    @JsonPropertyDescription("Earlier DatabaseMigrations of the same name found in the database's migration history. "
            + "A run is the resource (its UID): this one inherits none of their history, and the live catalog decides "
            + "what is still to do.")
    public List<EarlierRun> earlierRuns;
    @JsonPropertyDescription("The plan: every statement in order, classified.")
    public List<PlannedStatement> plan = new ArrayList<>();

    @JsonPropertyDescription("Lint findings on the SQL.")
    public List<LintFinding> findings = new ArrayList<>();

    @JsonPropertyDescription("Id of the backup taken before the first production change.")
    public String preMigrationBackupId;

    @JsonPropertyDescription("Backfill progress.")
    public BackfillProgress backfill;

    @JsonPropertyDescription("The staging rehearsal's result.")
    public Rehearsal rehearsal;

    @JsonPropertyDescription("The on-demand backup this migration asked its BackupPolicy for.")
    public BackupRequest backupRequest;

    @JsonPropertyDescription("What the operator saw of the cutover (mode Auto).")
    public CutoverProgress cutover;

    @JsonPropertyDescription("Summary of the migration log; every statement with its duration, retries and outcome "
            + "is in the ConfigMap it names and in dba_operator.migration_history in the database.")
    public MigrationLog log;

    @JsonPropertyDescription("The step that failed (e.g. expand#2), when the migration failed while running.")
    public String failedStep;

    @JsonPropertyDescription("Set to true (kubectl patch --subresource=status) to roll the migration back: the "
            + "rollback SQL runs with the same lock discipline. Allowed until contract starts.")
    public Boolean rollbackRequested;

    @JsonPropertyDescription("SLO 1: the maintenance window the migration's first production step started in, and "
            + "whether the migration completed inside it.")
    public WindowOutcome maintenance;

    @JsonPropertyDescription("While a step that changes production waits for its maintenance window: when the next "
            + "one opens (RFC 3339); absent otherwise.")
    public String waitingForWindow;

    @Override
    public Enum<?> phase() {
        return phase;
    }

    /** The maintenance window a migration started in, and whether it completed inside it. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static class WindowOutcome {
        @JsonPropertyDescription("When that window opened (RFC 3339).")
        public String windowOpenedAt;
        @JsonPropertyDescription("When that window closed or closes (RFC 3339).")
        public String windowClosesAt;
        @JsonPropertyDescription("When the migration completed (RFC 3339).")
        public String completedAt;
        @JsonPropertyDescription("True when it completed before that window closed.")
        public Boolean completedInWindow;
    }

    /** One classified statement. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static class PlannedStatement {
        @JsonPropertyDescription("expand, contract or rollback.")
        public String step;
        @JsonPropertyDescription("The statement.")
        public String sql;
        @JsonPropertyDescription("The strongest table lock it takes, e.g. ACCESS EXCLUSIVE, SHARE UPDATE EXCLUSIVE.")
        public String lockLevel;
        @JsonPropertyDescription("Whether it rewrites the table.")
        public Boolean rewritesTable;
        @JsonPropertyDescription("Whether it destroys data or breaks the old application version (class "
                + "destructive): in contract it waits for approval, in expand it is refused.")
        public Boolean destructive;
        @JsonProperty("class")
        @JsonPropertyDescription("additive, lock-heavy, destructive or session-control. A statement the planner does "
                + "not recognise is destructive: the approval gate fails closed.")
        public String statementClass;
        @JsonPropertyDescription("Why it is in its class, e.g. 'DROP SCHEMA removes it, and whatever it holds, for "
                + "good'.")
        public String classReason;
    }

    /** A lint finding. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static class LintFinding {
        @JsonPropertyDescription("Rule id, e.g. require-concurrent-index-creation.")
        public String rule;
        @JsonPropertyDescription("error (the migration stops before touching anything), warning or info.")
        public String severity;
        @JsonPropertyDescription("The step the statement belongs to: expand, contract or rollback.")
        public String step;
        @JsonPropertyDescription("The statement the finding is about.")
        public String statement;
        @JsonPropertyDescription("What is wrong and the safe alternative.")
        public String message;
    }

    /** The staging rehearsal. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static class Rehearsal {
        @JsonPropertyDescription("Passed or Failed.")
        public String result;
        @JsonPropertyDescription("What ran and, on failure, the database's message.")
        public String message;
        @JsonPropertyDescription("When the rehearsal finished (RFC 3339).")
        public String finishedAt;
        @JsonPropertyDescription("How long the rehearsal took, in milliseconds.")
        public Long durationMs;
        @JsonPropertyDescription("How long expand took in the rehearsal's second pass (the one production repeats), "
                + "in milliseconds: expand waits for a window that still holds it.")
        public Long expandMs;
        @JsonPropertyDescription("How long the backfill took in the rehearsal's second pass, in milliseconds.")
        public Long backfillMs;
        @JsonPropertyDescription("How long contract took in the rehearsal's second pass, in milliseconds: contract "
                + "waits for a window that still holds it.")
        public Long contractMs;
        @JsonPropertyDescription("Size of the staging database the rehearsal ran on (pg_database_size): the timings "
                + "above hold for data of this size.")
        public Long stagingSizeBytes;
        @JsonPropertyDescription("Which data the staging database holds: for a copy served by a staging refresh "
                + "(BackupRestore spec.refresh), the backup, when it was taken and how old its data was at the "
                + "rehearsal.")
        public String stagingCopy;
    }

    /** An on-demand backup request. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static class BackupRequest {
        @JsonPropertyDescription("The value written to the policy's dbaoperator.io/backup-now annotation.")
        public String requestId;
        @JsonPropertyDescription("When it was asked for (RFC 3339).")
        public String requestedAt;
    }

    /** Cutover observation. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static class CutoverProgress {
        @JsonPropertyDescription("The Deployment's generation when the schema became ready; a rollout must follow it.")
        public Long baselineGeneration;
        @JsonPropertyDescription("The generation seen fully rolled out.")
        public Long rolledOutGeneration;
        @JsonPropertyDescription("When that rollout was first seen complete (RFC 3339).")
        public String rolledOutAt;
    }

    /** The migration log, summarised. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static class MigrationLog {
        @JsonPropertyDescription("Statements this run applied so far.")
        public Integer applied;
        @JsonPropertyDescription("Expand statements this run did not run because the live catalog already showed their "
                + "effects (the evidence is in the migration log).")
        public Integer alreadyPresent;
        @JsonPropertyDescription("Lock-timeout retries so far.")
        public Integer retries;
        @JsonPropertyDescription("The last statement run, with its outcome and duration.")
        public String last;
        @JsonPropertyDescription("ConfigMap holding the whole log.")
        public String configMap;
    }

    /** An earlier DatabaseMigration of the same name in the same database: this run does not inherit its history. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static class EarlierRun {
        @JsonPropertyDescription("The earlier resource's UID.")
        public String uid;
        @JsonPropertyDescription("When its first statement started.")
        public String startedAt;
        @JsonPropertyDescription("When its last statement finished.")
        public String finishedAt;
        @JsonPropertyDescription("How it ended, e.g. '4 of 4 statements applied, last: contract#1 applied'.")
        public String outcome;
    }

    /** Backfill progress. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static class BackfillProgress {
        @JsonPropertyDescription("Rows updated so far.")
        public Long rowsDone;
        @JsonPropertyDescription("Estimated rows in total.")
        public Long rowsEstimated;
        @JsonPropertyDescription("Percent done, e.g. 42%.")
        public String percent;
        @JsonPropertyDescription("Rows per second over the last batches.")
        public Double rowsPerSecond;
        @JsonPropertyDescription("Key of the last committed batch; the backfill resumes after it.")
        public String lastKey;
        @JsonPropertyDescription("Estimated completion time (RFC 3339).")
        public String eta;
        @JsonPropertyDescription("Rows the next batch updates: spec.backfill.batchSize at first, then what holds a "
                + "batch near pacing.targetBatchDuration.")
        public Integer batchSize;
        @JsonPropertyDescription("Why the last batches were slowed (sessions waiting on their locks, a busy server), "
                + "absent when they were not.")
        public String throttled;
    }
}
