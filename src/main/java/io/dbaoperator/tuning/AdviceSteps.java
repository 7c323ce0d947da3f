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
        long searchBudget = io.dbaoperator.kube.Durations.parse("spec.searchBudget", spec.searchBudget == null ? "5s"
                : spec.searchBudget).toMillis();
        var top = spec.topSlowQueries;
        WorkloadSelection.Budget budget = top == null ? null : new WorkloadSelection.Budget(top.maxIndexes,
                top.maxIndexesPerTable, io.dbaoperator.status.Sizes.parse(top.maxTotalSize,
                        "spec.topSlowQueries.maxTotalSize"), top.maxRegressionPercent, spec.minImprovementPercent);
        TuningAnalysis.Result result = TuningAnalysis.run(r.prod(), r.staging(), targets, spec.minImprovementPercent,
                r.in().timeoutMs(), searchBudget, budget, advisor);
        st.advisorRationale = result.advisorRationale();
        st.analyzed = result.analyzed();
        st.workload = result.workload();
        List<Ranking.Outcome> earlier = history.of(request);
        if (result.workload() == null) {
            st.recommendations = Ranking.rank(result.recommendations(), earlier);
            if (!st.recommendations.isEmpty()) {
                st.recommendations.get(0).selected = true;
            }
            String learned = Ranking.summary(earlier);
            st.ranking = learned == null ? "by estimated improvement (no applied recommendation in this "
                    + "namespace has completed yet)" : "by estimated improvement weighted by how earlier "
                            + "recommendations of the same kind were used once applied (" + learned + ")";
        } else {
            st.recommendations = result.recommendations();
            st.ranking = "workload mode: the set chosen for the statements together first (selected), by the "
                    + "workload's estimated cost weighted by calls, with write overhead; the others for comparison";
        }
        st.costingMethod = result.costingMethod();
        st.bestImprovementPercent = st.recommendations.stream().filter(x -> Boolean.TRUE.equals(x.selected))
                .map(x -> x.improvementPercent).findFirst().orElse(null);
        if (result.costingMethod() == null) {
            return finish(request, st, TuningPhase.NoRecommendation, "no way to cost candidates: HypoPG is "
                    + "not installed on the database and there is no stagingDatabase to build them on");
        }
        if (st.recommendations.stream().noneMatch(x -> Boolean.TRUE.equals(x.selected))) {
            return finish(request, st, TuningPhase.NoRecommendation, st.workload != null
                    && !st.recommendations.isEmpty() ? "no set of indexes lowers the workload's estimated cost "
                            + "within the budget (" + st.workload.budget + ")" + (st.workload.refused.isEmpty() ? ""
                                    : "; refused: " + st.workload.refused.get(0))
                    : "no index cuts the estimated cost by " + spec.minImprovementPercent + "% or more ("
                            + st.analyzed.stream().mapToInt(a -> a.findings.size()).sum() + " finding(s) in the plan)");
        }
        return proceed(r, r.staging() != null ? TuningPhase.TestingOnStaging : byPolicy(spec));
    }

    /**
     * Each index of the set built for real on staging; only those the plan there uses go on (for one statement:
     * its best index, or nothing).
     */
    private Step testingOnStaging(TuningRun r) throws SQLException {
        List<TuningAnalysis.Target> targets = TuningAnalysis.targets(r.prod(), r.request().getSpec());
        List<String> dropped = new java.util.ArrayList<>();
        List<QueryTuningRequestStatus.IndexRecommendation> set = r.set();
        for (QueryTuningRequestStatus.IndexRecommendation rec : set) {
            TuningAnalysis.Target target = targets.get(Math.min(rec.query, targets.size() - 1));
            rec.staging = stagingTest(r.staging(), target, rec, r.in().timeoutMs());
            if (!Boolean.TRUE.equals(rec.staging.used)) {
                dropped.add(rec.indexName + " was not used by the plan on staging (cost " + rec.staging.costBefore
                        + " -> " + rec.staging.costAfter + ")");
                if (rec.selected != null) {
                    rec.selected = false;
                }
            }
        }
        if (set.stream().noneMatch(x -> Boolean.TRUE.equals(x.staging.used))
                || r.st().workload == null && !dropped.isEmpty()) {
            return finish(r.request(), r.st(), TuningPhase.NoRecommendation, (r.st().workload == null
                    ? "the best candidate " : "") + String.join("; ", dropped) + ": nothing is applied");
        }
        if (!dropped.isEmpty()) {
            r.st().workload.indexes.removeIf(n -> dropped.stream().anyMatch(d -> d.startsWith(n + " ")));
            r.st().workload.refused.addAll(dropped);
        }
        return proceed(r, byPolicy(r.request().getSpec()));
    }

    /** Recommended ends the request here; the other phases decide next. */
    private static Step proceed(TuningRun r, TuningPhase to) {
        if (to == TuningPhase.Recommended) {
            return finish(r.request(), r.st(), TuningPhase.Recommended, "recommended " + describe(r)
                    + "; apply.policy RecommendOnly");
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

    /** What the set is, for messages and the approval request. */
    static String describe(TuningRun r) {
        List<QueryTuningRequestStatus.IndexRecommendation> set = r.set();
        if (set.size() == 1) {
            QueryTuningRequestStatus.IndexRecommendation best = set.get(0);
            return best.ddl + " (" + best.improvementPercent + "% lower estimated cost" + (best.staging == null ? ""
                    : ", staging " + best.staging.msBefore + " ms -> " + best.staging.msAfter + " ms") + ")";
        }
        var w = r.st().workload;
        return set.size() + " indexes: " + String.join("; ", set.stream().map(x -> x.ddl).toList())
                + (w == null ? "" : " (the workload's estimated cost " + w.costBefore + " -> " + w.costAfter + ", "
                        + w.improvementPercent + "% lower)");
    }

    /** The digest an approval is bound to: the one DDL, or every DDL of the set in order. */
    static String digest(List<QueryTuningRequestStatus.IndexRecommendation> set) {
        return set.size() == 1 ? PlanDigest.of(Map.of("ddl", set.get(0).ddl))
                : PlanDigest.of(Map.of("ddls", set.stream().map(x -> x.ddl).toList()));
    }

    /** Step {@code apply}, bound to the set's DDL; approved, Applying is stored before any index is built. */
    private static Step awaitingApproval(TuningRun r) {
        QueryTuningRequestStatus st = r.st();
        List<QueryTuningRequestStatus.IndexRecommendation> set = r.set();
        String digest = digest(set);
        var result = ApprovalStep.check(r.request(), st, new GatedStep(STEP, describe(r), digest, null,
                QueryTuningRequestReconciler.generation(r.request())), QueryTuningRequestReconciler.SHORT_NAME,
                Instant.now());
        r.log().decided(result.audit());
        if (result.outcome() == GateOutcome.REJECTED) {
            return finish(r.request(), st, TuningPhase.Rejected, "rejected by " + st.rejection.approvedBy
                    + "; no index was created");
        }
        if (result.outcome() == GateOutcome.WAIT) {
            st.message = "waiting for approval of " + (set.size() == 1 ? set.get(0).ddl : describe(r));
            return Step.onEvent();
        }
        st.phase = Phase.move(st.phase, TuningPhase.Applying);
        String under = ApprovalStep.under(st, STEP, digest);
        set.forEach(x -> x.appliedUnder = under);
        return Step.next();
    }

    /**
     * Inside the window, one index of the set at a time: its statement's real mean time so far is measured and
     * stored (the closed loop's baseline), then CREATE INDEX CONCURRENTLY runs; Monitoring once all are built.
     */
    private static Step applying(TuningRun r) throws SQLException {
        QueryTuningRequestStatus.IndexRecommendation next = r.set().stream().filter(x -> x.applied == null)
                .findFirst().orElse(null);
        if (next == null) {
            r.st().phase = Phase.move(r.st().phase, TuningPhase.Monitoring);
            return Step.next();
        }
        if (!r.window().open()) {
            return QueryTuningRequestReconciler.outsideWindow(r.request(), r.st(), "CREATE INDEX CONCURRENTLY of "
                    + next.indexName, r.window());
        }
        if (next.measured == null) {
            next.measured = MeasuredGains.baseline(r.prod(), r.st().analyzed.get(next.query).queryId);
            return Step.act(() -> build(r, next));
        }
        return build(r, next);
    }

    private static Step build(TuningRun r, QueryTuningRequestStatus.IndexRecommendation rec) throws SQLException {
        QueryTuningRequest request = r.request();
        QueryTuningRequestStatus st = r.st();
        IndexApplier.Applied applied = IndexApplier.apply(r.prod(), rec.indexName, rec.ddl, LOCK_TIMEOUT,
                LOCK_RETRIES, BUILD_TIMEOUT);
        rec.appliedAt = Instant.now().toString();
        rec.applied = applied.existed() ? rec.indexName + " exists and is valid (created by an earlier "
                + "attempt of this request)" : "created " + rec.indexName + " concurrently in "
                        + applied.millis() + " ms (" + applied.attempts() + " attempt(s))"
                        + (applied.leftoverDropped() ? "; an INVALID leftover of an earlier build was "
                                + "dropped first" : "");
        List<QueryTuningRequestStatus.IndexRecommendation> set = r.set();
        long left = set.stream().filter(x -> x.applied == null).count();
        st.message = set.size() == 1 ? rec.applied : rec.applied + " (" + (set.size() - left) + " of " + set.size()
                + ")";
        if (left == 0) {
            st.phase = Phase.move(st.phase, TuningPhase.Monitoring);
            ready(request, st, false, Reason.InProgress, st.message + "; following its use");
        } else {
            ready(request, st, false, Reason.InProgress, st.message);
        }
        Map<String, Object> details = new java.util.LinkedHashMap<>(Map.of("ddl", rec.ddl,
                "improvementPercent", rec.improvementPercent, "leftoverDropped", applied.leftoverDropped()));
        if (rec.appliedUnder != null) {
            details.put("approval", rec.appliedUnder);
        }
        // keyed by the index: a retry after a 409 or a restart finds it built and reports it again
        r.log().executed(AuditEvent.byOperator(request, "apply", STEP, "succeeded", null, details),
                "apply/" + rec.indexName);
        return Step.next();
    }

    /** The indexes' use, every monitor interval, until unusedAfter has passed; then the follow-up. */
    private Step monitoring(TuningRun r) throws SQLException {
        QueryTuningRequest request = r.request();
        QueryTuningRequestStatus st = r.st();
        List<QueryTuningRequestStatus.IndexRecommendation> set = r.set().stream().filter(x -> x.appliedAt != null)
                .toList();
        List<String> progress = new java.util.ArrayList<>();
        Instant last = Instant.EPOCH;
        for (QueryTuningRequestStatus.IndexRecommendation rec : set) {
            long[] usage = IndexApplier.usage(r.prod(), rec.indexName);
            // each index the request says it created is checked each time: gone or INVALID is said, never followed
            // blind
            if (usage == null) {
                st.phase = Phase.move(st.phase, TuningPhase.Completed);
                st.message = "index " + rec.indexName + ", created by this request at " + rec.appliedAt + ", no "
                        + "longer exists on production (dropped outside this request): its use cannot be followed "
                        + "any more";
                ready(request, st, false, Reason.IndexMissing, st.message);
                return Step.onEvent();
            }
            if (usage[2] == 0) {
                st.message = "index " + rec.indexName + " exists but is INVALID (pg_index.indisvalid is false, as a "
                        + "failed REINDEX CONCURRENTLY leaves it): queries cannot use it; rebuild it with REINDEX "
                        + "INDEX CONCURRENTLY " + io.dbaoperator.sql.Identifiers.quote(FollowUpSteps.schemaOf(rec))
                        + "." + io.dbaoperator.sql.Identifiers.quote(rec.indexName);
                ready(request, st, false, Reason.IndexInvalid, st.message);
                return Step.rest(monitorInterval);
            }
            QueryTuningRequestStatus.Usage u = new QueryTuningRequestStatus.Usage();
            u.checkedAt = Instant.now().toString();
            u.idxScan = usage[0];
            u.sizeBytes = usage[1];
            rec.usage = u;
            // the knowledge base keeps the series (status keeps the latest): one record per check
            r.log().executed(AuditEvent.byOperator(request, "usage", STEP, "observed", null, Map.of("index",
                    rec.indexName, "idxScan", u.idxScan, "sizeBytes", u.sizeBytes)), null);
            progress.add((set.size() == 1 ? "" : rec.indexName + ": ") + u.idxScan + " scan(s) so far, "
                    + io.dbaoperator.status.Sizes.human(u.sizeBytes));
            Instant applied = Instant.parse(rec.appliedAt);
            last = applied.isAfter(last) ? applied : last;
        }
        if (Instant.now().isAfter(last.plus(r.in().unusedAfter()))) {
            return FollowUpSteps.followedUp(r);
        }
        String what = set.size() == 1 ? set.get(0).applied : set.size() + " indexes created";
        st.message = what + "; following " + (set.size() == 1 ? "its" : "their") + " use: "
                + String.join("; ", progress);
        ready(request, st, false, Reason.InProgress, what + "; following " + (set.size() == 1 ? "its" : "their")
                + " use");
        Duration left = Duration.between(Instant.now(), last.plus(r.in().unusedAfter()));
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
