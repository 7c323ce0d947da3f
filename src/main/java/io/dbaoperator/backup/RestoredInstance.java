package io.dbaoperator.backup;

import java.security.SecureRandom;
import java.util.Base64;
import java.util.HashMap;
import java.util.Map;

import io.dbaoperator.api.backup.BackupRestore;
import io.fabric8.kubernetes.api.model.DeletionPropagation;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;

/**
 * The Kubernetes objects of a restored instance, made, watched and removed for {@link BackupRestoreReconciler}: the
 * Secret (a new password; its user once the restore ran), the volume and the restore Job, then the Service and the
 * StatefulSet that serve the volume. Every create is idempotent (an existing object is kept), so a retry after a
 * crash or a 409 makes each object once. Status decisions stay with the reconciler.
 */
final class RestoredInstance {

    private static final SecureRandom RANDOM = new SecureRandom();

    private final KubernetesClient client;

    RestoredInstance(KubernetesClient client) {
        this.client = client;
    }

    private static String name(BackupRestore restore) {
        return restore.getSpec().target.newInstance.name;
    }

    /** The Secret with a new password (no user yet), the volume, and {@code job}, which restores into it. */
    void create(BackupRestore restore, String database, Job job) {
        byte[] bytes = new byte[24];
        RANDOM.nextBytes(bytes);
        createIfAbsent(RestoreJobs.secret(restore, name(restore), database, null,
                Base64.getUrlEncoder().withoutPadding().encodeToString(bytes)));
        createIfAbsent(RestoreJobs.claim(restore, restore.getSpec().target.newInstance));
        createIfAbsent(job);
    }

    /** The Secret completed with the restored superuser, and the Service and StatefulSet (PostgreSQL {@code major}). */
    void serve(BackupRestore restore, String superuser, String major) {
        String ns = restore.getMetadata().getNamespace();
        client.secrets().inNamespace(ns).withName(name(restore)).edit(s -> {
            Map<String, String> data = new HashMap<>(s.getData() == null ? Map.of() : s.getData());
            data.putAll(RestoreJobs.base64(Map.of("user", superuser)));
            s.setData(data);
            return s;
        });
        createIfAbsent(RestoreJobs.service(restore, name(restore)));
        createIfAbsent(RestoreJobs.statefulSet(restore, restore.getSpec().target.newInstance, major));
    }

    /**
     * Null once the StatefulSet's pod accepts connections (readyReplicas 1), so a person or a script waiting for
     * Ready can connect at once; until then what it waits for, from the pod's state.
     */
    String waitingFor(BackupRestore restore) {
        String ns = restore.getMetadata().getNamespace();
        String instance = name(restore);
        var sts = client.apps().statefulSets().inNamespace(ns).withName(instance).get();
        if (sts != null && sts.getStatus() != null && Integer.valueOf(1).equals(sts.getStatus().getReadyReplicas())) {
            return null;
        }
        if (sts == null) {
            return "StatefulSet " + instance + " is missing (deleted by someone?); nothing serves the restored volume";
        }
        String waiting = "waiting for pod " + instance + "-0 to accept connections";
        // listed by the pod template's label: deploy/ lets the operator list pods, not get them
        var pod = client.pods().inNamespace(ns).withLabel("dbaoperator.io/instance", instance).list().getItems()
                .stream().findFirst().orElse(null);
        if (pod != null && pod.getStatus() != null && pod.getStatus().getContainerStatuses() != null) {
            for (var c : pod.getStatus().getContainerStatuses()) {
                if (c.getState() != null && c.getState().getWaiting() != null) {
                    waiting += " (" + c.getState().getWaiting().getReason() + ")";
                }
            }
        }
        return waiting;
    }

    /**
     * Removes the Job {@code job} (when made), the volume and the Secret of a failed restore. The Job goes too
     * because a pod that names a claim, even a finished one, keeps the claim from being deleted (PVC protection),
     * and the next restore of the same instance needs the claim's name.
     */
    void remove(BackupRestore restore, String job) {
        String ns = restore.getMetadata().getNamespace();
        if (job != null) {
            client.batch().v1().jobs().inNamespace(ns).withName(job)
                    .withPropagationPolicy(DeletionPropagation.BACKGROUND).delete();
        }
        client.persistentVolumeClaims().inNamespace(ns).withName(RestoreJobs.claimName(name(restore))).delete();
        client.secrets().inNamespace(ns).withName(name(restore)).delete();
    }

    private void createIfAbsent(HasMetadata object) {
        try {
            client.resource(object).create();
        } catch (KubernetesClientException e) {
            if (e.getCode() != 409) {
                throw e;
            }
        }
    }
}
