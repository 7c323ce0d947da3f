package io.dbaoperator.harness;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.HashMap;
import java.util.List;
import java.util.stream.Stream;

import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.dbaoperator.sandbox.SandboxApiDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;

/**
 * The Kubernetes API for tests: the fabric8 test server in CRUD mode (no real API server can run here), with our CRDs
 * from crds/ applied so the status subresource behaves as on a cluster, and the test kubelet running Jobs. Shared by
 * every test of the run.
 */
public final class TestKubernetes {

    private static TestKubernetes instance;

    private final KubernetesMockServer server;
    private final KubernetesClient client;
    private final TestKubelet kubelet;
    private final SandboxApiDispatcher dispatcher;

    private TestKubernetes(KubernetesMockServer server, KubernetesClient client, TestKubelet kubelet,
            SandboxApiDispatcher dispatcher) {
        this.server = server;
        this.client = client;
        this.kubelet = kubelet;
        this.dispatcher = dispatcher;
    }

    public static synchronized TestKubernetes get() {
        if (instance == null) {
            SandboxApiDispatcher dispatcher = new SandboxApiDispatcher(crds());
            KubernetesMockServer server = new KubernetesMockServer(new Context(), new MockWebServer(), new HashMap<>(),
                    dispatcher, false);
            server.init(InetAddress.getLoopbackAddress(), 0);
            KubernetesClient client = server.createClient();
            for (CustomResourceDefinition crd : crds()) {
                client.apiextensions().v1().customResourceDefinitions().resource(crd).create();
            }
            TestKubelet kubelet = new TestKubelet(client);
            kubelet.start();
            dispatcher.podLogs(kubelet::podLog);
            instance = new TestKubernetes(server, client, kubelet, dispatcher);
            Runtime.getRuntime().addShutdownHook(new Thread(TestKubernetes::shutdown));
        }
        return instance;
    }

    /** Stops the kubelet (and the processes of its pods) and the API server; idempotent. */
    public static synchronized void shutdown() {
        if (instance != null) {
            instance.kubelet.close();
            instance.client.close();
            instance.server.destroy();
            instance = null;
        }
    }

    public String url() {
        return client.getMasterUrl().toString();
    }

    public KubernetesClient client() {
        return client;
    }

    public TestKubelet kubelet() {
        return kubelet;
    }

    /** The API server's request handling, where tests make status writes race a concurrent writer. */
    public SandboxApiDispatcher api() {
        return dispatcher;
    }

    /** The CRDs as released in crds/ (CrdSyncTest keeps them equal to what the classes generate). */
    public static List<CustomResourceDefinition> crds() {
        Path dir = Paths.get("crds");
        try (Stream<Path> files = Files.list(dir)) {
            return files.filter(f -> f.toString().endsWith(".dbaoperator.io.yaml")).sorted().map(f -> {
                try (InputStream in = Files.newInputStream(f)) {
                    return io.fabric8.kubernetes.client.utils.Serialization.unmarshal(in, CustomResourceDefinition.class);
                } catch (IOException e) {
                    throw new IllegalStateException(e);
                }
            }).toList();
        } catch (IOException e) {
            throw new IllegalStateException("crds/ is missing: run the build once (CrdSyncTest writes it with "
                    + "-Dcrds.update=true)", e);
        }
    }
}
