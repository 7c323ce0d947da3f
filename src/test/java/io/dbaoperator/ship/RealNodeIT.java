package io.dbaoperator.ship;

import static org.assertj.core.api.Assertions.assertThat;


import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import io.dbaoperator.harness.OperatorImage;
import io.dbaoperator.harness.OperatorInstall;
import io.dbaoperator.harness.RealNode;
import io.dbaoperator.harness.RealParts;
import io.dbaoperator.harness.TestControlPlane;
import io.fabric8.kubernetes.api.model.ContainerStateTerminated;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.client.KubernetesClient;

/**
 * The operator's image on a real node: a kubelet and containerd built from their Go modules, registered with the
 * real control plane, running the image as a cluster would (deploy/'s security context, an emptyDir /tmp, a memory
 * limit), with the pod's log read through the API server from the kubelet, as {@code kubectl logs} reads it.
 * The operator itself runs on it as a Pod in RealControlPlaneIT (installed from deploy/) and HelmIT (by Helm).
 */
@RealParts
class RealNodeIT {

    static final String NS = "real-node";
    static TestControlPlane cp;
    static RealNode node;
    static KubernetesClient client;
    static String image;

    @BeforeAll
    static void start() throws Exception {
        OperatorImage built = OperatorImage.get();
        image = built.name();
        cp = TestControlPlane.get();
        node = RealNode.start(cp, built.archive());
        client = cp.admin();
        client.namespaces().resource(new NamespaceBuilder().withNewMetadata().withName(NS).endMetadata().build())
                .createOr(r -> r.update());
        // the namespace's ServiceAccount, which every pod needs, comes from its controller
        client.serviceAccounts().inNamespace(NS).withName("default").waitUntilCondition(sa -> sa != null, 60,
                java.util.concurrent.TimeUnit.SECONDS);
    }

    @AfterAll
    static void stop() {
        if (client != null) {
            client.namespaces().withName(NS).delete();
        }
        if (node != null) {
            node.close();
        }
    }

    /** A pod on the real node running {@code script} in the image, with the operator container's constraints. */
    static Pod pod(String name, String memory, String script) {
        return new PodBuilder().withNewMetadata().withName(name).withNamespace(NS).endMetadata().withNewSpec()
                .withNodeName(RealNode.NAME).withRestartPolicy("Never").withNewSecurityContext()
                .withRunAsNonRoot(true).withNewSeccompProfile().withType("RuntimeDefault").endSeccompProfile()
                .endSecurityContext()
                .addNewContainer().withName("main").withImage(image).withImagePullPolicy("Never")
                .withCommand("sh", "-c", script)
                .withNewResources().addToLimits("memory", new Quantity(memory)).addToLimits("cpu", new Quantity("1"))
                .endResources()
                .withNewSecurityContext().withAllowPrivilegeEscalation(false).withReadOnlyRootFilesystem(true)
                .withNewCapabilities().withDrop("ALL").endCapabilities().endSecurityContext()
                .addNewVolumeMount().withName("tmp").withMountPath("/tmp").endVolumeMount().endContainer()
                .addNewVolume().withName("tmp").withNewEmptyDir().withSizeLimit(new Quantity("64Mi")).endEmptyDir()
                .endVolume().endSpec().build();
    }

    static ContainerStateTerminated ended(String name) {
        Pod done = client.pods().inNamespace(NS).withName(name).waitUntilCondition(p -> p != null
                && p.getStatus().getContainerStatuses() != null && !p.getStatus().getContainerStatuses().isEmpty()
                && p.getStatus().getContainerStatuses().get(0).getState().getTerminated() != null, 180,
                java.util.concurrent.TimeUnit.SECONDS);
        return done.getStatus().getContainerStatuses().get(0).getState().getTerminated();
    }

    @Test
    void theImageRunsOnTheNodeAsItsNonRootUserOnAReadOnlyRootAndItsLogComesThroughTheApiServer() throws Exception {
        client.resource(pod("as-deployed", "512Mi", "id -u; id -g; touch /deployments/x 2>&1 || true; "
                + "echo written > /tmp/x && cat /tmp/x; java -XX:MaxRAMPercentage=60 -XshowSettings:vm -version "
                + "2>&1 | grep 'Max. Heap'; pg_basebackup --version")).create();
        assertThat(ended("as-deployed").getExitCode()).isZero();
        Pod p = client.pods().inNamespace(NS).withName("as-deployed").get();
        assertThat(p.getStatus().getPodIP()).as("a network namespace of its own on the node's bridge")
                .startsWith("10.244.1.").isNotEqualTo(RealNode.NODE_IP);
        assertThat(p.getStatus().getContainerStatuses().get(0).getImageID()).isNotBlank();
        assertThat(client.nodes().withName(RealNode.NAME).get().getStatus().getNodeInfo().getContainerRuntimeVersion())
                .startsWith("containerd://2.");

        String log = OperatorInstall.kubectl(cp, "admin", "logs", "-n", NS, "as-deployed");
        String[] lines = log.split("\n");
        assertThat(lines[0].trim()).as("uid, from runAsNonRoot and the image's USER").isEqualTo("185");
        assertThat(lines[1].trim()).as("gid").isEqualTo("185");
        assertThat(log).contains("Read-only file system").contains("written").contains("pg_basebackup (PostgreSQL) 15.");
        assertThat(ImageIT.heapMiB(log)).as("60%% of the 512Mi limit the kubelet set in the pod's cgroup")
                .isBetween(512 * 0.6 - 10, 512 * 0.6 + 1);
    }

    @Test
    void aContainerOverItsMemoryLimitIsOomKilledAndTheKubeletSaysSo() {
        client.resource(pod("too-small", "48Mi", "exec java -Xms128m -Xmx128m -XX:+AlwaysPreTouch -version"))
                .create();
        ContainerStateTerminated t = ended("too-small");
        assertThat(t.getReason()).isEqualTo("OOMKilled");
        assertThat(t.getExitCode()).isEqualTo(137);
    }

    @Test
    void theNodeRunsPodsAsTheSchedulerPlacesThem() {
        client.resource(new PodBuilder(pod("scheduled", "128Mi", "echo placed")).editSpec().withNodeName(null)
                .withNodeSelector(java.util.Map.of("kubernetes.io/hostname", RealNode.NAME)).endSpec().build())
                .create();
        assertThat(ended("scheduled").getExitCode()).isZero();
        assertThat(client.pods().inNamespace(NS).withName("scheduled").get().getSpec().getNodeName())
                .isEqualTo(RealNode.NAME);
    }
}
