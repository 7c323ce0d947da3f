package io.dbaoperator.metrics;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;

import io.dbaoperator.api.backup.BackupPolicy;
import io.dbaoperator.api.backup.BackupRestore;
import io.dbaoperator.api.common.DatabaseRef;
import io.dbaoperator.api.common.GatedStatus;
import io.dbaoperator.api.common.OperatorStatus;
import io.dbaoperator.api.disposal.DisposalJob;
import io.dbaoperator.api.migration.DatabaseMigration;
import io.dbaoperator.api.tuning.QueryTuningRequest;
import io.dbaoperator.kube.Durations;
import io.dbaoperator.kube.EventRecorder;
import io.dbaoperator.kube.SecretReader;
import io.dbaoperator.postgres.ConnectionSettings;
import io.dbaoperator.postgres.PostgresConnector;
import io.fabric8.kubernetes.client.CustomResource;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;

/**
 * What a scrape should show about the fleet, sampled every {@code dba.metrics.interval} (30s; 0 turns it off):
 * <ul>
 * <li>{@code dba_resources{kind,phase}}: how many resources are in each phase (an alert on Failed migrations);</li>
 * <li>{@code dba_approvals_pending{kind}} and {@code dba_approval_pending_oldest_seconds{kind}};</li>
 * <li>per managed database (every database a resource names, deduplicated by server and database name, labels
 * {@code namespace, server, database}), the seed's figures, each measured from what PostgreSQL itself exposes
 * over SQL, since an external database's host cannot be observed from here:
 * <ul>
 * <li>{@code index_hit_rate}: index blocks found in shared buffers over all index blocks read, over the last
 * interval (pg_statio_user_indexes deltas; the cumulative ratio on the first sample);</li>
 * <li>{@code query_latency_p99_ms}: the 99th percentile, over the interval's executions, of their statement's mean
 * execution time (pg_stat_statements deltas). PostgreSQL keeps no per-execution latencies, so this is a
 * percentile across statements weighted by calls, not of single executions; absent without
 * pg_stat_statements;</li>
 * <li>{@code database_cpu_utilization}: statement execution time per second of wall time over the interval
 * (pg_stat_statements total_exec_time delta), i.e. the average number of backends busy executing; divided by the
 * server's cores it approximates CPU use, but it includes I/O waits, and host CPU needs the node's own metrics.</li>
 * </ul></li>
 * <li>per managed database also its health ({@link DatabaseHealth}, {@link HealthMetrics}): replication lag,
 * dead tuples, lock waits and deadlocks, connections, sizes; with Events for a VACUUM recommendation and a long
 * lock wait on the resource that names the database.</li>
 * </ul>
 * A database that cannot be reached keeps its last figures out of the scrape (NaN) and is logged once per change.
 */
@ApplicationScoped
public class FleetMetrics {

    private static final Logger LOG = Logger.getLogger(FleetMetrics.class);
    static final List<Class<? extends CustomResource<?, ? extends OperatorStatus>>> KINDS = List.of(
            DatabaseMigration.class, BackupPolicy.class, BackupRestore.class, QueryTuningRequest.class,
            DisposalJob.class, io.dbaoperator.api.maintenance.DatabaseMaintenance.class);

    private final KubernetesClient client;
    private final SecretReader secrets;
    private final MeterRegistry registry;
    private final Duration interval;
    private final List<String> namespaces;
    private ScheduledExecutorService executor;

    private final Map<String, double[]> resourceRows = new ConcurrentHashMap<>();
    private final Map<String, double[]> approvalRows = new ConcurrentHashMap<>();
    private final Map<String, DatabaseSeries> databases = new ConcurrentHashMap<>();
    private final Map<String, HealthMetrics> health = new ConcurrentHashMap<>();
    /** SLO 1 over the rolling period: {ratio of windowed migrations completed in their window, how many}. */
    private final double[] slo = { Double.NaN, 0 };
    private final Duration sloPeriod;
    private final EventRecorder events;
    private final DatabaseHealth.Thresholds thresholds;
    private final Set<String> unreachable = ConcurrentHashMap.newKeySet();

