package io.dbaoperator.tuning;

import static io.dbaoperator.tuning.QueryTuningRequestReconciler.BUILD_TIMEOUT;
import static io.dbaoperator.tuning.QueryTuningRequestReconciler.LOCK_RETRIES;
import static io.dbaoperator.tuning.QueryTuningRequestReconciler.LOCK_TIMEOUT;
import static io.dbaoperator.tuning.QueryTuningRequestReconciler.STEP;
import static io.dbaoperator.tuning.QueryTuningRequestReconciler.finish;
import static io.dbaoperator.tuning.QueryTuningRequestReconciler.ready;

import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;

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
import io.dbaoperator.problem.Reason;
import io.dbaoperator.status.PhaseMachine;
import io.dbaoperator.status.Step;

/**
 * The phase handlers of a QueryTuningRequest that asks for index advice: Analyzing, TestingOnStaging, the
 * approval, Applying (acting: entered with the consumed approval stored, and the baseline stored before CREATE
 * INDEX CONCURRENTLY starts), Monitoring, and the follow-up's removal ({@link FollowUpSteps}).
 */
final class AdviceSteps {

    private final Advisor advisor;
    private final Duration monitorInterval;
    private final History history;
    private final PhaseMachine<TuningPhase, TuningRun> machine;

    /** The fate of every applied recommendation in the request's namespace whose follow-up ended. */
    @FunctionalInterface
    interface History {
        List<Ranking.Outcome> of(QueryTuningRequest request);
    }

    AdviceSteps(Advisor advisor, Duration monitorInterval, History history) {
        this.advisor = advisor;
        this.monitorInterval = monitorInterval;
        this.history = history;
        this.machine = PhaseMachine.<TuningPhase, TuningRun>of(TuningPhase.class, TuningPhase.Pending, r -> r.st().phase)
                .decides(TuningPhase.Pending, this::analyzing)
                .decides(TuningPhase.Analyzing, this::analyzing)
                .decides(TuningPhase.Failed, this::analyzing)
                .decides(TuningPhase.TestingOnStaging, this::testingOnStaging)
                .decides(TuningPhase.AwaitingApproval, AdviceSteps::awaitingApproval)
                .acts(TuningPhase.Applying, AdviceSteps::applying)
                .decides(TuningPhase.Monitoring, this::monitoring)
                .decides(TuningPhase.AwaitingRemovalApproval, FollowUpSteps::awaitingRemovalApproval)
                .acts(TuningPhase.Removing, FollowUpSteps::removing)
                .build();
    }

    PhaseMachine<TuningPhase, TuningRun> machine() {
        return machine;
    }

    /** EXPLAIN, plan analysis, candidates and their costing; the ranking weighs what earlier advice brought. */
    private Step analyzing(TuningRun r) throws SQLException {
        QueryTuningRequest request = r.request();
        QueryTuningRequestStatus st = r.st();
        QueryTuningRequestSpec spec = request.getSpec();
        st.phase = Phase.move(st.phase, TuningPhase.Analyzing);
        List<TuningAnalysis.Target> targets = TuningAnalysis.targets(r.prod(), spec);
        if (targets.isEmpty()) {
            return finish(request, st, TuningPhase.NoRecommendation, spec.queryId != null
                    ? "queryid " + spec.queryId + " is not in pg_stat_statements of this database"
                    : "no statement in pg_stat_statements is that slow");
        }
        TuningAnalysis.Result result = TuningAnalysis.run(r.prod(), r.staging(), targets, spec.minImprovementPercent,
                r.in().timeoutMs(), advisor);
        st.advisorRationale = result.advisorRationale();
        st.analyzed = result.analyzed();
        List<Ranking.Outcome> earlier = history.of(request);
        st.recommendations = Ranking.rank(result.recommendations(), earlier);
        String learned = Ranking.summary(earlier);
        st.ranking = learned == null ? "by estimated improvement (no applied recommendation in this "
                + "namespace has completed yet)" : "by estimated improvement weighted by how earlier "
                        + "recommendations of the same kind were used once applied (" + learned + ")";
        st.costingMethod = result.costingMethod();
        st.bestImprovementPercent = result.recommendations().isEmpty() ? null
                : result.recommendations().get(0).improvementPercent;
        if (result.costingMethod() == null) {
            return finish(request, st, TuningPhase.NoRecommendation, "no way to cost candidates: HypoPG is "
                    + "not installed on the database and there is no stagingDatabase to build them on");
        }
        if (result.recommendations().isEmpty()) {
            return finish(request, st, TuningPhase.NoRecommendation, "no index cuts the estimated cost by "
                    + spec.minImprovementPercent + "% or more (" + st.analyzed.stream()
                            .mapToInt(a -> a.findings.size()).sum() + " finding(s) in the plan)");
        }
        return proceed(r, r.staging() != null ? TuningPhase.TestingOnStaging : byPolicy(spec));
    }

