package io.dbaoperator.metrics;

import java.sql.Connection;
import java.sql.SQLException;
import java.time.Instant;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

import io.dbaoperator.kube.EventRecorder;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.MultiGauge;
import io.micrometer.core.instrument.Tags;

/**
 * One database's health series ({@link DatabaseHealth}) in the registry, and the Events a person should see: a
 * table whose dead tuples passed the threshold (reason {@code VacuumRecommended}, once until it falls below again,
 * naming the DatabaseMaintenance that looks after the table, or saying that none does)
 * and a session waiting on a lock past the threshold, with its blocking chain (reason {@code LockWait}, once per
 * waiting session), and a database whose transaction ID age passed its share of autovacuum_freeze_max_age
 * (reason {@code FreezeRecommended}, once until it falls below again), all on the resource that names the database.
 */
final class HealthMetrics {

    private final DatabaseHealth health;
    private final DatabaseHealth.Thresholds thresholds;
    /**
     * primary, deadlocks, connections, max, longRunning, idleInTx, dbBytes, lockWaiting, lockLongest, vacuum, xid age,
     * mxid age, autovacuum_freeze_max_age, autovacuum_multixact_freeze_max_age.
     */
    private final double[] v = new double[14];
    private final MultiGauge oldestXid;
    private boolean freezeReported;
    private final MultiGauge lagSeconds;
    private final MultiGauge lagBytes;
    private final MultiGauge deadRatio;
    private final MultiGauge deadTuples;
    private final MultiGauge lastVacuum;
    private final MultiGauge tableBytes;
    private final Set<String> overThreshold = new HashSet<>();
    private final Set<Integer> waitingReported = new HashSet<>();

    HealthMetrics(MeterRegistry registry, Tags tags, DatabaseHealth health, DatabaseHealth.Thresholds thresholds) {
        this.health = health;
        this.thresholds = thresholds;
        java.util.Arrays.fill(v, Double.NaN);
        lagSeconds = multi(registry, "dba_replication_lag_seconds", tags, "Replication lag of a standby in seconds "
                + "(the larger of replay_lag and the age of the oldest WAL it has not replayed)");
        lagBytes = multi(registry, "dba_replication_lag_bytes", tags, "WAL bytes a standby has not replayed");
        deadRatio = multi(registry, "dba_table_dead_tuple_ratio", tags, "Dead tuples / all tuples of a table over "
                + "the size floor (the 20 with the largest share)");
        deadTuples = multi(registry, "dba_table_dead_tuples", tags, "Dead tuples of a table over the size floor");
        lastVacuum = multi(registry, "dba_table_last_vacuum_timestamp_seconds", tags, "Last (auto)vacuum of a "
                + "table over the size floor, Unix time");
        tableBytes = multi(registry, "dba_table_size_bytes", tags, "Size of one of the database's 10 largest tables "
                + "(pg_total_relation_size)");
        FunctionCounter.builder("dba_deadlocks", v, a -> Double.isNaN(a[1]) ? 0 : a[1]).tags(tags)
                .description("Deadlocks detected in the database since its statistics began").register(registry);
        gauge(registry, "dba_connections", tags, 2, "Client connections to the server");
        gauge(registry, "dba_max_connections", tags, 3, "max_connections of the server");
        gauge(registry, "dba_long_running_sessions", tags, 4, "Sessions of the database running one statement "
                + "longer than dba.health.long-running");
        gauge(registry, "dba_idle_in_transaction_sessions", tags, 5, "Sessions of the database idle in a "
                + "transaction longer than dba.health.idle-in-transaction");
        gauge(registry, "dba_database_size_bytes", tags, 6, "Size of the database (pg_database_size)");
        gauge(registry, "dba_lock_waiting_sessions", tags, 7, "Sessions waiting on a lock longer than "
                + "dba.health.lock-wait");
        gauge(registry, "dba_lock_wait_longest_seconds", tags, 8, "The longest current wait on a lock");
        gauge(registry, "dba_vacuum_recommended_tables", tags, 9, "Tables over the size floor whose dead-tuple "
                + "share passed dba.health.dead-tuple-ratio");
        gauge(registry, "dba_database_xid_age", tags, 10, "Transaction IDs since the database's oldest unfrozen "
                + "one (age(datfrozenxid)): autovacuum forces an anti-wraparound vacuum at autovacuum_freeze_max_age, "
                + "the server refuses writes near 2^31");
        gauge(registry, "dba_database_mxid_age", tags, 11, "Multixact IDs since the database's oldest "
                + "(mxid_age(datminmxid))");
        gauge(registry, "dba_autovacuum_freeze_max_age", tags, 12, "The server's autovacuum_freeze_max_age");
        gauge(registry, "dba_autovacuum_multixact_freeze_max_age", tags, 13, "The server's "
                + "autovacuum_multixact_freeze_max_age");
        oldestXid = multi(registry, "dba_table_oldest_xid_age", tags, "age(relfrozenxid) of the database's table "
                + "with the oldest (a TOAST table counted as its table's)");
    }

