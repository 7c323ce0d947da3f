package io.dbaoperator.tuning;

import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.eclipse.microprofile.config.inject.ConfigProperty;

import io.dbaoperator.api.common.Phase;
import io.dbaoperator.api.tuning.QueryTuningRequest;
import io.dbaoperator.api.tuning.QueryTuningRequestSpec;
import io.dbaoperator.api.tuning.QueryTuningRequestStatus;
import io.dbaoperator.api.tuning.TuningPhase;
import io.dbaoperator.approval.ApprovalStep;
import io.dbaoperator.approval.GateOutcome;
import io.dbaoperator.approval.GatedStep;
import io.dbaoperator.approval.PlanDigest;
import io.dbaoperator.audit.AuditEvent;
import io.dbaoperator.kube.Durations;
import io.dbaoperator.kube.MaintenanceWindows;
import io.dbaoperator.references.ReferenceChecks;
import io.dbaoperator.postgres.ConnectionSettings;
import io.dbaoperator.postgres.Databases;
import io.dbaoperator.postgres.PostgresConnector;
import io.dbaoperator.problem.Problem;
import io.dbaoperator.problem.Reason;
import io.dbaoperator.sql.Identifiers;
import io.dbaoperator.status.ConditionType;
import io.dbaoperator.status.Conditions;
import io.dbaoperator.status.StatusPatcher;
import io.dbaoperator.status.Workflow;
import io.dbaoperator.status.WorkflowRunner;
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
    private final Duration monitorInterval;
    private final Advisor advisor;
    private final MaintenanceWindows windows;
    private final io.fabric8.kubernetes.client.KubernetesClient client;

    public QueryTuningRequestReconciler(ReferenceChecks checks, WorkflowRunner runner, Advisor advisor,
            io.fabric8.kubernetes.client.KubernetesClient client, Databases databases, MaintenanceWindows windows,
            @ConfigProperty(name = "dba.tuning.monitor-interval", defaultValue = "1h") String monitorInterval) {
        this.databases = databases;
        this.advisor = advisor;
        this.client = client;
        this.windows = windows;
        this.checks = checks;
        this.runner = runner;
        this.monitorInterval = Durations.parse("dba.tuning.monitor-interval", monitorInterval);
    }

    record Inputs(ConnectionSettings prod, ConnectionSettings staging, int timeoutMs, Duration unusedAfter,
            Duration minObservation) {
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
                return HygieneSteps.advance(request, st, prod, new HygieneSteps.Scope(spec.indexHygiene.schemas,
                        in.minObservation(), youngIndexes(request, in.minObservation()), window), log);
            }
            if (st.phase == null || st.phase == TuningPhase.Pending || st.phase == TuningPhase.Analyzing
                    || st.phase == TuningPhase.Failed) {
                st.phase = Phase.move(st.phase, TuningPhase.Analyzing);
                List<TuningAnalysis.Target> targets = TuningAnalysis.targets(prod, spec);
                if (targets.isEmpty()) {
                    return finish(request, st, TuningPhase.NoRecommendation, spec.queryId != null
                            ? "queryid " + spec.queryId + " is not in pg_stat_statements of this database"
                            : "no statement in pg_stat_statements is that slow");
                }
                TuningAnalysis.Result r = TuningAnalysis.run(prod, staging, targets,
                        spec.minImprovementPercent, in.timeoutMs(), advisor);
                st.advisorRationale = r.advisorRationale();
                st.analyzed = r.analyzed();
                List<Ranking.Outcome> history = history(request);
                st.recommendations = Ranking.rank(r.recommendations(), history);
                String learned = Ranking.summary(history);
                st.ranking = learned == null ? "by estimated improvement (no applied recommendation in this "
                        + "namespace has completed yet)" : "by estimated improvement weighted by how earlier "
                                + "recommendations of the same kind were used once applied (" + learned + ")";
                st.costingMethod = r.costingMethod();
                st.bestImprovementPercent = r.recommendations().isEmpty() ? null
                        : r.recommendations().get(0).improvementPercent;
                if (r.costingMethod() == null) {
                    return finish(request, st, TuningPhase.NoRecommendation, "no way to cost candidates: HypoPG is "
                            + "not installed on the database and there is no stagingDatabase to build them on");
                }
                if (r.recommendations().isEmpty()) {
                    return finish(request, st, TuningPhase.NoRecommendation, "no index cuts the estimated cost by "
                            + spec.minImprovementPercent + "% or more (" + st.analyzed.stream()
                                    .mapToInt(a -> a.findings.size()).sum() + " finding(s) in the plan)");
                }
                st.phase = Phase.move(st.phase, staging != null ? TuningPhase.TestingOnStaging : next(spec));
            }
            QueryTuningRequestStatus.IndexRecommendation best = st.recommendations.get(0);
            if (st.phase == TuningPhase.TestingOnStaging) {
                List<TuningAnalysis.Target> targets = TuningAnalysis.targets(prod, spec);
                TuningAnalysis.Target target = targets.get(Math.min(best.query, targets.size() - 1));
                best.staging = stagingTest(staging, target, best, in.timeoutMs());
                if (!Boolean.TRUE.equals(best.staging.used)) {
                    return finish(request, st, TuningPhase.NoRecommendation, "the best candidate " + best.indexName
                            + " was not used by the plan on staging (cost " + best.staging.costBefore + " -> "
                            + best.staging.costAfter + "): nothing is applied");
                }
                st.phase = Phase.move(st.phase, next(spec));
            }
            if (st.phase == TuningPhase.Recommended) {
                return finish(request, st, TuningPhase.Recommended, "recommended " + best.ddl + " ("
                        + best.improvementPercent + "% lower estimated cost); apply.policy RecommendOnly");
            }
            if (st.phase == TuningPhase.AwaitingApproval) {
                String digest = PlanDigest.of(Map.of("ddl", best.ddl));
                var result = ApprovalStep.check(request, st, new GatedStep(STEP, best.ddl + " ("
                        + best.improvementPercent + "% lower estimated cost" + (best.staging == null ? ""
                                : ", staging " + best.staging.msBefore + " ms -> " + best.staging.msAfter + " ms")
                        + ")", digest, null, generation(request)), SHORT_NAME, Instant.now());
                log.decided(result.audit());
                if (result.outcome() == GateOutcome.REJECTED) {
                    return finish(request, st, TuningPhase.Rejected, "rejected by " + st.rejection.approvedBy
                            + "; no index was created");
                }
                if (result.outcome() == GateOutcome.WAIT) {
                    st.message = "waiting for approval of " + best.ddl;
                    return null;
                }
                st.phase = Phase.move(st.phase, TuningPhase.Applying);
                best.appliedUnder = ApprovalStep.under(st, STEP, digest);
                // decide, persist, act: the consumed approval is stored before CREATE INDEX CONCURRENTLY starts
                log.persist();
            }
            if (st.phase == TuningPhase.Applying) {
                if (!window.open()) {
                    return outsideWindow(request, st, "CREATE INDEX CONCURRENTLY of " + best.indexName, window);
                }
                if (best.measured == null) {
                    // the closed loop's baseline: the statement's real mean time so far, stored before the index
                    best.measured = MeasuredGains.baseline(prod, st.analyzed.get(best.query).queryId);
                    log.persist();
                }
                IndexApplier.Applied applied = IndexApplier.apply(prod, best.indexName, best.ddl, LOCK_TIMEOUT,
                        LOCK_RETRIES, BUILD_TIMEOUT);
                best.appliedAt = Instant.now().toString();
                st.phase = Phase.move(st.phase, TuningPhase.Monitoring);
                best.applied = applied.existed() ? best.indexName + " exists and is valid (created by an earlier "
                        + "attempt of this request)" : "created " + best.indexName + " concurrently in "
                                + applied.millis() + " ms (" + applied.attempts() + " attempt(s))"
                                + (applied.leftoverDropped() ? "; an INVALID leftover of an earlier build was "
                                        + "dropped first" : "");
                st.message = best.applied;
                ready(request, st, false, Reason.InProgress, best.applied + "; following its use");
                Map<String, Object> details = new java.util.LinkedHashMap<>(Map.of("ddl", best.ddl,
                        "improvementPercent", best.improvementPercent, "leftoverDropped", applied.leftoverDropped()));
                if (best.appliedUnder != null) {
                    details.put("approval", best.appliedUnder);
                }
                // keyed by the index: a retry after a 409 or a restart finds it built and reports it again
                log.executed(AuditEvent.byOperator(request, "apply", STEP, "succeeded", null, details),
                        "apply/" + best.indexName);
            }
            if (st.phase == TuningPhase.Monitoring) {
                long[] usage = IndexApplier.usage(prod, best.indexName);
                QueryTuningRequestStatus.Usage u = new QueryTuningRequestStatus.Usage();
                u.checkedAt = Instant.now().toString();
                if (usage == null) {
                    return finish(request, st, TuningPhase.Completed, "index " + best.indexName + " no longer exists "
                            + "on production (dropped by someone)");
                }
                u.idxScan = usage[0];
                u.sizeBytes = usage[1];
                best.usage = u;
                // the knowledge base keeps the series (status keeps the latest): one record per check
                log.executed(AuditEvent.byOperator(request, "usage", STEP, "observed", null, Map.of("index",
                        best.indexName, "idxScan", u.idxScan, "sizeBytes", u.sizeBytes)), null);
                Instant applied = Instant.parse(best.appliedAt);
                if (Instant.now().isAfter(applied.plus(in.unusedAfter()))) {
                    return FollowUpSteps.followedUp(request, st, best, prod, log, window);
                }
                st.message = best.applied + "; following its use: " + u.idxScan + " scan(s) so far, "
                        + u.sizeBytes + " bytes";
                Duration left = Duration.between(Instant.now(), applied.plus(in.unusedAfter()));
                return left.compareTo(monitorInterval) < 0 ? left.plusMillis(100) : monitorInterval;
            }
            if (st.phase == TuningPhase.AwaitingRemovalApproval || st.phase == TuningPhase.Removing) {
                return FollowUpSteps.removal(request, st, best, prod, log, window);
            }
            return null;
        }
    }

    /**
     * Indexes a tuning request of this namespace created less than {@code window} ago: their zero scans say nothing
     * yet, so the hygiene review leaves them alone (schema.index).
     */
    private java.util.Set<String> youngIndexes(QueryTuningRequest request, Duration window) {
        java.util.Set<String> out = new java.util.HashSet<>();
        Instant since = Instant.now().minus(window);
        for (QueryTuningRequest q : client.resources(QueryTuningRequest.class)
                .inNamespace(request.getMetadata().getNamespace()).list().getItems()) {
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
        for (QueryTuningRequest q : client.resources(QueryTuningRequest.class)
                .inNamespace(request.getMetadata().getNamespace()).list().getItems()) {
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

    private static TuningPhase next(QueryTuningRequestSpec spec) {
        return switch (spec.apply.policy) {
            case RecommendOnly -> TuningPhase.Recommended;
            case Automatic -> TuningPhase.Applying;
            case AfterApproval -> TuningPhase.AwaitingApproval;
        };
    }

    /** The index built for real on staging, EXPLAIN ANALYZE without and with it, then dropped again. */
    private QueryTuningRequestStatus.StagingTest stagingTest(Connection staging, TuningAnalysis.Target t,
            QueryTuningRequestStatus.IndexRecommendation r, int timeoutMs) throws SQLException {
        QueryTuningRequestStatus.StagingTest s = new QueryTuningRequestStatus.StagingTest();
        boolean values = t.parameters() != null;
        ExplainPlan before = values ? t.query().explain(staging, t.parameters(), true, false, timeoutMs)
                : t.query().explainGeneric(staging, timeoutMs);
        staging.setAutoCommit(true);
        try (var st = staging.createStatement()) {
            st.execute(r.ddl.replaceFirst("^CREATE INDEX CONCURRENTLY ", "CREATE INDEX "));
            try {
                ExplainPlan after = values ? t.query().explain(staging, t.parameters(), true, false, timeoutMs)
                        : t.query().explainGeneric(staging, timeoutMs);
                s.costBefore = before.totalCost();
                s.costAfter = after.totalCost();
                s.msBefore = before.executionMs();
                s.msAfter = after.executionMs();
                s.used = after.usesIndex(r.indexName);
            } finally {
                String schema = r.table.contains(".") ? r.table.substring(0, r.table.indexOf('.')) : "public";
                st.execute("DROP INDEX IF EXISTS " + io.dbaoperator.sql.Identifiers.quote(schema) + "."
                        + io.dbaoperator.sql.Identifiers.quote(r.indexName));
            }
        }
        return s;
    }

    /** A step that changes production waits for the window; the approval it consumed stays recorded. */
    static Duration outsideWindow(QueryTuningRequest request, QueryTuningRequestStatus st, String step,
            MaintenanceWindows.State window) {
        var gate = MaintenanceWindows.gate(step, window, null, Instant.now(), null);
        st.message = gate.waiting();
        st.waitingForWindow = String.valueOf(gate.opensAt());
        ready(request, st, false, Reason.OutsideMaintenanceWindow, st.message);
        return gate.requeue();
    }

    static Duration finish(QueryTuningRequest request, QueryTuningRequestStatus st, TuningPhase phase,
            String message) {
        st.phase = Phase.move(st.phase, phase);
        st.message = message;
        ready(request, st, phase == TuningPhase.Completed || phase == TuningPhase.Recommended
                || phase == TuningPhase.NoRecommendation, phase == TuningPhase.Rejected ? Reason.Rejected
                        : Reason.TuningDone, message);
        return null;
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