    public FleetMetrics(KubernetesClient client, SecretReader secrets, MeterRegistry registry, EventRecorder events,
            @ConfigProperty(name = "dba.metrics.interval", defaultValue = "30s") String interval,
            @ConfigProperty(name = "quarkus.operator-sdk.namespaces", defaultValue = "JOSDK_ALL_NAMESPACES")
            List<String> namespaces,
            @ConfigProperty(name = "dba.health.dead-tuple-ratio", defaultValue = "0.2") double deadTupleRatio,
            @ConfigProperty(name = "dba.health.table-size-floor-bytes", defaultValue = "8388608") long sizeFloor,
            @ConfigProperty(name = "dba.health.lock-wait", defaultValue = "5s") String lockWait,
            @ConfigProperty(name = "dba.health.long-running", defaultValue = "5m") String longRunning,
            @ConfigProperty(name = "dba.health.idle-in-transaction", defaultValue = "1m") String idleInTransaction,
            @ConfigProperty(name = "dba.health.freeze-age-ratio", defaultValue = "0.75") double freezeAgeRatio,
            @ConfigProperty(name = "dba.slo.period", defaultValue = "30d") String sloPeriod) {
        this.client = client;
        this.sloPeriod = Durations.parse("dba.slo.period", sloPeriod);
        Gauge.builder("dba_migration_slo_window_ratio", slo, a -> a[0]).description("SLO 1: of the migrations that "
                + "started in a maintenance window and completed in the last dba.slo.period, the share that "
                + "completed inside it").register(registry);
        Gauge.builder("dba_migrations_windowed_completed", slo, a -> a[1]).description("Migrations that started in a "
                + "maintenance window and completed in the last dba.slo.period").register(registry);
        this.events = events;
        if (!(freezeAgeRatio > 0 && freezeAgeRatio <= 1)) {
            throw new IllegalArgumentException("dba.health.freeze-age-ratio must be above 0 and at most 1 (a share "
                    + "of autovacuum_freeze_max_age), not " + freezeAgeRatio);
        }
        this.thresholds = new DatabaseHealth.Thresholds(deadTupleRatio, sizeFloor,
                Durations.parse("dba.health.lock-wait", lockWait), Durations.parse("dba.health.long-running",
                        longRunning), Durations.parse("dba.health.idle-in-transaction", idleInTransaction),
                freezeAgeRatio);
        this.secrets = secrets;
        this.registry = registry;
        this.interval = Durations.parse("dba.metrics.interval", interval);
        this.namespaces = namespaces;
    }

