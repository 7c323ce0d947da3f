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

    @Override
    public Enum<?> phase() {
        return phase;
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
    }
}
