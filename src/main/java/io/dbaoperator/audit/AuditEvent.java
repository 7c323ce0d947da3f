package io.dbaoperator.audit;

import java.time.Instant;
import java.util.Map;

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
}
