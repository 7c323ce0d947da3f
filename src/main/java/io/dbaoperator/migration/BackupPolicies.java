package io.dbaoperator.migration;

import io.dbaoperator.api.backup.BackupPolicy;
import io.dbaoperator.backup.BackupPolicyReconciler;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;

/**
 * The BackupPolicy a pre-migration backup comes from: read by name, and asked for a backup through its
 * {@code dbaoperator.io/backup-now} annotation. An interface so that BackingUp is tested without a cluster.
 */
interface BackupPolicies {

    /** The policy {@code name} in {@code namespace}, or null when there is none. */
    BackupPolicy get(String namespace, String name);

    /** Asks the policy for a backup identified by {@code requestId}; asking again with the same id is harmless. */
    void ask(String namespace, String name, String requestId);

    /** The policies of the cluster {@code client} talks to, read from the policy controller's cache. */
    static BackupPolicies of(io.dbaoperator.kube.SharedCaches caches, KubernetesClient client) {
        return new BackupPolicies() {
            @Override
            public BackupPolicy get(String namespace, String name) {
                return caches.get(BackupPolicy.class, namespace, name);
            }

            /** A merge patch of the one annotation: nothing else of the policy is sent, so nothing is overwritten. */
            @Override
            public void ask(String namespace, String name, String requestId) {
                client.resources(BackupPolicy.class).inNamespace(namespace).withName(name).patch(
                        PatchContext.of(PatchType.JSON_MERGE), "{\"metadata\":{\"annotations\":{\""
                                + BackupPolicyReconciler.BACKUP_NOW + "\":\"" + requestId + "\"}}}");
            }
        };
    }
}
