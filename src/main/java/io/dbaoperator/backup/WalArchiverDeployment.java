package io.dbaoperator.backup;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import io.dbaoperator.contract.AgentEnvironment;
import io.dbaoperator.contract.WalArchiveArgs;
import io.dbaoperator.api.backup.BackupPolicy;
import io.dbaoperator.api.backup.BackupPolicySpec;
import io.dbaoperator.api.common.JobTemplate;
import io.fabric8.kubernetes.api.model.ContainerBuilder;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.OwnerReferenceBuilder;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.DeploymentBuilder;

/**
 * The WAL archiver of a policy: a Deployment of one pod running {@code dba-agent wal-archive} (pg_receivewal on a
 * replication slot). Strategy Recreate: two receivers must never share a slot.
 */
public final class WalArchiverDeployment {

    public static final String COMPONENT = "wal-archiver";

    private WalArchiverDeployment() {
    }

    public static String name(String policy) {
        String suffix = "-wal-archiver";
        return (policy.length() > 63 - suffix.length() ? policy.substring(0, 63 - suffix.length()) : policy) + suffix;
    }

    /** The slot: spec.walArchiving.slotName, else dba_operator_<policy> (an SQL name: [a-z0-9_], 63 characters). */
    public static String slot(BackupPolicy policy) {
        var w = policy.getSpec().walArchiving;
        if (w != null && w.slotName != null) {
            return w.slotName;
        }
        String s = "dba_operator_" + policy.getMetadata().getName().toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9]",
                "_");
        return s.length() > 63 ? s.substring(0, 63) : s;
    }

    public static Deployment build(BackupPolicy policy, String defaultImage) {
        BackupPolicySpec spec = policy.getSpec();
        JobTemplate t = spec.jobTemplate == null ? new JobTemplate() : spec.jobTemplate;
        String ns = policy.getMetadata().getNamespace();
        String name = policy.getMetadata().getName();
        Map<String, String> labels = new HashMap<>(Map.of("app.kubernetes.io/managed-by", "dba-operator",
                "app.kubernetes.io/component", COMPONENT, BackupJobs.POLICY_LABEL, name));
        List<EnvVar> env = new ArrayList<>(AgentEnvironment.databaseEnv(spec.database));
        env.addAll(AgentEnvironment.encryptionEnv(spec.encryption, true));
        env.addAll(AgentEnvironment.s3Env(spec.storage, spec.storage.prefix == null ? "" : spec.storage.prefix));
        var container = new ContainerBuilder().withName("wal-archiver")
                .withImage(t.image == null ? defaultImage : t.image)
                .withCommand(new WalArchiveArgs(ns, name, slot(policy), "/spool").command())
                .withEnvFrom(AgentEnvironment.envFrom(spec.database, spec.encryption)).withEnv(env)
                .withResources(AgentResources.orDefault(t.resources, AgentResources.BACKUP))
                .addNewVolumeMount().withName("spool").withMountPath("/spool").endVolumeMount()
                .addNewVolumeMount().withName("tmp").withMountPath("/tmp").endVolumeMount()
                .withNewSecurityContext().withRunAsNonRoot(true).withAllowPrivilegeEscalation(false)
                .withReadOnlyRootFilesystem(true).endSecurityContext().build();
        Deployment d = new DeploymentBuilder()
                .withNewMetadata().withName(name(name)).withNamespace(ns).withLabels(labels)
                .addToOwnerReferences(new OwnerReferenceBuilder().withApiVersion(policy.getApiVersion())
                        .withKind(policy.getKind()).withName(name).withUid(policy.getMetadata().getUid())
                        .withController(true).withBlockOwnerDeletion(true).build())
                .endMetadata()
                .withNewSpec().withReplicas(1).withNewStrategy().withType("Recreate").endStrategy()
                .withNewSelector().addToMatchLabels(BackupJobs.POLICY_LABEL, name)
                .addToMatchLabels("app.kubernetes.io/component", COMPONENT).endSelector()
                .withNewTemplate().withNewMetadata().withLabels(labels).endMetadata()
                .withNewSpec().withServiceAccountName(t.serviceAccountName).withNodeSelector(t.nodeSelector)
                .withTolerations(t.tolerations).withContainers(container)
                .addNewVolume().withName("spool").withNewEmptyDir().endEmptyDir().endVolume()
                .addNewVolume().withName("tmp").withNewEmptyDir().endEmptyDir().endVolume()
                .endSpec().endTemplate().endSpec().build();
        d.getMetadata().setAnnotations(new HashMap<>(Map.of(BackupJobs.SPEC_HASH, BackupJobs.hash(
                d.getSpec().toString()))));
        return d;
    }

    /** Why the archiver pod is not ready, or null when it is. */
    static String problem(io.fabric8.kubernetes.client.KubernetesClient client, String ns,
            io.fabric8.kubernetes.api.model.apps.Deployment d) {
        if (d == null) {
            return "its Deployment was just created";
        }
        if (d.getStatus() != null && Integer.valueOf(1).equals(d.getStatus().getReadyReplicas())) {
            return null;
        }
        var pods = client.pods().inNamespace(ns).withLabels(d.getSpec().getSelector().getMatchLabels()).list()
                .getItems();
        for (var pod : pods) {
            if (pod.getStatus() != null && pod.getStatus().getContainerStatuses() != null) {
                for (var cs : pod.getStatus().getContainerStatuses()) {
                    if (cs.getState() != null && cs.getState().getWaiting() != null
                            && cs.getState().getWaiting().getReason() != null) {
                        return "pod " + pod.getMetadata().getName() + " " + cs.getState().getWaiting().getReason()
                                + " (" + cs.getState().getWaiting().getMessage() + "), " + cs.getRestartCount()
                                + " restart(s); see kubectl logs " + pod.getMetadata().getName();
                    }
                }
            }
        }
        return "Deployment " + d.getMetadata().getName() + " has no ready pod";
    }
}
