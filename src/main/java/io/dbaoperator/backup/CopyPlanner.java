package io.dbaoperator.backup;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Set;

import io.dbaoperator.api.backup.BackupPolicySpec;
import io.dbaoperator.backup.catalog.BackupRecord;

/**
 * Which backup is copied next (spec.copies), and which backups retention must keep until their offsite copy exists.
 * Pure: it reads the catalog records as given.
 * <ul>
 * <li>A verified backup is due offsite once it is {@code offsite.afterDays} old and its record names no copy.</li>
 * <li>It is due in the archive class once {@code archive.afterDays} old and its objects are in another class; a
 * frozen class (GLACIER, DEEP_ARCHIVE) waits for a pending offsite copy, which has to read the objects.</li>
 * <li>The oldest due backup goes first (it is the nearest to leaving); one copy at a time, both moves in one Job.</li>
 * </ul>
 */
final class CopyPlanner {

    /** The rule retention names for a verified backup kept until its offsite copy exists. */
    static final String AWAITING_OFFSITE = "awaiting offsite copy";

    private CopyPlanner() {
    }

    /** One copy: the backup, whether it goes offsite, the archive class its objects move to (or null). */
    record Due(String backupId, boolean offsite, String archiveClass) {
    }

    /**
     * @param keptNewestFirst the backups retention keeps, newest first
     * @param blocked backups that have a copy Job already (running, or ended and not yet expired)
     * @return the next copy, or null when none is due
     */
    static Due next(BackupPolicySpec.Copies copies, List<BackupRecord> keptNewestFirst, Set<String> blocked,
            Instant now) {
        if (copies == null) {
            return null;
        }
        for (int i = keptNewestFirst.size() - 1; i >= 0; i--) {
            BackupRecord r = keptNewestFirst.get(i);
            if (r.state != BackupRecord.State.verified || blocked.contains(r.backupId)) {
                continue;
            }
            Duration age = Duration.between(completed(r), now);
            boolean pendingOffsite = awaitingOffsite(copies, r);
            boolean offsite = pendingOffsite && age.compareTo(Duration.ofDays(copies.offsite.afterDays == null ? 0
                    : copies.offsite.afterDays)) >= 0;
            String archive = null;
            if (copies.archive != null && !copies.archive.storageClass.name().equals(r.storageClass)
                    && age.compareTo(Duration.ofDays(copies.archive.afterDays)) >= 0
                    && !(copies.archive.storageClass.frozen() && pendingOffsite && !offsite)) {
                archive = copies.archive.storageClass.name();
            }
            if (offsite || archive != null) {
                return new Due(r.backupId, offsite, archive);
            }
        }
        return null;
    }

    /** A verified backup whose offsite copy (spec.copies.offsite) does not exist yet. */
    static boolean awaitingOffsite(BackupPolicySpec.Copies copies, BackupRecord r) {
        return copies != null && copies.offsite != null && r.state == BackupRecord.State.verified
                && r.offsite == null;
    }

    /** Checks what the schema cannot: a frozen archive class before the offsite copy could never be copied. */
    static String invalid(BackupPolicySpec.Copies copies) {
        if (copies == null || copies.archive == null || copies.offsite == null
                || !copies.archive.storageClass.frozen()) {
            return null;
        }
        int offsiteAfter = copies.offsite.afterDays == null ? 0 : copies.offsite.afterDays;
        return offsiteAfter > copies.archive.afterDays ? "spec.copies.offsite.afterDays (" + offsiteAfter + ") is "
                + "later than spec.copies.archive.afterDays (" + copies.archive.afterDays + ") with the frozen class "
                + copies.archive.storageClass + ": an object in " + copies.archive.storageClass + " cannot be read "
                + "for its offsite copy; copy offsite first (a smaller offsite.afterDays) or archive to GLACIER_IR"
                : null;
    }

    static Instant completed(BackupRecord r) {
        return r.completedAt != null ? Instant.parse(r.completedAt) : BackupRetention.taken(r);
    }
}
