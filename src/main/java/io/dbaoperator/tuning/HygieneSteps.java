package io.dbaoperator.tuning;

import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

import io.dbaoperator.api.common.Phase;
import io.dbaoperator.api.tuning.QueryTuningRequest;
import io.dbaoperator.api.tuning.QueryTuningRequestSpec;
import io.dbaoperator.api.tuning.QueryTuningRequestStatus;
import io.dbaoperator.api.tuning.QueryTuningRequestStatus.IndexFinding;
import io.dbaoperator.api.tuning.TuningPhase;
import io.dbaoperator.approval.ApprovalStep;
import io.dbaoperator.approval.GateOutcome;
import io.dbaoperator.approval.GatedStep;
import io.dbaoperator.approval.PlanDigest;
import io.dbaoperator.audit.AuditEvent;
import io.dbaoperator.status.PhaseMachine;
import io.dbaoperator.status.Step;

/**
 * The phases of a QueryTuningRequest with {@code spec.indexHygiene}: Analyzing ({@link IndexHygiene#review} of the
 * database's indexes, each finding with its evidence and the statement that recreates it), then Recommended
 * (RecommendOnly) or AwaitingApproval (step {@code drop}, bound to the exact list of DROP statements), then Applying:
 * each approved index is reviewed again just before it is dropped (an unused index that has been scanned since, or a
 * duplicate whose twin is gone, is kept and said so), dropped with DROP INDEX CONCURRENTLY, and the progress
 * persisted after each; then Completed. Dropping never happens without a person's approval (the CRD refuses
 * apply.policy Automatic here).
 */
final class HygieneSteps {

    static final String STEP = "drop";

    private HygieneSteps() {
    }

    /** What the review needs besides the connection. */
    record Scope(List<String> schemas, Duration minObservation, Set<String> tooYoung) {
    }

    /** Applying acts (DROP INDEX CONCURRENTLY): entered with the consumed approval stored. */
    static final PhaseMachine<TuningPhase, TuningRun> MACHINE = PhaseMachine.<TuningPhase, TuningRun>of(
            TuningPhase.class, TuningPhase.Pending, r -> r.st().phase)
            .decides(TuningPhase.Pending, HygieneSteps::analyzing)
            .decides(TuningPhase.Analyzing, HygieneSteps::analyzing)
            .decides(TuningPhase.Failed, HygieneSteps::analyzing)
            .decides(TuningPhase.AwaitingApproval, HygieneSteps::awaitingApproval)
            .acts(TuningPhase.Applying, HygieneSteps::applying)
            .build();

    /** The review of the database's indexes: each finding with its evidence and the statement that recreates it. */
    static Step analyzing(TuningRun run) throws SQLException {
        QueryTuningRequest request = run.request();
        QueryTuningRequestStatus st = run.st();
        QueryTuningRequestSpec spec = request.getSpec();
        st.phase = Phase.move(st.phase, TuningPhase.Analyzing);
        IndexHygiene.Review r = review(run.prod(), IndexHygiene.facts(run.prod(), run.scope().schemas()), run.scope());
        st.observedSince = r.observedSince().toString();
        st.indexFindings = new ArrayList<>(r.findings().stream().map(HygieneSteps::toStatus).toList());
        String usage = r.usageJudged() ? "" : "; usage not judged yet: the statistics cover less than "
                + spec.indexHygiene.minObservation + " (since " + r.observedSince() + ")";
        if (st.indexFindings.isEmpty()) {
            return QueryTuningRequestReconciler.finish(request, st, TuningPhase.NoRecommendation, "no invalid, "
                    + "duplicate, redundant or unused index among " + r.examined() + " (" + r.protectedIndexes()
                    + " back a constraint or the replica identity and are never proposed)" + usage);
        }
        if (spec.apply.policy == QueryTuningRequestSpec.Apply.Policy.RecommendOnly) {
            return QueryTuningRequestReconciler.finish(request, st, TuningPhase.Recommended,
                    summary(st.indexFindings) + "; apply.policy RecommendOnly: nothing is dropped");
        }
        st.message = summary(st.indexFindings) + usage;
        st.phase = Phase.move(st.phase, TuningPhase.AwaitingApproval);
        return Step.next();
    }

    private static String digest(QueryTuningRequestStatus st) {
        return PlanDigest.of(Map.of("drop", st.indexFindings.stream().map(f -> f.drop).toList()));
    }

    /** Step {@code drop}, bound to the exact list of DROP statements. */
    static Step awaitingApproval(TuningRun run) {
        QueryTuningRequest request = run.request();
        QueryTuningRequestStatus st = run.st();
        List<String> drops = st.indexFindings.stream().map(f -> f.drop).toList();
        String digest = digest(st);
        var result = ApprovalStep.check(request, st, new GatedStep(STEP, summary(st.indexFindings) + ": "
                + String.join("; ", drops), digest, null, QueryTuningRequestReconciler.generation(request)),
                QueryTuningRequestReconciler.SHORT_NAME, Instant.now());
        run.log().decided(result.audit());
        if (result.outcome() == GateOutcome.REJECTED) {
            return QueryTuningRequestReconciler.finish(request, st, TuningPhase.Rejected, "rejected by "
                    + st.rejection.approvedBy + "; no index was dropped");
        }
        if (result.outcome() == GateOutcome.WAIT) {
            st.message = "waiting for approval to drop " + summary(st.indexFindings);
            return Step.onEvent();
        }
        st.phase = Phase.move(st.phase, TuningPhase.Applying);
        st.message = ApprovalStep.under(st, STEP, digest);
        return Step.next();
    }

