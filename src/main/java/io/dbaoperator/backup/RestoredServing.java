package io.dbaoperator.backup;

import io.dbaoperator.api.backup.BackupRestore;
import io.dbaoperator.api.backup.BackupRestoreSpec;
import io.dbaoperator.api.backup.BackupRestoreStatus;
import java.util.List;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.apps.StatefulSet;
import io.javaoperatorsdk.operator.api.config.informer.InformerEventSourceConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.EventSourceContext;
import io.javaoperatorsdk.operator.api.reconciler.EventSourceUtils;
import io.javaoperatorsdk.operator.api.reconciler.dependent.GarbageCollected;
import io.javaoperatorsdk.operator.processing.dependent.Creator;
import io.javaoperatorsdk.operator.processing.event.source.EventSource;
import io.javaoperatorsdk.operator.processing.dependent.kubernetes.KubernetesDependentResource;

/**
 * What serves a restored volume, as JOSDK dependent resources of the BackupRestore: the {@link Server} (a
 * StatefulSet running PostgreSQL on it) and its {@link Address} (the Service). Both are made once the restore has
 * stored phase Starting with the image the instance runs ({@code status.instance.image}), so what is made follows
 * only from stored status; they are owned by the restore (deleting it deletes them) and read back from their own
 * informers, which also wake the restore when the pod becomes ready. Create only: once served, the instance is
 * the person's (they may scale it, change its resources), and the operator never reverts that.
 */
final class RestoredServing {

    private RestoredServing() {
    }

    /**
     * Serving a restored volume: its Service and StatefulSet made (once), and the StatefulSet as its informer holds
     * it. An interface so that phase Starting is tested without an operator's informers.
     */
    interface Serving {

        /** Makes what is missing of the Service and StatefulSet; both as last seen (null for one not seen). */
        Served serve(BackupRestore restore, Context<BackupRestore> context);

        /** The informers that wake the restore when its StatefulSet or Service changes. */
        List<EventSource<?, BackupRestore>> eventSources(EventSourceContext<BackupRestore> context);
    }

    /** What serves a restored volume, as the API server last showed it; null for what it does not show. */
    record Served(StatefulSet statefulSet, Service service) {
    }

    /** Serving by the two dependent resources below. */
    static Serving dependents() {
        Server server = new Server();
        Address address = new Address();
        return new Serving() {
            @Override
            public Served serve(BackupRestore restore, Context<BackupRestore> context) {
                Service service = address.reconcile(restore, context).getSingleResource().orElse(null);
                return new Served(server.reconcile(restore, context).getSingleResource().orElse(null), service);
            }

            @Override
            public List<EventSource<?, BackupRestore>> eventSources(EventSourceContext<BackupRestore> context) {
                return EventSourceUtils.dependentEventSources(context, server, address);
            }
        };
    }

    /** Create only, owned by the restore, watched among the objects labelled with a restore. */
    abstract static class Made<R extends HasMetadata> extends KubernetesDependentResource<R, BackupRestore>
            implements Creator<R, BackupRestore>, GarbageCollected<BackupRestore> {

        Made(Class<R> type, String eventSource) {
            super(type, eventSource);
        }

        @Override
        protected InformerEventSourceConfiguration.Builder<R> informerConfigurationBuilder(
                EventSourceContext<BackupRestore> context) {
            return super.informerConfigurationBuilder(context).withLabelSelector(RestoreJobs.RESTORE_LABEL);
        }
    }

    /** The StatefulSet on the restored volume. */
    static final class Server extends Made<StatefulSet> {

        Server() {
            super(StatefulSet.class, "restored-statefulsets");
        }

        @Override
        protected StatefulSet desired(BackupRestore restore, Context<BackupRestore> context) {
            return annotatable(RestoreJobs.statefulSet(restore, restore.getSpec().target.newInstance,
                    image(restore)));
        }
    }

    /** The Service in front of it. */
    static final class Address extends Made<Service> {

        Address() {
            super(Service.class, "restored-services");
        }

        @Override
        protected Service desired(BackupRestore restore, Context<BackupRestore> context) {
            return annotatable(RestoreJobs.service(restore, restore.getSpec().target.newInstance.name));
        }
    }

    /** JOSDK annotates what it creates (to recognise its own create's event): the map must exist. */
    private static <T extends HasMetadata> T annotatable(T object) {
        if (object.getMetadata().getAnnotations() == null) {
            object.getMetadata().setAnnotations(new java.util.HashMap<>());
        }
        return object;
    }

    /**
     * The image stored with phase Starting; for a restore that reached Starting before the image was stored, what
     * it would have been then (the backup's major version was not kept: 15).
     */
    static String image(BackupRestore restore) {
        BackupRestoreStatus.Instance stored = restore.getStatus() == null ? null : restore.getStatus().instance;
        if (stored != null && stored.image != null) {
            return stored.image;
        }
        return image(restore.getSpec().target.newInstance, null, DEFAULT_INSTANCE_IMAGE);
    }

    /** The operator's default instance image: the official image of the backup's major version. */
    static final String DEFAULT_INSTANCE_IMAGE = "postgres:{major}";

    /**
     * The instance's image: the spec's, else the operator's default ({@code dba.restore.instance-image}, where
     * {@code {major}} stands for the backup's major version, 15 when not known): a mirror for clusters that reach no
     * public registry, or the operator's own image, which has the server.
     */
    static String image(BackupRestoreSpec.NewInstance instance, String major, String defaultImage) {
        return instance.image != null ? instance.image
                : defaultImage.replace("{major}", major == null ? "15" : major);
    }
}
