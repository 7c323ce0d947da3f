package io.dbaoperator.approval;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

import io.dbaoperator.api.common.ApprovalRecord;
import io.dbaoperator.api.common.GatedStatus;
import io.dbaoperator.audit.AuditEvent;
import io.fabric8.kubernetes.client.CustomResource;

/**
 * Runs the {@link ApprovalGate} for one resource and says which audit events the outcome owes. The caller records
 * them only after the status write succeeded, so an approval consumed twice (after a 409) is audited once.
 */
public final class ApprovalStep {

    private ApprovalStep() {
    }

    public static Result check(CustomResource<?, ? extends GatedStatus> resource, GatedStatus desired, GatedStep step,
            String shortName, Instant now) {
        var meta = resource.getMetadata();
        int approvalsBefore = desired.approvals == null ? 0 : desired.approvals.size();
        boolean rejectedBefore = desired.rejection != null;
        GateOutcome outcome = ApprovalGate.evaluate(desired, step,
                new ApprovalGate.Commands(shortName, meta.getName(), meta.getNamespace()), meta.getManagedFields(), now);
        List<AuditEvent> audit = new ArrayList<>();
        if (desired.approvals != null && desired.approvals.size() > approvalsBefore) {
            ApprovalRecord r = desired.approvals.get(desired.approvals.size() - 1);
            audit.add(AuditEvent.ofApproval(resource, "approval", r, "approved"));
        }
        if (outcome == GateOutcome.REJECTED && !rejectedBefore) {
            audit.add(AuditEvent.ofApproval(resource, "rejection", desired.rejection, "rejected"));
        }
        return new Result(outcome, audit);
    }

    /**
     * The consumed approval a step executes under, as the step's own record (history row, progress row, Job
     * annotation, status) names it: the latest approval of that step for that digest; null when none matches.
     */
    public static String under(GatedStatus status, String step, String planDigest) {
        if (status.approvals == null) {
            return null;
        }
        return status.approvals.stream().filter(r -> step.equals(r.step) && java.util.Objects.equals(planDigest,
                r.planDigest)).reduce((a, b) -> b).map(r -> step + " approved by " + r.approvedBy + " at "
                        + r.approvedAt + " for plan " + r.planDigest).orElse(null);
    }

    /** The gate's answer and the audit events to record once status is written. */
    public record Result(GateOutcome outcome, List<AuditEvent> audit) {
    }
}