    private static MultiGauge multi(MeterRegistry registry, String name, Tags tags, String description) {
        return MultiGauge.builder(name).tags(tags).description(description).register(registry);
    }

    private void gauge(MeterRegistry registry, String name, Tags tags, int index, String description) {
        Gauge.builder(name, v, a -> a[index]).tags(tags).description(description).register(registry);
    }

    void clear() {
        java.util.Arrays.fill(v, Double.NaN);
        List.of(lagSeconds, lagBytes, deadRatio, deadTuples, lastVacuum, tableBytes, oldestXid).forEach(g -> g.register(
                List.of(), true));
    }

    DatabaseHealth.Sample sample(Connection c, Instant now, HasMetadata owner, EventRecorder events)
            throws SQLException {
        return sample(c, now, owner, events, table -> null);
    }

    /**
     * @param handler the DatabaseMaintenance that looks after a table ("DatabaseMaintenance ns/name ..."), or null
     *        when none does
     */
    DatabaseHealth.Sample sample(Connection c, Instant now, HasMetadata owner, EventRecorder events,
            java.util.function.Function<String, String> handler) throws SQLException {
        DatabaseHealth.Sample s = health.sample(c, thresholds, now);
        v[0] = s.primary() ? 1 : 0;
        v[1] = s.deadlocks();
        v[2] = s.connections();
        v[3] = s.maxConnections();
        v[4] = s.longRunning();
        v[5] = s.idleInTransaction();
        v[6] = s.databaseBytes();
        v[7] = s.lockWaits().size();
        v[8] = s.lockWaits().stream().mapToDouble(DatabaseHealth.LockWait::waitingSeconds).max().orElse(0);
        lagSeconds.register(s.standbys().stream().map(l -> MultiGauge.Row.of(Tags.of("standby", l.standby()),
                l.seconds())).collect(Collectors.toList()), true);
        lagBytes.register(s.standbys().stream().map(l -> MultiGauge.Row.of(Tags.of("standby", l.standby()),
                l.bytes())).collect(Collectors.toList()), true);
        deadRatio.register(s.tables().stream().map(x -> MultiGauge.Row.of(Tags.of("table", x.table()),
                x.deadRatio())).collect(Collectors.toList()), true);
        deadTuples.register(s.tables().stream().map(x -> MultiGauge.Row.of(Tags.of("table", x.table()),
                x.dead())).collect(Collectors.toList()), true);
        lastVacuum.register(s.tables().stream().filter(x -> x.lastVacuum() != null).map(x -> MultiGauge.Row.of(
                Tags.of("table", x.table()), x.lastVacuum().getEpochSecond())).collect(Collectors.toList()), true);
        tableBytes.register(s.largestTables().entrySet().stream().map(e -> MultiGauge.Row.of(Tags.of("table",
                e.getKey()), e.getValue())).collect(Collectors.toList()), true);

        Set<String> over = new HashSet<>();
        for (DatabaseHealth.TableTuples x : s.tables()) {
            if (x.deadRatio() > thresholds.deadTupleRatio()) {
                over.add(x.table());
                if (!overThreshold.contains(x.table()) && owner != null) {
                    String by = handler.apply(x.table());
                    events.warning(owner, "VacuumRecommended", String.format("table %s: %.0f%% dead tuples (%d dead, "
                            + "%d live, %d bytes), last vacuum %s: %s", x.table(), 100 * x.deadRatio(), x.dead(),
                            x.live(), x.sizeBytes(), x.lastVacuum() == null ? "never" : x.lastVacuum().toString(),
                            by != null ? by + " (its own thresholds decide); or look at why autovacuum does not keep up"
                                    : "no DatabaseMaintenance looks after it: create one with task vacuum "
                                            + "(docs/reference.md), run VACUUM (ANALYZE) " + x.table()
                                            + ", or look at why autovacuum does not keep up"));
                }
            }
        }
        overThreshold.retainAll(over);
        overThreshold.addAll(over);
        v[9] = over.size();

        Set<Integer> waiting = new HashSet<>();
        for (DatabaseHealth.LockWait w : s.lockWaits()) {
            waiting.add(w.pid());
            if (waitingReported.add(w.pid()) && owner != null) {
                events.warning(owner, "LockWait", describe(w));
            }
        }
        waitingReported.retainAll(waiting);

        DatabaseHealth.Freeze f = s.freeze();
        v[10] = f.xidAge();
        v[11] = f.mxidAge();
        v[12] = f.freezeMaxAge();
        v[13] = f.multixactFreezeMaxAge();
        oldestXid.register(f.oldestTable() == null ? List.of() : List.of(MultiGauge.Row.of(Tags.of("table",
                f.oldestTable()), f.oldestTableXidAge())), true);
        boolean aging = f.ratio() > thresholds.freezeAgeRatio();
        if (aging && !freezeReported && owner != null) {
            events.warning(owner, "FreezeRecommended", freezeMessage(f));
        }
        freezeReported = aging;
        return s;
    }

