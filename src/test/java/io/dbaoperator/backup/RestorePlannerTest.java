package io.dbaoperator.backup;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

import io.dbaoperator.backup.catalog.BackupCatalog.WalObject;
import io.dbaoperator.backup.catalog.BackupRecord;
import io.dbaoperator.postgres.PostgresTools;
import io.dbaoperator.problem.ProblemException;

/** What a restore plans, and what it refuses before anyone is asked to approve. */
class RestorePlannerTest {

    static final Instant T0 = Instant.parse("2026-11-21T02:00:00Z");

    static BackupRecord backup(String id, BackupRecord.State state, Instant completed, String endWal, String endLsn) {
        BackupRecord r = new BackupRecord();
        r.backupId = id;
        r.state = state;
        r.completedAt = completed.toString();
        r.startWalFile = endWal;
        r.endWalFile = endWal;
        r.endLsn = endLsn;
        r.timeline = 1;
        return r;
    }

    /** Segments first..(first+n-1), the i-th stored at T0 + 10 min + i minutes, skipping {@code skip}. */
    static List<WalObject> wal(String first, int n, String skip) {
        List<WalObject> objects = new ArrayList<>();
        String seg = first;
        for (int i = 0; i < n; i++) {
            if (!seg.equals(skip)) {
                objects.add(new WalObject(seg + ".gz", "wal/" + seg + ".gz", 100, T0.plusSeconds(600 + 60L * i)));
            }
            seg = PostgresTools.nextWalFile(seg);
        }
        return objects;
    }

    static final List<BackupRecord> RECORDS = List.of(
            backup("20261121T030000Z", BackupRecord.State.failed, T0.plusSeconds(3600), "000000010000000000000020",
                    "0/20000100"),
            backup("20261121T020000Z", BackupRecord.State.verified, T0.plusSeconds(300), "000000010000000000000010",
                    "0/10000100"));

    static RestorePlanner.Plan plan(String backupId, Instant time, String lsn, List<WalObject> wal) {
        return RestorePlanner.plan(backupId, new RestorePlanner.Target(time, lsn), RECORDS, wal, "s3://b/p/");
    }

    static String refusal(Runnable r) {
        try {
            r.run();
        } catch (ProblemException e) {
            return e.problem().reason() + ": " + e.problem().message();
        }
        throw new AssertionError("not refused");
    }

    @Test
    void aTimeTargetReplaysTheArchiveUpToTheFirstSegmentStoredAfterIt() {
        var p = plan(null, T0.plusSeconds(600 + 150), null, wal("000000010000000000000010", 8, null));
        assertThat(p.backup().backupId).isEqualTo("20261121T020000Z");
        assertThat(p.walFrom()).isEqualTo("000000010000000000000010");
        assertThat(p.walTo()).isEqualTo("000000010000000000000013");
        assertThat(p.walSegments()).isEqualTo(4).isEqualTo(segmentsIn(p.walFrom(), p.walTo()));
        assertThat(p.window()).isEqualTo(T0.plusSeconds(300) + " .. " + T0.plusSeconds(600 + 7 * 60));
    }

    @Test
    void anLsnTargetNeedsItsOwnSegment_AndSegmentsRollOverToTheNextLogId() {
        assertThat(PostgresTools.nextWalFile("0000000100000000000000FF")).isEqualTo("000000010000000100000000");
        var p = plan(null, null, "1/00000010", wal("000000010000000000000010", 245, null));
        assertThat(p.walTo()).isEqualTo("000000010000000100000000");
        assertThat(p.walSegments()).isEqualTo(0x100 - 0x10 + 1).isEqualTo(segmentsIn(p.walFrom(), p.walTo()));
    }

    @Test
    void refusals_nameTheWindow_theMissingSegment_andTheBackupsThatExist() {
        assertThat(refusal(() -> plan(null, T0.plusSeconds(86400), null, wal("000000010000000000000010", 3, null))))
                .startsWith("TargetOutsideRecoveryWindow").contains("recovery window is "
                        + T0.plusSeconds(300) + " .. " + T0.plusSeconds(600 + 120));
        assertThat(refusal(() -> plan(null, T0.plusSeconds(600 + 300), null,
                wal("000000010000000000000010", 8, "000000010000000000000012"))))
                .startsWith("WalGap").contains("segment 000000010000000000000012 is missing");
        assertThat(refusal(() -> plan(null, T0.plusSeconds(100), null, wal("000000010000000000000010", 3, null))))
                .startsWith("TargetOutsideRecoveryWindow").contains("no verified backup ends before");
        assertThat(refusal(() -> plan("20261121T030000Z", null, null, List.of())))
                .startsWith("BackupNotFound").contains("is failed").contains("[20261121T020000Z]");
        assertThat(refusal(() -> plan(null, T0.plusSeconds(900), null, List.of())))
                .startsWith("WalGap").contains("walArchiving");
        assertThatThrownBy(() -> plan("20991231T000000Z", null, null, List.of())).isInstanceOf(ProblemException.class);
    }

    @Test
    void theEndOfABackupNeedsNoArchive() {
        var p = plan(null, null, null, List.of());
        assertThat(p.expectedRecoveryPoint()).contains("end of backup 20261121T020000Z");
        assertThat(p.walSegments()).isZero();
        assertThat(p.walFrom()).as("no archived segment is listed when none is replayed").isNull();
        assertThat(p.walTo()).isNull();
    }

    /** The segments from .. to, inclusive, as a reader of the plan's summary counts them. */
    static int segmentsIn(String from, String to) {
        int n = 1;
        for (String s = from; !s.equals(to); s = PostgresTools.nextWalFile(s)) {
            n++;
        }
        return n;
    }
}
