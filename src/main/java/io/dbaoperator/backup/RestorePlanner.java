package io.dbaoperator.backup;

import java.time.Instant;
import java.util.List;
import java.util.Optional;

import io.dbaoperator.backup.catalog.BackupCatalog.WalObject;
import io.dbaoperator.backup.catalog.BackupRecord;
import io.dbaoperator.postgres.PostgresTools;
import io.dbaoperator.problem.Problem;
import io.dbaoperator.problem.Reason;

/**
 * Decides, before anyone approves, what a restore will do: which backup, which archived WAL it replays, and where
 * recovery is expected to stop; or refuses with the reason a person can act on (no such backup, a target outside
 * the recovery window with the window in the message, a gap in the archived WAL naming the missing segment). Pure:
 * it reads the catalog as given.
 * <p>
 * The window is the one BackupPolicy status reports: from the end of the oldest verified backup whose WAL the
 * archive continues, to the time the last segment of an unbroken run of archived segments was stored. A segment is
 * archived when it is full (or switched), so a target later than the last stored segment cannot be reached yet.
 */
public final class RestorePlanner {

    private RestorePlanner() {
    }

    /** What the restore asks for. Exactly one of time/lsn, or neither for the end of the backup. */
    public record Target(Instant time, String lsn) {
        boolean endOfBackup() {
            return time == null && lsn == null;
        }
    }

    /** The plan shown before approval. */
    public record Plan(BackupRecord backup, String walFrom, String walTo, int walSegments, String expectedRecoveryPoint,
            String window) {

        /** The plan as status.plan shows it (and as the approval's digest binds it). */
        public io.dbaoperator.api.backup.BackupRestoreStatus.RestorePlan toStatus() {
            var p = new io.dbaoperator.api.backup.BackupRestoreStatus.RestorePlan();
            p.backupId = backup.backupId;
            p.walFrom = walFrom;
            p.walTo = walTo;
            p.walSegments = walSegments;
            p.expectedRecoveryPoint = expectedRecoveryPoint;
            p.backupEnd = backup.completedAt + " (LSN " + backup.endLsn + ")";
            p.backupSizeBytes = backup.sizeBytes;
            p.backupSize = io.dbaoperator.status.Sizes.human(backup.sizeBytes);
            p.recoveryWindow = window;
            return p;
        }
    }

