package io.dbaoperator.maintenance;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.postgresql.util.PSQLException;

import io.dbaoperator.api.common.Phase;
import io.dbaoperator.api.maintenance.DatabaseMaintenance;
import io.dbaoperator.api.maintenance.DatabaseMaintenanceSpec;
import io.dbaoperator.api.maintenance.DatabaseMaintenanceStatus;
import io.dbaoperator.api.maintenance.DatabaseMaintenanceStatus.TaskStatus;
import io.dbaoperator.api.maintenance.MaintenancePhase;
import io.dbaoperator.approval.ApprovalStep;
import io.dbaoperator.approval.GateOutcome;
import io.dbaoperator.approval.GatedStep;
import io.dbaoperator.approval.PlanDigest;
import io.dbaoperator.audit.AuditEvent;
import io.dbaoperator.kube.EventRecorder;
import io.dbaoperator.kube.MaintenanceWindows;
import io.dbaoperator.metrics.OperatorMetrics;
import io.dbaoperator.postgres.Databases;
import io.dbaoperator.postgres.SqlStates;
import io.dbaoperator.problem.Reason;
import io.dbaoperator.status.ConditionType;
import io.dbaoperator.status.Conditions;
import io.dbaoperator.status.PhaseMachine;
import io.dbaoperator.status.Sizes;
import io.dbaoperator.status.Step;
import io.dbaoperator.status.WriteAhead;

/**
 * A DatabaseMaintenance's phase handlers, one per phase of {@link MaintenancePhase}'s table. Planning only reads;
 * Maintaining decides one task at a time and runs it as an {@link Step.Act}: the task's state Running, its start
 * and the evidence before it are stored before the statement runs, so a task is never run unrecorded. A task found
 * Running by a later reconcile (the operator was killed, a write met a 409) is judged by the database, never run
 * blindly again: while its statement still runs in a session of ours, the run waits for it (a VACUUM is never
 * cancelled); once it is gone, the evidence since its start says whether it finished (recorded once) or must run
 * again.
 */
final class MaintenanceSteps {

    static final String PLANNED = "Planned";
    static final String RUNNING = "Running";
    static final String DONE = "Done";
    static final String INEFFECTIVE = "Ineffective";
    static final String FAILED = "Failed";
    static final String SKIPPED = "Skipped";
    /** How often a resting resource looks for an urgent freeze. */
    static final Duration URGENT_CHECK = Duration.ofMinutes(10);

    private final EventRecorder events;
    private final MaintenanceWindows windows;
    private final OperatorMetrics metrics;
    private final DatabaseMaintenanceReconciler.Repack repack;
    private final PhaseMachine<MaintenancePhase, Run> machine;

    MaintenanceSteps(EventRecorder events, MaintenanceWindows windows, OperatorMetrics metrics,
            DatabaseMaintenanceReconciler.Repack repack) {
        this.events = events;
        this.windows = windows;
        this.metrics = metrics;
        this.repack = repack;
        this.machine = PhaseMachine.<MaintenancePhase, Run>of(MaintenancePhase.class, MaintenancePhase.Pending,
                r -> r.st.phase)
                .guard(this::specChanged)
                .decides(MaintenancePhase.Pending, this::pending)
                .decides(MaintenancePhase.Failed, this::failed)
                .decides(MaintenancePhase.Completed, this::atRest)
                .decides(MaintenancePhase.Scheduled, this::atRest)
                .decides(MaintenancePhase.Planning, this::planning)
                .decides(MaintenancePhase.AwaitingApproval, this::awaitingApproval)
                .acts(MaintenancePhase.Maintaining, this::maintaining)
                .build();
    }

    PhaseMachine<MaintenancePhase, Run> machine() {
        return machine;
    }

