package io.dbaoperator.fakes;

import java.util.ArrayList;
import java.util.List;

import io.dbaoperator.kube.EventRecorder;
import io.fabric8.kubernetes.api.model.HasMetadata;

/** Events as a list of {@code Type Reason: message} lines instead of objects in a cluster. */
public final class RecordingEvents extends EventRecorder {

    public final List<String> events = new ArrayList<>();

    public RecordingEvents() {
        super(null);
    }

    @Override
    public void normal(HasMetadata resource, String reason, String message) {
        events.add("Normal " + reason + ": " + message);
    }

    @Override
    public void warning(HasMetadata resource, String reason, String message) {
        events.add("Warning " + reason + ": " + message);
    }
}
