package io.dbaoperator.api.disposal;

import java.util.ArrayList;
import java.util.List;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;

import io.dbaoperator.api.common.GatedStatus;

/** Observed state of a DisposalJob. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class DisposalJobStatus extends GatedStatus {

    @JsonPropertyDescription("Pending, Counting, AwaitingApproval, Disposing, Vacuuming, Reporting, Completed, "
            + "Scheduled, Rejected or Failed.")
    public DisposalPhase phase;

    @JsonPropertyDescription("Digest (sha256:...) of the rules; an approval binds to it.")
    public String rulesDigest;

    @JsonPropertyDescription("Per rule: rows matched by the dry run and rows disposed of.")
    public List<RuleProgress> rules = new ArrayList<>();

    @JsonPropertyDescription("Rows deleted or anonymized in the current or last run.")
    public Long rowsAffected;

    @JsonPropertyDescription("s3:// URL of the last disposal report.")
    public String reportLocation;

    @JsonPropertyDescription("Id of the current or last run (its start time); progress in the database is kept per run.")
    public String runId;

    @JsonPropertyDescription("When the current run started disposing (RFC 3339).")
    public String runStartedAt;

    @JsonPropertyDescription("When the last run finished (RFC 3339).")
    public String lastRunAt;

    @JsonPropertyDescription("When the schedule runs next (RFC 3339).")
    public String nextRunAt;

    @JsonPropertyDescription("The last dbaoperator.io/run-now annotation value acted on.")
    public String lastRunRequest;

    @JsonPropertyDescription("Until when backups of the BackupPolicies covering this database still hold the disposed "
            + "data (from their retention), or 'indefinitely' when a pinned backup does.")
    public String backupsHoldDataUntil;

    @JsonPropertyDescription("While a step that changes production waits for its maintenance window: when the next "
            + "one opens (RFC 3339); absent otherwise.")
    public String waitingForWindow;

    @JsonPropertyDescription("A dry run's PII discovery: the columns of the database that look personal (by name and "
            + "by a sample of their values), each with the anonymize rule that covers it, if any.")
    public List<PiiFinding> piiFindings;

    @Override
    public Enum<?> phase() {
        return phase;
    }

    /** A column that looks personal, from a dry run's discovery. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static class PiiFinding {
        @JsonPropertyDescription("schema.table.column.")
        public String column;
        @JsonPropertyDescription("Its type.")
        public String type;
        @JsonPropertyDescription("What it looks like: Email, Phone, Iban, CardNumber, IpAddress, NationalId, Name, "
                + "Address or BirthDate.")
        public String kind;
        @JsonPropertyDescription("Why: the name, or how many sampled values matched (counts only, never a value).")
        public String evidence;
        @JsonPropertyDescription("The anonymize rule that covers it; absent when none does.")
        public String coveredBy;
    }

    /** Per-rule progress. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static class RuleProgress {
        @JsonPropertyDescription("Rule name.")
        public String name;
        @JsonPropertyDescription("Table.")
        public String table;
        @JsonPropertyDescription("Rows the rule matched in the dry run.")
        public Long matched;
        @JsonPropertyDescription("Rows disposed of so far.")
        public Long done;
        @JsonPropertyDescription("Delete or Anonymize.")
        public String action;
        @JsonPropertyDescription("Delete rules: rows that still match the rule once its batches finished (aged past "
                + "the cutoff or written since the batches passed them; counted up to 1000); absent when none. The "
                + "run was approved for the rows counted before it; the next run asks again.")
        public Long stillMatching;
        @JsonPropertyDescription("What foreign keys pointing at the table imply for this rule.")
        public List<String> notes;
        @JsonPropertyDescription("Rows the rule's next batch handles while it runs: its batchSize at first, then what "
                + "holds a batch near pacing.targetBatchDuration.")
        public Integer batchSize;
        @JsonPropertyDescription("Why the rule's last batches were slowed (sessions waiting on their locks, a busy "
                + "server), absent when they were not.")
        public String throttled;
    }
}