    /** One reconcile of a DatabaseMaintenance: its connection is opened only by a handler that needs it. */
    static final class Run implements AutoCloseable {
        final DatabaseMaintenance resource;
        final DatabaseMaintenanceStatus st;
        final DatabaseMaintenanceReconciler.Inputs in;
        final WriteAhead log;
        final Instant now;
        final String applicationName;
        private final Databases databases;
        private Connection connection;

        Run(DatabaseMaintenance resource, DatabaseMaintenanceStatus st, DatabaseMaintenanceReconciler.Inputs in,
                WriteAhead log, Databases databases, Instant now) {
            this.resource = resource;
            this.st = st;
            this.in = in;
            this.log = log;
            this.databases = databases;
            this.now = now;
            this.applicationName = "dba-operator/maintenance/" + resource.getMetadata().getNamespace() + "/"
                    + resource.getMetadata().getName();
        }

        Connection db() throws SQLException {
            if (connection == null) {
                connection = databases.open(in.db(), applicationName);
            }
            return connection;
        }

        DatabaseMaintenanceSpec spec() {
            return resource.getSpec();
        }

        void ready(boolean ready, Reason reason, String message) {
            st.message = message;
            st.conditions = Conditions.set(st.conditions, ConditionType.Ready, ready, reason, message,
                    DatabaseMaintenanceReconciler.generation(resource), Instant.now());
        }

        @Override
        public void close() throws SQLException {
            if (connection != null) {
                connection.close();
            }
        }
    }

    /** A spec changed mid-run plans the run again (a gated task then needs a new approval: its digest changes). */
    private Step specChanged(Run r) {
        DatabaseMaintenanceStatus st = r.st;
        boolean midRun = st.phase == MaintenancePhase.Maintaining || st.phase == MaintenancePhase.AwaitingApproval;
        if (midRun && st.specDigest != null && !st.specDigest.equals(r.in.specDigest())
                && st.tasks.stream().noneMatch(t -> RUNNING.equals(t.state))) {
            events.normal(r.resource, "SpecChanged", "the spec changed: planning the run again");
            st.phase = Phase.move(st.phase, MaintenancePhase.Planning);
            return Step.next();
        }
        return null;
    }

    /**
     * Pending (first, or after a transient problem) and Failed plan again in the same run: nothing that changes by
     * itself (a new run id, an age) is written by a retry, so a refusal that stands writes nothing and wakes nothing.
     */
    private Step pending(Run r) {
        r.st.phase = Phase.move(r.st.phase, MaintenancePhase.Planning);
        return Step.next();
    }

    private Step failed(Run r) {
        r.st.phase = Phase.move(r.st.phase, MaintenancePhase.Planning);
        return Step.next();
    }

    /**
     * Completed or Scheduled: a new run when it is due, asked for, the spec changed, or a covered table's freeze age
     * passed its urgent threshold (looked at every {@link #URGENT_CHECK}).
     */
    private Step atRest(Run r) throws SQLException {
        DatabaseMaintenanceStatus st = r.st;
        boolean due = r.in.schedule() != null && st.nextRunAt != null && !r.now.isBefore(Instant.parse(st.nextRunAt));
        boolean changed = st.specDigest != null && !st.specDigest.equals(r.in.specDigest());
        boolean asked = DatabaseMaintenanceReconciler.runRequested(r.resource, st);
        List<String> urgent = List.of();
        if (!due && !asked && !changed && Boolean.TRUE.equals(r.spec().urgentFreezeOutsideWindow)) {
            // read only: a resting resource writes nothing (an age written here would wake it again at once)
            urgent = MaintenancePlanner.urgent(r.in.policy(), MaintenanceSurvey.ages(r.db()));
        }
        if (!due && !asked && !changed && urgent.isEmpty()) {
            Duration next = untilNext(st, r.now);
            return Step.rest(next == null || next.compareTo(URGENT_CHECK) > 0 ? URGENT_CHECK : next);
        }
        if (!urgent.isEmpty()) {
            events.warning(r.resource, Reason.UrgentFreeze.name(), "transaction ID age past the urgent threshold: "
                    + String.join(", ", urgent) + "; starting a run now (its freezes may run outside the "
                    + "maintenance window)");
        }
        if (asked) {
            st.lastRunRequest = r.resource.getMetadata().getAnnotations().get(DatabaseMaintenanceReconciler.RUN_NOW);
        }
        st.phase = Phase.move(st.phase, MaintenancePhase.Planning);
        startRun(r);
        return Step.next();
    }

