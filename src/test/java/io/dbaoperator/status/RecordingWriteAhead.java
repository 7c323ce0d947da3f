package io.dbaoperator.status;

import java.util.ArrayList;
import java.util.List;

import io.dbaoperator.api.common.OperatorStatus;
import io.dbaoperator.audit.AuditEvent;
import io.fabric8.kubernetes.client.CustomResource;

/**
 * A {@link WriteAhead} for handler tests: each persisted decision is kept (its phase and message, as the API
 * server would have stored them) instead of being patched into a cluster, and execution audit events are listed.
 */
public final class RecordingWriteAhead {

    /** The phase of each status the handler persisted, in order. */
    public final List<String> persistedPhases = new ArrayList<>();
    public final List<AuditEvent> executed = new ArrayList<>();
    /** Run at each persist: a test records there what had happened by then (the statements sent, say). */
    public Runnable onPersist = () -> {
    };
    public final WriteAhead log;

    public RecordingWriteAhead(CustomResource<?, ? extends OperatorStatus> resource, OperatorStatus desired) {
        StatusWriter writer = new StatusWriter(null, null, null, null) {
            @Override
            public <R extends CustomResource<?, ? extends OperatorStatus>> R write(R observed, OperatorStatus status,
                    List<AuditEvent> auditEvents) {
                persistedPhases.add(String.valueOf(status.phase()));
                onPersist.run();
                return observed;
            }

            @Override
            public void audit(CustomResource<?, ?> r, AuditEvent event, String key) {
                executed.add(event);
            }
        };
        this.log = new WriteAhead(writer, resource, desired);
    }
}