    void start(@Observes StartupEvent event) {
        if (interval.isZero()) {
            return;
        }
        executor = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "dba-fleet-metrics");
            t.setDaemon(true);
            return t;
        });
        LOG.infof("fleet metrics: sampling every %s, namespaces %s", interval, namespaces);
        executor.scheduleWithFixedDelay(this::sampleQuietly, 1000, interval.toMillis(), TimeUnit.MILLISECONDS);
    }

    void stop(@Observes ShutdownEvent event) {
        if (executor != null) {
            executor.shutdownNow();
        }
    }

    private void sampleQuietly() {
        try {
            sample(Instant.now());
        } catch (RuntimeException e) {
            LOG.warnf(e, "fleet metrics sample failed: %s", e.getMessage());
        }
    }

    private <R extends CustomResource<?, ? extends OperatorStatus>> List<R> list(Class<R> kind) {
        // QOSDK_USE_BUILDTIME_NAMESPACES: the build watches all namespaces (nothing restricts it at build time)
        if (namespaces.isEmpty() || namespaces.contains("JOSDK_ALL_NAMESPACES")
                || namespaces.contains("QOSDK_USE_BUILDTIME_NAMESPACES")) {
            return client.resources(kind).inAnyNamespace().list().getItems();
        }
        List<R> all = new ArrayList<>();
        for (String ns : namespaces) {
            all.addAll(client.resources(kind).inNamespace(ns.trim()).list().getItems());
        }
        return all;
    }

    void sample(Instant now) {
        Map<String, Integer> byPhase = new HashMap<>();
        Map<String, Integer> pending = new HashMap<>();
        Map<String, Double> oldest = new HashMap<>();
        Map<String, DatabaseTarget> targets = new LinkedHashMap<>();
        List<DatabaseMigration> migrations = new ArrayList<>();
        List<io.dbaoperator.api.maintenance.DatabaseMaintenance> maintenances = new ArrayList<>();
        for (var kind : KINDS) {
            String kindName = kind.getSimpleName();
            pending.put(kindName, 0);
            oldest.put(kindName, 0.0);
            for (CustomResource<?, ? extends OperatorStatus> r : list(kind)) {
                OperatorStatus st = r.getStatus();
                if (r instanceof DatabaseMigration dm) {
                    migrations.add(dm);
                }
                if (r instanceof io.dbaoperator.api.maintenance.DatabaseMaintenance dbm && dbm.getSpec() != null) {
                    maintenances.add(dbm);
                }
                String phase = st == null || st.phase() == null ? "Pending" : st.phase().name();
                byPhase.merge(kindName + "|" + phase, 1, Integer::sum);
                if (st instanceof GatedStatus g && g.approvalRequest != null && g.approvalRequest.requestedAt != null) {
                    pending.merge(kindName, 1, Integer::sum);
                    double age = Duration.between(Instant.parse(g.approvalRequest.requestedAt), now).toMillis() / 1000.0;
                    oldest.merge(kindName, age, Math::max);
                }
                DatabaseRef ref = database(r);
                if (ref != null && ref.secretRef != null && ref.secretRef.name != null) {
                    targets.putIfAbsent(r.getMetadata().getNamespace() + "/" + ref.secretRef.name,
                            new DatabaseTarget(r.getMetadata().getNamespace(), ref, r));
                }
            }
        }
        double[] measured = sloWindowRatio(migrations, now, sloPeriod);
        slo[0] = measured[0];
        slo[1] = measured[1];
        resourceRows.values().forEach(v -> v[0] = 0);
        byPhase.forEach((key, count) -> {
            String[] kp = key.split("\\|");
            resourceRows.computeIfAbsent(key, k -> gauge("dba_resources", "Resources of a kind in a phase",
                    Tags.of("kind", kp[0], "phase", kp[1]), 1))[0] = count;
        });
        pending.forEach((kind, count) -> {
            double[] v = approvalRows.computeIfAbsent(kind, k -> {
                double[] a = gauge("dba_approvals_pending", "Steps waiting for a person's approval",
                        Tags.of("kind", k), 2);
                Gauge.builder("dba_approval_pending_oldest_seconds", a, x -> x[1]).tags(Tags.of("kind", k))
                        .description("Age of the oldest pending approval request").baseUnit("seconds")
                        .register(registry);
                return a;
            });
            v[0] = count;
            v[1] = oldest.get(kind);
        });
        Set<String> seen = new java.util.HashSet<>();
        for (DatabaseTarget t : targets.values()) {
            ConnectionSettings settings;
            try {
                settings = secrets.connection(t.namespace(), t.ref(), "metrics");
            } catch (RuntimeException e) {
                continue; // the resource reports its own Secret problems
            }
            String server = settings.hosts();
            String key = t.namespace() + "|" + server + "|" + settings.dbname();
            if (!seen.add(key)) {
                continue;
            }
            Tags tags = Tags.of("namespace", t.namespace(), "server", server, "database", settings.dbname());
            DatabaseSeries series = databases.computeIfAbsent(key, k -> new DatabaseSeries(registry, tags));
            HealthMetrics h = health.computeIfAbsent(key, k -> new HealthMetrics(registry, tags,
                    new DatabaseHealth(Duration.ofHours(1)), thresholds));
            try (Connection c = PostgresConnector.open(settings, "dba-operator/metrics")) {
                series.sample(c, now);
                h.sample(c, now, t.owner(), events, handlers(t.namespace(), settings, maintenances));
                if (unreachable.remove(key)) {
                    LOG.infof("metrics: %s answers again", settings.describe());
                }
            } catch (SQLException | RuntimeException e) {
                series.clear();
                h.clear();
                if (unreachable.add(key)) {
                    LOG.warnf("metrics: cannot sample %s: %s", settings.describe(), e.getMessage());
                }
            }
        }
    }

    /**
     * Who looks after a table of the database {@code db} in {@code namespace}: the first DatabaseMaintenance there
     * whose database is the same (hosts and name) and whose spec vacuums the table; null when none does.
     */
    private java.util.function.Function<String, String> handlers(String namespace, ConnectionSettings db,
            List<io.dbaoperator.api.maintenance.DatabaseMaintenance> maintenances) {
        List<io.dbaoperator.api.maintenance.DatabaseMaintenance> same = new ArrayList<>();
        for (var m : maintenances) {
            if (!namespace.equals(m.getMetadata().getNamespace())) {
                continue;
            }
            try {
                ConnectionSettings s = secrets.connection(namespace, m.getSpec().database, "metrics");
                if (s.hosts().equals(db.hosts()) && s.dbname().equals(db.dbname())) {
                    same.add(m);
                }
            } catch (RuntimeException e) {
                // its own status says what is wrong with its Secret
            }
        }
        return table -> same.stream().filter(m -> m.getSpec().vacuums(table)).findFirst().map(m ->
                "DatabaseMaintenance " + namespace + "/" + m.getMetadata().getName() + " looks after it ("
                        + (m.getStatus() != null && m.getStatus().nextRunAt != null ? "next run at "
                                + m.getStatus().nextRunAt : "next run when asked or scheduled") + ")").orElse(null);
    }

    /**
     * SLO 1, pure: of the migrations that started in a maintenance window and completed within {@code period} before
     * {@code now}, the share that completed inside that window (NaN when there is none), and how many there are.
     */
    static double[] sloWindowRatio(List<DatabaseMigration> migrations, Instant now, Duration period) {
        long total = 0;
        long inside = 0;
        for (DatabaseMigration m : migrations) {
            var w = m.getStatus() == null ? null : m.getStatus().maintenance;
            if (w == null || w.completedAt == null || w.completedInWindow == null
                    || Instant.parse(w.completedAt).isBefore(now.minus(period))) {
                continue;
            }
            total++;
            if (w.completedInWindow) {
                inside++;
            }
        }
        return new double[] { total == 0 ? Double.NaN : (double) inside / total, total };
    }

    private double[] gauge(String name, String description, Tags tags, int size) {
        double[] v = new double[size];
        Gauge.builder(name, v, a -> a[0]).tags(tags).description(description).register(registry);
        return v;
    }

    private static DatabaseRef database(CustomResource<?, ?> r) {
        if (r instanceof DatabaseMigration m && m.getSpec() != null) {
            return m.getSpec().database;
        }
        if (r instanceof BackupPolicy p && p.getSpec() != null) {
            return p.getSpec().database;
        }
        if (r instanceof DisposalJob d && d.getSpec() != null) {
            return d.getSpec().database;
        }
        if (r instanceof QueryTuningRequest q && q.getSpec() != null) {
            return q.getSpec().database;
        }
        if (r instanceof io.dbaoperator.api.maintenance.DatabaseMaintenance m && m.getSpec() != null) {
            return m.getSpec().database;
        }
        return null;
    }

    /** A database to sample, and the first resource naming it (what its Events are about). */
    private record DatabaseTarget(String namespace, DatabaseRef ref, CustomResource<?, ?> owner) {
    }

    /** One database's three figures and the counters of the previous sample they are deltas of. */
    static final class DatabaseSeries {
        final double[] v = { Double.NaN, Double.NaN, Double.NaN };
        private long[] lastBlocks;
        private Map<String, double[]> lastStatements;
        private Instant lastAt;

        DatabaseSeries(MeterRegistry registry, Tags tags) {
            Gauge.builder("index_hit_rate", v, a -> a[0]).tags(tags)
                    .description("Index blocks found in shared buffers / index blocks read, over the last interval")
                    .register(registry);
            Gauge.builder("query_latency_p99_ms", v, a -> a[1]).tags(tags)
                    .description("p99 over executions of their statement's mean execution time (pg_stat_statements)")
                    .register(registry);
            Gauge.builder("database_cpu_utilization", v, a -> a[2]).tags(tags)
                    .description("Statement execution seconds per wall second (busy backends), pg_stat_statements")
                    .register(registry);
        }

        void clear() {
            v[0] = v[1] = v[2] = Double.NaN;
            lastBlocks = null;
            lastStatements = null;
        }

        void sample(Connection c, Instant now) throws SQLException {
            try (Statement st = c.createStatement()) {
                st.execute("set statement_timeout = '10s'");
                try (ResultSet rs = st.executeQuery("select coalesce(sum(idx_blks_hit), 0), "
                        + "coalesce(sum(idx_blks_read), 0) from pg_statio_user_indexes")) {
                    rs.next();
                    long[] blocks = { rs.getLong(1), rs.getLong(2) };
                    long hit = lastBlocks == null ? blocks[0] : blocks[0] - lastBlocks[0];
                    long read = lastBlocks == null ? blocks[1] : blocks[1] - lastBlocks[1];
                    if (hit + read > 0) {
                        v[0] = (double) hit / (hit + read);
                    } else if (Double.isNaN(v[0])) {
                        v[0] = 1.0; // nothing read at all: nothing missed the cache
                    }
                    lastBlocks = blocks;
                }
                boolean statements;
                try (ResultSet rs = st.executeQuery("select 1 from pg_extension where extname = 'pg_stat_statements'")) {
                    statements = rs.next();
                }
                if (!statements) {
                    v[1] = v[2] = Double.NaN;
                    return;
                }
                Map<String, double[]> now2 = new HashMap<>();
                try (ResultSet rs = st.executeQuery("select userid::text || ':' || queryid::text, calls, "
                        + "total_exec_time from pg_stat_statements where dbid = (select oid from pg_database "
                        + "where datname = current_database()) and queryid is not null")) {
                    while (rs.next()) {
                        now2.merge(rs.getString(1), new double[] { rs.getLong(2), rs.getDouble(3) },
                                (a, b) -> new double[] { a[0] + b[0], a[1] + b[1] });
                    }
                }
                if (lastStatements != null && lastAt != null) {
                    List<double[]> deltas = new ArrayList<>(); // {calls, mean ms}
                    double busyMs = 0;
                    for (var e : now2.entrySet()) {
                        double[] before = lastStatements.getOrDefault(e.getKey(), new double[] { 0, 0 });
                        double calls = e.getValue()[0] - before[0];
                        double ms = e.getValue()[1] - before[1];
                        if (calls > 0 && ms >= 0) {
                            deltas.add(new double[] { calls, ms / calls });
                            busyMs += ms;
                        }
                    }
                    double wallMs = Math.max(1, Duration.between(lastAt, now).toMillis());
                    v[2] = busyMs / wallMs;
                    v[1] = percentile(deltas, 0.99);
                }
                lastStatements = now2;
                lastAt = now;
            }
        }

        /** The value below which {@code q} of all calls fall, each statement weighing its calls. */
        static double percentile(List<double[]> callsAndMeans, double q) {
            if (callsAndMeans.isEmpty()) {
                return 0;
            }
            callsAndMeans.sort(Comparator.comparingDouble(a -> a[1]));
            double total = callsAndMeans.stream().mapToDouble(a -> a[0]).sum();
            double seen = 0;
            for (double[] a : callsAndMeans) {
                seen += a[0];
                if (seen >= q * total) {
                    return a[1];
                }
            }
            return callsAndMeans.get(callsAndMeans.size() - 1)[1];
        }
    }
}