    /** Survey, refuse what the database refutes, plan; the plan is in status before any task runs. */
    private Step planning(Run r) throws SQLException {
        DatabaseMaintenanceStatus st = r.st;
        if (DatabaseMaintenanceReconciler.runRequested(r.resource, st)) {
            st.lastRunRequest = r.resource.getMetadata().getAnnotations().get(DatabaseMaintenanceReconciler.RUN_NOW);
        }
        if (st.runId == null) {
            startRun(r);
        }
        MaintenanceFacts facts = MaintenanceSurvey.read(r.db(), DatabaseMaintenanceReconciler.MEASURE_FLOOR);
        List<String> problems = MaintenancePlanner.problems(r.in.policy(), facts);
        if (!problems.isEmpty()) {
            st.phase = Phase.move(st.phase, MaintenancePhase.Failed);
            st.tasks = new ArrayList<>();
            st.specDigest = r.in.specDigest();
            r.ready(false, Reason.MaintenanceRefused, String.join("; ", problems) + ": nothing was touched");
            return Step.rest(Duration.ofMinutes(5));
        }
        st.databaseXidAge = databaseAge(r.db());
        List<MaintenancePlanner.Task> plan = MaintenancePlanner.plan(r.in.policy(), facts);
        int max = r.spec().maxTasksPerRun == null ? 100 : r.spec().maxTasksPerRun;
        boolean always = r.spec().approval != null
                && r.spec().approval.policy == DatabaseMaintenanceSpec.Approval.Policy.Always;
        List<TaskStatus> tasks = new ArrayList<>();
        for (MaintenancePlanner.Task t : plan.subList(0, Math.min(max, plan.size()))) {
            TaskStatus s = new TaskStatus();
            s.kind = t.kind().name();
            s.object = t.object();
            s.table = t.table();
            s.why = t.why();
            s.approval = always || t.approval() ? true : null;
            s.urgent = t.urgent() ? true : null;
            s.state = PLANNED;
            Double bloat = bloatOf(facts, t);
            if (bloat != null) {
                s.before = new DatabaseMaintenanceStatus.Evidence();
                s.before.bloatPercent = Math.round(bloat * 10) / 10.0;
            }
            tasks.add(s);
        }
        st.tasks = tasks;
        st.deferred = plan.size() > max ? plan.size() - max : null;
        st.specDigest = r.in.specDigest();
        st.plannedAt = r.now.toString();
        st.bytesReclaimed = 0L;
        st.approvalRequest = null;
        List<String> gated = tasks.stream().filter(t -> Boolean.TRUE.equals(t.approval))
                .map(t -> t.kind + " " + t.object).toList();
        // each run's rewrites are approved for that run: the digest names the run
        st.gatedDigest = gated.isEmpty() ? null : PlanDigest.of(Map.of("run", st.runId, "tasks", gated));
        progress(st);
        String summary = tasks.isEmpty() ? "nothing needs maintenance" : tasks.size() + " task(s): "
                + String.join(", ", DatabaseMaintenanceReconciler.names(tasks))
                + (st.deferred == null ? "" : "; " + st.deferred + " more left for the next run (maxTasksPerRun)");
        if (Boolean.TRUE.equals(r.spec().dryRun) || tasks.isEmpty()) {
            return finish(r, (Boolean.TRUE.equals(r.spec().dryRun) ? "dry run: the plan is " : "") + summary
                    + (tasks.isEmpty() || !Boolean.TRUE.equals(r.spec().dryRun) ? "" : "; nothing was run"));
        }
        events.normal(r.resource, Reason.MaintenancePlanned.name(), summary);
        r.ready(false, Reason.MaintenancePlanned, "planned " + summary);
        st.phase = Phase.move(st.phase, MaintenancePhase.Maintaining);
        return Step.next();
    }

