package io.dbaoperator.tuning;

import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.eclipse.microprofile.config.inject.ConfigProperty;

import io.dbaoperator.api.common.Phase;
import io.dbaoperator.api.tuning.QueryTuningRequest;
import io.dbaoperator.api.tuning.QueryTuningRequestSpec;
import io.dbaoperator.api.tuning.QueryTuningRequestStatus;
import io.dbaoperator.api.tuning.TuningPhase;
import io.dbaoperator.kube.Durations;
import io.dbaoperator.kube.MaintenanceWindows;
import io.dbaoperator.references.ReferenceChecks;
import io.dbaoperator.postgres.ConnectionSettings;
import io.dbaoperator.postgres.Databases;
import io.dbaoperator.postgres.PostgresConnector;
import io.dbaoperator.problem.Problem;
import io.dbaoperator.problem.Reason;
import io.dbaoperator.status.ConditionType;
import io.dbaoperator.status.Conditions;
import io.dbaoperator.status.StatusPatcher;
import io.dbaoperator.status.Workflow;
import io.dbaoperator.status.WorkflowRunner;
import io.dbaoperator.status.Step;
import io.dbaoperator.status.WriteAhead;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.ControllerConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.Reconciler;
import io.javaoperatorsdk.operator.api.reconciler.UpdateControl;

/**
 * Reconciles QueryTuningRequest: Analyzing ({@link TuningAnalysis}: EXPLAIN, plan analysis, candidates, HypoPG
 * costing), TestingOnStaging (the best index built for real on staging, EXPLAIN ANALYZE without and with it, then
 * dropped again), then by {@code apply.policy}: Recommended (RecommendOnly), AwaitingApproval (step {@code apply},
 * bound to the index's DDL) or straight to Applying (Automatic); Applying ({@link IndexApplier}: CREATE INDEX
 * CONCURRENTLY with lock_timeout and retries, an INVALID leftover dropped and reported); Monitoring (the index's
 * idx_scan and size from pg_stat_user_indexes, every {@code dba.tuning.monitor-interval}) until
 * {@code spec.unusedAfter} has passed, then the closed loop ({@link MeasuredGains}: the statement's real mean time
 * from pg_stat_statements after the index against the baseline stored before it): Completed, or, when it brought no
 * gain and {@code followUp.onNoGain} is ProposeRemoval, AwaitingRemovalApproval (step {@code remove}) and Removing
 * (DROP INDEX CONCURRENTLY). With {@code spec.indexHygiene} the phases are {@link HygieneSteps}'.
 */
