package io.dbaoperator.harness;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import io.fabric8.kubernetes.api.model.PersistentVolume;
import io.fabric8.kubernetes.api.model.PersistentVolumeBuilder;
import io.fabric8.kubernetes.api.model.PersistentVolumeClaim;
import io.fabric8.kubernetes.api.model.storage.StorageClassBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;

/**
 * A local-path style dynamic provisioner: the default StorageClass {@value #STORAGE_CLASS}, a PersistentVolume (a
 * directory of the node) made for each claim of that class and pre-bound to it (the real persistentvolume-binder
 * controller completes the binding), and the directory removed with its volume once the claim is gone (reclaim
 * policy Delete), as an external provisioner does. The volume is a {@code local} one with node affinity to the
 * {@link RealNode}, its directory root's and closed (0755), so a pod writes to it only through the fsGroup the
 * kubelet applies, as on a cluster. It stays ours, not the upstream local-path provisioner: that one is an image to
 * pull (there is no registry here) and runs a helper pod per volume; this is the same contract in a few lines.
 */
final class LocalVolumes implements AutoCloseable {

    static final String STORAGE_CLASS = "standard";
    static final String PROVISIONER = "dbaoperator.io/test-local-path";

    private final KubernetesClient admin;
    private final Path root;
    private final String node;
    private SharedIndexInformer<PersistentVolumeClaim> claims;
    private SharedIndexInformer<PersistentVolume> volumes;

    /** {@code local} volumes in {@code root}, on {@code node}. */
    LocalVolumes(KubernetesClient admin, Path root, String node) {
        this.admin = admin;
        this.root = root;
        this.node = node;
    }

    void start() throws IOException {
        Files.createDirectories(root);
        if (admin.storage().v1().storageClasses().withName(STORAGE_CLASS).get() == null) {
            admin.resource(new StorageClassBuilder().withNewMetadata().withName(STORAGE_CLASS)
                    .addToAnnotations("storageclass.kubernetes.io/is-default-class", "true").endMetadata()
                    .withProvisioner(PROVISIONER).withReclaimPolicy("Delete").withVolumeBindingMode("Immediate")
                    .build()).create();
        }
        // a deleted claim releases its volume, which reclaim() then sees: deletions need nothing more
        claims = admin.persistentVolumeClaims().inAnyNamespace().inform(Informers.handler(this::provision, c -> {
        }), 0);
        volumes = admin.persistentVolumes().inform(Informers.handler(this::reclaim, v -> {
        }), 0);
    }

    /** The directory of the claim's volume, or null while it has none. */
    Path directory(String ns, String claim) {
        PersistentVolumeClaim c = admin.persistentVolumeClaims().inNamespace(ns).withName(claim).get();
        if (c == null || c.getSpec().getVolumeName() == null) {
            return null;
        }
        PersistentVolume v = admin.persistentVolumes().withName(c.getSpec().getVolumeName()).get();
        return v == null ? null : path(v);
    }

    private static Path path(PersistentVolume v) {
        return v.getSpec().getLocal() != null ? Path.of(v.getSpec().getLocal().getPath()) : null;
    }

    private void provision(PersistentVolumeClaim c) {
        String cls = c.getSpec().getStorageClassName();
        if (c.getSpec().getVolumeName() != null || c.getMetadata().getDeletionTimestamp() != null
                || !STORAGE_CLASS.equals(cls)) {
            return;
        }
        String name = "pvc-" + c.getMetadata().getUid();
        if (admin.persistentVolumes().withName(name).get() != null) {
            return;
        }
        try {
            Path dir = Files.createDirectories(root.resolve(c.getMetadata().getNamespace() + "_"
                    + c.getMetadata().getName() + "_" + c.getMetadata().getUid()));
            var spec = new PersistentVolumeBuilder().withNewMetadata().withName(name)
                    .addToAnnotations("pv.kubernetes.io/provisioned-by", PROVISIONER).endMetadata()
                    .withNewSpec().withCapacity(Map.of("storage", c.getSpec().getResources().getRequests()
                            .get("storage")))
                    .withAccessModes(c.getSpec().getAccessModes()).withStorageClassName(cls)
                    .withPersistentVolumeReclaimPolicy("Delete");
            spec = spec.withNewLocal().withPath(dir.toString()).endLocal().withNewNodeAffinity().withNewRequired()
                    .addNewNodeSelectorTerm().addNewMatchExpression().withKey("kubernetes.io/hostname")
                    .withOperator("In").withValues(node).endMatchExpression().endNodeSelectorTerm()
                    .endRequired().endNodeAffinity();
            admin.resource(spec
                    .withNewClaimRef().withNamespace(c.getMetadata().getNamespace()).withName(c.getMetadata().getName())
                    .withUid(c.getMetadata().getUid()).endClaimRef()
                    .endSpec().build()).create();
        } catch (IOException | KubernetesClientException e) {
            // made already by an earlier event, or the claim went away: the next event decides again
        }
    }

    private void reclaim(PersistentVolume v) {
        boolean ours = v.getMetadata().getAnnotations() != null
                && PROVISIONER.equals(v.getMetadata().getAnnotations().get("pv.kubernetes.io/provisioned-by"));
        if (!ours || v.getStatus() == null || !"Released".equals(v.getStatus().getPhase())) {
            return;
        }
        Path dir = path(v);
        if (dir != null) {
            TempDirs.delete(dir);
        }
        try {
            admin.persistentVolumes().withName(v.getMetadata().getName()).delete();
        } catch (KubernetesClientException e) {
            // already deleted
        }
    }

    @Override
    public void close() {
        if (claims != null) {
            claims.close();
        }
        if (volumes != null) {
            volumes.close();
        }
    }
}
