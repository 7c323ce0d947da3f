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
import java.util.ArrayList;
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
     * The end of the follow-up, for each index of the set: its use and its statement's measured gain, recorded; no
     * gain (unused, below followUp.minGainPercent, or a regression) is reported, and with onNoGain ProposeRemoval
     * the removal of every such index proposed together.
     */
    static Step followedUp(TuningRun r) throws SQLException {
        QueryTuningRequest request = r.request();
        QueryTuningRequestStatus st = r.st();
        QueryTuningRequestSpec.FollowUp policy = request.getSpec().followUp == null
                ? new QueryTuningRequestSpec.FollowUp() : request.getSpec().followUp;
        List<String> found = new ArrayList<>();
        List<String> noGain = new ArrayList<>();
        for (QueryTuningRequestStatus.IndexRecommendation rec : applied(r)) {
            if (rec.usage == null) {
                continue; // created, never checked: not judged
            }
            QueryTuningRequestStatus.Usage u = rec.usage;
            u.unused = u.idxScan == 0;
            if (rec.measured == null) {
                rec.measured = new QueryTuningRequestStatus.MeasuredGain(); // applied before the loop existed
            }
            MeasuredGains.measure(r.prod(), rec.measured, !u.unused, policy.minGainPercent);
            var m = rec.measured;
            Map<String, Object> details = new java.util.LinkedHashMap<>(Map.of("index", rec.indexName, "idxScan",
                    u.idxScan, "sizeBytes", u.sizeBytes, "costBefore", rec.costBefore, "costAfter", rec.costAfter,
                    "verdict", String.valueOf(m.verdict)));
            if (m.gainPercent != null) {
                details.putAll(Map.of("meanMsBefore", m.meanMsBefore, "meanMsAfter", m.meanMsAfter, "callsAfter",
                        m.callsAfter, "gainPercent", m.gainPercent));
            }
            r.log().executed(AuditEvent.byOperator(request, "follow-up", APPLY_STEP, u.unused ? "unused" : "used",
                    null, details), "follow-up/" + rec.indexName);
            String measured = m.gainPercent == null ? (m.verdict == null || m.verdict.equals("unused") ? ""
                    : "; real gain " + m.verdict) : "; mean time " + m.meanMsBefore + " ms -> " + m.meanMsAfter
                            + " ms over " + m.callsAfter + " call(s) (" + m.gainPercent + "%): " + m.verdict;
            String use = u.unused ? "index " + rec.indexName + " (" + u.sizeBytes + " bytes) was not used once in "
                    + request.getSpec().unusedAfter : "index " + rec.indexName + " is in use: " + u.idxScan
                            + " scan(s), " + u.sizeBytes + " bytes";
            found.add(use + measured);
            if (MeasuredGains.noGain(m, !u.unused)) {
                noGain.add(dropStatement(rec));
            }
        }
        String said = String.join("; ", found);
        if (noGain.isEmpty()) {
            return finish(request, st, TuningPhase.Completed, said);
        }
        if (policy.onNoGain != QueryTuningRequestSpec.FollowUp.OnNoGain.ProposeRemoval) {
            return finish(request, st, TuningPhase.Completed, said + ": " + (noGain.size() == 1
                    ? "a candidate for removal (" : "candidates for removal (") + String.join("; ", noGain)
                    + "; followUp.onNoGain ProposeRemoval proposes it)");
        }
        st.phase = Phase.move(st.phase, TuningPhase.AwaitingRemovalApproval);
        st.message = said + ": proposing " + String.join("; ", noGain);
        ready(request, st, false, Reason.AwaitingApproval, st.message);
        return Step.next();
    }

    /** The indexes of the set that were created. */
    private static List<QueryTuningRequestStatus.IndexRecommendation> applied(TuningRun r) {
        return r.set().stream().filter(x -> x.applied != null).toList();
    }

    /** The created indexes the follow-up found without gain (the one index, for one statement), not dropped yet. */
    private static List<QueryTuningRequestStatus.IndexRecommendation> toRemove(TuningRun r) {
        List<QueryTuningRequestStatus.IndexRecommendation> applied = applied(r);
        return applied.stream().filter(x -> x.removedAt == null && (applied.size() == 1 || MeasuredGains.noGain(
                x.measured, x.usage == null || !Boolean.TRUE.equals(x.usage.unused)))).toList();
    }

    /** Step {@code remove}, bound to the DROP statements; approved, Removing is stored before any index is dropped. */
    static Step awaitingRemovalApproval(TuningRun r) {
        QueryTuningRequest request = r.request();
        QueryTuningRequestStatus st = r.st();
        List<QueryTuningRequestStatus.IndexRecommendation> drops = toRemove(r);
        if (drops.isEmpty()) {
            return finish(request, st, TuningPhase.Completed, "nothing left to remove");
        }
        List<String> statements = drops.stream().map(FollowUpSteps::dropStatement).toList();
        String digest = drops.size() == 1 ? PlanDigest.of(Map.of("drop", statements.get(0)))
                : PlanDigest.of(Map.of("drops", statements));
        var result = ApprovalStep.check(request, st, new GatedStep(STEP, String.join("; ", statements)
                + " (the follow-up found: " + String.join(", ", drops.stream().map(x -> x.indexName + " "
                        + x.measured.verdict).toList()) + ")", digest, null, generation(request)), SHORT_NAME,
                Instant.now());
        r.log().decided(result.audit());
        if (result.outcome() == GateOutcome.REJECTED) {
            return finish(request, st, TuningPhase.Completed, "removal rejected by " + st.rejection.approvedBy
                    + "; " + (drops.size() == 1 ? "index " + drops.get(0).indexName + " stays" : "the indexes stay"));
        }
        if (result.outcome() == GateOutcome.WAIT) {
            return Step.onEvent();
        }
        st.phase = Phase.move(st.phase, TuningPhase.Removing);
        String under = ApprovalStep.under(st, STEP, digest);
        drops.forEach(x -> x.removedUnder = under);
        return Step.next();
    }

    /** DROP INDEX CONCURRENTLY of each, inside the window, then Completed with the statements that recreate them. */
    static Step removing(TuningRun r) throws SQLException {
        QueryTuningRequest request = r.request();
        List<QueryTuningRequestStatus.IndexRecommendation> drops = applied(r).stream()
                .filter(x -> x.removedUnder != null).toList();
        List<String> said = new ArrayList<>();
        for (QueryTuningRequestStatus.IndexRecommendation rec : drops) {
            if (rec.removedAt != null) {
                said.add("dropped " + rec.indexName + " again (" + rec.measured.verdict + "); recreate it with: "
                        + rec.ddl);
                continue;
            }
            if (!r.window().open()) {
                // the approval is recorded; the DROP waits for the window
                return QueryTuningRequestReconciler.outsideWindow(request, r.st(), "DROP INDEX CONCURRENTLY of "
                        + rec.indexName, r.window());
            }
            int attempts = IndexApplier.drop(r.prod(), schemaOf(rec), rec.indexName, LOCK_TIMEOUT,
                    LOCK_RETRIES, BUILD_TIMEOUT);
            rec.removedAt = Instant.now().toString();
            r.log().executed(AuditEvent.byOperator(request, "remove", STEP, "succeeded", null, Map.of("index",
                    rec.indexName, "attempts", attempts, "approval", String.valueOf(rec.removedUnder))),
                    "remove/" + rec.indexName);
            said.add("dropped " + rec.indexName + " again (" + rec.measured.verdict + "); recreate it with: "
                    + rec.ddl);
        }
        return finish(request, r.st(), TuningPhase.Completed, String.join("; ", said));
    }

    /** The statement that removes an applied index again. */
    static String dropStatement(QueryTuningRequestStatus.IndexRecommendation best) {
        return "DROP INDEX CONCURRENTLY " + Identifiers.quote(schemaOf(best)) + "." + Identifiers.quote(best.indexName);
    }

    static String schemaOf(QueryTuningRequestStatus.IndexRecommendation r) {
        return r.table != null && r.table.contains(".") ? r.table.substring(0, r.table.indexOf('.')) : "public";
    }
}
