package io.dbaoperator.harness;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.client.KubernetesClient;

/**
 * A real Kubernetes node on this machine, registered with a {@link TestControlPlane}: kubelet and containerd built
 * from their Go modules by {@code .ci/build-node} (the kubelet at the control plane's version), Debian's runc, the
 * CNI bridge, host-local and portmap plugins, and a pause image compiled from Kubernetes' own pause.c. Images are
 * imported into containerd before the first pod (nothing is pulled: there is no registry).
 * <p>
 * Everything stays inside this machine: pods get network namespaces of their own on a bridge with the range
 * {@link #POD_CIDR}, no masquerade and no route off the machine; the node's address {@link #NODE_IP} sits on a veth
 * pair of its own (this kernel has no dummy interfaces, and a kubelet refuses a loopback node address). The
 * kubelet's and containerd's state live in a directory of this run; {@link #close} stops both, kills what they
 * left, unmounts, and removes the directory, the cgroups, the network namespaces and the interfaces it made.
 * <p>
 * What this machine kind needs, found by running it (docs/development.md, "The node"): the kubelet accepts cgroup
 * v1 only with {@code failCgroupV1: false} and {@code cgroupDriver: cgroupfs}, and its {@code cgroupRoot} made in
 * every v1 hierarchy first; root lacks CAP_SYS_RESOURCE, so containerd must not lower a pod's oom_score_adj below its
 * own ({@code restrict_oom_score_adj}), or runc's init fails with "can't get final child's PID from pipe".
 */
public final class RealNode implements AutoCloseable {

    public static final String NAME = "dba-real-node";
    public static final String NODE_IP = "10.250.0.1";
    public static final String POD_CIDR = "10.244.1.0/24";
    /** The control plane's Service range: pods have a route there and to the node, and no default route. */
    public static final String SERVICE_CIDR = "10.96.0.0/24";
    static final String VETH = "dbanode0";
    static final String VETH_PEER = "dbanode1";
    static final String BRIDGE = "dbanode-br";
    static final String CGROUP_ROOT = "dba-real-node";
    static final Path CGROUPS = Path.of("/sys/fs/cgroup");
    static final Path NETNS = Path.of("/var/run/netns");

    private final Path dir;
    private final Path bin;
    private final Map<String, Process> processes = new java.util.LinkedHashMap<>();
    private final Set<String> netnsBefore;
    private final KubernetesClient admin;
    private volatile boolean closed;
    private final List<java.net.ServerSocket> relays = new ArrayList<>();
    /** The log files linked into the journal so far, by inode. */
    private final Set<Object> journaled = new java.util.HashSet<>();
    /** The default StorageClass's provisioner: {@code local} volumes in this run's directory. */
    private final LocalVolumes volumes;

    private RealNode(Path dir, Path bin, Set<String> netnsBefore, KubernetesClient admin) {
        this.dir = dir;
        this.bin = bin;
        this.netnsBefore = netnsBefore;
        this.admin = admin;
        this.volumes = new LocalVolumes(admin, dir.resolve("volumes"), NAME);
    }

