package io.dbaoperator.status;

import java.util.ArrayList;
import java.util.List;

import io.dbaoperator.api.common.OperatorStatus;
import io.dbaoperator.audit.AuditEvent;
import io.fabric8.kubernetes.client.CustomResource;

/**
 * Decide, persist, act, for one reconcile. Handlers decide and return a {@link Step}; the {@link PhaseMachine}, and
 * nothing else, calls {@link #persist()} before a step's first side effect (an {@link Step.Act}, or entering an
 * acting phase): the decision is written as a status patch pinned to the resourceVersion it was made on, and a 409
 * propagates out of the reconcile with nothing executed, so the next reconcile decides again from fresh state. What
 * the step then does is written by the reconcile's final status write, which diffs against the persisted status.
 * <p>
 * Audit events come in two kinds. A decision's events ({@link #decided}: an approval, a rejection) are recorded only
 * once the status that holds the decision is stored, so a decision made twice (after a 409) is audited once, and an
 * approval is in the audit store before anything it authorised ran; should the process die between the two, the
 * next reconcile records it from status ({@link StatusWriter#auditRecordedDecisions}). An execution's events
 * ({@link #executed}: a statement applied, a run finished) describe what already happened and are recorded at once,
 * keyed, so the retry or restart that finds the work done reports it again harmlessly and a 409 on the status write
 * that follows cannot lose them.
 */
public final class WriteAhead {

    private final StatusWriter writer;
    private CustomResource<?, ? extends OperatorStatus> observed;
    private final OperatorStatus desired;
    private final List<AuditEvent> decisions = new ArrayList<>();
    private int persisted;
    private Enum<?> storedPhase;

    WriteAhead(StatusWriter writer, CustomResource<?, ? extends OperatorStatus> observed, OperatorStatus desired) {
        this.writer = writer;
        this.observed = observed;
        this.desired = desired;
        this.storedPhase = observed.getStatus() == null ? null : observed.getStatus().phase();
    }

    /** A decision's audit event, recorded with the status write that stores the decision. */
    public void decided(List<AuditEvent> events) {
        decisions.addAll(events);
    }

    /**
     * An execution's audit event: what happened is recorded now, once per {@code key} (a retry after a 409 or a
     * restart that finds the step done reports it again; the key makes that a no-op), or every time when null.
     */
    public void executed(AuditEvent event, String key) {
        writer.audit(observed, event, key);
    }

    /**
     * Writes the desired status now. Throws the API server's 409 when the resource changed since it was read: the
     * caller must not go on to the step (it does not, because the exception leaves the reconcile). Only the
     * {@link PhaseMachine} calls it.
     */
    void persist() {
        observed = writer.write(observed, desired, List.copyOf(decisions));
        decisions.clear();
        storedPhase = desired.phase();
        persisted++;
    }

    /** The phase as last stored: the observed one, or the one this reconcile persisted. */
    Enum<?> storedPhase() {
        return storedPhase;
    }

    /** How many times this reconcile persisted a decision. */
    public int persisted() {
        return persisted;
    }

    /** The resource as last stored: what the final write pins its resourceVersion to. */
    @SuppressWarnings("unchecked")
    <R extends CustomResource<?, ? extends OperatorStatus>> R observed() {
        return (R) observed;
    }

    List<AuditEvent> pendingDecisions() {
        return decisions;
    }
}