    /**
     * Inside the window, the next approved index not yet handled: reviewed again (one catalog read serves both
     * questions: is it still there, and is it still worth dropping), then kept or dropped. A drop starts with the
     * progress so far stored, so a restart goes on from the first index without an outcome.
     */
    static Step applying(TuningRun run) throws SQLException {
        QueryTuningRequest request = run.request();
        QueryTuningRequestStatus st = run.st();
        if (!run.window().open()) {
            return QueryTuningRequestReconciler.outsideWindow(request, st, "dropping " + summary(st.indexFindings),
                    run.window());
        }
        String under = ApprovalStep.under(st, STEP, digest(st));
        IndexFinding f = st.indexFindings.stream().filter(x -> x.outcome == null).findFirst().orElse(null);
        if (f == null) {
            long dropped = st.indexFindings.stream().filter(x -> x.droppedAt != null).count();
            return QueryTuningRequestReconciler.finish(request, st, TuningPhase.Completed, "dropped " + dropped
                    + " of " + st.indexFindings.size() + " index(es) under " + under + "; each one's definition and "
                    + "recreate statement stay in status.indexFindings");
        }
        List<IndexHygiene.IndexFact> facts = IndexHygiene.facts(run.prod(), run.scope().schemas());
        Map<String, IndexHygiene.Finding> now = review(run.prod(), facts, run.scope()).findings().stream()
                .collect(Collectors.toMap(x -> x.index().qualified(), x -> x));
        Set<String> present = facts.stream().map(IndexHygiene.IndexFact::qualified).collect(Collectors.toSet());
        IndexHygiene.Finding still = now.get(f.index);
        if (!present.contains(f.index)) {
            f.outcome = "already gone (dropped by an earlier attempt of this request, whose audit record "
                    + "says so, or by someone else)";
        } else if (still == null || !still.kind().name().equals(f.finding)) {
            f.outcome = "kept: no longer " + f.finding.toLowerCase() + (still == null ? "" : " (now "
                    + still.kind().name().toLowerCase() + ")") + " when reviewed again before dropping";
        } else {
            return Step.act(() -> {
                String schema = f.index.substring(0, f.index.indexOf('.'));
                String name = f.index.substring(f.index.indexOf('.') + 1);
                int attempts = IndexApplier.drop(run.prod(), schema, name, QueryTuningRequestReconciler.LOCK_TIMEOUT,
                        QueryTuningRequestReconciler.LOCK_RETRIES, QueryTuningRequestReconciler.BUILD_TIMEOUT);
                f.droppedAt = Instant.now().toString();
                f.outcome = "dropped (" + attempts + " attempt(s))";
                run.log().executed(AuditEvent.byOperator(request, "drop", STEP, "succeeded", null, Map.of("index",
                        f.index, "finding", f.finding, "definition", f.definition, "approval",
                        String.valueOf(under))), "drop/" + f.index);
                st.message = "dropping: " + f.index + " " + f.outcome;
                return Step.next();
            });
        }
        st.message = "dropping: " + f.index + " " + f.outcome;
        return Step.next();
    }

    private static IndexHygiene.Review review(Connection prod, List<IndexHygiene.IndexFact> facts, Scope scope)
            throws SQLException {
        return IndexHygiene.review(facts, IndexHygiene.observedSince(prod), Instant.now(), scope.minObservation(),
                scope.tooYoung());
    }

    private static IndexFinding toStatus(IndexHygiene.Finding f) {
        IndexFinding out = new IndexFinding();
        out.index = f.index().qualified();
        out.table = f.index().schema() + "." + f.index().table();
        out.finding = f.kind().name();
        out.evidence = f.evidence();
        out.coveredBy = f.coveredBy();
        out.scans = f.index().scans();
        out.sizeBytes = f.index().sizeBytes();
        out.definition = f.index().definition();
        out.drop = f.dropStatement();
        out.recreate = f.recreateStatement();
        return out;
    }

    /** "3 index(es) worth dropping (1 invalid, 1 duplicate, 1 unused), 81920 bytes". */
    static String summary(List<IndexFinding> findings) {
        Map<String, Long> byKind = findings.stream().collect(Collectors.groupingBy(f -> f.finding,
                java.util.TreeMap::new, Collectors.counting()));
        long bytes = findings.stream().mapToLong(f -> f.sizeBytes == null ? 0 : f.sizeBytes).sum();
        return findings.size() + " index(es) worth dropping (" + byKind.entrySet().stream()
                .map(e -> e.getValue() + " " + e.getKey().toLowerCase()).collect(Collectors.joining(", ")) + "), "
                + bytes + " bytes";
    }
}