    private static Double bloatOf(MaintenanceFacts facts, MaintenancePlanner.Task t) {
        if (t.kind() == MaintenancePlanner.Kind.Reindex) {
            return facts.indexes().stream().filter(i -> i.qualified().equals(t.object())).findFirst()
                    .map(MaintenanceFacts.Index::bloatPercent).orElse(null);
        }
        if (t.kind() == MaintenancePlanner.Kind.Repack) {
            return facts.tables().stream().filter(x -> x.qualified().equals(t.object())).findFirst()
                    .map(MaintenanceFacts.Table::bloatPercent).orElse(null);
        }
        return null;
    }

    /**
     * One task at a time, in plan order, inside the window (urgent freezes also outside it); a task that needs a
     * person waits until only such tasks are left, then the run asks for them together.
     */
    private Step maintaining(Run r) throws SQLException {
        DatabaseMaintenanceStatus st = r.st;
        for (int i = 0; i < st.tasks.size(); i++) {
            if (RUNNING.equals(st.tasks.get(i).state)) {
                Step interrupted = interrupted(r, i);
                if (interrupted != null) {
                    return interrupted;
                }
            }
        }
        String approval = st.gatedDigest == null ? null : ApprovalStep.under(st, DatabaseMaintenanceReconciler.STEP,
                st.gatedDigest);
        Instant now = windows.instant();
        var window = windows.stateAt(r.resource, r.spec().maintenanceWindow, now);
        boolean urgentMayRun = Boolean.TRUE.equals(r.spec().urgentFreezeOutsideWindow);
        boolean waitingForWindow = false;
        boolean waitingForPerson = false;
        for (int i = 0; i < st.tasks.size(); i++) {
            TaskStatus t = st.tasks.get(i);
            if (!PLANNED.equals(t.state)) {
                continue;
            }
            if (Boolean.TRUE.equals(t.approval) && approval == null) {
                waitingForPerson = true;
                continue;
            }
            boolean urgent = Boolean.TRUE.equals(t.urgent) && urgentMayRun;
            if (!window.open() && !urgent) {
                waitingForWindow = true;
                continue;
            }
            if (!SqlStates.tryAdvisoryLock(r.db(), SqlStates.LOCK_MAINTENANCE)) {
                r.ready(false, Reason.WaitingForDatabase, "another DatabaseMaintenance is working on this database; "
                        + "trying again shortly");
                return Step.rest(Duration.ofSeconds(5));
            }
            return start(r, i, !window.open(), Boolean.TRUE.equals(t.approval) ? approval : null);
        }
        if (waitingForWindow) {
            var gate = MaintenanceWindows.gate("maintenance", window, null, now, null);
            st.waitingForWindow = String.valueOf(gate.opensAt());
            r.ready(false, Reason.OutsideMaintenanceWindow, done(st) + " task(s) done; the rest " + gate.waiting());
            return Step.rest(gate.requeue());
        }
        st.waitingForWindow = null;
        if (waitingForPerson) {
            st.phase = Phase.move(st.phase, MaintenancePhase.AwaitingApproval);
            return Step.next();
        }
        return finish(r, summary(st));
    }

