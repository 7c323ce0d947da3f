package io.dbaoperator.status;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Objects;

import io.dbaoperator.api.common.Condition;
import io.dbaoperator.api.common.OperatorStatus;
import io.dbaoperator.audit.AuditEvent;
import io.dbaoperator.audit.AuditLog;
import io.dbaoperator.kube.EventRecorder;
import io.dbaoperator.problem.Reason;
import io.fabric8.kubernetes.client.CustomResource;
import jakarta.enterprise.context.ApplicationScoped;

/**
 * Records a reconcile's outcome: patches status when it changed and emits one Event per transition (a phase change,
 * or a condition whose status or reason changed), Warning when the new reason is a problem.
 */
@ApplicationScoped
public class StatusWriter {

    private final StatusPatcher patcher;
    private final EventRecorder events;
    private final AuditLog audit;
    private final io.dbaoperator.metrics.OperatorMetrics metrics;

    public StatusWriter(StatusPatcher patcher, EventRecorder events, AuditLog audit,
            io.dbaoperator.metrics.OperatorMetrics metrics) {
        this.patcher = patcher;
        this.events = events;
        this.audit = audit;
        this.metrics = metrics;
    }

    public <R extends CustomResource<?, ? extends OperatorStatus>> R write(R observed, OperatorStatus desired) {
        return write(observed, desired, List.of());
    }

    /** Writes status, then records {@code auditEvents}: only once the status that reflects them is stored. */
    public <R extends CustomResource<?, ? extends OperatorStatus>> R write(R observed, OperatorStatus desired,
            List<AuditEvent> auditEvents) {
        desired.observedGeneration = observed.getMetadata().getGeneration();
        OperatorStatus before = observed.getStatus();
        Enum<?> oldPhase = before == null ? null : before.phase();
        boolean phaseChanged = desired.phase() != null && !Objects.equals(oldPhase, desired.phase());
        if (phaseChanged || desired.phaseSince == null && desired.phase() != null) {
            desired.phaseSince = Instant.now().toString();
        }
        R updated = patcher.patch(observed, desired);
        if (updated != observed) {
            emitTransitions(observed, before, desired);
            if (phaseChanged && oldPhase != null && before.phaseSince != null) {
                metrics.phaseEnded(observed.getKind(), oldPhase.name(), Duration.between(
                        Instant.parse(before.phaseSince), Instant.now()));
            }
        }
        auditEvents.forEach(e -> audit.recordOnce(observed, e, e.decisionKey()));
        return updated;
    }

    /**
     * Records, once, every approval and rejection the resource's status holds: the status write that consumed an
     * approval and the audit insert after it are not atomic, and a crash between them must not leave a step that
     * ran without its approval in the audit store. Only with the audit store (its key makes this idempotent).
     */
    public void auditRecordedDecisions(CustomResource<?, ? extends OperatorStatus> resource) {
        if (!audit.storesToDatabase() || !(resource.getStatus() instanceof io.dbaoperator.api.common.GatedStatus g)) {
            return;
        }
        if (g.approvals != null) {
            for (var r : g.approvals) {
                AuditEvent e = AuditEvent.ofApproval(resource, "approval", r, "approved");
                audit.recordOnce(resource, e, e.decisionKey());
            }
        }
        if (g.rejection != null) {
            AuditEvent e = AuditEvent.ofApproval(resource, "rejection", g.rejection, "rejected");
            audit.recordOnce(resource, e, e.decisionKey());
        }
    }

    /**
     * Records an audit event now (what already happened in a database, independent of any status write), once
     * per {@code key} when a retry or a restart may report the same fact again; null records it every time.
     */
    public void audit(CustomResource<?, ?> resource, AuditEvent event, String key) {
        if (key == null) {
            audit.record(resource, event);
        } else {
            audit.recordOnce(resource, event, key);
        }
    }

    private void emitTransitions(CustomResource<?, ?> resource, OperatorStatus before, OperatorStatus after) {
        Enum<?> oldPhase = before == null ? null : before.phase();
        if (!Objects.equals(oldPhase, after.phase()) && after.phase() != null) {
            String text = phaseEventText(before, after);
            if ("Failed".equals(after.phase().name()) || "Degraded".equals(after.phase().name())) {
                events.warning(resource, after.phase().name(), text);
            } else {
                events.normal(resource, after.phase().name(), text);
            }
        }
        List<Condition> old = before == null ? List.of() : before.conditions;
        for (Condition c : after.conditions) {
            Condition previous = old == null ? null
                    : old.stream().filter(o -> c.type.equals(o.type)).findFirst().orElse(null);
            if (previous != null && Objects.equals(previous.status, c.status) && Objects.equals(previous.reason, c.reason)) {
                continue;
            }
            boolean problem = c.reason != null && isProblem(c.reason);
            if (problem) {
                events.warning(resource, c.reason, c.message);
            } else {
                events.normal(resource, c.reason == null ? c.type : c.reason, c.message);
            }
        }
    }

    /**
     * "phase A -> B: message", with the message only when this write set it: a message left from before the move
     * describes the phase that was left (an Event "AwaitingApproval -> Disposing: waits for approval" would
     * contradict itself).
     */
    static String phaseEventText(OperatorStatus before, OperatorStatus after) {
        Enum<?> oldPhase = before == null ? null : before.phase();
        boolean fresh = after.message != null && (before == null || !Objects.equals(before.message, after.message));
        return "phase " + (oldPhase == null ? "(new)" : oldPhase.name()) + " -> " + after.phase().name()
                + (fresh ? ": " + after.message : "");
    }

    private static boolean isProblem(String reason) {
        try {
            return Reason.valueOf(reason).isProblem();
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    /**
     * Backoff for a condition that stays false: twice the time it has already been false, between 15 seconds and
     * 10 minutes. Derived from status, so it survives restarts and needs no memory.
     */
    public static Duration backoff(OperatorStatus status, ConditionType type, Instant now) {
        Instant since = Conditions.find(status.conditions, type)
                .map(c -> c.lastTransitionTime == null ? now : Instant.parse(c.lastTransitionTime)).orElse(now);
        Duration failing = Duration.between(since, now);
        Duration next = failing.multipliedBy(2);
        if (next.compareTo(Duration.ofSeconds(15)) < 0) {
            return Duration.ofSeconds(15);
        }
        return next.compareTo(Duration.ofMinutes(10)) > 0 ? Duration.ofMinutes(10) : next;
    }
}
