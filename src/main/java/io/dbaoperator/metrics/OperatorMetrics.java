package io.dbaoperator.metrics;

import java.time.Duration;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import jakarta.enterprise.context.ApplicationScoped;

/**
 * The operator's own work, as counters and timers Prometheus turns into rates: rows a backfill or a disposal wrote
 * ({@code rate(dba_backfill_rows_total[5m])} is rows/s), and how long resources stay in each phase
 * ({@code dba_phase_duration_seconds}, recorded when a phase ends, from {@code status.phaseSince}, so restarts do
 * not lose it).
 */
@ApplicationScoped
public class OperatorMetrics {

    private final MeterRegistry registry;

    public OperatorMetrics(MeterRegistry registry) {
        this.registry = registry;
    }

    public void backfillRows(String namespace, String migration, long rows) {
        if (rows > 0) {
            Counter.builder("dba_backfill_rows_total").description("Rows a DatabaseMigration's backfill updated")
                    .tags("namespace", namespace, "migration", migration).register(registry).increment(rows);
        }
    }

    public void disposalRows(String namespace, String job, long rows) {
        if (rows > 0) {
            Counter.builder("dba_disposal_rows_total").description("Rows a DisposalJob deleted or anonymized")
                    .tags("namespace", namespace, "job", job).register(registry).increment(rows);
        }
    }

    /**
     * A DatabaseMaintenance task finished: {@code outcome} done, ineffective or failed; its duration, and the bytes
     * it gave back (sizes before minus after; zero when it gave none).
     */
    public void maintenanceTask(String namespace, String name, String task, String outcome, Duration took,
            long reclaimedBytes) {
        Counter.builder("dba_maintenance_tasks_total").description("DatabaseMaintenance tasks run, by kind and outcome")
                .tags("namespace", namespace, "name", name, "task", task, "outcome", outcome).register(registry)
                .increment();
        Timer.builder("dba_maintenance_task_duration_seconds").description("How long DatabaseMaintenance tasks took")
                .tags("namespace", namespace, "name", name, "task", task).publishPercentileHistogram(false)
                .register(registry).record(took);
        if (reclaimedBytes > 0) {
            Counter.builder("dba_maintenance_reclaimed_bytes_total").description("Bytes DatabaseMaintenance tasks "
                    + "gave back (the object's size before minus after)").baseUnit("bytes")
                    .tags("namespace", namespace, "name", name, "task", task).register(registry)
                    .increment(reclaimedBytes);
        }
    }

    /** A resource of {@code kind} left {@code phase} after {@code spent}. */
    public void phaseEnded(String kind, String phase, Duration spent) {
        if (spent.isNegative()) {
            return;
        }
        Timer.builder("dba_phase_duration_seconds")
                .description("Time resources spent in a phase, recorded when they leave it")
                .tags("kind", kind, "phase", phase).publishPercentileHistogram(false)
                .register(registry).record(spent);
    }
}