    /** Marks task {@code i} Running with the evidence before it (stored first), then runs it. */
    private Step start(Run r, int i, boolean outsideWindow, String approvedUnder) throws SQLException {
        DatabaseMaintenanceStatus st = r.st;
        TaskStatus t = st.tasks.get(i);
        MaintenancePlanner.Task task = task(t);
        MaintenanceRunner.Evidence before = MaintenanceRunner.evidence(r.db(), task, r.in.settings());
        Double plannedBloat = t.before == null ? null : t.before.bloatPercent;
        t.before = evidence(before, task);
        t.before.bloatPercent = plannedBloat;
        t.state = RUNNING;
        t.startedAt = Instant.now().toString();
        t.approvedUnder = approvedUnder;
        st.waitingForWindow = null;
        if (outsideWindow) {
            String message = "urgent freeze of " + t.object + " outside the maintenance window: " + t.why;
            events.warning(r.resource, Reason.UrgentFreeze.name(), message);
            r.ready(false, Reason.UrgentFreeze, message);
        } else {
            r.ready(false, Reason.InProgress, "task " + (i + 1) + " of " + st.tasks.size() + ": " + t.kind + " "
                    + t.object);
        }
        return Step.act(() -> {
            run(r, i, task);
            return Step.next();
        });
    }

    /** The effect: the statement, then its outcome and evidence in status, the audit store, metrics and Events. */
    private void run(Run r, int i, MaintenancePlanner.Task task) throws SQLException {
        TaskStatus t = r.st.tasks.get(i);
        MaintenanceRunner.Outcome outcome;
        try {
            outcome = MaintenanceRunner.run(r.db(), task, r.in.settings(), (schema, table) -> repack.run(r.in.db(),
                    r.in.settings(), schema, table));
        } catch (SQLException e) {
            if (SqlStates.connectionLost(e)) {
                throw e; // the task stays Running: the next reconcile judges it by the database
            }
            t.state = FAILED;
            t.note = failure(e, r.in.settings());
            t.durationMs = Duration.between(Instant.parse(t.startedAt), Instant.now()).toMillis();
            record(r, i, task, "failed", 0);
            events.warning(r.resource, Reason.TaskFailed.name(), t.kind + " " + t.object + " failed: " + t.note);
            return;
        }
        t.statement = outcome.statement();
        t.attempts = outcome.attempts();
        t.durationMs = outcome.millis();
        Double plannedBloat = t.before == null ? null : t.before.bloatPercent;
        t.before = evidence(outcome.before(), task);
        t.before.bloatPercent = plannedBloat;
        t.after = evidence(outcome.after(), task);
        t.after.bloatPercent = round(MaintenanceSurvey.bloatAfter(r.db(), task));
        t.note = outcome.note();
        t.state = outcome.effective() ? DONE : INEFFECTIVE;
        long reclaimed = Math.max(0, outcome.before().sizeBytes() - outcome.after().sizeBytes());
        record(r, i, task, outcome.effective() ? "done" : "ineffective", reclaimed);
        if (outcome.effective()) {
            events.normal(r.resource, Reason.TaskDone.name(), t.kind + " " + t.object + " in " + t.durationMs + " ms"
                    + (reclaimed > 0 ? ", " + Sizes.human(reclaimed) + " given back" : ""));
        } else {
            events.warning(r.resource, Reason.TaskIneffective.name(), t.kind + " " + t.object + ": " + t.note);
        }
    }

    /** Audit (once per run and task), metrics, progress. */
    private void record(Run r, int i, MaintenancePlanner.Task task, String outcome, long reclaimed) {
        DatabaseMaintenanceStatus st = r.st;
        TaskStatus t = st.tasks.get(i);
        st.bytesReclaimed = (st.bytesReclaimed == null ? 0 : st.bytesReclaimed) + reclaimed;
        progress(st);
        Map<String, Object> details = new LinkedHashMap<>();
        details.put("run", st.runId);
        details.put("task", t.kind);
        details.put("object", t.object);
        details.put("why", t.why);
        details.put("statement", t.statement);
        details.put("durationMs", t.durationMs);
        details.put("attempts", t.attempts);
        details.put("before", t.before);
        details.put("after", t.after);
        details.put("note", t.note);
        details.put("approvedUnder", t.approvedUnder);
        details.values().removeIf(java.util.Objects::isNull);
        r.log.executed(AuditEvent.byOperator(r.resource, "maintenance", task.kind().name().toLowerCase(
                java.util.Locale.ROOT), outcome, st.gatedDigest, details), "maintenance/" + st.runId + "/" + i);
        metrics.maintenanceTask(r.resource.getMetadata().getNamespace(), r.resource.getMetadata().getName(),
                task.kind().name(), outcome, Duration.ofMillis(t.durationMs == null ? 0 : t.durationMs), reclaimed);
    }

