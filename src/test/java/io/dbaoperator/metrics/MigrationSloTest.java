package io.dbaoperator.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

import io.dbaoperator.api.migration.DatabaseMigration;
import io.dbaoperator.api.migration.DatabaseMigrationStatus;

/** SLO 1 after a mix of migrations finished inside their window, late, long ago, and without a window. */
class MigrationSloTest {

    static final Instant NOW = Instant.parse("2026-12-01T12:00:00Z");

    static DatabaseMigration completed(String completedAt, Boolean inWindow) {
        DatabaseMigration m = new DatabaseMigration();
        m.setStatus(new DatabaseMigrationStatus());
        if (inWindow != null) {
            m.getStatus().maintenance = new DatabaseMigrationStatus.WindowOutcome();
            m.getStatus().maintenance.windowOpenedAt = "2026-11-30T02:00:00Z";
            m.getStatus().maintenance.windowClosesAt = "2026-11-30T04:00:00Z";
            m.getStatus().maintenance.completedAt = completedAt;
            m.getStatus().maintenance.completedInWindow = inWindow;
        }
        return m;
    }

    @Test
    void theShareOfWindowedMigrationsCompletedInsideTheirWindowOverTheRollingPeriod() {
        List<DatabaseMigration> all = new ArrayList<>();
        for (int i = 0; i < 18; i++) {
            all.add(completed("2026-11-30T03:00:00Z", true));
        }
        all.add(completed("2026-11-30T05:00:00Z", false)); // late
        all.add(completed("2026-11-30T06:00:00Z", false)); // late
        all.add(completed("2026-10-01T03:00:00Z", false)); // late, but outside the 30-day period
        all.add(completed(null, null)); // no window: not counted
        double[] slo = FleetMetrics.sloWindowRatio(all, NOW, Duration.ofDays(30));
        assertThat(slo[1]).isEqualTo(20);
        assertThat(slo[0]).isEqualTo(0.9); // 18 of 20: below the 95% target
        assertThat(FleetMetrics.sloWindowRatio(List.of(completed(null, null)), NOW, Duration.ofDays(30))[0]).isNaN();
    }
}
