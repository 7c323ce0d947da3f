package io.dbaoperator.harness;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;

/**
 * A real Kubernetes control plane for tests: etcd, kube-apiserver (TLS, RBAC, service-account issuer and keys,
 * the default admission plugins), kube-controller-manager with the controllers the operator relies on and
 * kube-scheduler, built
 * from the official Go modules by {@code .ci/build-control-plane} (or taken from {@code DBA_CONTROL_PLANE_DIR} /
 * {@code KUBEBUILDER_ASSETS}). One per test JVM, started on first use; every process is stopped and the temporary
 * directory removed at exit.
 * <p>
 * Identities are client certificates signed by the cluster CA: {@link #admin()} (group system:masters) and any
 * user with groups ({@link #user}); ServiceAccounts get tokens from the TokenRequest API.
 */
public final class TestControlPlane {

    private static TestControlPlane instance;
    private static boolean hooked;

    private final Path dir;
    private final List<Process> processes = new ArrayList<>();
    private final List<String> names = new ArrayList<>();
    private final int apiPort;
    private KubernetesClient admin;

    private TestControlPlane(Path dir, int apiPort) {
        this.dir = dir;
        this.apiPort = apiPort;
    }

    public static synchronized TestControlPlane get() {
        if (instance == null) {
            RealParts.Guard.starting("control plane");
            try {
                try {
                    instance = start();
                } catch (IllegalStateException e) {
                    if (e.getMessage() == null || !e.getMessage().contains(" exited with ")) {
                        throw e;
                    }
                    // a free port taken by someone else between our probe and the server's bind: try new ports once
                    System.err.println("the control plane did not start (" + e.getMessage() + "); trying again");
                    instance = start();
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
            if (!hooked) {
                // one hook for the JVM, however often a test stops the control plane and the next starts another
                Runtime.getRuntime().addShutdownHook(new Thread(TestControlPlane::shutdown));
                hooked = true;
            }
        }
        return instance;
    }

    /** The directory holding kube-apiserver, kube-controller-manager, kube-scheduler and etcd. */
    public static Path binaries() throws IOException, InterruptedException {
        Process build = new ProcessBuilder("bash", ".ci/build-control-plane")
                .redirectError(ProcessBuilder.Redirect.INHERIT).start(); // progress goes to the build's output
        String out = new String(build.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        if (build.waitFor() != 0 || out.isEmpty()) {
            throw new IllegalStateException("could not build the Kubernetes control plane (.ci/build-control-plane "
                    + "exited " + build.exitValue() + "); it needs Go 1.26 and the Go module proxy, or "
                    + "DBA_CONTROL_PLANE_DIR naming a directory of prebuilt binaries");
        }
        String[] lines = out.split("\n");
        return Paths.get(lines[lines.length - 1]);
    }

    private static TestControlPlane start() throws IOException, InterruptedException {
        Path bin = binaries();
        Path dir = Files.createTempDirectory("dba-control-plane-");
        TestControlPlane cp = new TestControlPlane(dir, TestPostgres.freePort());
        try {
            cp.certificates();
            int etcdClient = TestPostgres.freePort();
            int etcdPeer = TestPostgres.freePort();
            cp.launch("etcd", List.of(bin.resolve("etcd").toString(), "--data-dir", dir.resolve("etcd").toString(),
                    "--listen-client-urls", "http://127.0.0.1:" + etcdClient,
                    "--advertise-client-urls", "http://127.0.0.1:" + etcdClient,
                    "--listen-peer-urls", "http://127.0.0.1:" + etcdPeer,
                    "--initial-advertise-peer-urls", "http://127.0.0.1:" + etcdPeer,
                    "--initial-cluster", "default=http://127.0.0.1:" + etcdPeer,
                    "--unsafe-no-fsync", "--log-level", "warn"));
            cp.launch("kube-apiserver", List.of(bin.resolve("kube-apiserver").toString(),
                    "--etcd-servers", "http://127.0.0.1:" + etcdClient,
                    "--bind-address", "127.0.0.1", "--secure-port", String.valueOf(cp.apiPort),
                    "--tls-cert-file", cp.file("apiserver.crt"), "--tls-private-key-file", cp.file("apiserver.key"),
                    "--client-ca-file", cp.file("ca.crt"),
                    "--authorization-mode", "Node,RBAC",
                    "--service-cluster-ip-range", "10.96.0.0/24",
                    "--service-account-issuer", "https://kubernetes.default.svc.cluster.local",
                    "--service-account-key-file", cp.file("sa.pub"),
                    "--service-account-signing-key-file", cp.file("sa.key"),
                    "--allow-privileged", "--endpoint-reconciler-type", "none",
                    // pod logs are fetched from the node's address as it registered it (RealNode.NODE_IP)
                    "--kubelet-preferred-address-types", "InternalIP",
                    // a real kubelet authenticates the API server by this client certificate (RealNode)
                    "--kubelet-client-certificate", cp.file("kube-apiserver-kubelet-client.crt"),
                    "--kubelet-client-key", cp.file("kube-apiserver-kubelet-client.key"),
                    "--cert-dir", dir.resolve("apiserver-certs").toString(), "--v", "1"));
            cp.awaitReady(Duration.ofSeconds(60));
            Files.writeString(dir.resolve("admin.kubeconfig"), cp.kubeconfig("admin"), StandardCharsets.UTF_8);
            cp.launch("kube-controller-manager", List.of(bin.resolve("kube-controller-manager").toString(),
                    "--kubeconfig", cp.file("admin.kubeconfig"), "--leader-elect=false", "--secure-port", "0",
                    "--controllers", String.join(",", "job-controller", "deployment-controller",
                            "replicaset-controller", "statefulset-controller", "garbage-collector-controller",
                            "namespace-controller", "serviceaccount-controller", "serviceaccount-token-controller",
                            "clusterrole-aggregation-controller", "root-ca-certificate-publisher-controller",
                            "node-lifecycle-controller", "pod-garbage-collector-controller",
                            "ttl-after-finished-controller", "persistentvolume-binder-controller",
                            "persistentvolume-protection-controller",
                            "persistentvolumeclaim-protection-controller",
                            // a Service's endpoints, which kube-proxy routes on the real node
                            "endpointslice-controller"),
                    "--service-account-private-key-file", cp.file("sa.key"), "--root-ca-file", cp.file("ca.crt"),
                    "--use-service-account-credentials=true", "--v", "1"));
            // the scheduler as the user its bootstrap ClusterRoleBindings name
            cp.clientCertificate("system:kube-scheduler");
            Files.writeString(dir.resolve("scheduler.kubeconfig"), cp.kubeconfig("system:kube-scheduler"),
                    StandardCharsets.UTF_8);
            cp.launch("kube-scheduler", List.of(bin.resolve("kube-scheduler").toString(),
                    "--kubeconfig", cp.file("scheduler.kubeconfig"), "--leader-elect=false", "--secure-port", "0",
                    "--v", "1"));
            return cp;
        } catch (IOException | InterruptedException | RuntimeException e) {
            cp.stop();
            throw e;
        }
    }

    /** Stops every process and removes the directory; idempotent. */
    public static synchronized void shutdown() {
        if (instance != null) {
            instance.stop();
            instance = null;
        }
    }

    private void stop() {
        if (admin != null) {
            admin.close();
        }
        for (int i = processes.size() - 1; i >= 0; i--) {
            Process p = processes.get(i);
            p.destroy();
            try {
                if (!p.waitFor(10, java.util.concurrent.TimeUnit.SECONDS)) {
                    p.destroyForcibly().waitFor();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        processes.clear();
        TempDirs.delete(dir);
    }

    /** The pids of etcd, kube-apiserver, kube-controller-manager and kube-scheduler. */
    public List<Long> pids() {
        return processes.stream().map(Process::pid).toList();
    }

    public String url() {
        return "https://127.0.0.1:" + apiPort;
    }

    /** A client with the cluster-admin certificate (group system:masters). */
    public synchronized KubernetesClient admin() {
        if (admin == null) {
            admin = client("admin");
        }
        return admin;
    }

    /** A client authenticated as {@code name} in {@code groups} by a client certificate. */
    public KubernetesClient user(String name, String... groups) {
        try {
            if (!Files.exists(dir.resolve(name + ".crt"))) {
                clientCertificate(name, groups);
            }
        } catch (IOException | InterruptedException e) {
            throw new IllegalStateException(e);
        }
        return client(name);
    }

    /** A client authenticated with a bearer token (a ServiceAccount's, from the TokenRequest API). */
    public KubernetesClient withToken(String token) {
        return new KubernetesClientBuilder().withConfig(new ConfigBuilder(Config.empty()).withMasterUrl(url())
                .withCaCertFile(file("ca.crt")).withOauthToken(token).build()).build();
    }

    /**
     * A PKCS#12 key store (password {@code test}) with a serving certificate for 127.0.0.1 signed by the cluster CA,
     * for a server the API server calls (a node's log endpoint).
     */
    public Path servingKeyStore(String name) {
        try {
            Path store = dir.resolve(name + ".p12");
            if (!Files.exists(store)) {
                signed(name, "/CN=" + name, "san.cnf");
                openssl("pkcs12", "-export", "-in", file(name + ".crt"), "-inkey", file(name + ".key"), "-out",
                        store.toString(), "-passout", "pass:test", "-name", name);
            }
            return store;
        } catch (IOException | InterruptedException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * A certificate and key signed by the cluster CA: a client certificate for {@code subject} when {@code ips} is
     * empty, else a serving certificate for those addresses. Returns the certificate's path (the key beside it,
     * .key for .crt).
     */
    public synchronized Path certificate(String name, String subject, String... ips) {
        try {
            if (ips.length == 0) {
                Files.writeString(dir.resolve(name + ".cnf"), "[ext]\nextendedKeyUsage=clientAuth\n",
                        StandardCharsets.UTF_8);
            } else {
                Files.writeString(dir.resolve(name + ".cnf"), "[ext]\nsubjectAltName=" + String.join(",",
                        java.util.Arrays.stream(ips).map(ip -> "IP:" + ip).toList()) + "\nextendedKeyUsage=serverAuth\n",
                        StandardCharsets.UTF_8);
            }
            signed(name, subject, name + ".cnf");
            return dir.resolve(name + ".crt");
        } catch (IOException | InterruptedException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The control plane's scratch directory: its logs, certificates and what a node keeps there. */
    public Path directory() {
        return dir;
    }

    /** The path of the cluster CA certificate, for a client started as its own process. */
    public String caFile() {
        return file("ca.crt");
    }

    /** A kubeconfig file for {@code user} (a client certificate made by {@link #user}), e.g. for kubectl. */
    public Path kubeconfigFile(String user) throws IOException {
        Path f = dir.resolve(user + ".kubeconfig");
        Files.writeString(f, kubeconfig(user), StandardCharsets.UTF_8);
        return f;
    }

    private KubernetesClient client(String user) {
        return new KubernetesClientBuilder().withConfig(new ConfigBuilder(Config.empty()).withMasterUrl(url())
                .withCaCertFile(file("ca.crt")).withClientCertFile(file(user + ".crt"))
                .withClientKeyFile(file(user + ".key")).withRequestTimeout(30_000).build()).build();
    }

    private String kubeconfig(String user) {
        return String.join("\n", "apiVersion: v1", "kind: Config",
                "clusters:", "- name: test", "  cluster:", "    server: " + url(),
                "    certificate-authority: " + file("ca.crt"),
                "users:", "- name: " + user, "  user:", "    client-certificate: " + file(user + ".crt"),
                "    client-key: " + file(user + ".key"),
                "contexts:", "- name: test", "  context:", "    cluster: test", "    user: " + user,
                "current-context: test", "");
    }

    private void awaitReady(Duration atMost) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + atMost.toNanos();
        String last = "";
        while (System.nanoTime() < deadline) {
            for (int i = 0; i < processes.size(); i++) {
                if (!processes.get(i).isAlive()) {
                    // the directory goes with the failed start: the log's tail goes into the message
                    List<String> log = Files.readAllLines(dir.resolve(names.get(i) + ".log"), StandardCharsets.UTF_8);
                    throw new IllegalStateException(names.get(i) + " exited with " + processes.get(i).exitValue()
                            + ": " + String.join("\n", log.subList(Math.max(0, log.size() - 8), log.size())));
                }
            }
            try (KubernetesClient c = client("admin")) {
                last = c.raw("/readyz");
                if ("ok".equals(last == null ? null : last.strip())) {
                    return;
                }
            } catch (RuntimeException e) {
                last = e.getMessage();
            }
            Thread.sleep(200);
        }
        throw new IllegalStateException("kube-apiserver was not ready in " + atMost + ": " + last);
    }

    private void launch(String name, List<String> command) throws IOException {
        names.add(name);
        processes.add(new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(dir.resolve(name + ".log").toFile()).start());
    }

    private String file(String name) {
        return dir.resolve(name).toString();
    }

    // --- certificates, made with openssl ---

    private void certificates() throws IOException, InterruptedException {
        openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", file("ca.key"), "-out", file("ca.crt"),
                "-days", "3", "-subj", "/CN=dba-operator-test-ca");
        // also the addresses a pod on a RealNode reaches it at: the kubernetes Service and the node's own address
        Files.writeString(dir.resolve("san.cnf"), "[ext]\nsubjectAltName=IP:127.0.0.1,DNS:localhost,IP:10.96.0.1,"
                + "IP:" + RealNode.NODE_IP + ",DNS:kubernetes.default.svc\n"
                + "extendedKeyUsage=serverAuth\n", StandardCharsets.UTF_8);
        signed("apiserver", "/CN=kube-apiserver", "san.cnf");
        clientCertificate("admin", "system:masters");
        clientCertificate("kube-apiserver-kubelet-client", "system:masters");
        openssl("genrsa", "-out", file("sa.key"), "2048");
        openssl("rsa", "-in", file("sa.key"), "-pubout", "-out", file("sa.pub"));
    }

    private synchronized void clientCertificate(String name, String... groups) throws IOException,
            InterruptedException {
        StringBuilder subject = new StringBuilder("/CN=").append(name);
        for (String g : groups) {
            subject.append("/O=").append(g);
        }
        Files.writeString(dir.resolve("client.cnf"), "[ext]\nextendedKeyUsage=clientAuth\n", StandardCharsets.UTF_8);
        signed(name, subject.toString(), "client.cnf");
    }

    private void signed(String name, String subject, String extensions) throws IOException, InterruptedException {
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", file(name + ".key"), "-out", file(name + ".csr"),
                "-subj", subject);
        openssl("x509", "-req", "-in", file(name + ".csr"), "-CA", file("ca.crt"), "-CAkey", file("ca.key"),
                "-CAcreateserial", "-out", file(name + ".crt"), "-days", "3", "-extfile", file(extensions),
                "-extensions", "ext");
    }

    private void openssl(String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of("openssl"));
        command.addAll(List.of(args));
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.waitFor() != 0) {
            throw new IllegalStateException("openssl " + String.join(" ", args) + " failed: " + out);
        }
    }

}