    /** Starts the node, imports {@code images} (docker-archives), and returns once the Node is Ready. */
    public static RealNode start(TestControlPlane cp, Path... images) {
        RealParts.Guard.starting("real node (kubelet, containerd)");
        if (!"root".equals(System.getProperty("user.name"))) {
            throw new IllegalStateException("a real node needs root (containerd, kubelet, network namespaces)");
        }
        RealNode node = null;
        try {
            Path bin = build();
            leftovers();
            Path dir = Files.createTempDirectory("dba-node-");
            node = new RealNode(dir, bin, netns(), cp.admin());
            // a JVM that ends without close (an interrupted run) still stops the kubelet and containerd, which
            // would otherwise outlive it and keep pods running
            RealNode started = node;
            Runtime.getRuntime().addShutdownHook(new Thread(started::close, "real-node-stop"));
            node.configure(cp);
            node.network();
            node.cgroups();
            node.launch("containerd", List.of(bin.resolve("bin/containerd").toString(), "--config",
                    dir.resolve("containerd.toml").toString()));
            node.awaitContainerd();
            node.ctr("images", "import", bin.resolve("pause.tar").toString());
            for (Path image : images) {
                node.ctr("images", "import", image.toString());
            }
            node.launch("kubelet", List.of(bin.resolve("bin/kubelet").toString(), "--config",
                    dir.resolve("kubelet.yaml").toString(), "--kubeconfig", dir.resolve("kubelet.kubeconfig").toString(),
                    "--root-dir", dir.resolve("kubelet").toString(), "--hostname-override", NAME, "--node-ip", NODE_IP,
                    "--v", "1"));
            node.awaitReady(Duration.ofSeconds(90));
            node.keepJournal();
            node.apiServerForPods(cp);
            node.volumes.start();
            return node;
        } catch (IOException | RuntimeException e) {
            if (node != null) {
                node.close();
            }
            throw e instanceof RuntimeException r ? r : new IllegalStateException(e);
        } catch (InterruptedException e) {
            if (node != null) {
                node.close();
            }
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /**
     * Pods reach the API server as on a cluster, through the {@code kubernetes} Service: its endpoint is the node's
     * address (an EndpointSlice written here, as the API server's own reconciler is off in the test control plane),
     * where a relay passes each connection to the API server on loopback (TLS end to end), and kube-proxy (iptables
     * mode, no masquerade) sends the Service's address there.
     */
    private void apiServerForPods(TestControlPlane cp) throws IOException, InterruptedException {
        int port = java.net.URI.create(cp.url()).getPort();
        expose(port);
        admin.resource(new io.fabric8.kubernetes.api.model.discovery.v1.EndpointSliceBuilder().withNewMetadata()
                .withName("kubernetes").withNamespace("default").addToLabels("kubernetes.io/service-name", "kubernetes")
                .addToLabels("endpointslice.kubernetes.io/managed-by", "dba-operator-tests").endMetadata()
                .withAddressType("IPv4").addNewEndpoint().withAddresses(NODE_IP).withNewConditions().withReady(true)
                .endConditions().endEndpoint().addNewPort().withName("https").withPort(port).withProtocol("TCP")
                .endPort().build()).createOr(r -> r.update());
        Path proxyCert = cp.certificate("system-kube-proxy", "/CN=system:kube-proxy");
        write("kube-proxy.kubeconfig", kubeconfig(cp, proxyCert));
        write("kube-proxy.yaml", """
                apiVersion: kubeproxy.config.k8s.io/v1alpha1
                kind: KubeProxyConfiguration
                mode: iptables
                clientConnection: {kubeconfig: %s/kube-proxy.kubeconfig}
                hostnameOverride: %s
                clusterCIDR: %s
                bindAddress: %s
                healthzBindAddress: ""
                metricsBindAddress: 127.0.0.1:10249
                conntrack: {maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
                iptables: {masqueradeAll: false}
                """.formatted(dir, NAME, POD_CIDR, NODE_IP));
        launch("kube-proxy", List.of(bin.resolve("bin/kube-proxy").toString(), "--config",
                dir.resolve("kube-proxy.yaml").toString(), "--v", "1"));
        // ready once its rules send the kubernetes Service's address somewhere
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (true) {
            try {
                if (run("iptables-save", "-t", "nat").contains("10.96.0.1/32")) {
                    return;
                }
            } catch (IllegalStateException e) {
                // iptables busy: look again
            }
            if (System.nanoTime() > deadline || !processes.get("kube-proxy").isAlive()) {
                throw new IllegalStateException("kube-proxy wrote no rule for the kubernetes Service: "
                        + tail("kube-proxy.log"));
            }
            Thread.sleep(250);
        }
    }

    private static void pipe(java.net.Socket from, java.net.Socket to) {
        Thread t = new Thread(() -> {
            try (var in = from.getInputStream(); var out = to.getOutputStream()) {
                in.transferTo(out);
            } catch (IOException e) {
                // one side closed
            } finally {
                try {
                    from.close();
                    to.close();
                } catch (IOException e) {
                    // closed already
                }
            }
        }, "real-node-relay");
        t.setDaemon(true);
        t.start();
    }

    /**
     * Makes a server listening on loopback at {@code port} (the test's PostgreSQL, its S3 server) reachable from pods
     * at {@link #NODE_IP} and the same port (once; again is a no-op), as a database outside the cluster is reached
     * from a cluster's pods: a relay on the node's address passes each connection through, bytes unchanged. Closed
     * with the node.
     * @return the host pods connect to
     */
    public synchronized String expose(int port) throws IOException {
        if (relays.stream().anyMatch(r -> r.getLocalPort() == port && !r.isClosed())) {
            return NODE_IP;
        }
        java.net.ServerSocket relay = new java.net.ServerSocket();
        try {
            relay.bind(new java.net.InetSocketAddress(NODE_IP, port));
        } catch (java.net.BindException e) {
            relay.close();
            // a server listening on every address is reachable at the node's address already
            try (java.net.Socket probe = new java.net.Socket()) {
                probe.connect(new java.net.InetSocketAddress(NODE_IP, port), 2000);
                return NODE_IP;
            } catch (IOException unreachable) {
                throw e;
            }
        }
        relays.add(relay);
        Thread accept = new Thread(() -> {
            while (!relay.isClosed()) {
                java.net.Socket in = null;
                try {
                    in = relay.accept();
                    java.net.Socket out = new java.net.Socket("127.0.0.1", port);
                    pipe(in, out);
                    pipe(out, in);
                } catch (IOException e) {
                    // closed, or nothing listens on loopback any more: the pod's connection is closed at once, as
                    // a server that is gone closes it (left open, a client would wait on it for ever)
                    if (in != null) {
                        try {
                            in.close();
                        } catch (IOException closed) {
                            // closed already
                        }
                    }
                }
            }
        }, "real-node-relay-" + port);
        accept.setDaemon(true);
        accept.start();
        return NODE_IP;
    }

    /**
     * The URL of a server on loopback ({@code http://127.0.0.1:port}, the S3 server's endpoint) as pods reach it:
     * the same port at the node's address, {@link #expose exposed}.
     */
    public String forPods(String loopbackUrl) throws IOException {
        java.net.URI url = java.net.URI.create(loopbackUrl);
        return url.getScheme() + "://" + expose(url.getPort()) + ":" + url.getPort()
                + (url.getRawPath() == null ? "" : url.getRawPath());
    }

    /** The pids of the node's own processes (containerd, the kubelet, kube-proxy), for a check that they are gone. */
    public Map<String, Long> pids() {
        Map<String, Long> pids = new java.util.LinkedHashMap<>();
        processes.forEach((name, p) -> pids.put(name, p.pid()));
        return pids;
    }

    /** The directory of the claim's volume on this node, or null while it has none. */
    public Path claimDir(String namespace, String claim) {
        return volumes.directory(namespace, claim);
    }

    /**
     * Everything every container of this node wrote to stdout and stderr, deleted pods' too, as a node's journal
     * keeps it: the kubelet removes a pod's log files with the pod, so each file is hard-linked into the journal as
     * soon as it appears (the link is the same file: what the container writes later is in it too).
     */
    public String allLogs() {
        StringBuilder all = new StringBuilder();
        linkNewLogs();
        try (Stream<Path> files = Files.list(dir.resolve("journal"))) {
            for (Path f : files.sorted().toList()) {
                all.append(Files.readString(f, StandardCharsets.UTF_8));
            }
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        return all.toString();
    }

    private void keepJournal() throws IOException {
        Files.createDirectories(dir.resolve("journal"));
        Thread t = new Thread(() -> {
            while (!closed) {
                linkNewLogs();
                try {
                    Thread.sleep(300);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }, "real-node-journal");
        t.setDaemon(true);
        t.start();
    }

    private synchronized void linkNewLogs() {
        Path logs = dir.resolve("pod-logs");
        if (closed || !Files.isDirectory(logs)) {
            return;
        }
        try (Stream<Path> files = Files.walk(logs)) {
            for (Path f : files.filter(f -> f.toString().endsWith(".log") && Files.isRegularFile(f)).toList()) {
                Object inode = Files.readAttributes(f, java.nio.file.attribute.BasicFileAttributes.class).fileKey();
                if (journaled.add(inode)) {
                    Files.createLink(dir.resolve("journal").resolve(String.format("%06d-%s", journaled.size(),
                            logs.relativize(f).toString().replace('/', '_'))), f);
                }
            }
        } catch (IOException | java.io.UncheckedIOException e) {
            // a pod's files went while walking: the next pass links what is left
        }
    }

    /**
     * Kills the pod's first container's processes with SIGKILL through containerd, as when its process dies (the
     * kubelet then restarts it by the pod's restartPolicy). False when it is not running.
     */
    public boolean killContainer(String namespace, String pod) throws IOException, InterruptedException {
        var p = admin.pods().inNamespace(namespace).withName(pod).get();
        if (p == null || p.getStatus().getContainerStatuses() == null || p.getStatus().getContainerStatuses().isEmpty()
                || p.getStatus().getContainerStatuses().get(0).getState().getRunning() == null) {
            return false;
        }
        String id = p.getStatus().getContainerStatuses().get(0).getContainerID().replaceFirst("^containerd://", "");
        ctr("tasks", "kill", "--all", "--signal", "SIGKILL", id);
        return true;
    }

    /** The kubelet's and containerd's directory of this run (their logs: kubelet.log, containerd.log). */
    public Path directory() {
        return dir;
    }

    private static Path build() throws IOException, InterruptedException {
        return BuildScript.run("build-node", Map.of("CONTAINERS_CONF", OperatorImage.containersConf()));
    }

    private void configure(TestControlPlane cp) throws IOException {
        Path client = cp.certificate(NAME, "/CN=system:node:" + NAME + "/O=system:nodes");
        Path serving = cp.certificate(NAME + "-serving", "/CN=" + NAME, NODE_IP);
        write("kubelet.kubeconfig", kubeconfig(cp, client));
        write("kubelet.yaml", """
                apiVersion: kubelet.config.k8s.io/v1beta1
                kind: KubeletConfiguration
                failCgroupV1: false
                cgroupDriver: cgroupfs
                cgroupRoot: /%s
                containerRuntimeEndpoint: unix://%s/containerd.sock
                address: %s
                port: 10250
                readOnlyPort: 0
                healthzBindAddress: 127.0.0.1
                healthzPort: 0
                tlsCertFile: %s
                tlsPrivateKeyFile: %s
                authentication:
                  anonymous: {enabled: false}
                  webhook: {enabled: true}
                  x509: {clientCAFile: %s}
                authorization: {mode: Webhook}
                failSwapOn: false
                podCIDR: %s
                resolvConf: ""
                serializeImagePulls: false
                imageGCHighThresholdPercent: 100
                imageGCLowThresholdPercent: 99
                evictionHard: {memory.available: "100Mi", nodefs.available: "1%%", imagefs.available: "1%%", nodefs.inodesFree: "1%%"}
                maxPods: 60
                podLogsDir: %s/pod-logs
                """.formatted(CGROUP_ROOT, dir, NODE_IP, serving, key(serving), cp.caFile(), POD_CIDR, dir));
        write("containerd.toml", """
                version = 3
                root = "%1$s/containerd/root"
                state = "%1$s/containerd/state"
                [grpc]
                  address = "%1$s/containerd.sock"
                [plugins."io.containerd.cri.v1.images"]
                  snapshotter = "overlayfs"
                  [plugins."io.containerd.cri.v1.images".pinned_images]
                    sandbox = "localhost/pause:3.10"
                [plugins."io.containerd.cri.v1.runtime"]
                  # root here lacks CAP_SYS_RESOURCE: no pod may get an oom_score_adj below the node's own
                  restrict_oom_score_adj = true
                  [plugins."io.containerd.cri.v1.runtime".containerd]
                    default_runtime_name = "runc"
                    [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc]
                      runtime_type = "io.containerd.runc.v2"
                      [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc.options]
                        BinaryName = "/usr/sbin/runc"
                        SystemdCgroup = false
                  [plugins."io.containerd.cri.v1.runtime".cni]
                    bin_dirs = ["%2$s/cni"]
                    conf_dir = "%1$s/cni"
                """.formatted(dir, bin));
        Files.createDirectories(dir.resolve("cni"));
        write("cni/10-dba.conflist", """
                {"cniVersion": "1.0.0", "name": "dba-pods", "plugins": [
                  {"type": "bridge", "bridge": "%s", "isGateway": true, "ipMasq": false, "hairpinMode": true,
                   "ipam": {"type": "host-local", "ranges": [[{"subnet": "%s"}]], "dataDir": "%s/cni-ipam",
                            "routes": [{"dst": "%s"}, {"dst": "%s/32"}]}},
                  {"type": "portmap", "capabilities": {"portMappings": true}}]}
                """.formatted(BRIDGE, POD_CIDR, dir, SERVICE_CIDR, NODE_IP));
    }

    private static String kubeconfig(TestControlPlane cp, Path certificate) {
        return """
                apiVersion: v1
                kind: Config
                clusters:
                - name: test
                  cluster: {certificate-authority: %s, server: "%s"}
                users:
                - name: node
                  user: {client-certificate: %s, client-key: %s}
                contexts:
                - name: node
                  context: {cluster: test, user: node}
                current-context: node
                """.formatted(cp.caFile(), cp.url(), certificate, key(certificate));
    }

    private static String key(Path certificate) {
        String c = certificate.toString();
        return c.substring(0, c.length() - ".crt".length()) + ".key";
    }

    private void write(String name, String content) throws IOException {
        Files.writeString(dir.resolve(name), content, StandardCharsets.UTF_8);
    }

    private void network() throws IOException, InterruptedException {
        run("ip", "link", "add", VETH, "type", "veth", "peer", "name", VETH_PEER);
        run("ip", "addr", "add", NODE_IP + "/32", "dev", VETH);
        run("ip", "link", "set", VETH, "up");
        run("ip", "link", "set", VETH_PEER, "up");
    }

    private void cgroups() throws IOException {
        try (Stream<Path> hierarchies = Files.list(CGROUPS)) {
            for (Path h : hierarchies.filter(Files::isDirectory).toList()) {
                Files.createDirectories(h.resolve(CGROUP_ROOT));
            }
        }
    }

    private void launch(String name, List<String> command) throws IOException {
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(dir.resolve(name + ".log").toFile());
        pb.environment().put("PATH", bin.resolve("bin") + ":" + System.getenv("PATH"));
        processes.put(name, pb.start());
    }

    private void awaitContainerd() throws IOException, InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!Files.exists(dir.resolve("containerd.sock"))) {
            if (System.nanoTime() > deadline || !processes.get("containerd").isAlive()) {
                throw new IllegalStateException("containerd did not start: " + tail("containerd.log"));
            }
            Thread.sleep(100);
        }
    }

    private void awaitReady(Duration atMost) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + atMost.toNanos();
        while (true) {
            Node n = admin.nodes().withName(NAME).get();
            if (n != null && n.getStatus() != null && n.getStatus().getConditions() != null && n.getStatus()
                    .getConditions().stream().anyMatch(c -> "Ready".equals(c.getType()) && "True".equals(c.getStatus()))) {
                return;
            }
            if (System.nanoTime() > deadline || processes.values().stream().anyMatch(p -> !p.isAlive())) {
                throw new IllegalStateException("node " + NAME + " is not Ready: kubelet: " + tail("kubelet.log")
                        + "\ncontainerd: " + tail("containerd.log"));
            }
            Thread.sleep(250);
        }
    }

    private String tail(String log) throws IOException {
        List<String> lines = Files.readAllLines(dir.resolve(log));
        return String.join("\n", lines.subList(Math.max(0, lines.size() - 15), lines.size()));
    }

    /** {@code ctr} against this node's containerd, in the namespace the kubelet uses. */
    public String ctr(String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of(bin.resolve("bin/ctr").toString(), "--address",
                dir.resolve("containerd.sock").toString(), "--namespace", "k8s.io"));
        command.addAll(List.of(args));
        return run(command.toArray(String[]::new));
    }

    private static String run(String... command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(5, TimeUnit.MINUTES) || p.exitValue() != 0) {
            throw new IllegalStateException(String.join(" ", command) + " failed: " + out);
        }
        return out;
    }

