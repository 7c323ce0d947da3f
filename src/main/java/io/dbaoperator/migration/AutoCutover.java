package io.dbaoperator.migration;

import java.time.Duration;
import java.time.Instant;

import io.dbaoperator.api.migration.DatabaseMigrationStatus.CutoverProgress;
import io.fabric8.kubernetes.api.model.apps.Deployment;

/**
 * Cutover mode Auto, decided from the Deployment alone: the application switched to the new schema when the
 * Deployment got a new generation after the schema was ready (the rollout of the version that uses it), that
 * generation rolled out completely (observed, every replica updated and available), and it stayed so for the
 * validation period. A newer generation, or a rollout that stops being complete, starts the period again.
 */
final class AutoCutover {

    private AutoCutover() {
    }

    /** The decision: done, or what is awaited and when to look again. {@code progress} is updated in place. */
    record Decision(boolean done, String waitingFor, Duration lookAgain) {
    }

    static Decision decide(Deployment d, String name, CutoverProgress progress, Duration validationPeriod,
            Instant now) {
        if (d == null) {
            return new Decision(false, "Deployment " + name + " does not exist", Duration.ofSeconds(15));
        }
        long generation = d.getMetadata().getGeneration() == null ? 0 : d.getMetadata().getGeneration();
        if (generation <= nz(progress.baselineGeneration)) {
            return new Decision(false, "roll out the application version that uses the new schema (Deployment "
                    + name + " is still at generation " + generation + ")", Duration.ofSeconds(15));
        }
        var s = d.getStatus();
        int replicas = d.getSpec() == null || d.getSpec().getReplicas() == null ? 1 : d.getSpec().getReplicas();
        boolean rolledOut = s != null && s.getObservedGeneration() != null && s.getObservedGeneration() >= generation
                && nz(s.getUpdatedReplicas()) == replicas && nz(s.getAvailableReplicas()) >= replicas
                && nz(s.getReplicas()) == replicas;
        if (!rolledOut) {
            progress.rolledOutAt = null;
            progress.rolledOutGeneration = null;
            return new Decision(false, "Deployment " + name + " generation " + generation + " is rolling out",
                    Duration.ofSeconds(10));
        }
        if (progress.rolledOutAt == null || !Long.valueOf(generation).equals(progress.rolledOutGeneration)) {
            progress.rolledOutAt = now.toString();
            progress.rolledOutGeneration = generation;
        }
        Duration healthy = Duration.between(Instant.parse(progress.rolledOutAt), now);
        if (healthy.compareTo(validationPeriod) < 0) {
            Duration left = validationPeriod.minus(healthy);
            return new Decision(false, "Deployment " + name + " generation " + generation + " rolled out at "
                    + progress.rolledOutAt + "; validating until " + Instant.parse(progress.rolledOutAt)
                            .plus(validationPeriod),
                    left.compareTo(Duration.ofSeconds(30)) > 0 ? Duration.ofSeconds(30) : left.plusMillis(100));
        }
        return new Decision(true, null, null);
    }

    private static long nz(Number n) {
        return n == null ? 0 : n.longValue();
    }
}
