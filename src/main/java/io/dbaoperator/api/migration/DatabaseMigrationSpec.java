package io.dbaoperator.api.migration;

import java.util.List;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;

import io.dbaoperator.api.common.DatabaseRef;
import io.dbaoperator.api.common.LocalRef;
import io.dbaoperator.api.common.Patterns;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.Size;
import io.fabric8.generator.annotation.ValidationRule;

/**
 * The schema change to make. Immutable once created, except {@code paused} and {@code maintenanceWindow} (a window
 * may move): a new change is a new resource.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
@ValidationRule(value = DatabaseMigrationSpec.IMMUTABLE_EXCEPT_PAUSED,
        message = "a migration's spec is immutable once created (only 'paused' and 'maintenanceWindow' may change); create a new DatabaseMigration instead")
@ValidationRule(value = "self.cutover.mode != 'Auto' || has(self.cutover.deploymentRef)",
        message = "cutover.mode Auto needs cutover.deploymentRef")
@ValidationRule(value = "!has(self.backfill) || has(self.expand)",
        message = "a backfill fills columns that expand adds: set expand.sql too")
public class DatabaseMigrationSpec {

    static final String IMMUTABLE_EXCEPT_PAUSED = "(has(self.database) == has(oldSelf.database)) && (!has(self.database) || self.database == oldSelf.database)"
            + " && (has(self.stagingDatabase) == has(oldSelf.stagingDatabase)) && (!has(self.stagingDatabase) || self.stagingDatabase == oldSelf.stagingDatabase)"
            + " && (has(self.preMigrationBackup) == has(oldSelf.preMigrationBackup)) && (!has(self.preMigrationBackup) || self.preMigrationBackup == oldSelf.preMigrationBackup)"
            + " && (has(self.expand) == has(oldSelf.expand)) && (!has(self.expand) || self.expand == oldSelf.expand)"
            + " && (has(self.backfill) == has(oldSelf.backfill)) && (!has(self.backfill) || self.backfill == oldSelf.backfill)"
            + " && (has(self.cutover) == has(oldSelf.cutover)) && (!has(self.cutover) || self.cutover == oldSelf.cutover)"
            + " && (has(self.contract) == has(oldSelf.contract)) && (!has(self.contract) || self.contract == oldSelf.contract)"
            + " && self.rollback == oldSelf.rollback"
            + " && self.lockTimeout == oldSelf.lockTimeout && self.maxLockRetries == oldSelf.maxLockRetries"
            + " && (has(self.statementTimeout) == has(oldSelf.statementTimeout)) && (!has(self.statementTimeout) || self.statementTimeout == oldSelf.statementTimeout)"
            + " && self.approval == oldSelf.approval"
            + " && (has(self.rollbackOnFailure) == has(oldSelf.rollbackOnFailure)) && (!has(self.rollbackOnFailure) || self.rollbackOnFailure == oldSelf.rollbackOnFailure)"
            + " && (has(self.indexBuildTimeout) == has(oldSelf.indexBuildTimeout)) && (!has(self.indexBuildTimeout) || self.indexBuildTimeout == oldSelf.indexBuildTimeout)"
            + " && (has(self.lint) == has(oldSelf.lint)) && (!has(self.lint) || self.lint == oldSelf.lint)";

    @Required
    @JsonPropertyDescription("The production database to change; the Secret's role must own the tables it changes.")
    public DatabaseRef database;

    @JsonPropertyDescription("A staging database with the same schema: the whole migration and its rollback are "
            + "rehearsed there first, and a failed rehearsal stops the migration before production is touched.")
    public DatabaseRef stagingDatabase;

    @JsonPropertyDescription("Take (or reuse) a backup before the first production change; its id is recorded for the "
            + "rollback runbook.")
    public PreMigrationBackup preMigrationBackup;

    @JsonPropertyDescription("Additive, backwards-compatible DDL run first (new columns, tables, indexes CONCURRENTLY).")
    public SqlStep expand;

    @JsonPropertyDescription("Fill new columns in short, key-ordered batches.")
    public Backfill backfill;

    @Default("{}")
    @JsonPropertyDescription("How the operator learns that the application switched to the new schema.")
    public Cutover cutover = new Cutover();

    @JsonPropertyDescription("Destructive DDL run after cutover (drop old columns or tables). Always waits for approval.")
    public SqlStep contract;

    @Required
    @JsonPropertyDescription("SQL that undoes expand (and backfill). Required: a migration without a way back is refused.")
    public SqlStep rollback;

    @Default("500ms")
    @Pattern(Patterns.DURATION)
    @JsonPropertyDescription("lock_timeout set before every DDL statement, so a long transaction never makes the "
            + "migration queue every reader behind it.")
    public String lockTimeout = "500ms";

    @Default("10")
    @Min(0)
    @Max(1000)
    @JsonPropertyDescription("Retries of a statement that hit lock_timeout (SQLSTATE 55P03), with jittered backoff.")
    public Integer maxLockRetries = 10;

    @Pattern(Patterns.DURATION)
    @JsonPropertyDescription("statement_timeout for each statement; none when empty (CREATE INDEX CONCURRENTLY may be long).")
    public String statementTimeout;

    @Default("2h")
    @Pattern(Patterns.DURATION)
    @JsonPropertyDescription("Budget of each CONCURRENTLY statement (its lock_timeout and statement_timeout): it waits "
            + "for older transactions without blocking the application, so it gets longer than lockTimeout.")
    public String indexBuildTimeout = "2h";

    @Default("true")
    @JsonPropertyDescription("Run the rollback SQL when expand or backfill fails. Contract failures are never rolled "
            + "back automatically (the old columns may be gone): the migration stops in Failed.")
    public Boolean rollbackOnFailure = true;

    @Default("{}")
    @JsonPropertyDescription("Which steps wait for a person.")
    public ApprovalPolicy approval = new ApprovalPolicy();

    @JsonPropertyDescription("Adjust the SQL lint: raise rules to errors (the migration fails before touching anything) "
            + "or allow them.")
    public Lint lint;

    @Default("false")
    @JsonPropertyDescription("Pause after the current batch or step; the only field that may change after creation.")
    public Boolean paused = false;

    @JsonPropertyDescription("When the steps that change production may run (read-only work runs at any time); "
            + "without it the namespace's (annotation dbaoperator.io/maintenance-window), else the operator's default "
            + "window (Helm value maintenanceWindow), else any time.")
    public io.dbaoperator.api.common.MaintenanceWindow maintenanceWindow;

    /** A block of SQL statements. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static class SqlStep {
        @Required
        @Size(min = 1)
        @JsonPropertyDescription("One or more SQL statements separated by ';'. Parsed and linted before anything runs.")
        public String sql;

        public SqlStep() {
        }

        public SqlStep(String sql) {
            this.sql = sql;
        }
    }

    /** The backup taken before production is changed. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static class PreMigrationBackup {
        @Required
        @JsonPropertyDescription("BackupPolicy whose template and storage the pre-migration backup uses.")
        public LocalRef backupPolicyRef;

        @Default("1h")
        @Pattern(Patterns.DURATION)
        @JsonPropertyDescription("A verified backup younger than this is reused instead of taking a new one.")
        public String maxAge = "1h";
    }

    /** A batched UPDATE that fills new columns. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static class Backfill {
        @Required
        @Pattern(Patterns.QUALIFIED_NAME)
        @JsonPropertyDescription("Table to backfill, optionally schema-qualified.")
        public String table;

        @Required
        @Size(min = 1)
        @JsonPropertyDescription("The SET clause, e.g. \"email_lower = lower(email)\".")
        public String set;

        @JsonPropertyDescription("Optional filter, e.g. \"email_lower IS NULL\"; rows not matching are skipped.")
        public String where;

        @Default("id")
        @Pattern(Patterns.NAME)
        @JsonPropertyDescription("Unique, indexed column the batches are ordered by.")
        public String keyColumn = "id";

        @Default("1000")
        @Min(1)
        @Max(100000)
        @JsonPropertyDescription("Rows of the first batch, and the most in any batch; each batch is its own short "
                + "transaction, sized by pacing to take about pacing.targetBatchDuration.")
        public Integer batchSize = 1000;

        @Default("100ms")
        @Pattern(Patterns.DURATION)
        @JsonPropertyDescription("The least pause between batches, to leave room for the application's own writes "
                + "(pacing lengthens it while the application waits on the batches or the server is busy).")
        public String pauseBetweenBatches = "100ms";

        @Default("{}")
        @JsonPropertyDescription("How the batches pace themselves: batchSize is the first batch's size and the "
                + "largest; each batch is sized to take about targetBatchDuration, and the backfill backs off while "
                + "its batches make the application wait or the server is busy.")
        public io.dbaoperator.api.common.Pacing pacing = new io.dbaoperator.api.common.Pacing();

        @Default("10s")
        @Pattern(Patterns.DURATION)
        @JsonPropertyDescription("Wait while any replica replays more than this behind the primary.")
        public String maxReplicationLag = "10s";
    }

    /** How cutover is detected. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static class Cutover {
        @Default("Manual")
        @JsonPropertyDescription("Manual: a person approves step 'cutover'. Auto: the referenced Deployment finished "
                + "rolling out and validationPeriod passed.")
        public CutoverMode mode = CutoverMode.Manual;

        @JsonPropertyDescription("Deployment whose rollout marks cutover (mode Auto).")
        public LocalRef deploymentRef;

        @Default("5m")
        @Pattern(Patterns.DURATION)
        @JsonPropertyDescription("How long the new version must run healthy before contract may start (mode Auto).")
        public String validationPeriod = "5m";
    }

    /** Cutover modes. */
    public enum CutoverMode {
        Manual, Auto
    }

    /** Which steps are gated. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static class ApprovalPolicy {
        @Default("DestructiveOnly")
        @JsonPropertyDescription("DestructiveOnly: only destructive steps (contract, anything dropping data) wait for a "
                + "person. Always: every production step waits.")
        public Policy policy = Policy.DestructiveOnly;

        /** Approval policies. */
        public enum Policy {
            DestructiveOnly, Always
        }
    }

    /** Lint overrides. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static class Lint {
        @JsonPropertyDescription("Rule ids raised to errors.")
        public List<String> errors;

        @JsonPropertyDescription("Rule ids allowed (reported as info only).")
        public List<String> allow;
    }
}
