package io.dbaoperator.kube;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.time.Instant;
import java.util.Optional;

import org.junit.jupiter.api.Test;

import io.dbaoperator.api.common.MaintenanceWindow;

/** When a window is open, when the next opens, how long a step may run, and which window applies. */
class MaintenanceWindowsTest {

    static final MaintenanceWindow NIGHTLY = new MaintenanceWindow("0 2 * * *", "2h", "Europe/Berlin");

    @Test
    void insideTheWindowAStepMayRunUntilItCloses() {
        // 02:30 in Berlin (CET, UTC+1) is 01:30 UTC
        Instant now = Instant.parse("2026-12-01T01:30:00Z");
        var s = MaintenanceWindows.at("spec.maintenanceWindow", NIGHTLY, now);
        assertThat(s.open()).isTrue();
        assertThat(s.closesAt()).isEqualTo(Instant.parse("2026-12-01T03:00:00Z"));
        assertThat(s.budget(now, Duration.ofSeconds(5))).isEqualTo(Duration.ofSeconds(5));
        assertThat(s.budget(Instant.parse("2026-12-01T02:59:58Z"), Duration.ofSeconds(5)))
                .as("the last slice ends with the window").isEqualTo(Duration.ofSeconds(2));
    }

    @Test
    void workThatWouldOutlastTheWindowWaitsForAWholeOne_UnlessNoWindowCouldHoldIt() {
        var s = MaintenanceWindows.at("w", NIGHTLY, Instant.parse("2026-12-01T02:30:00Z")); // 30 min left
        assertThat(s.startsTooLate(Instant.parse("2026-12-01T02:30:00Z"), Duration.ofMinutes(20))).isFalse();
        assertThat(s.startsTooLate(Instant.parse("2026-12-01T02:30:00Z"), Duration.ofMinutes(45))).isTrue();
        assertThat(s.startsTooLate(Instant.parse("2026-12-01T02:30:00Z"), Duration.ofHours(3)))
                .as("longer than any 2 h window: starts now").isFalse();
        assertThat(MaintenanceWindows.ALWAYS.startsTooLate(Instant.now(), Duration.ofDays(1))).isFalse();
    }

    @Test
    void outsideTheWindowTheNextOpeningIsNamed() {
        Instant now = Instant.parse("2026-12-01T09:00:00Z");
        var s = MaintenanceWindows.at("spec.maintenanceWindow", NIGHTLY, now);
        assertThat(s.open()).isFalse();
        assertThat(s.opensAt()).isEqualTo(Instant.parse("2026-12-02T01:00:00Z"));
        assertThat(s.waiting()).isEqualTo("outside the maintenance window (0 2 * * * for 2h, Europe/Berlin); the "
                + "next opens at 2026-12-02T01:00:00Z");
        // the moment it closes it is closed; the moment it opens it is open
        assertThat(MaintenanceWindows.at("w", NIGHTLY, Instant.parse("2026-12-01T03:00:00Z")).open()).isFalse();
        assertThat(MaintenanceWindows.at("w", NIGHTLY, Instant.parse("2026-12-01T01:00:00Z")).open()).isTrue();
    }

    @Test
    void theResourcesOwnWindowElseTheOperatorsElseAlwaysOpen() {
        MaintenanceWindows none = new MaintenanceWindows(Optional.empty(), Optional.empty(), "UTC");
        assertThat(none.now("spec.maintenanceWindow", null)).isSameAs(MaintenanceWindows.ALWAYS);
        assertThat(MaintenanceWindows.ALWAYS.budget(Instant.now(), Duration.ofSeconds(5)))
                .isEqualTo(Duration.ofSeconds(5));
        // an operator default that is never open now (the 30th of February) against a resource's own, always open
        MaintenanceWindows never = new MaintenanceWindows(Optional.of("0 0 30 2 *"), Optional.of("1h"), "UTC");
        assertThat(never.now("spec.maintenanceWindow", null).open()).isFalse();
        assertThat(never.now("spec.maintenanceWindow", new MaintenanceWindow("* * * * *", "2m", "UTC")).open())
                .isTrue();
    }

    @Test
    void aBadScheduleOrDurationIsABadSpec() {
        assertThatThrownBy(() -> MaintenanceWindows.at("spec.maintenanceWindow", new MaintenanceWindow("0 25 * * *",
                "1h", "UTC"), Instant.now())).hasMessageContaining("spec.maintenanceWindow.schedule");
        assertThatThrownBy(() -> MaintenanceWindows.at("spec.maintenanceWindow", new MaintenanceWindow("0 2 * * *",
                "0s", "UTC"), Instant.now())).hasMessageContaining("longer than 0");
        assertThatThrownBy(() -> new MaintenanceWindows(Optional.of("0 2 * * *"), Optional.empty(), "UTC"))
                .hasMessageContaining("dba.maintenance-window.duration");
    }
}
