package io.dbaoperator.backup;

import java.time.Instant;
import java.util.List;
import java.util.function.Function;

import io.dbaoperator.api.backup.BackupInfo;
import io.dbaoperator.api.backup.BackupPolicyPhase;
import io.dbaoperator.api.backup.BackupPolicyStatus;
import io.dbaoperator.api.common.Phase;
import io.dbaoperator.backup.catalog.BackupRecord;
import io.dbaoperator.problem.Reason;
import io.dbaoperator.status.ConditionType;
import io.dbaoperator.status.Conditions;

/**
 * Builds a policy's backup status from what the operator can observe: the catalog in object storage (the truth
 * about every backup) and its Jobs (to see a Job that failed before it could write to the catalog). Pure.
 */
public final class BackupStatusBuilder {

    static final int RECENT = 10;
    /** At most this many backups in status: the RECENT newest, then those kept by a calendar rule or a pin. */
    static final int SHOWN = 60;

    /** A backup Job as observed. */
    public record JobOutcome(String name, String backupId, boolean active, boolean failed, String failureReason) {
    }

    private BackupStatusBuilder() {
    }

    /**
     * @param location the s3:// URL of a backup's folder, by id
     */
    public static void apply(BackupPolicyStatus status, List<BackupRecord> records, List<JobOutcome> jobs,
            Function<String, String> location, boolean suspended, long generation, Instant now) {
        apply(status, records, java.util.Map.of(), jobs, location, suspended, generation, now);
    }

    /**
     * @param kept retention's verdict on each backup that remains, by id: status says which rules keep it and when
     *        it goes at the earliest; the RECENT newest are shown, then every older one a calendar rule or a pin keeps
     * @param location the s3:// URL of a backup's folder, by id
     */
    public static void apply(BackupPolicyStatus status, List<BackupRecord> records,
            java.util.Map<String, BackupRetention.Verdict> kept, List<JobOutcome> jobs,
            Function<String, String> location, boolean suspended, long generation, Instant now) {
        List<BackupRecord> shown = new java.util.ArrayList<>();
        for (int i = 0; i < records.size() && shown.size() < SHOWN; i++) {
            BackupRetention.Verdict v = kept.get(records.get(i).backupId);
            if (i < RECENT || v != null && v.keptBy().stream().anyMatch(rule -> rule.equals("pinned")
                    || rule.contains(" "))) {
                shown.add(records.get(i));
            }
        }
        status.backups = shown.stream().map(r -> info(r, location, kept.get(r.backupId))).toList();
        status.lastBackup = records.isEmpty() ? null : info(records.get(0), location, kept.get(records.get(0)
                .backupId));

        BackupRecord newestFinished = records.stream().filter(r -> r.state == BackupRecord.State.verified
                || r.state == BackupRecord.State.failed).findFirst().orElse(null);
        JobOutcome newestFailedJob = jobs.stream().filter(JobOutcome::failed)
                .filter(j -> records.stream().noneMatch(r -> r.backupId.equals(j.backupId())
                        && r.state != BackupRecord.State.running))
                .filter(j -> newestFinished == null || j.backupId().compareTo(newestFinished.backupId) > 0)
                .max(java.util.Comparator.comparing(JobOutcome::backupId)).orElse(null);
        if (newestFailedJob != null) {
            status.conditions = Conditions.set(status.conditions, ConditionType.LastBackupSucceeded, false,
                    Reason.BackupJobFailed, "backup Job " + newestFailedJob.name() + " failed ("
                            + newestFailedJob.failureReason() + ") before recording an outcome; see kubectl logs job/"
                            + newestFailedJob.name(), generation, now);
        } else if (newestFinished != null && newestFinished.state == BackupRecord.State.verified) {
            status.conditions = Conditions.set(status.conditions, ConditionType.LastBackupSucceeded, true,
                    Reason.BackupVerified, "backup " + newestFinished.backupId + " verified"
                            + (newestFinished.verification == null ? "" : " (" + newestFinished.verification.method
                                    + ")") + ", " + newestFinished.storedBytes
                            + " bytes stored in " + location.apply(newestFinished.backupId), generation, now);
        } else if (newestFinished != null) {
            status.conditions = Conditions.set(status.conditions, ConditionType.LastBackupSucceeded, false,
                    reason(newestFinished.errorReason), "backup " + newestFinished.backupId + " failed: "
                            + newestFinished.error, generation, now);
        }
        boolean failing = Conditions.find(status.conditions, ConditionType.LastBackupSucceeded)
                .map(c -> "False".equals(c.status)).orElse(false);
        status.phase = Phase.move(status.phase, suspended ? BackupPolicyPhase.Suspended
                : failing ? BackupPolicyPhase.Degraded : BackupPolicyPhase.Active);
    }

    static Reason reason(String recorded) {
        if (recorded == null) {
            return Reason.BackupFailed;
        }
        try {
            return Reason.valueOf(recorded);
        } catch (IllegalArgumentException e) {
            return Reason.BackupFailed;
        }
    }

    static BackupInfo info(BackupRecord r, Function<String, String> location) {
        return info(r, location, null);
    }

    static BackupInfo info(BackupRecord r, Function<String, String> location, BackupRetention.Verdict verdict) {
        BackupInfo i = new BackupInfo();
        if (verdict != null) {
            i.keptBy = verdict.keptBy().isEmpty() ? null : verdict.keptBy();
            i.earliestRemoval = verdict.earliestRemoval() == null ? null : verdict.earliestRemoval().toString();
        }
        i.backupId = r.backupId;
        i.method = r.method == null ? "physical" : r.method;
        i.databases = r.databases;
        i.startedAt = r.startedAt;
        i.completedAt = r.completedAt;
        i.durationSeconds = r.durationSeconds == null ? null : Math.round(r.durationSeconds);
        i.sizeBytes = r.sizeBytes;
        i.size = io.dbaoperator.status.Sizes.human(r.sizeBytes);
        i.storedBytes = r.storedBytes;
        i.beginLSN = r.startLsn;
        i.endLSN = r.endLsn;
        i.location = location.apply(r.backupId);
        i.verified = r.state == BackupRecord.State.verified;
        i.verifiedWith = r.verification == null ? null : r.verification.method;
        i.encryption = r.encryption;
        i.storageClass = r.storageClass;
        i.offsiteCopiedAt = r.offsite == null ? null : r.offsite.copiedAt;
        i.state = r.state == null ? null : r.state.name();
        i.error = r.error;
        return i;
    }
}
