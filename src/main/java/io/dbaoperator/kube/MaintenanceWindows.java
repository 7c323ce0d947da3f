package io.dbaoperator.kube;

import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.util.Optional;

import org.eclipse.microprofile.config.inject.ConfigProperty;

import io.dbaoperator.api.common.MaintenanceWindow;
import io.dbaoperator.status.Problem;
import io.dbaoperator.status.Reason;
import jakarta.enterprise.context.ApplicationScoped;

/**
 * Maintenance windows: when the steps that change production may run (a migration's expand, backfill and
 * contract; a disposal's writes; a tuning request's CREATE or DROP INDEX CONCURRENTLY). The window in effect is the
 * resource's own {@code spec.maintenanceWindow}, else the operator's default (Helm value {@code maintenanceWindow},
 * properties {@code dba.maintenance-window.*}), else none: always open. A step outside its window waits with
 * condition Ready False, reason {@code OutsideMaintenanceWindow}, naming the next opening; a long step stops at its
 * next safe point once the window closes ({@link State#budget}) and resumes in the next one.
 */
@ApplicationScoped
public class MaintenanceWindows {

    private final MaintenanceWindow fallback;

    public MaintenanceWindows(@ConfigProperty(name = "dba.maintenance-window.schedule") Optional<String> schedule,
            @ConfigProperty(name = "dba.maintenance-window.duration") Optional<String> duration,
            @ConfigProperty(name = "dba.maintenance-window.time-zone", defaultValue = "UTC") String timeZone) {
        this.fallback = schedule.filter(s -> !s.isBlank()).map(s -> new MaintenanceWindow(s, duration
                .filter(d -> !d.isBlank()).orElseThrow(() -> new IllegalArgumentException(
                        "dba.maintenance-window.schedule is set but dba.maintenance-window.duration is not")),
                timeZone)).orElse(null);
        if (fallback != null) {
            at("dba.maintenance-window", fallback, Instant.now()); // a bad default fails at start, not per resource
        }
    }

    /** Where a step stands against its window now. */
    public record State(boolean open, Instant opensAt, Instant closesAt, String window) {

        /** How long a step that starts now may run: until the window closes (forever without a window). */
        public Duration budget(Instant now, Duration max) {
            if (closesAt == null) {
                return max;
            }
            Duration left = Duration.between(now, closesAt);
            return left.compareTo(max) < 0 ? left : max;
        }

        /**
         * Whether work estimated to take {@code estimate} would outlast the open window if it started now, while a
         * whole window would hold it (work longer than any window starts at once: waiting would never end).
         */
        public boolean startsTooLate(Instant now, Duration estimate) {
            return open && closesAt != null && now.plus(estimate).isAfter(closesAt)
                    && estimate.compareTo(Duration.between(opensAt, closesAt)) < 0;
        }

        /** "outside the maintenance window (0 2 * * * for 2h, UTC); the next opens at ...". */
        public String waiting() {
            return "outside the maintenance window (" + window + "); the next opens at " + opensAt;
        }
    }

    /** How long to wait before looking again: until the next opening (a little after it), at most a day. */
    public static Duration untilOpen(State s) {
        if (s.opensAt() == null) {
            return Duration.ofDays(1);
        }
        Duration d = Duration.between(Instant.now(), s.opensAt()).plusMillis(200);
        return d.isNegative() ? Duration.ofSeconds(1) : d.compareTo(Duration.ofDays(1)) > 0 ? Duration.ofDays(1) : d;
    }

    /** Always open: no window applies. */
    public static final State ALWAYS = new State(true, null, null, "none");

    /** The state for a resource whose own window is {@code own} (null: the operator's default, if any). */
    public State now(String field, MaintenanceWindow own) {
        return stateAt(field, own, Instant.now());
    }

    /** As {@link #now}, at {@code when}. */
    public State stateAt(String field, MaintenanceWindow own, Instant when) {
        MaintenanceWindow w = own != null ? own : fallback;
        return w == null ? ALWAYS : at(own != null ? field : "dba.maintenance-window", w, when);
    }

    /** Pure: the state of window {@code w} at {@code now}; an invalid schedule or duration is an InvalidSchedule. */
    public static State at(String field, MaintenanceWindow w, Instant now) {
        CronSchedule cron = CronSchedule.parse(field + ".schedule", w.schedule, w.timeZone);
        Duration length = Durations.parse(field + ".duration", w.duration);
        if (length.isZero() || length.isNegative()) {
            throw Problem.invalid(Reason.InvalidSchedule, field + ".duration must be longer than 0").exception();
        }
        String describe = w.schedule + " for " + w.duration + ", " + (w.timeZone == null ? "UTC" : w.timeZone);
        ZonedDateTime at = now.atZone(ZoneOffset.UTC);
        // the latest opening at or before now (a window opening this very second counts)
        Optional<ZonedDateTime> last = cron.last(at.plusSeconds(1));
        if (last.isPresent() && last.get().toInstant().plus(length).isAfter(now)
                && !last.get().toInstant().isAfter(now)) {
            return new State(true, last.get().toInstant(), last.get().toInstant().plus(length), describe);
        }
        Instant next = cron.next(at).map(ZonedDateTime::toInstant).orElse(null);
        return new State(false, next, null, describe);
    }
}
