package io.dbaoperator.tuning;

import static io.dbaoperator.tuning.QueryTuningRequestReconciler.BUILD_TIMEOUT;
import static io.dbaoperator.tuning.QueryTuningRequestReconciler.LOCK_RETRIES;
import static io.dbaoperator.tuning.QueryTuningRequestReconciler.LOCK_TIMEOUT;
import static io.dbaoperator.tuning.QueryTuningRequestReconciler.SHORT_NAME;
import static io.dbaoperator.tuning.QueryTuningRequestReconciler.finish;
import static io.dbaoperator.tuning.QueryTuningRequestReconciler.generation;
import static io.dbaoperator.tuning.QueryTuningRequestReconciler.ready;

import java.sql.SQLException;
import java.time.Instant;
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
import io.dbaoperator.sql.Identifiers;
import io.dbaoperator.status.Step;

/**
 * The end of an applied index's follow-up: its use and the statement's measured gain ({@link MeasuredGains}),
 * recorded and reported; with {@code followUp.onNoGain: ProposeRemoval}, an index that brought no gain goes to
 * AwaitingRemovalApproval (step {@code remove}, bound to its DROP statement), then Removing (DROP INDEX
 * CONCURRENTLY), then Completed with the statement that recreates it.
 */
final class FollowUpSteps {

    static final String STEP = "remove";
    private static final String APPLY_STEP = QueryTuningRequestReconciler.STEP;

    private FollowUpSteps() {
    }

    /**
     * The end of the follow-up: the index's use and the statement's measured gain, recorded; no gain (unused, below
     * followUp.minGainPercent, or a regression) is reported, and with onNoGain ProposeRemoval its removal proposed.
     */
    static Step followedUp(TuningRun r) throws SQLException {
        QueryTuningRequest request = r.request();
        QueryTuningRequestStatus st = r.st();
        QueryTuningRequestStatus.IndexRecommendation best = r.best();
        QueryTuningRequestSpec.FollowUp policy = request.getSpec().followUp == null
                ? new QueryTuningRequestSpec.FollowUp() : request.getSpec().followUp;
        QueryTuningRequestStatus.Usage u = best.usage;
        u.unused = u.idxScan == 0;
        if (best.measured == null) {
            best.measured = new QueryTuningRequestStatus.MeasuredGain(); // applied before the loop existed
        }
        MeasuredGains.measure(r.prod(), best.measured, !u.unused, policy.minGainPercent);
        var m = best.measured;
        Map<String, Object> details = new java.util.LinkedHashMap<>(Map.of("index", best.indexName, "idxScan",
                u.idxScan, "sizeBytes", u.sizeBytes, "costBefore", best.costBefore, "costAfter", best.costAfter,
                "verdict", String.valueOf(m.verdict)));
        if (m.gainPercent != null) {
            details.putAll(Map.of("meanMsBefore", m.meanMsBefore, "meanMsAfter", m.meanMsAfter, "callsAfter",
                    m.callsAfter, "gainPercent", m.gainPercent));
        }
        r.log().executed(AuditEvent.byOperator(request, "follow-up", APPLY_STEP, u.unused ? "unused" : "used", null,
                details), "follow-up/" + best.indexName);
        String measured = m.gainPercent == null ? (m.verdict == null || m.verdict.equals("unused") ? ""
                : "; real gain " + m.verdict) : "; mean time " + m.meanMsBefore + " ms -> " + m.meanMsAfter
                        + " ms over " + m.callsAfter + " call(s) (" + m.gainPercent + "%): " + m.verdict;
        String use = u.unused ? "index " + best.indexName + " (" + u.sizeBytes + " bytes) was not used once in "
                + request.getSpec().unusedAfter : "index " + best.indexName + " is in use: " + u.idxScan + " scan(s), "
                        + u.sizeBytes + " bytes";
        if (!MeasuredGains.noGain(m, !u.unused)) {
            return finish(request, st, TuningPhase.Completed, use + measured);
        }
        String drop = dropStatement(best);
        if (policy.onNoGain != QueryTuningRequestSpec.FollowUp.OnNoGain.ProposeRemoval) {
            return finish(request, st, TuningPhase.Completed, use + measured + ": a candidate for removal (" + drop
                    + "; followUp.onNoGain ProposeRemoval proposes it)");
        }
        st.phase = Phase.move(st.phase, TuningPhase.AwaitingRemovalApproval);
        st.message = use + measured + ": proposing " + drop;
        ready(request, st, false, Reason.AwaitingApproval, st.message);
        return Step.next();
    }

    /** Step {@code remove}, bound to the DROP statement; approved, Removing is stored before the index is dropped. */
    static Step awaitingRemovalApproval(TuningRun r) {
        QueryTuningRequest request = r.request();
        QueryTuningRequestStatus st = r.st();
        QueryTuningRequestStatus.IndexRecommendation best = r.best();
        String drop = dropStatement(best);
        String digest = PlanDigest.of(Map.of("drop", drop));
        var result = ApprovalStep.check(request, st, new GatedStep(STEP, drop + " (the follow-up found: "
                + best.measured.verdict + ")", digest, null, generation(request)), SHORT_NAME, Instant.now());
        r.log().decided(result.audit());
        if (result.outcome() == GateOutcome.REJECTED) {
            return finish(request, st, TuningPhase.Completed, "removal rejected by " + st.rejection.approvedBy
                    + "; index " + best.indexName + " stays");
        }
        if (result.outcome() == GateOutcome.WAIT) {
            return Step.onEvent();
        }
        st.phase = Phase.move(st.phase, TuningPhase.Removing);
        best.removedUnder = ApprovalStep.under(st, STEP, digest);
        return Step.next();
    }

    /** DROP INDEX CONCURRENTLY inside the window, then Completed with the statement that recreates it. */
    static Step removing(TuningRun r) throws SQLException {
        QueryTuningRequest request = r.request();
        QueryTuningRequestStatus.IndexRecommendation best = r.best();
        if (!r.window().open()) {
            // the approval is recorded; the DROP waits for the window
            return QueryTuningRequestReconciler.outsideWindow(request, r.st(), "DROP INDEX CONCURRENTLY of "
                    + best.indexName, r.window());
        }
        int attempts = IndexApplier.drop(r.prod(), schemaOf(best), best.indexName, LOCK_TIMEOUT,
                LOCK_RETRIES, BUILD_TIMEOUT);
        best.removedAt = Instant.now().toString();
        r.log().executed(AuditEvent.byOperator(request, "remove", STEP, "succeeded", null, Map.of("index",
                best.indexName, "attempts", attempts, "approval", String.valueOf(best.removedUnder))),
                "remove/" + best.indexName);
        return finish(request, r.st(), TuningPhase.Completed, "dropped " + best.indexName + " again ("
                + best.measured.verdict + "); recreate it with: " + best.ddl);
    }

    /** The statement that removes an applied index again. */
    private static String dropStatement(QueryTuningRequestStatus.IndexRecommendation best) {
        return "DROP INDEX CONCURRENTLY " + Identifiers.quote(schemaOf(best)) + "." + Identifiers.quote(best.indexName);
    }

    static String schemaOf(QueryTuningRequestStatus.IndexRecommendation r) {
        return r.table != null && r.table.contains(".") ? r.table.substring(0, r.table.indexOf('.')) : "public";
    }
}
