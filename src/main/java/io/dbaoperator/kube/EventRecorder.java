package io.dbaoperator.kube;

import java.time.Instant;
import java.util.Locale;

import org.jboss.logging.Logger;

import io.fabric8.kubernetes.api.model.EventBuilder;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import jakarta.enterprise.context.ApplicationScoped;

/**
 * Emits core/v1 Events on our resources, so {@code kubectl describe} shows what the operator did and why. Callers emit
 * on transitions only (a phase or condition that changed), never once per reconcile.
 */
@ApplicationScoped
public class EventRecorder {

    private static final Logger LOG = Logger.getLogger(EventRecorder.class);
    public static final String COMPONENT = "dba-operator";

    private final KubernetesClient client;

    public EventRecorder(KubernetesClient client) {
        this.client = client;
    }

    public void normal(HasMetadata resource, String reason, String message) {
        emit(resource, "Normal", reason, message);
    }

    public void warning(HasMetadata resource, String reason, String message) {
        emit(resource, "Warning", reason, message);
    }

    private void emit(HasMetadata resource, String type, String reason, String message) {
        String now = Instant.now().toString();
        var meta = resource.getMetadata();
        String name = meta.getName() + "." + Long.toHexString(System.nanoTime()).toLowerCase(Locale.ROOT);
        try {
            client.v1().events().inNamespace(meta.getNamespace()).resource(new EventBuilder()
                    .withNewMetadata().withName(name).withNamespace(meta.getNamespace()).endMetadata()
                    .withNewInvolvedObject()
                    .withApiVersion(resource.getApiVersion()).withKind(resource.getKind())
                    .withName(meta.getName()).withNamespace(meta.getNamespace()).withUid(meta.getUid())
                    .withResourceVersion(meta.getResourceVersion())
                    .endInvolvedObject()
                    .withType(type).withReason(reason).withMessage(message)
                    .withFirstTimestamp(now).withLastTimestamp(now).withCount(1)
                    .withNewSource().withComponent(COMPONENT).endSource()
                    .withReportingComponent(COMPONENT)
                    .build()).create();
        } catch (KubernetesClientException e) {
            // An Event is a courtesy: failing to write one must not fail the reconcile.
            LOG.warnf("could not record event %s on %s/%s: HTTP %d", reason, meta.getNamespace(), meta.getName(),
                    e.getCode());
        }
        LOG.infof("%s %s %s/%s: %s", type, reason, resource.getKind(), meta.getName(), message);
    }
}
