package io.dbaoperator.api.backup;

import java.util.ArrayList;
import java.util.List;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;

import io.dbaoperator.api.common.OperatorStatus;

/** Observed state of a BackupPolicy. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class BackupPolicyStatus extends OperatorStatus {

    @JsonPropertyDescription("Pending, Active, Suspended, Degraded or Failed.")
    public BackupPolicyPhase phase;

    @JsonPropertyDescription("The newest backup, verified or not.")
    public BackupInfo lastBackup;

    @JsonPropertyDescription("Recent backups, newest first.")
    public List<BackupInfo> backups = new ArrayList<>();

    @JsonPropertyDescription("When the next scheduled backup is due (RFC 3339).")
    public String nextScheduleTime;

    @JsonPropertyDescription("The scheduled time of the last backup the operator started or skipped (RFC 3339).")
    public String lastScheduleTime;

    @JsonPropertyDescription("The value of the dbaoperator.io/backup-now annotation last acted on.")
    public String lastOnDemandRequest;

    @JsonPropertyDescription("The backup whose start is decided and recorded but whose Job may not exist yet "
            + "(set just before the Job is created, cleared once it exists).")
    public String startingBackupId;

    @JsonPropertyDescription("The span of time a point-in-time restore can reach; absent until a verified backup "
            + "exists and archived WAL reaches its end (for instance while the first backup runs).")
    public RecoveryWindow recoveryWindow;

    @JsonPropertyDescription("What retention removed last.")
    public PruneReport lastPrune;

    @JsonPropertyDescription("The last restore test (spec.verification.restoreTest): running, or its outcome.")
    public RestoreTestInfo lastRestoreTest;

    @JsonPropertyDescription("When the next scheduled restore test starts (RFC 3339).")
    public String nextRestoreTestTime;

    @JsonPropertyDescription("The last scheduled time a restore test was started for (RFC 3339).")
    public String lastRestoreTestScheduleTime;

    @JsonPropertyDescription("The last dbaoperator.io/restore-test-now value acted on.")
    public String lastRestoreTestRequest;

    @JsonPropertyDescription("The copy (offsite, archive class) decided and recorded, whose Job may not exist yet or "
            + "still runs; cleared once its outcome is read.")
    public CopyInfo copying;

    @JsonPropertyDescription("The last copy's outcome.")
    public CopyInfo lastCopy;

    @JsonPropertyDescription("The offsite storage (spec.copies.offsite) as last surveyed.")
    public OffsiteInfo offsite;

    @Override
    public Enum<?> phase() {
        return phase;
    }

    /** What a retention pass removed. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static class PruneReport {
        @JsonPropertyDescription("When retention decided what goes (RFC 3339): stored before anything is deleted.")
        public String decidedAt;
        @JsonPropertyDescription("When the objects were gone (RFC 3339); absent while the deletion decided at "
                + "decidedAt has not finished (a restart finishes it: what goes follows from the bucket).")
        public String prunedAt;
        @JsonPropertyDescription("Ids of the removed backups (none when only WAL went).")
        public List<String> removed = new ArrayList<>();
        @JsonPropertyDescription("Archived WAL segments removed: those older than the recovery window needs.")
        public Integer walSegmentsRemoved;
        @JsonPropertyDescription("The WAL segment from which on archived WAL is kept (the start of the newest kept "
                + "verified backup that completed before the recovery window began).")
        public String walKeptFrom;
        @JsonPropertyDescription("Bytes freed in object storage, once done.")
        public Long freedBytes;
    }

    /**
     * The recovery window. Absent until a verified backup exists and archived WAL reaches that backup's end (so
     * while the first backup runs, and before the archiver has shipped the segment the backup ended in).
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static class RecoveryWindow {
        @JsonPropertyDescription("Earliest recoverable time: the end of the oldest verified backup (RFC 3339).")
        public String firstRecoverableTime;
        @JsonPropertyDescription("Latest recoverable time: when the last WAL segment was archived, never before "
                + "firstRecoverableTime (RFC 3339).")
        public String lastRecoverableTime;
        @JsonPropertyDescription("Seconds between the primary's current WAL position and the last archived one.")
        public Long archivingLagSeconds;
    }

    /** A restore test: the newest verified backup restored to its end on scratch space, then checked. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static class RestoreTestInfo {
        @JsonPropertyDescription("The test's id in the catalog (restores/<id>.json).")
        public String restoreId;
        @JsonPropertyDescription("The Job that ran it.")
        public String job;
        @JsonPropertyDescription("The backup restored.")
        public String backupId;
        @JsonPropertyDescription("When it started (RFC 3339).")
        public String startedAt;
        @JsonPropertyDescription("When it ended (RFC 3339); absent while it runs.")
        public String completedAt;
        @JsonPropertyDescription("Whether the backup restored and every check passed; absent while it runs.")
        public Boolean passed;
        @JsonPropertyDescription("Seconds from the Job's start to a verified, promoted instance: the measured RTO.")
        public Double restoreSeconds;
        @JsonPropertyDescription("pg_amcheck and each check, with their outcome.")
        public List<BackupRestoreStatus.CheckResult> checks = new ArrayList<>();
        @JsonPropertyDescription("What happened, in words.")
        public String message;
    }

    /** A copy of one backup: to the offsite storage, to an archive class, or both, by one Job. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static class CopyInfo {
        @JsonPropertyDescription("The backup copied.")
        public String backupId;
        @JsonPropertyDescription("The Job that copies it.")
        public String job;
        @JsonPropertyDescription("Whether it is copied to the offsite storage.")
        public Boolean offsite;
        @JsonPropertyDescription("The archive storage class its objects move to, when they do.")
        public String archiveClass;
        @JsonPropertyDescription("When the copy was decided (RFC 3339): stored before its Job is created.")
        public String decidedAt;
        @JsonPropertyDescription("When its outcome was read (RFC 3339); absent while it runs.")
        public String completedAt;
        @JsonPropertyDescription("Whether the catalog shows every copy asked for (offsite: the copy's record, written "
                + "after every object's SHA-256 was read back; archive: the class on every object).")
        public Boolean succeeded;
        @JsonPropertyDescription("What happened, in words.")
        public String message;
    }

    /** The offsite storage's copies and its retention. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static class OffsiteInfo {
        @JsonPropertyDescription("s3:// URL of the offsite copies.")
        public String location;
        @JsonPropertyDescription("When the offsite catalog was last read (RFC 3339); it is read every 10 minutes and "
                + "after each copy.")
        public String surveyedAt;
        @JsonPropertyDescription("Ids of the backups the offsite storage holds, newest first, with the rules that "
                + "keep each.")
        public List<OffsiteBackup> backups = new ArrayList<>();
        @JsonPropertyDescription("What the offsite retention removed last.")
        public PruneReport lastPrune;
        @JsonPropertyDescription("Why the offsite storage could not be read, when it could not.")
        public String error;
    }

    /** One offsite copy. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static class OffsiteBackup {
        @JsonPropertyDescription("Backup id.")
        public String backupId;
        @JsonPropertyDescription("When it was copied (RFC 3339).")
        public String copiedAt;
        @JsonPropertyDescription("Storage class of its objects offsite.")
        public String storageClass;
        @JsonPropertyDescription("The offsite retention rules that keep it.")
        public List<String> keptBy;
    }
}