    private static boolean quietly(String... command) {
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            return p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    private static Set<String> netns() throws IOException {
        if (!Files.isDirectory(NETNS)) {
            return Set.of();
        }
        try (Stream<Path> names = Files.list(NETNS)) {
            return names.map(p -> p.getFileName().toString()).collect(Collectors.toSet());
        }
    }

    /** What a run killed before its close left: the interfaces and cgroups of this node's fixed names. */
    private static void leftovers() throws IOException {
        quietly("ip", "link", "del", VETH);
        quietly("ip", "link", "del", BRIDGE);
        removeCgroups();
        removeContainerLogLinks(null);
    }

    private static void removeCgroups() throws IOException {
        try (Stream<Path> hierarchies = Files.list(CGROUPS)) {
            for (Path h : hierarchies.toList()) {
                Path root = h.resolve(CGROUP_ROOT);
                if (Files.isDirectory(root)) {
                    try (Stream<Path> tree = Files.walk(root)) {
                        // cgroup directories go leaf first; their files are not removable and need not be
                        tree.filter(Files::isDirectory).sorted(Comparator.reverseOrder())
                                .forEach(d -> d.toFile().delete());
                    }
                }
            }
        }
    }

    /** Stops the kubelet and containerd and removes everything this node made on the machine. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            try {
                admin.nodes().withName(NAME).delete();
                admin.discovery().v1().endpointSlices().inNamespace("default").withName("kubernetes").delete();
            } catch (RuntimeException e) {
                // the control plane may be gone already
            }
            volumes.close();
            for (java.net.ServerSocket relay : relays) {
                relay.close();
            }
            // kube-proxy, and the rules it wrote; then the kubelet: it restarts what dies
            stop(processes.get("kube-proxy"));
            if (processes.containsKey("kube-proxy")) {
                quietly(bin.resolve("bin/kube-proxy").toString(), "--cleanup", "--proxy-mode", "iptables");
            }
            stop(processes.get("kubelet"));
            if (Files.exists(dir.resolve("containerd.sock"))) {
                try {
                    for (String task : ctr("tasks", "ls", "-q").split("\n")) {
                        if (!task.isBlank()) {
                            quietly(bin.resolve("bin/ctr").toString(), "--address",
                                    dir.resolve("containerd.sock").toString(), "--namespace", "k8s.io", "tasks", "kill",
                                    "--signal", "KILL", task.trim());
                        }
                    }
                } catch (IOException | RuntimeException e) {
                    // containerd died: its shims are found below
                }
            }
            stop(processes.get("containerd"));
            // shims outlive containerd by design: those of this node name its socket
            quietly("pkill", "-KILL", "-f", "containerd-shim-runc-v2 .*" + dir);
            Thread.sleep(300);
            List<String> mounts = Files.readAllLines(Path.of("/proc/mounts")).stream().map(l -> l.split(" ")[1])
                    .filter(m -> m.startsWith(dir.toString())).sorted(Comparator.reverseOrder()).toList();
            for (String m : mounts) {
                quietly("umount", "-l", m);
            }
            for (String ns : netns()) {
                if (!netnsBefore.contains(ns) && ns.startsWith("cni-")) {
                    quietly("ip", "netns", "del", ns);
                }
            }
            removeCgroups();
            removeKubeletChains();
            removeContainerLogLinks(dir);
            quietly("ip", "link", "del", BRIDGE);
            quietly("ip", "link", "del", VETH);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            TempDirs.delete(dir);
        }
    }

    /**
     * The links the kubelet keeps in /var/log/containers (a path it does not let one configure) to its containers'
     * logs: those pointing into {@code under}, or, when null, into any run's directory that is gone.
     */
    private static void removeContainerLogLinks(Path under) throws IOException {
        Path links = Path.of("/var/log/containers");
        if (!Files.isDirectory(links)) {
            return;
        }
        try (Stream<Path> all = Files.list(links)) {
            for (Path link : all.filter(Files::isSymbolicLink).toList()) {
                Path target = Files.readSymbolicLink(link);
                boolean ours = under != null ? target.startsWith(under)
                        : target.toString().contains("/dba-node-") && !Files.exists(target);
                if (ours) {
                    Files.deleteIfExists(link);
                }
            }
        }
    }

    /**
     * The kubelet's own iptables chains (KUBE-FIREWALL, which drops localnet traffic from other addresses, and its
     * canaries), which it never removes: the rules that jump to them, then the chains, in each table and family.
     * kube-proxy's were removed by its --cleanup.
     */
    private static void removeKubeletChains() {
        for (String tool : List.of("iptables", "ip6tables")) {
            for (String table : List.of("filter", "nat", "mangle")) {
                String rules;
                try {
                    rules = run(tool + "-save", "-t", table);
                } catch (IOException | RuntimeException e) {
                    continue;
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
                List<String> chains = new ArrayList<>();
                for (String line : rules.split("\n")) {
                    if (line.startsWith(":KUBE-")) {
                        chains.add(line.substring(1, line.indexOf(' ')));
                    } else if (line.startsWith("-A ") && line.contains("-j KUBE-") && !line.startsWith("-A KUBE-")) {
                        List<String> delete = new ArrayList<>(List.of(tool, "-t", table, "-D"));
                        delete.addAll(List.of(line.substring(3).split(" ")));
                        quietly(delete.stream().map(a -> a.replace("\"", "")).toArray(String[]::new));
                    }
                }
                for (String chain : chains) {
                    quietly(tool, "-t", table, "-F", chain);
                }
                for (String chain : chains) {
                    quietly(tool, "-t", table, "-X", chain);
                }
            }
        }
    }

    private static void stop(Process p) throws InterruptedException {
        if (p != null && p.isAlive()) {
            p.destroy();
            if (!p.waitFor(15, TimeUnit.SECONDS)) {
                p.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
            }
        }
    }
}
