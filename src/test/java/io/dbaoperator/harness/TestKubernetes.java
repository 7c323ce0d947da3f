package io.dbaoperator.harness;

import java.io.IOException;
import java.util.Map;

import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;

/**
 * The Kubernetes of the {@code @QuarkusTest} tier: the real control plane ({@link TestControlPlane}: etcd,
 * kube-apiserver, kube-controller-manager, kube-scheduler) with deploy/ applied as a platform team applies it, a real
 * node ({@link RealNode}: kubelet, containerd, kube-proxy) running the pods the operator's Jobs and StatefulSets make
 * as containers of the operator's image ({@link OperatorImage}), and the operator reaching the API server as
 * deploy/'s ServiceAccount through a {@link ConflictingWriter}, where tests make its status writes meet a 409. The
 * operator itself runs in the test JVM: this tier injects faults into its process (409s on chosen writes, watches
 * that lag) and reads its log; the operator as a Pod is the sandbox tier's (RealControlPlaneIT, HelmIT). The test
 * PostgreSQL and S3 server stay outside the cluster, as a user's database is: pods reach them at the node's address
 * ({@link #reach}, {@link #forPods}), and so does the operator. One per test JVM, started on first use; each test
 * class works in a namespace of its own ({@link #namespace}). Everything stops at exit.
 */
public final class TestKubernetes {

    private static TestKubernetes instance;

    /**
     * Where the running instance leaves a way to stop it, JVM-wide: each Quarkus application of the run (one per test
     * profile) loads the harness anew, so its statics do not see another's, while the node is one per machine (its
     * names, address and ports are fixed). The next application's first use stops the previous one's, whose
     * operator Quarkus has stopped by then. An MBean of the platform server, because it is reached by name from any
     * class loader (a system property must stay a String: libraries copy them all).
     */
    private static final String RUNNING = "io.dbaoperator.test:type=TestKubernetes";

    private final TestControlPlane cp;
    private final RealNode node;
    private final String image;
    private final ConflictingWriter writer;

    private TestKubernetes(TestControlPlane cp, RealNode node, String image, ConflictingWriter writer) {
        this.cp = cp;
        this.node = node;
        this.image = image;
        this.writer = writer;
    }

    public static synchronized TestKubernetes get() {
        if (instance == null) {
            RealParts.Guard.starting("Kubernetes API server");
            stopAnother();
            TestControlPlane cp = TestControlPlane.get();
            try {
                OperatorInstall.apply(cp);
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
            OperatorImage built = OperatorImage.get();
            RealNode node = RealNode.start(cp, built.archive());
            instance = new TestKubernetes(cp, node, built.name(), new ConflictingWriter(cp));
            register();
            // before the control plane's own hook gets to it: the node's processes end while the API server is up
            Runtime.getRuntime().addShutdownHook(new Thread(TestKubernetes::shutdown, "test-kubernetes-stop"));
        }
        return instance;
    }

    /** Stops the forwarder, the node (and its pods' containers) and the control plane; idempotent. */
    public static synchronized void shutdown() {
        if (instance != null) {
            instance.writer.close();
            instance.node.close();
            instance = null;
            TestControlPlane.shutdown();
            try {
                var server = java.lang.management.ManagementFactory.getPlatformMBeanServer();
                var name = new javax.management.ObjectName(RUNNING);
                if (server.isRegistered(name)) {
                    server.unregisterMBean(name);
                }
            } catch (javax.management.JMException e) {
                // registered by another class loader's instance, or gone already
            }
        }
    }

    /** Stops the instance another class loader started, if one runs. */
    private static void stopAnother() {
        try {
            var server = java.lang.management.ManagementFactory.getPlatformMBeanServer();
            var name = new javax.management.ObjectName(RUNNING);
            if (server.isRegistered(name)) {
                server.invoke(name, "run", null, null);
            }
        } catch (javax.management.JMException e) {
            throw new IllegalStateException("could not stop the previous test application's Kubernetes", e);
        }
    }

    private static void register() {
        try {
            var server = java.lang.management.ManagementFactory.getPlatformMBeanServer();
            server.registerMBean(new javax.management.StandardMBean((Runnable) TestKubernetes::shutdown,
                    Runnable.class), new javax.management.ObjectName(RUNNING));
        } catch (javax.management.JMException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * The configuration that points the operator under test at this API server: through the forwarder, with a
     * token of deploy/'s ServiceAccount, so deploy/'s RBAC is what it may do; its Jobs and restored instances run
     * the image built here (postgres:15 is in no registry here; the operator's image has the server).
     */
    public Map<String, String> operatorConfig() {
        Map<String, String> env = OperatorInstall.operatorEnv(cp);
        return Map.of("quarkus.kubernetes-client.api-server-url", writer.url(),
                "quarkus.kubernetes-client.token", env.get("QUARKUS_KUBERNETES_CLIENT_TOKEN"),
                "quarkus.kubernetes-client.namespace", OperatorInstall.NAMESPACE,
                "dba.agent.image", image, "dba.restore.instance-image", image);
    }

    /**
     * The host pods (and the operator) reach a server on loopback at, with the same port: the node's address, where a
     * relay passes connections through ({@link RealNode#expose}).
     */
    public String reach(int loopbackPort) {
        try {
            return node.expose(loopbackPort);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** The URL of a server on loopback (the S3 server's endpoint) as pods reach it ({@link RealNode#forPods}). */
    public String forPods(String loopbackUrl) {
        try {
            return node.forPods(loopbackUrl);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
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

    /** The operator's image as the node has it (imported, never pulled). */
    public String image() {
        return image;
    }

    /** The node: its pods' volumes and output. */
    public RealNode node() {
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
