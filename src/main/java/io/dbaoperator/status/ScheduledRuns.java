package io.dbaoperator.status;

import java.time.Instant;
import java.time.temporal.ChronoUnit;

/**
 * What the scheduled kinds (DisposalJob, DatabaseMaintenance) share about their runs: a run asked for by annotation,
 * the wait until the next one, and a run's id: its start to the millisecond, e.g.
 * {@code 20261206T143127.642Z}, and never the previous run's. A run's progress rows, report and audit records are
 * keyed by it, so two runs must never share one (a run asked for in the second the last one ended did, when ids
 * were whole seconds).
 */
public final class ScheduledRuns {

    private ScheduledRuns() {
    }

    /** The id of a run starting at {@code now}, after the run {@code previous} (null: none). */
    public static String next(Instant now, String previous) {
        Instant at = now.truncatedTo(ChronoUnit.MILLIS);
        String id = of(at);
        return id.equals(previous) ? of(at.plusMillis(1)) : id;
    }

    /** Whether {@code resource}'s annotation {@code key} asks for a run not yet acted on ({@code lastRunRequest}). */
    public static boolean asked(io.fabric8.kubernetes.api.model.HasMetadata resource, String key,
            String lastRunRequest) {
        var annotations = resource.getMetadata().getAnnotations();
        String asked = annotations == null ? null : annotations.get(key);
        return asked != null && !asked.equals(lastRunRequest);
    }

    /** How long until the run due at {@code nextRunAt} (RFC 3339; null: none), a little after it. */
    public static java.time.Duration untilNext(String nextRunAt, Instant now) {
        if (nextRunAt == null) {
            return null;
        }
        java.time.Duration d = java.time.Duration.between(now, Instant.parse(nextRunAt));
        return d.isNegative() ? java.time.Duration.ofSeconds(1) : d.plusMillis(200);
    }

    static String of(Instant at) {
        String t = at.toString().replace(":", "").replace("-", "");
        return t.contains(".") ? t : t.replace("Z", ".000Z");
    }
}
