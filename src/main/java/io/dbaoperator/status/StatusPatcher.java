package io.dbaoperator.status;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;

import io.dbaoperator.api.common.OperatorStatus;
import io.fabric8.kubernetes.client.CustomResource;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import jakarta.enterprise.context.ApplicationScoped;

/**
 * Writes status as a JSON Patch on the status subresource that carries only what the operator changed, and only
 * when it changed anything (see {@link StatusJsonPatch}). The patch pins the resourceVersion the operator decided on,
 * so a status a person patched in between (an approval) makes the write fail with 409 and the operator decides again
 * on fresh state: nothing a person wrote is ever overwritten, and no decision is recorded on stale state.
 */
@ApplicationScoped
public class StatusPatcher {

    static final ObjectMapper MAPPER = JsonMapper.builder().serializationInclusion(JsonInclude.Include.NON_NULL).build();

    private final KubernetesClient client;

    public StatusPatcher(KubernetesClient client) {
        this.client = client;
    }

    /** The JSON Patch document for the change, or null when nothing changed. */
    public static String patchDocument(CustomResource<?, ? extends OperatorStatus> observed, OperatorStatus desired) {
        JsonNode before = observed.getStatus() == null ? null : MAPPER.valueToTree(observed.getStatus());
        JsonNode after = MAPPER.valueToTree(desired);
        ArrayNode ops = StatusJsonPatch.diff(observed.getMetadata().getResourceVersion(), before, after);
        return ops.isEmpty() ? null : ops.toString();
    }

    /**
     * Patches status from {@code observed}'s to {@code desired}. Returns the updated resource, or {@code observed}
     * when nothing changed. A concurrent change surfaces as a KubernetesClientException with code 409.
     */
    @SuppressWarnings("unchecked")
    public <R extends CustomResource<?, ? extends OperatorStatus>> R patch(R observed, OperatorStatus desired) {
        String document = patchDocument(observed, desired);
        if (document == null) {
            return observed;
        }
        return (R) client.resources(observed.getClass())
                .inNamespace(observed.getMetadata().getNamespace())
                .withName(observed.getMetadata().getName())
                .subresource("status")
                .patch(PatchContext.of(PatchType.JSON), document);
    }

    /** A deep copy of a status, to build the desired status from the observed one. */
    public static <S extends OperatorStatus> S copy(S status, Class<S> type) {
        if (status == null) {
            try {
                return type.getDeclaredConstructor().newInstance();
            } catch (ReflectiveOperationException e) {
                throw new IllegalStateException(e);
            }
        }
        return MAPPER.convertValue(status, type);
    }
}