    /** The best candidate built for real on staging; only one the plan there uses goes on. */
    private Step testingOnStaging(TuningRun r) throws SQLException {
        QueryTuningRequestStatus.IndexRecommendation best = r.best();
        List<TuningAnalysis.Target> targets = TuningAnalysis.targets(r.prod(), r.request().getSpec());
        TuningAnalysis.Target target = targets.get(Math.min(best.query, targets.size() - 1));
        best.staging = stagingTest(r.staging(), target, best, r.in().timeoutMs());
        if (!Boolean.TRUE.equals(best.staging.used)) {
            return finish(r.request(), r.st(), TuningPhase.NoRecommendation, "the best candidate " + best.indexName
                    + " was not used by the plan on staging (cost " + best.staging.costBefore + " -> "
                    + best.staging.costAfter + "): nothing is applied");
        }
        return proceed(r, byPolicy(r.request().getSpec()));
    }

    /** Recommended ends the request here; the other phases decide next. */
    private static Step proceed(TuningRun r, TuningPhase to) {
        if (to == TuningPhase.Recommended) {
            QueryTuningRequestStatus.IndexRecommendation best = r.best();
            return finish(r.request(), r.st(), TuningPhase.Recommended, "recommended " + best.ddl + " ("
                    + best.improvementPercent + "% lower estimated cost); apply.policy RecommendOnly");
        }
        r.st().phase = Phase.move(r.st().phase, to);
        return Step.next();
    }

    private static TuningPhase byPolicy(QueryTuningRequestSpec spec) {
        return switch (spec.apply.policy) {
            case RecommendOnly -> TuningPhase.Recommended;
            case Automatic -> TuningPhase.Applying;
            case AfterApproval -> TuningPhase.AwaitingApproval;
        };
    }

    /** Step {@code apply}, bound to the index's DDL; approved, Applying is stored before the index is built. */
    private static Step awaitingApproval(TuningRun r) {
        QueryTuningRequestStatus st = r.st();
        QueryTuningRequestStatus.IndexRecommendation best = r.best();
        String digest = PlanDigest.of(Map.of("ddl", best.ddl));
        var result = ApprovalStep.check(r.request(), st, new GatedStep(STEP, best.ddl + " ("
                + best.improvementPercent + "% lower estimated cost" + (best.staging == null ? ""
                        : ", staging " + best.staging.msBefore + " ms -> " + best.staging.msAfter + " ms")
                + ")", digest, null, QueryTuningRequestReconciler.generation(r.request())),
                QueryTuningRequestReconciler.SHORT_NAME, Instant.now());
        r.log().decided(result.audit());
        if (result.outcome() == GateOutcome.REJECTED) {
            return finish(r.request(), st, TuningPhase.Rejected, "rejected by " + st.rejection.approvedBy
                    + "; no index was created");
        }
        if (result.outcome() == GateOutcome.WAIT) {
            st.message = "waiting for approval of " + best.ddl;
            return Step.onEvent();
        }
        st.phase = Phase.move(st.phase, TuningPhase.Applying);
        best.appliedUnder = ApprovalStep.under(st, STEP, digest);
        return Step.next();
    }