    public static Plan plan(String backupId, Target target, List<BackupRecord> records, List<WalObject> wal,
            String catalogUrl) {
        List<BackupRecord> verified = records.stream().filter(r -> r.state == BackupRecord.State.verified)
                .filter(r -> r.completedAt != null && r.endWalFile != null).toList(); // newest first, physical only
        BackupRecord backup;
        if (backupId != null) {
            BackupRecord named = records.stream().filter(r -> backupId.equals(r.backupId)).findFirst().orElse(null);
            if (named == null) {
                throw Problem.invalid(Reason.BackupNotFound, "backup " + backupId + " is not in the catalog at "
                        + catalogUrl + "; verified backups: " + ids(verified)).exception();
            }
            if ("logical".equals(named.method)) {
                throw Problem.invalid(Reason.InvalidSpec, "backup " + backupId + " is a logical backup (pg_dump of "
                        + named.databases + "); a BackupRestore restores physical backups into a new instance. "
                        + "Restore a dump with pg_restore from " + catalogUrl).exception();
            }
            if (named.state != BackupRecord.State.verified) {
                throw Problem.invalid(Reason.BackupNotFound, "backup " + backupId + " is " + named.state
                        + (named.error == null ? "" : " (" + named.error + ")") + "; only a verified backup is "
                        + "restored; verified backups: " + ids(verified)).exception();
            }
            backup = named;
        } else {
            if (verified.isEmpty()) {
                throw Problem.invalid(Reason.BackupNotFound, "the policy has no verified backup at " + catalogUrl)
                        .exception();
            }
            backup = target.endOfBackup() ? verified.get(0) : verified.stream().filter(r -> reaches(r, target))
                    .findFirst().orElse(null);
            if (backup == null) {
                throw Problem.invalid(Reason.TargetOutsideRecoveryWindow, "no verified backup ends before the target "
                        + describe(target) + ": the recovery window is " + window(verified, wal)).exception();
            }
        }
        if (target.endOfBackup()) {
            return new Plan(backup, null, null, 0, "the end of backup " + backup.backupId
                    + " (LSN " + backup.endLsn + ", " + backup.completedAt + ")", window(verified, wal));
        }
        if (!reaches(backup, target)) {
            throw Problem.invalid(Reason.TargetOutsideRecoveryWindow, "backup " + backup.backupId + " ends at "
                    + backup.completedAt + " (LSN " + backup.endLsn + "), after the target " + describe(target)
                    + ": a backup restores only to points after its end; the recovery window is "
                    + window(verified, wal)).exception();
        }
        Chain chain = chain(backup, wal);
        if (chain.segments().isEmpty()) {
            throw Problem.invalid(Reason.WalGap, "the archive has no WAL from segment " + backup.endWalFile
                    + " on, where backup " + backup.backupId + " ends: point-in-time recovery from it is not "
                    + "possible (is spec.walArchiving.enabled on the policy?); restore to the end of the backup "
                    + "instead, by leaving targetTime and targetLSN out").exception();
        }
        WalObject needed = target.time() != null
                ? chain.segments().stream().filter(o -> !o.storedAt().isBefore(target.time())).findFirst().orElse(null)
                : chain.segments().stream().filter(o -> o.segment().compareTo(
                        PostgresTools.walFileName(backup.timeline, target.lsn())) >= 0).findFirst().orElse(null);
        if (needed == null) {
            WalObject last = chain.segments().get(chain.segments().size() - 1);
            if (chain.missing() != null) {
                throw Problem.invalid(Reason.WalGap, "WAL segment " + chain.missing() + " is missing from the "
                        + "archive (later segments exist): from backup " + backup.backupId + " recovery can reach "
                        + "segment " + last.segment() + ", stored at " + last.storedAt() + ", not the target "
                        + describe(target)).exception();
            }
            throw Problem.invalid(Reason.TargetOutsideRecoveryWindow, "the target " + describe(target) + " is after "
                    + "the last archived WAL (segment " + last.segment() + ", stored at " + last.storedAt()
                    + "): the recovery window is " + window(verified, wal)).exception();
        }
        int count = chain.segments().indexOf(needed) + 1;
        // walFrom .. walTo lists exactly the archived segments replayed: count of them, no more (the backup's own
        // WAL, startWalFile .. endWalFile, is inside the backup)
        return new Plan(backup, chain.segments().get(0).segment(), needed.segment(), count, target.time() != null
                ? "the last transaction committed at or before " + target.time()
                : "LSN " + target.lsn(), window(verified, wal));
    }

    private static boolean reaches(BackupRecord r, Target target) {
        if (target.time() != null) {
            return !Instant.parse(r.completedAt).isAfter(target.time());
        }
        return target.lsn() != null && r.endLsn != null && PostgresTools.lsn(r.endLsn) <= PostgresTools.lsn(target.lsn());
    }

    /** An unbroken run of archived segments from the backup's end segment on, and the first one missing after it. */
    record Chain(List<WalObject> segments, String missing) {
    }

    static Chain chain(BackupRecord backup, List<WalObject> wal) {
        List<WalObject> onTimeline = wal.stream().filter(o -> o.segment() != null
                && o.segment().startsWith(backup.endWalFile.substring(0, 8))
                && o.segment().compareTo(backup.endWalFile) >= 0).toList();
        List<WalObject> run = new java.util.ArrayList<>();
        String expected = backup.endWalFile;
        for (WalObject o : onTimeline) {
            if (!o.segment().equals(expected)) {
                return new Chain(run, expected);
            }
            run.add(o);
            expected = PostgresTools.nextWalFile(expected);
        }
        return new Chain(run, null);
    }

    /** "F .. L" as BackupPolicy status reports it, or why there is none. */
    static String window(List<BackupRecord> verified, List<WalObject> wal) {
        Optional<BackupRecord> oldest = verified.stream().filter(r -> !chain(r, wal).segments().isEmpty())
                .reduce((a, b) -> b);
        if (oldest.isEmpty()) {
            return verified.isEmpty() ? "empty (no verified backup)" : "only the ends of the backups ("
                    + ids(verified) + "): no archived WAL continues them";
        }
        List<WalObject> run = chain(oldest.get(), wal).segments();
        Instant start = Instant.parse(oldest.get().completedAt);
        Instant end = run.get(run.size() - 1).storedAt();
        // the end of the backup itself is always recoverable, even before its next segment is archived
        return start + " .. " + (end.isBefore(start) ? start : end);
    }

    static String describe(Target t) {
        return t.time() != null ? "time " + t.time() : t.lsn() != null ? "LSN " + t.lsn() : "end of backup";
    }

    private static String ids(List<BackupRecord> records) {
        return records.isEmpty() ? "none" : records.stream().map(r -> r.backupId).toList().toString();
    }
}
