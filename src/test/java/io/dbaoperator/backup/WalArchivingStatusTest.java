package io.dbaoperator.backup;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.util.List;

import org.junit.jupiter.api.Test;

import io.dbaoperator.api.backup.BackupPolicyStatus;
import io.dbaoperator.backup.catalog.BackupRecord;
import io.dbaoperator.backup.catalog.WalArchiverStatus;
import io.dbaoperator.status.ConditionType;
import io.dbaoperator.status.Conditions;

class WalArchivingStatusTest {

    static final Instant NOW = Instant.parse("2026-11-21T12:00:00Z");

    static BackupRecord backup(String id, String endWal, String completedAt) {
        BackupRecord r = new BackupRecord();
        r.backupId = id;
        r.state = BackupRecord.State.verified;
        r.endWalFile = endWal;
        r.completedAt = completedAt;
        return r;
    }

    static WalArchiverStatus beat(String updatedAt, boolean receiving) {
        WalArchiverStatus h = new WalArchiverStatus();
        h.slot = "s";
        h.updatedAt = updatedAt;
        h.receiving = receiving;
        h.firstArchivedSegment = "000000010000000000000010";
        h.lastArchivedSegment = "000000010000000000000020";
        h.lastArchivedAt = "2026-11-21T11:59:00Z";
        h.segmentsArchived = 17;
        return h;
    }

    @Test
    void theWindowStartsAtTheOldestBackupThatArchivedWalContinues() {
        BackupPolicyStatus s = new BackupPolicyStatus();
        List<BackupRecord> records = List.of(
                backup("20261121T100000Z", "000000010000000000000018", "2026-11-21T10:05:00Z"),
                backup("20261120T100000Z", "000000010000000000000011", "2026-11-20T10:05:00Z"),
                backup("20261119T100000Z", "000000010000000000000008", "2026-11-19T10:05:00Z")); // before archiving
        WalArchivingStatus.apply(s, null, beat("2026-11-21T11:59:50Z", true), records, 1, NOW);
        assertThat(s.recoveryWindow.firstRecoverableTime).isEqualTo("2026-11-20T10:05:00Z");
        assertThat(s.recoveryWindow.lastRecoverableTime).isEqualTo("2026-11-21T11:59:00Z");
        assertThat(s.recoveryWindow.archivingLagSeconds).isEqualTo(60);
        assertThat(Conditions.isTrue(s.conditions, ConditionType.WalArchiving)).isTrue();
    }

    @Test
    void theWindowNeverStartsAfterItEndsAndOpensOnlyOnceTheArchiveReachesTheBackupsEnd() {
        // the segment the backup ended in was shipped before the backup's upload was finalised
        WalArchiverStatus early = beat("2026-11-21T11:59:50Z", true);
        early.lastArchivedSegment = "000000010000000000000018";
        early.lastArchivedAt = "2026-11-21T10:04:30Z";
        BackupPolicyStatus s = new BackupPolicyStatus();
        WalArchivingStatus.apply(s, null, early, List.of(backup("20261121T100000Z", "000000010000000000000018",
                "2026-11-21T10:05:00Z")), 1, NOW);
        assertThat(Instant.parse(s.recoveryWindow.firstRecoverableTime))
                .isBeforeOrEqualTo(Instant.parse(s.recoveryWindow.lastRecoverableTime));
        assertThat(s.recoveryWindow.lastRecoverableTime).isEqualTo("2026-11-21T10:05:00Z");

        // the archive has not yet reached the backup's end segment (as while the first backup runs): no window
        WalArchiverStatus behind = beat("2026-11-21T11:59:50Z", true);
        behind.lastArchivedSegment = "000000010000000000000017";
        BackupPolicyStatus none = new BackupPolicyStatus();
        WalArchivingStatus.apply(none, null, behind, List.of(backup("20261121T100000Z", "000000010000000000000018",
                "2026-11-21T10:05:00Z")), 1, NOW);
        assertThat(none.recoveryWindow).isNull();
        // no verified backup yet: no window, whatever the archiver has shipped
        BackupPolicyStatus first = new BackupPolicyStatus();
        WalArchivingStatus.apply(first, null, beat("2026-11-21T11:59:50Z", true), List.of(), 1, NOW);
        assertThat(first.recoveryWindow).isNull();
        assertThat(Conditions.isTrue(first.conditions, ConditionType.WalArchiving)).isTrue();
    }

    @Test
    void aStoppedOrSilentArchiverIsAFalseCondition() {
        BackupPolicyStatus notRunning = new BackupPolicyStatus();
        WalArchivingStatus.apply(notRunning, "pod x CrashLoopBackOff", beat("2026-11-21T11:59:50Z", true), List.of(),
                1, NOW);
        assertThat(Conditions.find(notRunning.conditions, ConditionType.WalArchiving).orElseThrow().reason)
                .isEqualTo("WalArchiverNotRunning");
        BackupPolicyStatus stale = new BackupPolicyStatus();
        WalArchivingStatus.apply(stale, null, beat("2026-11-21T11:50:00Z", true), List.of(), 1, NOW);
        assertThat(Conditions.find(stale.conditions, ConditionType.WalArchiving).orElseThrow().reason)
                .isEqualTo("WalArchiverStale");
        BackupPolicyStatus stopped = new BackupPolicyStatus();
        WalArchivingStatus.apply(stopped, null, beat("2026-11-21T11:59:55Z", false), List.of(), 1, NOW);
        assertThat(Conditions.find(stopped.conditions, ConditionType.WalArchiving).orElseThrow().message)
                .contains("pg_receivewal had stopped");
    }
}