    /** "transaction ID age 150000000 (75% of autovacuum_freeze_max_age 200000000) ...: VACUUM (FREEZE) ...". */
    static String freezeMessage(DatabaseHealth.Freeze f) {
        return String.format("transaction ID age %d (%.0f%% of autovacuum_freeze_max_age %d), multixact ID age %d "
                + "(%.0f%% of autovacuum_multixact_freeze_max_age %d); oldest table %s at %d: run VACUUM (FREEZE) "
                + "on the oldest tables inside a maintenance window, before autovacuum forces an anti-wraparound "
                + "vacuum at a time of its choosing (docs/runbooks.md#dbaxidagehigh)", f.xidAge(),
                100.0 * f.xidAge() / f.freezeMaxAge(), f.freezeMaxAge(), f.mxidAge(),
                100.0 * f.mxidAge() / f.multixactFreezeMaxAge(), f.multixactFreezeMaxAge(),
                f.oldestTable() == null ? "none" : f.oldestTable(), f.oldestTableXidAge());
    }

    /** "pid 812 has waited 6.1 s for a lock: update t set x = ? where id = ?; blocked by pid 790 (idle in ...)". */
    static String describe(DatabaseHealth.LockWait w) {
        return String.format("pid %d has waited %.1f s for a lock: %s; blocked by %s", w.pid(), w.waitingSeconds(),
                w.query(), w.blockers().stream().map(b -> "pid " + b.pid() + " (" + b.state()
                        + (b.transactionSeconds() == null ? "" : String.format(", in a transaction for %.0f s",
                                b.transactionSeconds()))
                        + (b.query().isEmpty() ? "" : ": " + b.query()) + ")").collect(Collectors.joining(", ")));
    }
}
