package io.dbaoperator.kube;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import io.javaoperatorsdk.operator.api.reconciler.ResourceCache;
import io.javaoperatorsdk.operator.processing.event.ResourceID;
import jakarta.enterprise.context.ApplicationScoped;

/**
 * Reads of the operator's own kinds from the caches their controllers keep anyway (each controller's informer of its
 * primary resources, shared here when its event sources are prepared), instead of a GET or LIST to the API server on
 * every reconcile: a migration's or a restore's BackupPolicy, a tuning request's neighbours in its namespace, a
 * migration read again between backfill batches. No extra watch and no extra copy: the same informer the SDK keeps for
 * the kind, as controller-runtime's shared cache serves every controller of a manager. It is as fresh as that
 * controller's view (a change is there within the watch's latency). A kind whose controller has not shared its cache
 * (the fast tier's handler tests, or a reconcile racing the operator's start) and any other kind (a Deployment) are
 * read from the API server (without a client, as in the fast tier: none). What a cache holds is the SDK's own object:
 * callers get a deep copy, as controller-runtime's cache reader hands out copies, so a caller that resolves a
 * default into what it read (a restore does, into its policy's storage) changes nothing of the controller's view.
 */
@ApplicationScoped
public class SharedCaches {

    private static final KubernetesSerialization COPIER = new KubernetesSerialization();

    private final KubernetesClient client;
    private final Map<Class<?>, ResourceCache<?>> caches = new ConcurrentHashMap<>();

    public SharedCaches(KubernetesClient client) {
        this.client = client;
    }

    /** Serves {@code kind} from {@code cache} from now on (a controller's primary cache, from prepareEventSources). */
    public <T extends HasMetadata> void share(Class<T> kind, ResourceCache<T> cache) {
        caches.put(kind, cache);
    }

    /**
     * The object, or null when there is none. A name the cache does not hold is asked of the API server once more:
     * an object created a moment ago (a policy applied with the restore that names it) may not have reached the
     * watch yet, and "not found" is a verdict a person sees.
     */
    public <T extends HasMetadata> T get(Class<T> kind, String namespace, String name) {
        ResourceCache<T> cache = cache(kind);
        if (cache != null) {
            var cached = cache.get(new ResourceID(name, namespace));
            if (cached.isPresent()) {
                return COPIER.clone(cached.get());
            }
        }
        return client == null ? null : client.resources(kind).inNamespace(namespace).withName(name).get();
    }

    /** Every object of {@code kind} in {@code namespace}. */
    public <T extends HasMetadata> List<T> list(Class<T> kind, String namespace) {
        ResourceCache<T> cache = cache(kind);
        if (cache != null) {
            return cache.list(namespace).map(COPIER::clone).toList();
        }
        return client == null ? List.of() : client.resources(kind).inNamespace(namespace).list().getItems();
    }

    @SuppressWarnings("unchecked")
    private <T extends HasMetadata> ResourceCache<T> cache(Class<T> kind) {
        return (ResourceCache<T>) caches.get(kind);
    }
}
