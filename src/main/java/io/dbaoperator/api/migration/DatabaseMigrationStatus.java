package io.dbaoperator.api.migration;

import java.util.ArrayList;
import java.util.List;

import com.fasterxml.jackson.annotation.JsonInclude;
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

    @JsonPropertyDescription("The plan: every statement in order, classified.")
    public List<PlannedStatement> plan = new ArrayList<>();

    @JsonPropertyDescription("Lint findings on the SQL.")
    public List<LintFinding> findings = new ArrayList<>();

    @JsonPropertyDescription("Id of the backup taken before the first production change.")
    public String preMigrationBackupId;

    @JsonPropertyDescription("Backfill progress.")
    public BackfillProgress backfill;

    @Override
    public Enum<?> phase() {
        return phase;
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
        @JsonPropertyDescription("Whether it destroys data or breaks the old application version.")
        public Boolean destructive;
    }

    /** A lint finding. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static class LintFinding {
        @JsonPropertyDescription("Rule id, e.g. require-concurrent-index-creation.")
        public String rule;
        @JsonPropertyDescription("error, warning or info.")
        public String severity;
        @JsonPropertyDescription("The statement the finding is about.")
        public String statement;
        @JsonPropertyDescription("What is wrong and the safe alternative.")
        public String message;
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
    }
}
