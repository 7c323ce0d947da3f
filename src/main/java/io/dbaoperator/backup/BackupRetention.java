package io.dbaoperator.backup;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import io.dbaoperator.backup.catalog.BackupRecord;

/**
 * Which backups retention removes. keepLast and maxAge work together: a backup goes only when it is outside the
 * newest {@code keepLast} verified backups and older than {@code maxAge}. Never removed: the newest verified backup
 * (whatever the settings), pinned backups, and backups still in progress. Failed backups go once older than maxAge.
 * Pure.
 */
public final class BackupRetention {

    private BackupRetention() {
    }

    /** @param records every backup of the policy, newest first */
    public static List<BackupRecord> toRemove(List<BackupRecord> records, int keepLast, Duration maxAge,
            Set<String> pinned, Instant now) {
        Set<String> keep = new HashSet<>(pinned);
        records.stream().filter(r -> r.state == BackupRecord.State.verified).limit(Math.max(1, keepLast))
                .forEach(r -> keep.add(r.backupId));
        List<BackupRecord> remove = new ArrayList<>();
        for (BackupRecord r : records) {
            if (keep.contains(r.backupId) || r.state == BackupRecord.State.running
                    || r.state == BackupRecord.State.uploaded) {
                continue;
            }
            Instant taken = Instant.from(BackupJobs.BACKUP_ID.parse(r.backupId));
            if (taken.plus(maxAge).isBefore(now)) {
                remove.add(r);
            }
        }
        return remove;
    }
}
