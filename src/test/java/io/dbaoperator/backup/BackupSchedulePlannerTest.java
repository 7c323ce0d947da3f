package io.dbaoperator.backup;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.util.List;

import org.junit.jupiter.api.Test;

import io.dbaoperator.api.backup.BackupPolicySpec.ConcurrencyPolicy;
import io.dbaoperator.backup.BackupSchedulePlanner.Decision;
import io.dbaoperator.backup.BackupSchedulePlanner.Observed;
import io.dbaoperator.kube.CronSchedule;

class BackupSchedulePlannerTest {

    static final CronSchedule NIGHTLY = CronSchedule.parse("s", "0 2 * * *", "UTC");
    static final Instant CREATED = Instant.parse("2026-11-20T10:00:00Z");

    static Observed at(String now, String lastSchedule, String onDemand, String lastOnDemand, boolean suspended,
            ConcurrencyPolicy policy, List<String> active) {
        return new Observed(Instant.parse(now), CREATED, NIGHTLY, suspended, policy, onDemand, lastOnDemand,
                lastSchedule, active);
    }

    @Test
    void nothingIsDueBeforeTheFirstScheduledTime() {
        Decision d = BackupSchedulePlanner.decide(at("2026-11-21T01:59:00Z", null, null, null, false,
                ConcurrencyPolicy.Forbid, List.of()));
        assertThat(d.startBackupId()).isNull();
        assertThat(d.newLastScheduleTime()).isNull();
    }

    @Test
    void aScheduledRunStartsOnceWithItsScheduledTimeAsId() {
        Decision d = BackupSchedulePlanner.decide(at("2026-11-21T02:00:05Z", null, null, null, false,
                ConcurrencyPolicy.Forbid, List.of()));
        assertThat(d.startBackupId()).isEqualTo("20261121T020000Z");
        assertThat(d.newLastScheduleTime()).isEqualTo("2026-11-21T02:00:00Z");
        Decision again = BackupSchedulePlanner.decide(at("2026-11-21T02:03:00Z", d.newLastScheduleTime(), null, null,
                false, ConcurrencyPolicy.Forbid, List.of()));
        assertThat(again.startBackupId()).isNull();
    }

    @Test
    void afterDowntimeOnlyTheMostRecentMissedRunStarts() {
        Decision d = BackupSchedulePlanner.decide(at("2026-11-24T09:00:00Z", "2026-11-21T02:00:00Z", null, null,
                false, ConcurrencyPolicy.Forbid, List.of()));
        assertThat(d.startBackupId()).isEqualTo("20261124T020000Z");
    }

    @Test
    void suspendStopsScheduledRunsButNotOnDemandOnes() {
        assertThat(BackupSchedulePlanner.decide(at("2026-11-21T02:00:05Z", null, null, null, true,
                ConcurrencyPolicy.Forbid, List.of())).startBackupId()).isNull();
        Decision d = BackupSchedulePlanner.decide(at("2026-11-21T14:30:00Z", null, "before-migration", null, true,
                ConcurrencyPolicy.Forbid, List.of()));
        assertThat(d.startBackupId()).isEqualTo("20261121T143000Z");
        assertThat(d.newLastOnDemandRequest()).isEqualTo("before-migration");
        assertThat(BackupSchedulePlanner.decide(at("2026-11-21T14:31:00Z", null, "before-migration",
                "before-migration", true, ConcurrencyPolicy.Forbid, List.of())).startBackupId()).isNull();
    }

    @Test
    void concurrencyPolicies() {
        List<String> running = List.of("nightly-20261120t020000z");
        Decision forbid = BackupSchedulePlanner.decide(at("2026-11-21T02:00:05Z", "2026-11-20T02:00:00Z", null, null,
                false, ConcurrencyPolicy.Forbid, running));
        assertThat(forbid.startBackupId()).isNull();
        assertThat(forbid.skipped()).contains("Forbid").contains("nightly-20261120t020000z");
        assertThat(forbid.newLastScheduleTime()).isEqualTo("2026-11-21T02:00:00Z"); // skipped, not retried forever
        Decision replace = BackupSchedulePlanner.decide(at("2026-11-21T02:00:05Z", "2026-11-20T02:00:00Z", null, null,
                false, ConcurrencyPolicy.Replace, running));
        assertThat(replace.startBackupId()).isEqualTo("20261121T020000Z");
        assertThat(replace.deleteJobs()).isEqualTo(running);
        Decision allow = BackupSchedulePlanner.decide(at("2026-11-21T02:00:05Z", "2026-11-20T02:00:00Z", null, null,
                false, ConcurrencyPolicy.Allow, running));
        assertThat(allow.startBackupId()).isEqualTo("20261121T020000Z");
        assertThat(allow.deleteJobs()).isEmpty();
    }
}