@ControllerConfiguration(name = "querytuningrequest", generationAwareEventProcessing = false)
public class QueryTuningRequestReconciler implements Reconciler<QueryTuningRequest>,
        Workflow<QueryTuningRequest, QueryTuningRequestStatus, QueryTuningRequestReconciler.Inputs> {

    private static final Pattern PLACEHOLDER = Pattern.compile("\\$([0-9]+)");
    static final String SHORT_NAME = "qtr";
    static final String STEP = "apply";
    static final Duration LOCK_TIMEOUT = Duration.ofMillis(500);
    static final int LOCK_RETRIES = 10;
    static final Duration BUILD_TIMEOUT = Duration.ofHours(2);
    /** SQLSTATE classes of a statement that is itself at fault: syntax/access (42), data (22), canceled (57014). */
    static final List<String> QUERY_ERRORS = List.of("42", "22", "57014");

    private final ReferenceChecks checks;
    private final WorkflowRunner runner;
    private final Databases databases;
    private final AdviceSteps advice;
    private final MaintenanceWindows windows;

    public QueryTuningRequestReconciler(ReferenceChecks checks, WorkflowRunner runner, Advisor advisor,
            Databases databases, MaintenanceWindows windows,
            @ConfigProperty(name = "dba.tuning.monitor-interval", defaultValue = "1h") String monitorInterval) {
        this.databases = databases;
        this.windows = windows;
        this.checks = checks;
        this.runner = runner;
        this.advice = new AdviceSteps(advisor, Durations.parse("dba.tuning.monitor-interval", monitorInterval),
                this::history);
    }

    record Inputs(ConnectionSettings prod, ConnectionSettings staging, int timeoutMs, Duration unusedAfter,
            Duration minObservation) {
    }

    /** No event source of its own: the controller's cache of the requests serves the reads of a namespace's others. */
    @Override
    public List<io.javaoperatorsdk.operator.processing.event.source.EventSource<?, QueryTuningRequest>>
            prepareEventSources(io.javaoperatorsdk.operator.api.reconciler.EventSourceContext<QueryTuningRequest>
                    context) {
        checks.caches().share(QueryTuningRequest.class, context.getPrimaryCache());
        return List.of();
    }

    @Override
    public UpdateControl<QueryTuningRequest> reconcile(QueryTuningRequest request, Context<QueryTuningRequest> context) {
        return runner.run(request, context, StatusPatcher.copy(request.getStatus(), QueryTuningRequestStatus.class),
                this);
    }

    @Override
    public Validated<Inputs> validate(QueryTuningRequest request, QueryTuningRequestStatus status) {
        QueryTuningRequestSpec spec = request.getSpec();
        String ns = request.getMetadata().getNamespace();
        if (spec.query != null) {
            int needed = highestPlaceholder(spec.query);
            int given = spec.parameters == null ? 0 : spec.parameters.size();
            if (needed != given) {
                throw Problem.invalid(Reason.InvalidSpec, "spec.query uses placeholders up to $" + needed + " but "
                        + given + " parameter(s) are given in spec.parameters").exception();
            }
            try {
                QueryText.of(spec.query);
            } catch (RuntimeException e) {
                throw Problem.invalid(Reason.InvalidSpec, "spec.query: " + e.getMessage()).exception();
            }
        }
        var dbs = checks.productionAndStaging(ns, spec.database, spec.stagingDatabase);
        return new Validated<>(new Inputs(dbs.production(), dbs.staging(),
                (int) Durations.parse("spec.statementTimeout", spec.statementTimeout).toMillis(),
                Durations.parse("spec.unusedAfter", spec.unusedAfter), spec.indexHygiene == null ? null
                        : Durations.parse("spec.indexHygiene.minObservation", spec.indexHygiene.minObservation)),
                dbs.summary());
    }

    @Override
    public Duration advance(QueryTuningRequest request, QueryTuningRequestStatus st, Inputs in, WriteAhead log,
            Context<QueryTuningRequest> context) throws SQLException {
        try {
            return phases(request, st, in, log);
        } catch (IllegalArgumentException e) {
            throw Problem.invalid(Reason.InvalidSpec, e.getMessage()).exception();
        }
    }

    @Override
    public Duration databaseError(QueryTuningRequest request, QueryTuningRequestStatus st, Inputs in, SQLException e) {
        if (st.phase == TuningPhase.Analyzing && e.getSQLState() != null
                && QUERY_ERRORS.stream().anyMatch(e.getSQLState()::startsWith)) {
            // the query itself is wrong (syntax, a missing table or column, a type) or too slow for the
            // timeout: the database's own words, and the request ends
            String said = e instanceof org.postgresql.util.PSQLException p && p.getServerErrorMessage() != null
                    ? p.getServerErrorMessage().getMessage() : e.getMessage();
            throw Problem.invalid(Reason.QueryFailed, "the statement failed on the database (SQLSTATE "
                    + e.getSQLState() + "): " + said).exception();
        }
        throw PostgresConnector.classify(e, in.prod()).exception();
    }

    @Override
    public void onProblem(QueryTuningRequest request, QueryTuningRequestStatus st, Problem problem) {
        if (st.phase == null || st.phase == TuningPhase.Pending || st.phase == TuningPhase.Analyzing) {
            st.phase = Phase.move(st.phase, problem.permanent() ? TuningPhase.Failed : TuningPhase.Pending);
        }
    }

    private Duration phases(QueryTuningRequest request, QueryTuningRequestStatus st, Inputs in,
            WriteAhead log) throws SQLException {
        QueryTuningRequestSpec spec = request.getSpec();
        String id = "dba-operator/tuning/" + request.getMetadata().getNamespace() + "/" + request.getMetadata().getName();
        try (Connection prod = databases.open(in.prod(), id);
                Connection staging = in.staging() == null ? null : databases.open(in.staging(), id)) {
            MaintenanceWindows.State window = windows.now(request, spec.maintenanceWindow);
            if (window.open()) {
                st.waitingForWindow = null;
            }
            if (spec.indexHygiene != null) {
                return HygieneSteps.MACHINE.drive(new TuningRun(request, st, in, log, prod, staging, window,
                        new HygieneSteps.Scope(spec.indexHygiene.schemas, in.minObservation(),
                                youngIndexes(request, in.minObservation()))), log);
            }
            return advice.machine().drive(new TuningRun(request, st, in, log, prod, staging, window, null), log);
        }
    }

    /**
     * Indexes a tuning request of this namespace created less than {@code window} ago: their zero scans say nothing
     * yet, so the hygiene review leaves them alone (schema.index).
     */
    private java.util.Set<String> youngIndexes(QueryTuningRequest request, Duration window) {
        java.util.Set<String> out = new java.util.HashSet<>();
        Instant since = Instant.now().minus(window);
        for (QueryTuningRequest q : checks.caches().list(QueryTuningRequest.class,
                request.getMetadata().getNamespace())) {
            var st = q.getStatus();
            if (st == null || st.recommendations == null || st.recommendations.isEmpty()) {
                continue;
            }
            var r = st.recommendations.get(0);
            if (r.appliedAt != null && r.removedAt == null && Instant.parse(r.appliedAt).isAfter(since)) {
                out.add(FollowUpSteps.schemaOf(r) + "." + r.indexName);
            }
        }
        return out;
    }

    /** The fate of every applied recommendation in the namespace whose follow-up ended: the ranking's evidence. */
    private List<Ranking.Outcome> history(QueryTuningRequest request) {
        List<Ranking.Outcome> out = new ArrayList<>();
        for (QueryTuningRequest q : checks.caches().list(QueryTuningRequest.class,
                request.getMetadata().getNamespace())) {
            var st = q.getStatus();
            if (st == null || st.phase != TuningPhase.Completed || st.recommendations == null
                    || st.recommendations.isEmpty()) {
                continue;
            }
            var applied = st.recommendations.get(0);
            if (applied.usage != null && applied.usage.unused != null) {
                boolean used = !applied.usage.unused;
                out.add(new Ranking.Outcome(Ranking.kind(applied.rationale), used,
                        MeasuredGains.realized(applied.measured, used, applied.improvementPercent)));
            }
        }
        return out;
    }

    /** A step that changes production waits for the window; the approval it consumed stays recorded. */
    static Step outsideWindow(QueryTuningRequest request, QueryTuningRequestStatus st, String step,
            MaintenanceWindows.State window) {
        // counted from when the window was judged closed, on the operator's clock
        var gate = MaintenanceWindows.gate(step, window, null, window.at(), null);
        st.message = gate.waiting();
        st.waitingForWindow = String.valueOf(gate.opensAt());
        ready(request, st, false, Reason.OutsideMaintenanceWindow, st.message);
        return Step.rest(gate.requeue());
    }

    static Step finish(QueryTuningRequest request, QueryTuningRequestStatus st, TuningPhase phase,
            String message) {
        st.phase = Phase.move(st.phase, phase);
        st.message = message;
        ready(request, st, phase == TuningPhase.Completed || phase == TuningPhase.Recommended
                || phase == TuningPhase.NoRecommendation, phase == TuningPhase.Rejected ? Reason.Rejected
                        : Reason.TuningDone, message);
        return Step.onEvent();
    }

    static void ready(QueryTuningRequest r, QueryTuningRequestStatus st, boolean ok, Reason reason,
            String message) {
        st.conditions = Conditions.set(st.conditions, ConditionType.Ready, ok, reason, message, generation(r),
                Instant.now());
    }

    static long generation(QueryTuningRequest r) {
        return r.getMetadata().getGeneration() == null ? 0 : r.getMetadata().getGeneration();
    }

    static int highestPlaceholder(String sql) {
        int max = 0;
        Matcher m = PLACEHOLDER.matcher(sql);
        while (m.find()) {
            max = Math.max(max, Integer.parseInt(m.group(1)));
        }
        return max;
    }
}
