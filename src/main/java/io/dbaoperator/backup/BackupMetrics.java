package io.dbaoperator.backup;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import io.dbaoperator.backup.catalog.BackupRecord;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import jakarta.enterprise.context.ApplicationScoped;

/**
 * Per-policy backup metrics, from the catalog: {@code backup_completion_time_seconds} (how long the newest verified
 * backup took, pg_basebackup start to verification end), {@code backup_last_success_timestamp_seconds} and
 * {@code backup_size_bytes} (stored bytes of that backup). An alert compares the timestamp with the schedule.
 */
@ApplicationScoped
public class BackupMetrics {

    private final MeterRegistry registry;
    private final Map<String, double[]> values = new ConcurrentHashMap<>();

    public BackupMetrics(MeterRegistry registry) {
        this.registry = registry;
    }

    public void record(String namespace, String policy, List<BackupRecord> records) {
        BackupRecord newest = records.stream().filter(r -> r.state == BackupRecord.State.verified).findFirst()
                .orElse(null);
        if (newest == null) {
            return;
        }
        double[] v = values.computeIfAbsent(namespace + "/" + policy, k -> register(namespace, policy));
        v[0] = newest.durationSeconds == null ? Double.NaN : newest.durationSeconds;
        v[1] = newest.completedAt == null ? Double.NaN : java.time.Instant.parse(newest.completedAt).getEpochSecond();
        v[2] = newest.storedBytes == null ? Double.NaN : newest.storedBytes;
    }

    private final Map<String, double[]> restoreTests = new ConcurrentHashMap<>();
    private final Map<String, double[]> archivers = new ConcurrentHashMap<>();

    /**
     * WAL archiving: {@code wal_archiving_up} (1 when the condition WalArchiving is True) and
     * {@code wal_archiving_lag_seconds} (age of the last archived segment; NaN before the first one) and
     * {@code dba_wal_rpo_seconds}: that age when the server has written WAL past the segment's end (commits a
     * point-in-time recovery would lose), 0 when it has not; NaN when unknown.
     */
    public void walArchiving(String namespace, String policy, boolean up, Long lagSeconds, Long unarchivedBytes) {
        double[] v = archivers.computeIfAbsent(namespace + "/" + policy, k -> {
            double[] a = { Double.NaN, Double.NaN, Double.NaN };
            Tags tags = Tags.of("namespace", namespace, "policy", policy);
            Gauge.builder("wal_archiving_up", a, x -> x[0]).tags(tags)
                    .description("1 when the policy's WAL archiver runs and reports, else 0").register(registry);
            Gauge.builder("wal_archiving_lag_seconds", a, x -> x[1]).tags(tags)
                    .description("Seconds since the last WAL segment was archived").baseUnit("seconds")
                    .register(registry);
            Gauge.builder("dba_wal_rpo_seconds", a, x -> x[2]).tags(tags)
                    .description("What a point-in-time recovery would lose now: seconds since the last archived "
                            + "segment when the server wrote WAL past its end, else 0").baseUnit("seconds")
                    .register(registry);
            return a;
        });
        v[0] = up ? 1 : 0;
        v[1] = lagSeconds == null ? Double.NaN : lagSeconds;
        v[2] = lagSeconds == null || unarchivedBytes == null ? Double.NaN : unarchivedBytes > 0 ? lagSeconds : 0;
    }

    /** The outcome of a restore test: {@code restore_test_passed} (1/0), its duration and when it ran. */
    public void restoreTest(String namespace, String policy, boolean passed, Double seconds, java.time.Instant at) {
        double[] v = restoreTests.computeIfAbsent(namespace + "/" + policy, k -> {
            double[] a = { Double.NaN, Double.NaN, Double.NaN };
            Tags tags = Tags.of("namespace", namespace, "policy", policy);
            Gauge.builder("restore_test_passed", a, x -> x[0]).tags(tags)
                    .description("1 when the last restore test of the policy restored and checked its backup, else 0")
                    .register(registry);
            Gauge.builder("restore_test_duration_seconds", a, x -> x[1]).tags(tags)
                    .description("Seconds the last passing restore test took to a verified instance (measured RTO)")
                    .baseUnit("seconds").register(registry);
            Gauge.builder("restore_test_last_run_timestamp_seconds", a, x -> x[2]).tags(tags)
                    .description("Unix time the last restore test ended").register(registry);
            return a;
        });
        v[0] = passed ? 1 : 0;
        if (seconds != null) {
            v[1] = seconds;
        }
        v[2] = at.getEpochSecond();
    }

    private double[] register(String namespace, String policy) {
        double[] v = { Double.NaN, Double.NaN, Double.NaN };
        Tags tags = Tags.of("namespace", namespace, "policy", policy);
        Gauge.builder("backup_completion_time_seconds", v, a -> a[0]).tags(tags)
                .description("Seconds the newest verified backup took, from pg_basebackup start to verification end")
                .baseUnit("seconds").register(registry);
        Gauge.builder("backup_last_success_timestamp_seconds", v, a -> a[1]).tags(tags)
                .description("Unix time the newest verified backup completed").register(registry);
        Gauge.builder("backup_size_bytes", v, a -> a[2]).tags(tags)
                .description("Bytes stored for the newest verified backup").baseUnit("bytes").register(registry);
        Gauge.builder("backup_age_seconds", v, a -> Double.isNaN(a[1]) ? Double.NaN
                : java.time.Instant.now().getEpochSecond() - a[1]).tags(tags)
                .description("Seconds since the newest verified backup completed").baseUnit("seconds")
                .register(registry);
        return v;
    }
}
