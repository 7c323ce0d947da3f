package io.dbaoperator.disposal;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.util.List;

import org.junit.jupiter.api.Test;

import io.dbaoperator.api.backup.BackupInfo;
import io.dbaoperator.api.backup.BackupPolicy;
import io.dbaoperator.api.backup.BackupPolicySpec;
import io.dbaoperator.api.backup.BackupPolicyStatus;
import io.dbaoperator.api.disposal.DisposalJob;
import io.dbaoperator.api.disposal.DisposalJobSpec;
import io.dbaoperator.api.disposal.DisposalJobStatus;

/** Until when backups still hold disposed data: the newest expiry among backups taken before the run. */
class DisposalReportTest {

    static final Instant NOW = Instant.parse("2026-11-21T12:00:00Z");

    static BackupPolicy policy(String maxAge, List<String> pinned, String... completed) {
        BackupPolicy p = new BackupPolicy();
        p.getMetadata().setName("nightly");
        p.setSpec(new BackupPolicySpec());
        p.getSpec().retention = new BackupPolicySpec.Retention();
        p.getSpec().retention.maxAge = maxAge;
        p.getSpec().retention.pinned = pinned;
        p.setStatus(new BackupPolicyStatus());
        p.getStatus().backups = new java.util.ArrayList<>();
        int i = 0;
        for (String c : completed) {
            BackupInfo b = new BackupInfo();
            b.backupId = "b" + i++;
            b.completedAt = c;
            p.getStatus().backups.add(b);
        }
        return p;
    }

    static DisposalReport report(BackupPolicy... policies) {
        DisposalJob job = new DisposalJob();
        job.getMetadata().setName("closed");
        job.getMetadata().setNamespace("ns");
        job.setSpec(new DisposalJobSpec());
        DisposalJobStatus st = new DisposalJobStatus();
        st.runId = "20261121T120000Z";
        st.rules = List.of();
        return DisposalReport.build(job, st, List.of(), List.of(policies), NOW);
    }

    @Test
    void theNewestBackupBeforeTheRunHoldsTheDataUntilItsRetentionEnds() {
        DisposalReport r = report(policy("30d", null, "2026-11-01T02:00:00Z", "2026-11-20T02:00:00Z",
                "2026-11-21T13:00:00Z")); // the last one was taken after the run: it does not hold the data
        assertThat(r.backupsHoldDataUntil()).isEqualTo("2026-12-20T02:00:00Z");
        assertThat((List<?>) r.asMap().get("backupsHoldingData")).hasSize(2);
    }

    @Test
    void aPinnedBackupHoldsItIndefinitely() {
        assertThat(report(policy("30d", List.of("b0"), "2026-01-01T02:00:00Z", "2026-11-20T02:00:00Z"))
                .backupsHoldDataUntil()).isEqualTo("indefinitely");
    }

    @Test
    void withoutBackupsNothingHoldsIt() {
        assertThat(report().backupsHoldDataUntil()).isNull();
    }
}