    /**
     * A task found Running: its statement may still run in a session of ours (the operator was killed, the
     * session lives on), or have finished unrecorded, or have been cut off. Waits for the first; records the
     * second from the evidence since it started; plans the third again. Null when it was settled here.
     */
    private Step interrupted(Run r, int i) throws SQLException {
        TaskStatus t = r.st.tasks.get(i);
        MaintenancePlanner.Task task = task(t);
        Integer pid = stillRunning(r, task);
        if (pid != null) {
            r.ready(false, Reason.InProgress, t.kind + " " + t.object + " is still running in session " + pid
                    + " (started before the operator restarted): waiting for it; it is never cancelled");
            return Step.rest(Duration.ofSeconds(5));
        }
        MaintenanceRunner.Evidence now = MaintenanceRunner.evidence(r.db(), task, r.in.settings());
        if (finishedSince(t, now)) {
            t.after = evidence(now, task);
            t.after.bloatPercent = round(MaintenanceSurvey.bloatAfter(r.db(), task));
            t.state = DONE;
            t.note = "finished while the operator was not watching (the evidence since it started shows it)";
            t.durationMs = null;
            long reclaimed = t.before == null || t.before.sizeBytes == null ? 0
                    : Math.max(0, t.before.sizeBytes - now.sizeBytes());
            record(r, i, task, "done", reclaimed);
            return null;
        }
        t.state = PLANNED;
        t.note = "interrupted before it finished (the operator restarted); run again";
        return null;
    }

    /** Whether the evidence now shows the task's effect since its recorded start. */
    private static boolean finishedSince(TaskStatus t, MaintenanceRunner.Evidence now) {
        DatabaseMaintenanceStatus.Evidence b = t.before;
        if (b == null) {
            return false;
        }
        return switch (MaintenancePlanner.Kind.valueOf(t.kind)) {
            case Freeze -> b.xidAge != null && now.xidAge() < b.xidAge;
            case Vacuum -> b.deadTuples != null && now.dead() < b.deadTuples;
            case Analyze -> now.lastAnalyze() != null && (b.lastAnalyze == null
                    || now.lastAnalyze().isAfter(Instant.parse(b.lastAnalyze)));
            case DropLeftover -> !now.exists();
            case Reindex -> now.exists() && now.valid() && b.relfilenode != null && now.relfilenode() != b.relfilenode;
            case Repack -> now.exists() && b.relfilenode != null && now.relfilenode() != b.relfilenode;
        };
    }

