package io.dbaoperator.status;

import java.time.Instant;
import java.time.temporal.ChronoUnit;

/**
 * The id of a scheduled kind's run (a DisposalJob's, a DatabaseMaintenance's): its start to the millisecond, e.g.
 * {@code 20261206T143127.642Z}, and never the previous run's. A run's progress rows, report and audit records are
 * keyed by it, so two runs must never share one (a run asked for in the second the last one ended did, when ids
 * were whole seconds).
 */
public final class RunIds {

    private RunIds() {
    }

    /** The id of a run starting at {@code now}, after the run {@code previous} (null: none). */
    public static String next(Instant now, String previous) {
        Instant at = now.truncatedTo(ChronoUnit.MILLIS);
        String id = of(at);
        return id.equals(previous) ? of(at.plusMillis(1)) : id;
    }

    static String of(Instant at) {
        String t = at.toString().replace(":", "").replace("-", "");
        return t.contains(".") ? t : t.replace("Z", ".000Z");
    }
}
