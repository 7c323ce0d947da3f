package io.dbaoperator.api.backup;

import java.util.ArrayList;
import java.util.List;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;

import io.dbaoperator.api.common.GatedStatus;

/** Observed state of a BackupRestore. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class BackupRestoreStatus extends GatedStatus {

    @JsonPropertyDescription("Pending, AwaitingApproval, Restoring, Verifying, Starting (a new instance), Ready, "
            + "Swapping and Waiting (a staging refresh: swapping the staging Secret, and between refreshes), "
            + "Rejected or Failed.")
    public RestorePhase phase;

    @JsonPropertyDescription("What will be restored, shown before approval.")
    public RestorePlan plan;

    @JsonPropertyDescription("The restore's id in the policy's catalog (restores/<id>.json).")
    public String restoreId;

    @JsonPropertyDescription("The Job that restores and verifies.")
    public String job;

    @JsonPropertyDescription("The approval the restore runs under: approver, time and plan digest (also on the Job "
            + "as annotation dbaoperator.io/approval).")
    public String restoredUnder;

    @JsonPropertyDescription("When the approved restore started.")
    public String restoreStartedAt;

    @JsonPropertyDescription("Where the restore is: bytes downloaded, WAL files replayed, checks run.")
    public String progress;

    @JsonPropertyDescription("The point recovery actually reached.")
    public RecoveredPoint recovered;

    @JsonPropertyDescription("Results of pg_amcheck and of each check.")
    public List<CheckResult> checkResults = new ArrayList<>();

    @JsonPropertyDescription("The restored instance: its Service and Secret.")
    public Instance instance;

    @JsonPropertyDescription("A logical restore: the database restored into, and what it holds.")
    public RestoredDatabase database;

    @JsonPropertyDescription("A masked restore's evidence: the tables masked, the sampled original values checked "
            + "(none may remain), and the columns the PII discovery found on the masked copy; counts and names, never "
            + "a value. The full report is the restore's record in the bucket (status.maskingReport).")
    public MaskingEvidence masking;

    @JsonPropertyDescription("A staging refresh (spec.refresh): the copy the staging Secret serves, the refresh "
            + "under way, the last one's outcome and the next one's time.")
    public Staging staging;

    @JsonPropertyDescription("The value of annotation dbaoperator.io/refresh-now last acted on.")
    public String lastRefreshRequest;

    @Override
    public Enum<?> phase() {
        return phase;
    }

    /** The restore plan. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static class RestorePlan {
        @JsonPropertyDescription("Backup to restore.")
        public String backupId;
        @JsonPropertyDescription("First archived WAL segment replayed after the backup; absent when only the backup's own WAL "
                + "is needed.")
        public String walFrom;
        @JsonPropertyDescription("Last archived WAL segment replayed; absent when only the backup's own WAL is needed.")
        public String walTo;
        @JsonPropertyDescription("How many archived WAL segments are replayed: the segments walFrom .. walTo, 0 for "
                + "the end of the backup.")
        public Integer walSegments;
        @JsonPropertyDescription("Where recovery is expected to stop (time or LSN).")
        public String expectedRecoveryPoint;
        @JsonPropertyDescription("When the backup ended and its LSN.")
        public String backupEnd;
        @JsonPropertyDescription("Size of the backup's data (uncompressed), the least the volume must hold.")
        public Long backupSizeBytes;
        @JsonPropertyDescription("backupSizeBytes in human units (powers of 1024).")
        public String backupSize;
        @JsonPropertyDescription("The policy's recovery window when the plan was made.")
        public String recoveryWindow;
        @JsonPropertyDescription("Which copy of the backup is read: primary (the policy's bucket) or offsite (its "
                + "copy in spec.copies.offsite of the policy, used when the primary's is gone or frozen in an archive "
                + "class). The approval binds it.")
        public String copy;
        @JsonPropertyDescription("s3:// URL of the copy read.")
        public String copyLocation;
        @JsonPropertyDescription("Why the offsite copy is read, when it is.")
        public String copyReason;
        @JsonPropertyDescription("A logical restore: the database of the backup restored.")
        public String sourceDatabase;
        @JsonPropertyDescription("A logical restore: where it goes, in words (instance, database, whether new).")
        public String target;
        @JsonPropertyDescription("A logical restore that replaces a database: what that database holds now "
                + "(relations and size). The approval names it.")
        public String replaces;
    }

    /** The database a logical restore wrote. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static class RestoredDatabase {
        @JsonPropertyDescription("The database.")
        public String name;
        @JsonPropertyDescription("The instance (user@host:port of the target's Secret).")
        public String instance;
        @JsonPropertyDescription("Tables restored, read back from the database after the restore.")
        public Integer tables;
        @JsonPropertyDescription("Whether an existing database of this name was replaced.")
        public Boolean replaced;
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
        @JsonPropertyDescription("The image the instance's PostgreSQL runs: spec.target.newInstance.image, else the "
                + "official image of the backup's major version. Stored before the StatefulSet is made.")
        public String image;
    }

    /** What a masked restore did. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static class MaskingEvidence {
        @JsonPropertyDescription("Each masked table: \"schema.table: N rows in S s\".")
        public List<String> tables = new ArrayList<>();
        @JsonPropertyDescription("Sampled original values of the masked columns checked after masking (by keyed hash).")
        public Long originalsChecked;
        @JsonPropertyDescription("Of those, still present in the copy: 0, or the copy was not served.")
        public Long originalsFound;
        @JsonPropertyDescription("Columns the PII discovery found on the masked copy.")
        public Integer columnsFound;
        @JsonPropertyDescription("Of those, the ones no rule masks (with unmaskedColumns Refuse the copy is not served).")
        public List<String> uncovered = new ArrayList<>();
        @JsonPropertyDescription("The report: the restore's record in the bucket (rules, tables, row counts, sizes, "
                + "findings, the check).")
        public String report;
    }

    /** A staging refresh's state. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static class Staging {
        @JsonPropertyDescription("The staging Secret the operator writes.")
        public String secret;
        @JsonPropertyDescription("The database the staging Secret points at: the masked copy being served.")
        public String serving;
        @JsonPropertyDescription("The backup that copy was restored from.")
        public String servingBackupId;
        @JsonPropertyDescription("When that backup was taken (its end): the copy's data is as old as this.")
        public String servingBackupTime;
        @JsonPropertyDescription("Size of the served copy (pg_database_size) when it was swapped in.")
        public Long servingSizeBytes;
        @JsonPropertyDescription("When the staging Secret was pointed at the served copy.")
        public String servedSince;
        @JsonPropertyDescription("The refresh under way or last made: 1 for the first copy.")
        public Integer run;
        @JsonPropertyDescription("The database the refresh under way restores into (<target.database.name>_r<run>).")
        public String runDatabase;
        @JsonPropertyDescription("The previous copy, being dropped once the Secret points at the new one.")
        public String retiring;
        @JsonPropertyDescription("When the next refresh is due.")
        public String nextRefreshTime;
        @JsonPropertyDescription("The last refresh's outcome.")
        public LastRefresh last;
    }

    /** How the last refresh ended. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static class LastRefresh {
        @JsonPropertyDescription("Its number.")
        public Integer run;
        @JsonPropertyDescription("Served (the Secret points at its copy) or Failed (the previous copy still serves).")
        public String outcome;
        @JsonPropertyDescription("The backup it restored.")
        public String backupId;
        @JsonPropertyDescription("When it started.")
        public String startedAt;
        @JsonPropertyDescription("When it ended.")
        public String completedAt;
        @JsonPropertyDescription("What happened, and why when it failed.")
        public String message;
    }
}
