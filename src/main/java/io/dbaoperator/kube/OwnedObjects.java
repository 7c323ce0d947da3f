package io.dbaoperator.kube;

import java.util.Comparator;
import java.util.List;
import java.util.Optional;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.processing.event.ResourceID;
import io.javaoperatorsdk.operator.processing.event.source.informer.InformerEventSource;

/**
 * The objects of one type that a primary resource made (its Jobs, say), read from the informer that watches them
 * (one named event source of the controller) instead of the API server, and created so that the next reconcile
 * reads its own writes.
 * <p>
 * An informer's cache lags the API server: a reconcile that runs right after the one that created a Job may not find
 * it there, and a decision made on that (no backup running, so start one; the restore's Job is gone, so fail) would
 * be wrong. Every create goes through {@link #create}, which hands the object the API server returned to the event
 * source ({@link InformerEventSource#handleRecentResourceCreate}); it is served from there until the watch delivers
 * it or a newer version. The watch event of our own create is then not a reason to reconcile again (the event
 * source drops it), while every later change of the object still is.
 */
public final class OwnedObjects<R extends HasMetadata, P extends HasMetadata> implements Owned<R> {

    private final InformerEventSource<R, P> source;
    private final KubernetesClient client;
    private final P primary;

    private OwnedObjects(InformerEventSource<R, P> source, KubernetesClient client, P primary) {
        this.source = source;
        this.client = client;
        this.primary = primary;
    }

    /** The objects of {@code type} that {@code context}'s primary owns, as its event source {@code name} sees them. */
    @SuppressWarnings("unchecked")
    public static <R extends HasMetadata, P extends HasMetadata> OwnedObjects<R, P> of(Context<P> context,
            Class<R> type, String name) {
        var source = context.eventSourceRetriever().getEventSourceFor(type, name);
        return new OwnedObjects<>((InformerEventSource<R, P>) source, context.getClient(),
                context.getPrimaryResource());
    }

    @Override
    public List<R> list() {
        return source.getSecondaryResources(primary).stream()
                .sorted(Comparator.comparing(r -> r.getMetadata().getName())).toList();
    }

    @Override
    public Optional<R> named(String name) {
        return source.get(new ResourceID(name, primary.getMetadata().getNamespace()));
    }

    /**
     * Creates {@code object}, or finds it made already (its name is deterministic, so an existing one is this one:
     * a retry after a crash or a 409), and records it in the event source.
     */
    @Override
    public R create(R object) {
        R made;
        try {
            made = client.resource(object).create();
        } catch (KubernetesClientException e) {
            if (e.getCode() != 409) {
                throw e;
            }
            made = client.resource(object).get();
            if (made == null) {
                throw e; // deleted in between: the next reconcile decides again
            }
        }
        source.handleRecentResourceCreate(ResourceID.fromResource(made), made);
        return made;
    }

    @Override
    public void delete(String name) {
        var type = source.resourceType();
        client.resources(type).inNamespace(primary.getMetadata().getNamespace()).withName(name)
                .withPropagationPolicy(io.fabric8.kubernetes.api.model.DeletionPropagation.BACKGROUND).delete();
    }
}
