package io.dbaoperator.harness;

import java.io.IOException;
import java.util.Map;

import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;

/**
 * The Kubernetes of the {@code @QuarkusTest} tier: the real control plane ({@link TestControlPlane}: etcd,
 * kube-apiserver, kube-controller-manager, kube-scheduler) with deploy/ applied as a platform team applies it, the
 * test node running the pods the operator's Jobs, Deployments and StatefulSets make, and the operator reaching the
 * API server as deploy/'s ServiceAccount through a {@link ConflictingWriter}, where tests make its status writes meet
 * a 409. One per test JVM, started on first use; each test class works in a namespace of its own
 * ({@link #namespace}). Everything stops at exit.
 */
public final class TestKubernetes {

    private static TestKubernetes instance;

    private final TestControlPlane cp;
    private final TestNode node;
    private final ConflictingWriter writer;

    private TestKubernetes(TestControlPlane cp, TestNode node, ConflictingWriter writer) {
        this.cp = cp;
        this.node = node;
        this.writer = writer;
    }

    public static synchronized TestKubernetes get() {
        if (instance == null) {
            RealParts.Guard.starting("Kubernetes API server");
            TestControlPlane cp = TestControlPlane.get();
            try {
                OperatorInstall.apply(cp);
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
            TestNode node = TestNode.start(cp);
            instance = new TestKubernetes(cp, node, new ConflictingWriter(cp));
            // before the control plane's own hook gets to it: the node's processes end while the API server is up
            Runtime.getRuntime().addShutdownHook(new Thread(TestKubernetes::shutdown, "test-kubernetes-stop"));
        }
        return instance;
    }

    /** Stops the forwarder, the node (and its pods' processes) and the control plane; idempotent. */
    public static synchronized void shutdown() {
        if (instance != null) {
            instance.writer.close();
            instance.node.close();
            instance = null;
            TestControlPlane.shutdown();
        }
    }

    /**
     * The configuration that points the operator under test at this API server: through the forwarder, with a
     * token of deploy/'s ServiceAccount, so deploy/'s RBAC is what it may do.
     */
    public Map<String, String> operatorConfig() {
        Map<String, String> env = OperatorInstall.operatorEnv(cp);
        return Map.of("quarkus.kubernetes-client.api-server-url", writer.url(),
                "quarkus.kubernetes-client.token", env.get("QUARKUS_KUBERNETES_CLIENT_TOKEN"),
                "quarkus.kubernetes-client.namespace", OperatorInstall.NAMESPACE);
    }

    /** A cluster-admin client, the test's own hands. */
    public KubernetesClient client() {
        return cp.admin();
    }

    /** Creates a test class's namespace unless it exists, and returns the admin client. */
    public KubernetesClient namespace(String name) {
        KubernetesClient client = cp.admin();
        if (client.namespaces().withName(name).get() == null) {
            try {
                client.namespaces().resource(new NamespaceBuilder().withNewMetadata().withName(name).endMetadata()
                        .build()).create();
            } catch (KubernetesClientException e) {
                if (e.getCode() != 409) {
                    throw e;
                }
            }
        }
        return client;
    }

    public TestControlPlane controlPlane() {
        return cp;
    }

    /** The node: its pods' volumes and output. */
    public TestNode node() {
        return node;
    }

    /** Where tests make the operator's status writes race a concurrent writer. */
    public ConflictingWriter api() {
        return writer;
    }

    /** What a Job's pods wrote, read as {@code kubectl logs job/NAME} reads it: through the API server. */
    public String jobLog(String namespace, String job) {
        try {
            return cp.admin().batch().v1().jobs().inNamespace(namespace).withName(job).getLog();
        } catch (KubernetesClientException e) {
            return "(no log of job " + job + ": " + e.getMessage() + ")";
        }
    }
}
