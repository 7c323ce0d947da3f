package io.dbaoperator.fakes;

import java.util.HashMap;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesCrudDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;

/**
 * For handler tests that read what only the API server knows (a pod's termination message, a Deployment's pods):
 * fabric8's mock server in CRUD mode on loopback, which stores what is created and serves it back with label
 * selectors, as an API server does. Nothing of the operator runs against it; the real API server is in the operator
 * tier and the ITs. Close it after the test.
 */
public final class FakeApiServer implements AutoCloseable {

    private final KubernetesMockServer server;
    private final KubernetesClient client;

    public FakeApiServer() {
        server = new KubernetesMockServer(new Context(), new MockWebServer(), new HashMap<>(),
                new KubernetesCrudDispatcher(), false);
        server.init();
        client = server.createClient();
    }

    public KubernetesClient client() {
        return client;
    }

    @Override
    public void close() {
        client.close();
        server.destroy();
    }
}
