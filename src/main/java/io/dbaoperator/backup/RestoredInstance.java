package io.dbaoperator.backup;

import java.security.SecureRandom;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import io.dbaoperator.api.backup.BackupRestore;
import io.dbaoperator.kube.Owned;
import io.dbaoperator.kube.OwnedObjects;
import io.fabric8.kubernetes.api.model.DeletionPropagation;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.apps.StatefulSet;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;

/**
 * The Kubernetes objects of a restored instance that are made once and removed when the restore fails, for
 * {@link BackupRestoreReconciler}: the Secret (a new password; its user once the restore ran), the volume and the
 * restore Job. Every create is idempotent (an existing object is kept), so a retry after a crash or a 409 makes each
 * object once; the Job is created through its informer ({@link OwnedObjects}), so the next reconcile finds it. The
 * Service and StatefulSet that serve the volume are dependent resources ({@link RestoredServing}). The Secret and
 * the volume are not: a dependent is read back from an informer, and watching Secrets needs list and watch on every
 * Secret of a namespace (a label selector does not narrow RBAC), which the operator is deliberately not granted; its
 * Secret's password is made once and must never be recomputed. Status decisions stay with the reconciler, which is
 * given this object (handler tests give one that records what would be made).
 */
class RestoredInstance {

    private static final SecureRandom RANDOM = new SecureRandom();

    private final KubernetesClient client;

    RestoredInstance(KubernetesClient client) {
        this.client = client;
    }

    private static String name(BackupRestore restore) {
        return restore.getSpec().target.newInstance.name;
    }

    /** The Secret with a new password (no user yet), the volume, and {@code job}, which restores into it. */
    void create(BackupRestore restore, String database, Job job, Owned<Job> jobs) {
        byte[] bytes = new byte[24];
        RANDOM.nextBytes(bytes);
        createIfAbsent(RestoreJobs.secret(restore, name(restore), database, null,
                Base64.getUrlEncoder().withoutPadding().encodeToString(bytes)));
        createIfAbsent(RestoreJobs.claim(restore, restore.getSpec().target.newInstance));
        jobs.create(job);
    }

    /** The Secret completed with the restored superuser, once the restore ran. */
    void completeSecret(BackupRestore restore, String superuser) {
        String ns = restore.getMetadata().getNamespace();
        client.secrets().inNamespace(ns).withName(name(restore)).edit(s -> {
            Map<String, String> data = new HashMap<>(s.getData() == null ? Map.of() : s.getData());
            data.putAll(RestoreJobs.base64(Map.of("user", superuser)));
            s.setData(data);
            return s;
        });
    }

    /**
     * Null once the StatefulSet's pod accepts connections (readyReplicas 1), so a person or a script waiting for
     * Ready can connect at once; until then what it waits for, from the pod's state.
     */
    String waitingFor(BackupRestore restore, StatefulSet sts) {
        String ns = restore.getMetadata().getNamespace();
        String instance = name(restore);
        if (sts != null && sts.getStatus() != null && Integer.valueOf(1).equals(sts.getStatus().getReadyReplicas())) {
            return null;
        }
        if (sts == null) {
            return "StatefulSet " + instance + " is missing (deleted by someone?); nothing serves the restored volume";
        }
        String waiting = "waiting for pod " + instance + "-0 to accept connections";
        for (String reason : waitingReasons(ns, instance)) {
            waiting += " (" + reason + ")";
        }
        return waiting;
    }

    /** Why the containers of the instance's pod wait (ImagePullBackOff, CrashLoopBackOff...), if it has one. */
    List<String> waitingReasons(String ns, String instance) {
        // listed by the pod template's label: deploy/ lets the operator list pods, not get them
        var pod = client.pods().inNamespace(ns).withLabel("dbaoperator.io/instance", instance).list().getItems()
                .stream().findFirst().orElse(null);
        if (pod == null || pod.getStatus() == null || pod.getStatus().getContainerStatuses() == null) {
            return List.of();
        }
        return pod.getStatus().getContainerStatuses().stream()
                .filter(c -> c.getState() != null && c.getState().getWaiting() != null)
                .map(c -> c.getState().getWaiting().getReason()).toList();
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