    /** The pid of one of our sessions still running a statement on the task's object; null when none. */
    private static Integer stillRunning(Run r, MaintenancePlanner.Task task) throws SQLException {
        String name = task.object().substring(task.object().indexOf('.') + 1);
        // pg_repack's own sessions name the table by its oid: any of them (one maintenance per database at a time)
        try (PreparedStatement ps = r.db().prepareStatement("select pid from pg_stat_activity where pid <> "
                + "pg_backend_pid() and datname = current_database() and state <> 'idle' and ((application_name = ? "
                + "and position(? in query) > 0) or (? and application_name in ('pg_repack', ?))) limit 1")) {
            ps.setString(1, r.applicationName);
            ps.setString(2, name);
            ps.setBoolean(3, task.kind() == MaintenancePlanner.Kind.Repack);
            ps.setString(4, PgRepack.APPLICATION_NAME);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? rs.getInt(1) : null;
            }
        }
    }

    /** Asks a person for the run's gated tasks together; approved, they run in the window like the others. */
    private Step awaitingApproval(Run r) {
        DatabaseMaintenanceStatus st = r.st;
        List<TaskStatus> gated = st.tasks.stream().filter(t -> Boolean.TRUE.equals(t.approval)
                && PLANNED.equals(t.state)).toList();
        StringBuilder what = new StringBuilder();
        for (TaskStatus t : gated) {
            what.append(what.length() == 0 ? "" : "; ").append(t.kind).append(' ').append(t.object).append(" (")
                    .append(t.why).append(')');
        }
        var result = ApprovalStep.check(r.resource, st, new GatedStep(DatabaseMaintenanceReconciler.STEP,
                what.toString(), st.gatedDigest, null, DatabaseMaintenanceReconciler.generation(r.resource)),
                DatabaseMaintenanceReconciler.SHORT_NAME, Instant.now());
        r.log.decided(result.audit());
        if (result.outcome() == GateOutcome.REJECTED) {
            st.phase = Phase.move(st.phase, MaintenancePhase.Rejected);
            for (TaskStatus t : gated) {
                t.state = SKIPPED;
                t.note = "rejected by " + st.rejection.approvedBy;
            }
            progress(st);
            r.ready(false, Reason.Rejected, "rejected by " + st.rejection.approvedBy + ": " + gated.size()
                    + " task(s) that needed approval were not run; " + done(st) + " other task(s) ran");
            return Step.onEvent();
        }
        if (result.outcome() == GateOutcome.WAIT) {
            st.message = Conditions.find(st.conditions, ConditionType.Approved).map(x -> x.message).orElse(null);
            return Step.onEvent();
        }
        st.phase = Phase.move(st.phase, MaintenancePhase.Maintaining);
        return Step.next();
    }

    /** The run's end: Completed, or Scheduled with the next run's time; its summary audited once. */
    private Step finish(Run r, String summary) {
        DatabaseMaintenanceStatus st = r.st;
        st.lastRunAt = r.now.toString();
        st.waitingForWindow = null;
        if (r.in.schedule() != null) {
            st.phase = Phase.move(st.phase, MaintenancePhase.Scheduled);
            st.nextRunAt = r.in.schedule().next(r.now.atZone(ZoneOffset.UTC)).map(z -> z.toInstant().toString())
                    .orElse(null);
        } else {
            st.phase = Phase.move(st.phase, MaintenancePhase.Completed);
            st.nextRunAt = null;
        }
        Map<String, Object> details = new LinkedHashMap<>();
        details.put("run", st.runId);
        details.put("tasks", st.tasks.size());
        details.put("done", done(st));
        details.put("bytesReclaimed", st.bytesReclaimed == null ? 0 : st.bytesReclaimed);
        details.put("dryRun", Boolean.TRUE.equals(r.spec().dryRun));
        r.log.executed(AuditEvent.byOperator(r.resource, "maintenance", "run", "succeeded", st.gatedDigest, details),
                "maintenance/" + st.runId);
        events.normal(r.resource, Reason.MaintenanceCompleted.name(), summary);
        r.ready(true, Reason.MaintenanceCompleted, summary + (st.nextRunAt == null ? "" : "; next run at "
                + st.nextRunAt));
        Duration next = untilNext(st, r.now);
        return Step.rest(next == null || next.compareTo(URGENT_CHECK) > 0 ? URGENT_CHECK : next);
    }

    private static String summary(DatabaseMaintenanceStatus st) {
        Map<String, Long> by = new LinkedHashMap<>();
        for (TaskStatus t : st.tasks) {
            by.merge(t.state, 1L, Long::sum);
        }
        StringBuilder s = new StringBuilder("ran " + st.tasks.size() + " task(s):");
        by.forEach((state, n) -> s.append(' ').append(n).append(' ').append(state.toLowerCase(java.util.Locale.ROOT))
                .append(','));
        s.setLength(s.length() - 1);
        if (st.bytesReclaimed != null && st.bytesReclaimed > 0) {
            s.append("; ").append(Sizes.human(st.bytesReclaimed)).append(" given back");
        }
        if (st.deferred != null) {
            s.append("; ").append(st.deferred).append(" more left for the next run");
        }
        return s.toString();
    }

    private static long done(DatabaseMaintenanceStatus st) {
        return st.tasks.stream().filter(t -> DONE.equals(t.state) || INEFFECTIVE.equals(t.state)).count();
    }

    private static void progress(DatabaseMaintenanceStatus st) {
        long finished = st.tasks.stream().filter(t -> !PLANNED.equals(t.state) && !RUNNING.equals(t.state)).count();
        st.progress = finished + "/" + st.tasks.size();
    }

    private static MaintenancePlanner.Task task(TaskStatus t) {
        return new MaintenancePlanner.Task(MaintenancePlanner.Kind.valueOf(t.kind), t.object, t.table, t.why,
                Boolean.TRUE.equals(t.approval), Boolean.TRUE.equals(t.urgent));
    }

    private static DatabaseMaintenanceStatus.Evidence evidence(MaintenanceRunner.Evidence e,
            MaintenancePlanner.Task task) {
        DatabaseMaintenanceStatus.Evidence out = new DatabaseMaintenanceStatus.Evidence();
        boolean index = task.kind() == MaintenancePlanner.Kind.Reindex
                || task.kind() == MaintenancePlanner.Kind.DropLeftover;
        out.exists = e.exists();
        if (!e.exists()) {
            return out;
        }
        out.sizeBytes = e.sizeBytes();
        out.size = Sizes.human(e.sizeBytes());
        out.relfilenode = e.relfilenode();
        if (index) {
            out.valid = e.valid();
        } else {
            out.deadTuples = e.dead();
            out.xidAge = e.xidAge();
            out.lastAnalyze = e.lastAnalyze() == null ? null : e.lastAnalyze().toString();
        }
        return out;
    }

    private static Double round(Double v) {
        return v == null ? null : Math.round(v * 10) / 10.0;
    }

    /** The server's primary message only (its detail may quote row values), with the SQLSTATE. */
    private static String failure(SQLException e, MaintenanceRunner.Settings s) {
        String primary = e instanceof PSQLException p && p.getServerErrorMessage() != null
                ? p.getServerErrorMessage().getMessage() : e.getMessage();
        if (SqlStates.lockConflict(e)) {
            return "gave up after " + (s.maxLockRetries() + 1) + " attempts: a lock stayed held past lock_timeout "
                    + s.lockTimeout().toMillis() + " ms (SQLSTATE " + e.getSQLState() + "); the next run tries again";
        }
        return primary + " (SQLSTATE " + e.getSQLState() + ")";
    }

    private static long databaseAge(Connection c) throws SQLException {
        try (var s = c.createStatement(); ResultSet rs = s.executeQuery("select age(datfrozenxid) from pg_database "
                + "where datname = current_database()")) {
            rs.next();
            return rs.getLong(1);
        }
    }

    private static Duration untilNext(DatabaseMaintenanceStatus st, Instant now) {
        return io.dbaoperator.status.ScheduledRuns.untilNext(st.nextRunAt, now);
    }

    /** A new run, with its own id ({@link io.dbaoperator.status.ScheduledRuns}): its tasks, progress and digest start empty. */
    private static void startRun(Run r) {
        r.st.runId = io.dbaoperator.status.ScheduledRuns.next(r.now, r.st.runId);
        r.st.tasks = new ArrayList<>();
        r.st.bytesReclaimed = 0L;
        r.st.progress = null;
        r.st.deferred = null;
        r.st.gatedDigest = null;
    }
}
