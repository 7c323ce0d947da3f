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
import io.dbaoperator.status.WriteAhead;

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
    record Scope(List<String> schemas, Duration minObservation, Set<String> tooYoung,
            io.dbaoperator.kube.MaintenanceWindows.State window) {
    }

    static Duration advance(QueryTuningRequest request, QueryTuningRequestStatus st, Connection prod, Scope scope,
            WriteAhead log) throws SQLException {
        QueryTuningRequestSpec spec = request.getSpec();
        if (st.phase == null || st.phase == TuningPhase.Pending || st.phase == TuningPhase.Analyzing
                || st.phase == TuningPhase.Failed) {
            st.phase = Phase.move(st.phase, TuningPhase.Analyzing);
            IndexHygiene.Review r = review(prod, IndexHygiene.facts(prod, scope.schemas()), scope);
            st.observedSince = r.observedSince().toString();
            st.indexFindings = new ArrayList<>(r.findings().stream().map(HygieneSteps::toStatus).toList());
            String usage = r.usageJudged() ? "" : "; usage not judged yet: the statistics cover less than "
                    + spec.indexHygiene.minObservation + " (since " + r.observedSince() + ")";
            if (st.indexFindings.isEmpty()) {
                return QueryTuningRequestReconciler.finish(request, st, TuningPhase.NoRecommendation, "no invalid, "
                        + "duplicate, redundant or unused index among " + r.examined() + " (" + r.protectedIndexes()
                        + " back a constraint or the replica identity and are never proposed)" + usage);
            }
            st.message = summary(st.indexFindings) + usage;
            st.phase = Phase.move(st.phase, spec.apply.policy == QueryTuningRequestSpec.Apply.Policy.RecommendOnly
                    ? TuningPhase.Recommended : TuningPhase.AwaitingApproval);
        }
        if (st.phase == TuningPhase.Recommended) {
            return QueryTuningRequestReconciler.finish(request, st, TuningPhase.Recommended, summary(st.indexFindings)
                    + "; apply.policy RecommendOnly: nothing is dropped");
        }
        List<String> drops = st.indexFindings.stream().map(f -> f.drop).toList();
        String digest = PlanDigest.of(Map.of("drop", drops));
        if (st.phase == TuningPhase.AwaitingApproval) {
            var result = ApprovalStep.check(request, st, new GatedStep(STEP, summary(st.indexFindings) + ": "
                    + String.join("; ", drops), digest, null, QueryTuningRequestReconciler.generation(request)),
                    QueryTuningRequestReconciler.SHORT_NAME, Instant.now());
            log.decided(result.audit());
            if (result.outcome() == GateOutcome.REJECTED) {
                return QueryTuningRequestReconciler.finish(request, st, TuningPhase.Rejected, "rejected by "
                        + st.rejection.approvedBy + "; no index was dropped");
            }
            if (result.outcome() == GateOutcome.WAIT) {
                st.message = "waiting for approval to drop " + summary(st.indexFindings);
                return null;
            }
            st.phase = Phase.move(st.phase, TuningPhase.Applying);
            st.message = ApprovalStep.under(st, STEP, digest);
            // decide, persist, act: the consumed approval is stored before the first DROP INDEX starts
            log.persist();
        }
        if (st.phase == TuningPhase.Applying) {
            if (!scope.window().open()) {
                return QueryTuningRequestReconciler.outsideWindow(request, st, "dropping " + summary(st.indexFindings),
                        scope.window());
            }
            String under = ApprovalStep.under(st, STEP, digest);
            // one catalog read serves both questions: is it still there, and is it still worth dropping
            List<IndexHygiene.IndexFact> facts = IndexHygiene.facts(prod, scope.schemas());
            Map<String, IndexHygiene.Finding> now = review(prod, facts, scope).findings().stream()
                    .collect(Collectors.toMap(f -> f.index().qualified(), f -> f));
            Set<String> present = facts.stream().map(IndexHygiene.IndexFact::qualified).collect(Collectors.toSet());
            for (IndexFinding f : st.indexFindings) {
                if (f.outcome != null) {
                    continue;
                }
                IndexHygiene.Finding still = now.get(f.index);
                if (!present.contains(f.index)) {
                    f.outcome = "already gone (dropped by an earlier attempt of this request, whose audit record "
                            + "says so, or by someone else)";
                } else if (still == null || !still.kind().name().equals(f.finding)) {
                    f.outcome = "kept: no longer " + f.finding.toLowerCase() + (still == null ? "" : " (now "
                            + still.kind().name().toLowerCase() + ")") + " when reviewed again before dropping";
                } else {
                    String schema = f.index.substring(0, f.index.indexOf('.'));
                    String name = f.index.substring(f.index.indexOf('.') + 1);
                    int attempts = IndexApplier.drop(prod, schema, name, QueryTuningRequestReconciler.LOCK_TIMEOUT,
                            QueryTuningRequestReconciler.LOCK_RETRIES, QueryTuningRequestReconciler.BUILD_TIMEOUT);
                    f.droppedAt = Instant.now().toString();
                    f.outcome = "dropped (" + attempts + " attempt(s))";
                    log.executed(AuditEvent.byOperator(request, "drop", STEP, "succeeded", null, Map.of("index", f.index, "finding",
                                    f.finding, "definition", f.definition, "approval", String.valueOf(under))),
                            "drop/" + f.index);
                }
                st.message = "dropping: " + f.index + " " + f.outcome;
                // progress is visible after each index, and a restart goes on from the next one
                log.persist();
            }
            long dropped = st.indexFindings.stream().filter(f -> f.droppedAt != null).count();
            return QueryTuningRequestReconciler.finish(request, st, TuningPhase.Completed, "dropped " + dropped
                    + " of " + st.indexFindings.size() + " index(es) under " + under + "; each one's definition and "
                    + "recreate statement stay in status.indexFindings");
        }
        return null;
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
