package io.dbaoperator.backup;

import java.time.Duration;
import java.time.Instant;
import java.util.List;

import io.dbaoperator.api.backup.BackupPolicyStatus;
import io.dbaoperator.backup.catalog.BackupRecord;
import io.dbaoperator.backup.catalog.WalArchiverStatus;
import io.dbaoperator.problem.Reason;
import io.dbaoperator.status.ConditionType;
import io.dbaoperator.status.Conditions;

/**
 * The WalArchiving condition and the recovery window, from the archiver Deployment's readiness and its heartbeat in
 * object storage. A stopped or silent archiver is a False condition with the reason, never silence. Pure.
 */
public final class WalArchivingStatus {

    /** A heartbeat older than this means the archiver is not working, whatever the pod says. */
    static final Duration STALE = Duration.ofSeconds(60);

    private WalArchivingStatus() {
    }

    /**
     * @param podProblem why the archiver pod is not ready (e.g. CrashLoopBackOff: ...), or null when it is ready
     */
    public static void apply(BackupPolicyStatus status, String podProblem, WalArchiverStatus heartbeat,
            List<BackupRecord> records, long generation, Instant now) {
        apply(status, podProblem, heartbeat, records, null, generation, now);
    }

    /**
     * @param podProblem why the archiver pod is not ready (e.g. CrashLoopBackOff: ...), or null when it is ready
     * @param walKeptFrom where retention keeps archived WAL from (older segments are gone), or null when it keeps all
     */
    public static void apply(BackupPolicyStatus status, String podProblem, WalArchiverStatus heartbeat,
            List<BackupRecord> records, String walKeptFrom, long generation, Instant now) {
        Instant beat = heartbeat == null || heartbeat.updatedAt == null ? null : Instant.parse(heartbeat.updatedAt);
        if (podProblem != null) {
            status.conditions = Conditions.set(status.conditions, ConditionType.WalArchiving, false,
                    Reason.WalArchiverNotRunning, "the WAL archiver is not running: " + podProblem, generation, now);
        } else if (beat == null) {
            status.conditions = Conditions.set(status.conditions, ConditionType.WalArchiving, false,
                    Reason.WalArchiverStarting, "the WAL archiver started and has not reported yet", generation, now);
        } else if (Duration.between(beat, now).compareTo(STALE) > 0 || !heartbeat.receiving) {
            status.conditions = Conditions.set(status.conditions, ConditionType.WalArchiving, false,
                    Reason.WalArchiverStale, "the WAL archiver's last heartbeat is from " + heartbeat.updatedAt
                            + (heartbeat.receiving ? "" : " and pg_receivewal had stopped"), generation, now);
        } else {
            status.conditions = Conditions.set(status.conditions, ConditionType.WalArchiving, true,
                    Reason.WalArchivingRunning, heartbeat.lastArchivedSegment == null
                            ? "pg_receivewal streams on slot " + heartbeat.slot + "; no segment finished yet"
                            : "segment " + heartbeat.lastArchivedSegment + " archived at " + heartbeat.lastArchivedAt
                                    + " (" + heartbeat.segmentsArchived + " so far)", generation, now);
        }
        // a backup opens the window only if archived WAL continues where its own WAL ends: from the first segment
        // the archiver shipped, or from where retention keeps WAL, whichever is later
        String firstArchived = heartbeat == null ? null : heartbeat.firstArchivedSegment;
        if (firstArchived != null && walKeptFrom != null && walKeptFrom.compareTo(firstArchived) > 0) {
            firstArchived = walKeptFrom;
        }
        String from = firstArchived;
        BackupRecord oldestVerified = records.stream().filter(r -> r.state == BackupRecord.State.verified)
                .filter(r -> from != null && r.endWalFile != null && r.endWalFile.compareTo(from) >= 0)
                .reduce((a, b) -> b).orElse(null);
        // ... and only once the archive reaches that backup's end: before, no time at all is recoverable (this is
        // also the state while the first backup runs)
        if (heartbeat == null || heartbeat.lastArchivedAt == null || oldestVerified == null
                || heartbeat.lastArchivedSegment == null || oldestVerified.completedAt == null
                || heartbeat.lastArchivedSegment.compareTo(oldestVerified.endWalFile) < 0) {
            status.recoveryWindow = null;
            return;
        }
        BackupPolicyStatus.RecoveryWindow w = new BackupPolicyStatus.RecoveryWindow();
        w.firstRecoverableTime = oldestVerified.completedAt;
        // The segment holding the backup's end is archived, so its end is recoverable even when that segment was
        // shipped before the backup's upload was finalised (completedAt): the window is never inverted.
        Instant first = Instant.parse(oldestVerified.completedAt);
        Instant last = Instant.parse(heartbeat.lastArchivedAt);
        w.lastRecoverableTime = last.isBefore(first) ? oldestVerified.completedAt : heartbeat.lastArchivedAt;
        w.archivingLagSeconds = Math.max(0, Duration.between(Instant.parse(heartbeat.lastArchivedAt), now)
                .getSeconds());
        status.recoveryWindow = w;
    }
}
