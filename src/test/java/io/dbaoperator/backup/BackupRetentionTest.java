package io.dbaoperator.backup;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

import org.junit.jupiter.api.Test;

import io.dbaoperator.backup.catalog.BackupRecord;

class BackupRetentionTest {

    static final Instant NOW = Instant.parse("2026-11-21T12:00:00Z");

    static BackupRecord record(Duration age, BackupRecord.State state) {
        BackupRecord r = new BackupRecord();
        r.backupId = BackupJobs.backupId(NOW.minus(age));
        r.state = state;
        return r;
    }

    static List<String> ids(List<BackupRecord> records) {
        return records.stream().map(r -> r.backupId).toList();
    }

    @Test
    void keepLastAndMaxAgeTogether() {
        List<BackupRecord> records = new ArrayList<>();
        for (int days = 1; days <= 6; days++) {
            records.add(record(Duration.ofDays(days), BackupRecord.State.verified));
        }
        // newest first, as the catalog lists them
        List<BackupRecord> removed = BackupRetention.toRemove(records, 2, Duration.ofDays(3), Set.of(), NOW);
        assertThat(ids(removed)).containsExactly(records.get(3).backupId, records.get(4).backupId,
                records.get(5).backupId); // 4, 5 and 6 days old: beyond the newest two and older than 3 days
    }

    @Test
    void theNewestVerifiedBackupSurvivesEvenWhenEverythingIsOld() {
        List<BackupRecord> records = List.of(record(Duration.ofDays(40), BackupRecord.State.failed),
                record(Duration.ofDays(50), BackupRecord.State.verified),
                record(Duration.ofDays(60), BackupRecord.State.verified));
        List<BackupRecord> removed = BackupRetention.toRemove(records, 1, Duration.ofDays(30), Set.of(), NOW);
        assertThat(ids(removed)).containsExactly(records.get(0).backupId, records.get(2).backupId);
    }

    @Test
    void pinnedAndInProgressBackupsStay() {
        BackupRecord pinned = record(Duration.ofDays(90), BackupRecord.State.verified);
        BackupRecord running = record(Duration.ofDays(45), BackupRecord.State.running);
        BackupRecord uploaded = record(Duration.ofDays(44), BackupRecord.State.uploaded);
        BackupRecord newest = record(Duration.ofDays(1), BackupRecord.State.verified);
        List<BackupRecord> removed = BackupRetention.toRemove(List.of(newest, uploaded, running, pinned), 1,
                Duration.ofDays(30), Set.of(pinned.backupId), NOW);
        assertThat(removed).isEmpty();
    }

    @Test
    void recentFailuresStayForDiagnosis() {
        BackupRecord failed = record(Duration.ofHours(1), BackupRecord.State.failed);
        assertThat(BackupRetention.toRemove(List.of(failed), 7, Duration.ofDays(30), Set.of(), NOW)).isEmpty();
    }
}