    /**
     * Inside the window: the statement's real mean time so far is measured and stored (the closed loop's baseline),
     * then CREATE INDEX CONCURRENTLY runs.
     */
    private static Step applying(TuningRun r) throws SQLException {
        QueryTuningRequestStatus.IndexRecommendation best = r.best();
        if (!r.window().open()) {
            return QueryTuningRequestReconciler.outsideWindow(r.request(), r.st(), "CREATE INDEX CONCURRENTLY of "
                    + best.indexName, r.window());
        }
        if (best.measured == null) {
            best.measured = MeasuredGains.baseline(r.prod(), r.st().analyzed.get(best.query).queryId);
            return Step.act(() -> build(r));
        }
        return build(r);
    }

    private static Step build(TuningRun r) throws SQLException {
        QueryTuningRequest request = r.request();
        QueryTuningRequestStatus st = r.st();
        QueryTuningRequestStatus.IndexRecommendation best = r.best();
        IndexApplier.Applied applied = IndexApplier.apply(r.prod(), best.indexName, best.ddl, LOCK_TIMEOUT,
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
        r.log().executed(AuditEvent.byOperator(request, "apply", STEP, "succeeded", null, details),
                "apply/" + best.indexName);
        return Step.next();
    }

    /** The index's use, every monitor interval, until unusedAfter has passed; then the follow-up. */
    private Step monitoring(TuningRun r) throws SQLException {
        QueryTuningRequest request = r.request();
        QueryTuningRequestStatus st = r.st();
        QueryTuningRequestStatus.IndexRecommendation best = r.best();
        long[] usage = IndexApplier.usage(r.prod(), best.indexName);
        // the index the request says it created is checked each time: gone or INVALID is said, never followed blind
        if (usage == null) {
            st.phase = Phase.move(st.phase, TuningPhase.Completed);
            st.message = "index " + best.indexName + ", created by this request at " + best.appliedAt + ", no longer "
                    + "exists on production (dropped outside this request): its use cannot be followed any more";
            ready(request, st, false, Reason.IndexMissing, st.message);
            return Step.onEvent();
        }
        if (usage[2] == 0) {
            st.message = "index " + best.indexName + " exists but is INVALID (pg_index.indisvalid is false, as a "
                    + "failed REINDEX CONCURRENTLY leaves it): queries cannot use it; rebuild it with REINDEX INDEX "
                    + "CONCURRENTLY " + io.dbaoperator.sql.Identifiers.quote(FollowUpSteps.schemaOf(best)) + "."
                    + io.dbaoperator.sql.Identifiers.quote(best.indexName);
            ready(request, st, false, Reason.IndexInvalid, st.message);
            return Step.rest(monitorInterval);
        }
        QueryTuningRequestStatus.Usage u = new QueryTuningRequestStatus.Usage();
        u.checkedAt = Instant.now().toString();
        u.idxScan = usage[0];
        u.sizeBytes = usage[1];
        best.usage = u;
        // the knowledge base keeps the series (status keeps the latest): one record per check
        r.log().executed(AuditEvent.byOperator(request, "usage", STEP, "observed", null, Map.of("index",
                best.indexName, "idxScan", u.idxScan, "sizeBytes", u.sizeBytes)), null);
        Instant applied = Instant.parse(best.appliedAt);
        if (Instant.now().isAfter(applied.plus(r.in().unusedAfter()))) {
            return FollowUpSteps.followedUp(r);
        }
        st.message = best.applied + "; following its use: " + u.idxScan + " scan(s) so far, "
                + io.dbaoperator.status.Sizes.human(u.sizeBytes);
        ready(request, st, false, Reason.InProgress, best.applied + "; following its use");
        Duration left = Duration.between(Instant.now(), applied.plus(r.in().unusedAfter()));
        return Step.rest(left.compareTo(monitorInterval) < 0 ? left.plusMillis(100) : monitorInterval);
    }

    /** The index built for real on staging, EXPLAIN ANALYZE without and with it, then dropped again. */
    private static QueryTuningRequestStatus.StagingTest stagingTest(Connection staging, TuningAnalysis.Target t,
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
                st.execute("DROP INDEX IF EXISTS " + io.dbaoperator.sql.Identifiers.quote(FollowUpSteps.schemaOf(r))
                        + "." + io.dbaoperator.sql.Identifiers.quote(r.indexName));
            }
        }
        return s;
    }
}
