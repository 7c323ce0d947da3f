package io.dbaoperator.audit;

import java.time.Instant;
import java.util.Map;

import io.fabric8.kubernetes.api.model.HasMetadata;

/**
 * One audited action: who did what to which object, when, with what outcome.
 *
 * @param action apply, rollback, backup, restore, disposal, approval, rejection ...
 * @param step the workflow step, or null
 * @param actor dba-operator, or the approver's identity
 * @param outcome started, succeeded, failed, approved, rejected
 * @param details extra facts (never secret values)
 */
public record AuditEvent(Instant occurredAt, String namespace, String kind, String name, String uid, String action,
        String step, String actor, String outcome, String planDigest, Map<String, Object> details) {

    /** The actor of what the operator does on its own. */
    public static final String OPERATOR = "dba-operator";

    /** What the operator itself did to {@code resource}, now. */
    public static AuditEvent byOperator(HasMetadata resource, String action, String step, String outcome,
            String planDigest, Map<String, Object> details) {
        return byOperator(Instant.now(), resource, action, step, outcome, planDigest, details);
    }

    /** What the operator itself did to {@code resource}, at {@code at}. */
    public static AuditEvent byOperator(Instant at, HasMetadata resource, String action, String step, String outcome,
            String planDigest, Map<String, Object> details) {
        var meta = resource.getMetadata();
        return new AuditEvent(at, meta.getNamespace(), resource.getKind(), meta.getName(), meta.getUid(), action,
                step, OPERATOR, outcome, planDigest, details);
    }

    /** A person's approval or rejection as status records it ({@code status.approvals[]}, {@code rejection}). */
    public static AuditEvent ofApproval(HasMetadata resource, String action,
            io.dbaoperator.api.common.ApprovalRecord r, String outcome) {
        var meta = resource.getMetadata();
        return new AuditEvent(Instant.parse(r.approvedAt), meta.getNamespace(), resource.getKind(), meta.getName(),
                meta.getUid(), action, r.step, r.approvedBy, outcome, r.planDigest,
                r.schemaFingerprint == null ? Map.of() : Map.of("schemaFingerprint", r.schemaFingerprint));
    }

    /** The key of a decision (an approval or rejection): one fact per step and time it was consumed. */
    public String decisionKey() {
        return action + "/" + step + "/" + occurredAt;
    }
}
