package io.dbaoperator.status;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;

import io.dbaoperator.api.common.OperatorStatus;
import io.fabric8.kubernetes.client.CustomResource;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import jakarta.enterprise.context.ApplicationScoped;

/**
 * Writes status as a JSON Patch on the status subresource that carries only what the operator changed, and only
 * when it changed anything (see {@link StatusJsonPatch}). The patch pins the resourceVersion the operator decided on,
 * so a status a person patched in between (an approval) makes the write fail with 409 and the operator decides again
 * on fresh state: nothing a person wrote is ever overwritten, and no decision is recorded on stale state. A 409
 * caused only by others' metadata (Argo CD's annotations) is not a new state to decide on: the same patch is pinned
 * to the new version and sent again ({@link #sameInputs}).
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
        if (before != null && before.equals(MAPPER.valueToTree(empty(desired.getClass())))) {
            // the kinds' initStatus() gives an object without status a fresh, empty one: the API server has no
            // /status to add fields under (a real kube-apiserver answers 422), so the first status is added whole
            before = null;
        }
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
        R base = observed;
        for (int attempt = 1;; attempt++) {
            String document = patchDocument(base, desired);
            if (document == null) {
                return base;
            }
            var resource = client.resources(observed.getClass())
                    .inNamespace(observed.getMetadata().getNamespace())
                    .withName(observed.getMetadata().getName());
            try {
                return (R) resource.subresource("status").patch(PatchContext.of(PatchType.JSON), document);
            } catch (KubernetesClientException e) {
                if (e.getCode() == 422) {
                    throw staleOr(e, base, (R) resource.get());
                }
                if (e.getCode() != 409 || attempt >= REBASES) {
                    throw e;
                }
                R fresh = (R) resource.get();
                if (fresh == null || !sameInputs(base, fresh)) {
                    throw e; // spec, status or an annotation we act on changed: the caller decides again
                }
                base = fresh; // only others' metadata changed: the same decision, pinned to the new version
            }
        }
    }

    /**
     * A JSON Patch is applied to the stored object before its resourceVersion is compared, so a patch made from a
     * stale view (removing a field that is gone meanwhile) fails with 422 where a fresh one would fail with 409. When
     * the object did change since it was read, that is the same conflict and is reported as one (the caller decides
     * again); otherwise the patch itself is wrong and the 422 stands.
     */
    private static KubernetesClientException staleOr(KubernetesClientException e, CustomResource<?, ?> base,
            CustomResource<?, ?> fresh) {
        if (fresh != null && !java.util.Objects.equals(fresh.getMetadata().getResourceVersion(),
                base.getMetadata().getResourceVersion())) {
            return new KubernetesClientException("the object changed since it was read (a patch of the view it was "
                    + "decided on no longer applies)", 409, e.getStatus());
        }
        return e;
    }

    /** How often a decision is re-pinned past metadata-only changes before the conflict goes to the caller. */
    static final int REBASES = 5;

    /**
     * Whether two versions of a resource give a reconcile the same inputs: the same spec (generation), status,
     * deletion and {@code dbaoperator.io/} annotations. What else changes between them (Argo CD's tracking
     * annotations, labels, managedFields, a {@code kubectl annotate}) cannot change a decision, so a 409 caused by
     * it alone does not need one to be made again.
     */
    static boolean sameInputs(CustomResource<?, ?> a, CustomResource<?, ?> b) {
        return java.util.Objects.equals(a.getMetadata().getGeneration(), b.getMetadata().getGeneration())
                && java.util.Objects.equals(a.getMetadata().getDeletionTimestamp(), b.getMetadata().getDeletionTimestamp())
                && MAPPER.valueToTree(a.getSpec()).equals(MAPPER.valueToTree(b.getSpec()))
                && MAPPER.valueToTree(a.getStatus()).equals(MAPPER.valueToTree(b.getStatus()))
                && ours(a.getMetadata().getAnnotations()).equals(ours(b.getMetadata().getAnnotations()));
    }

    private static java.util.Map<String, String> ours(java.util.Map<String, String> annotations) {
        java.util.Map<String, String> o = new java.util.TreeMap<>();
        if (annotations != null) {
            annotations.forEach((k, v) -> {
                if (k.startsWith("dbaoperator.io/")) {
                    o.put(k, v);
                }
            });
        }
        return o;
    }


    /** A deep copy of a status, to build the desired status from the observed one. */
    public static <S extends OperatorStatus> S copy(S status, Class<S> type) {
        return status == null ? empty(type) : MAPPER.convertValue(status, type);
    }

    /** A status with nothing set: what a kind's {@code initStatus()} gives an object the server holds without one. */
    private static <S> S empty(Class<S> type) {
        try {
            return type.getDeclaredConstructor().newInstance();
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException(e);
        }
    }
}
