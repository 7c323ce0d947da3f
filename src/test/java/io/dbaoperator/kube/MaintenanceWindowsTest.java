package io.dbaoperator.kube;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.Test;

import io.dbaoperator.api.common.MaintenanceWindow;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.api.model.HasMetadata;

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

    /** In the last second before the next opening, the window opened before it is still open (found as a flake). */
    @Test
    void aWindowStaysOpenInTheSecondBeforeTheNextOneOpens() {
        MaintenanceWindow everyMinute = new MaintenanceWindow("* * * * *", "2m", "UTC");
        var s = MaintenanceWindows.at("w", everyMinute, Instant.parse("2026-12-01T12:00:59.500Z"));
        assertThat(s.open()).isTrue();
        assertThat(s.opensAt()).isEqualTo(Instant.parse("2026-12-01T12:00:00Z"));
        MaintenanceWindow hourlyForTwo = new MaintenanceWindow("0 * * * *", "2h", "UTC");
        assertThat(MaintenanceWindows.at("w", hourlyForTwo, Instant.parse("2026-12-01T12:59:59.600Z")).open())
                .isTrue();
        MaintenanceWindow hourlyForOneMinute = new MaintenanceWindow("0 * * * *", "1m", "UTC");
        var shut = MaintenanceWindows.at("w", hourlyForOneMinute, Instant.parse("2026-12-01T12:59:59.600Z"));
        assertThat(shut.open()).isFalse();
        assertThat(shut.opensAt()).isEqualTo(Instant.parse("2026-12-01T13:00:00Z"));
    }

    static HasMetadata in(String namespace) {
        return new ConfigMapBuilder().withNewMetadata().withName("r").withNamespace(namespace).endMetadata().build();
    }

    @Test
    void theResourcesOwnWindowElseItsNamespacesElseTheOperatorsElseAlwaysOpen() {
        MaintenanceWindows none = new MaintenanceWindows(Optional.empty(), Optional.empty(), "UTC");
        assertThat(none.now(in("shop"), null)).isSameAs(MaintenanceWindows.ALWAYS);
        assertThat(MaintenanceWindows.ALWAYS.budget(Instant.now(), Duration.ofSeconds(5)))
                .isEqualTo(Duration.ofSeconds(5));
        // an operator default that is never open now (the 30th of February) against a resource's own, always open
        MaintenanceWindow always = new MaintenanceWindow("* * * * *", "2m", "UTC");
        AtomicInteger reads = new AtomicInteger();
        Map<String, String> annotations = Map.of("nightly", "{\"schedule\": \"0 2 * * *\", \"duration\": \"2h\", "
                + "\"timeZone\": \"Europe/Berlin\"}", "open", "{\"schedule\": \"* * * * *\", \"duration\": \"2m\"}");
        MaintenanceWindows never = new MaintenanceWindows(Optional.of("0 0 30 2 *"), Optional.of("1h"), "UTC",
                ns -> {
                    reads.incrementAndGet();
                    return annotations.get(ns);
                }, java.time.InstantSource.system());
        assertThat(never.now(in("shop"), null).open()).as("the operator's default").isFalse();
        assertThat(never.now(in("shop"), always).open()).as("the resource's own").isTrue();
        assertThat(never.now(in("open"), null).open()).as("the namespace's, over the operator's").isTrue();
        var nightly = never.stateAt(in("nightly"), null, Instant.parse("2026-12-01T09:00:00Z"));
        assertThat(nightly.open()).isFalse();
        assertThat(nightly.opensAt()).isEqualTo(Instant.parse("2026-12-02T01:00:00Z"));
        assertThat(nightly.waiting()).contains("0 2 * * * for 2h, Europe/Berlin, namespace nightly's default");
        assertThat(never.stateAt(in("nightly"), always, Instant.parse("2026-12-01T09:00:00Z")).open())
                .as("the resource's own, over its namespace's").isTrue();
        int before = reads.get();
        never.now(in("nightly"), null);
        never.now(in("nightly"), null);
        assertThat(reads.get()).as("a namespace is read once per %s", MaintenanceWindows.NAMESPACE_TTL)
                .isEqualTo(before);
    }

    @Test
    void aNamespaceAnnotationThatIsNotAWindowIsNamedInTheProblem() {
        Map<String, String> annotations = Map.of("typo", "{\"schedule\": \"0 2 * * *\", \"duraton\": \"2h\"}",
                "half", "{\"schedule\": \"0 2 * * *\"}", "bad", "{\"schedule\": \"0 25 * * *\", \"duration\": \"1h\"}",
                "text", "Saturdays at 2");
        MaintenanceWindows w = new MaintenanceWindows(Optional.empty(), Optional.empty(), "UTC", annotations::get,
                java.time.InstantSource.system());
        assertThatThrownBy(() -> w.now(in("typo"), null))
                .hasMessageContaining("namespace typo's dbaoperator.io/maintenance-window annotation must be a JSON "
                        + "object").hasMessageContaining("duraton");
        assertThatThrownBy(() -> w.now(in("half"), null)).hasMessageContaining("needs both schedule and duration");
        assertThatThrownBy(() -> w.now(in("bad"), null))
                .hasMessageContaining("namespace bad's dbaoperator.io/maintenance-window annotation.schedule");
        assertThatThrownBy(() -> w.now(in("text"), null)).hasMessageContaining("must be a JSON object");
    }

    @Test
    void windowsAreJudgedByTheOperatorsClockAndTheWaitIsCountedOnIt() {
        // a clock that a test moves: the state and the wait follow it, not the system's time
        java.util.concurrent.atomic.AtomicReference<Instant> at = new java.util.concurrent.atomic.AtomicReference<>(
                Instant.parse("2026-12-01T00:59:30Z")); // Berlin 01:59:30: half a minute before the window
        MaintenanceWindows w = new MaintenanceWindows(Optional.empty(), Optional.empty(), "UTC", ns -> null,
                at::get);
        var before = w.now(in("shop"), NIGHTLY);
        assertThat(before.open()).isFalse();
        assertThat(before.opensAt()).isEqualTo(Instant.parse("2026-12-01T01:00:00Z"));
        var gate = MaintenanceWindows.gate("Disposing", before, null, w.instant(), null);
        assertThat(gate.requeue()).as("from the clock's now to the opening, and a little after it")
                .isEqualTo(Duration.ofMillis(30_200));
        at.set(Instant.parse("2026-12-01T01:00:01Z"));
        var open = w.now(in("shop"), NIGHTLY);
        assertThat(open.open()).isTrue();
        assertThat(open.budget(w.instant(), Duration.ofHours(5))).isEqualTo(Duration.ofHours(2).minusSeconds(1));
    }

    @Test
    void aStepStartsInsideItsWindowOnlyAndItsDdlOnlyWhenTheRestOfTheWindowHoldsIt() {
        Instant now = Instant.parse("2026-12-01T02:30:00Z"); // Berlin 03:30: 30 min of the window left
        var open = MaintenanceWindows.at("w", NIGHTLY, now);
        assertThat(MaintenanceWindows.gate("Expanding", open, null, now, null).go()).isTrue();
        assertThat(MaintenanceWindows.gate("Expanding", open, Duration.ofMinutes(20), now, null).go()).isTrue();
        var late = MaintenanceWindows.gate("Contracting", open, Duration.ofMinutes(45), now,
                at -> MaintenanceWindows.at("w", NIGHTLY, at));
        assertThat(late.go()).isFalse();
        assertThat(late.opensAt()).as("the next whole window").isEqualTo(Instant.parse("2026-12-02T01:00:00Z"));
        assertThat(late.waiting()).isEqualTo("Contracting waits: it took 2700000 ms in the staging rehearsal, and "
                + "this window (0 2 * * * for 2h, Europe/Berlin) closes at 2026-12-01T03:00:00Z; the next opens at "
                + "2026-12-02T01:00:00Z");
        var closed = MaintenanceWindows.gate("Disposing", MaintenanceWindows.at("w", NIGHTLY,
                Instant.parse("2026-12-01T09:00:00Z")), null, now, null);
        assertThat(closed.go()).isFalse();
        assertThat(closed.waiting()).startsWith("Disposing waits: outside the maintenance window");
        assertThat(closed.requeue()).as("at most %s: a namespace's window may change", MaintenanceWindows.LONGEST_WAIT)
                .isLessThanOrEqualTo(Duration.ofMinutes(5));
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
