package io.dbaoperator.api.backup;

import java.util.ArrayList;
import java.util.List;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;

import io.dbaoperator.api.common.GatedStatus;

/** Observed state of a BackupRestore. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class BackupRestoreStatus extends GatedStatus {

    @JsonPropertyDescription("Pending, AwaitingApproval, Restoring, Verifying, Ready, Rejected or Failed.")
    public RestorePhase phase;

    @JsonPropertyDescription("What will be restored, shown before approval.")
    public RestorePlan plan;

    @JsonPropertyDescription("The point recovery actually reached.")
    public RecoveredPoint recovered;

    @JsonPropertyDescription("Results of pg_amcheck and of each check.")
    public List<CheckResult> checkResults = new ArrayList<>();

    @JsonPropertyDescription("The restored instance: its Service and Secret.")
    public Instance instance;

    @Override
    public Enum<?> phase() {
        return phase;
    }

    /** The restore plan. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static class RestorePlan {
        @JsonPropertyDescription("Backup to restore.")
        public String backupId;
        @JsonPropertyDescription("First WAL segment needed.")
        public String walFrom;
        @JsonPropertyDescription("Last WAL segment needed.")
        public String walTo;
        @JsonPropertyDescription("Where recovery is expected to stop (time or LSN).")
        public String expectedRecoveryPoint;
    }

    /** Where recovery stopped. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static class RecoveredPoint {
        @JsonPropertyDescription("Time of the last replayed transaction (RFC 3339).")
        public String time;
        @JsonPropertyDescription("Last replayed WAL position.")
        public String lsn;
        @JsonPropertyDescription("Timeline after promotion.")
        public Integer timeline;
        @JsonPropertyDescription("Seconds from approval to Ready: the measured recovery time.")
        public Long restoreSeconds;
    }

    /** One check's outcome. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static class CheckResult {
        @JsonPropertyDescription("The check: pg_amcheck or the SQL query.")
        public String check;
        @JsonPropertyDescription("Whether it passed.")
        public Boolean passed;
        @JsonPropertyDescription("Details when it failed.")
        public String message;
    }

    /** The served instance. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static class Instance {
        @JsonPropertyDescription("Service name (host) of the restored instance.")
        public String service;
        @JsonPropertyDescription("Secret with the connection keys (the DatabaseRef format).")
        public String secret;
    }
}
