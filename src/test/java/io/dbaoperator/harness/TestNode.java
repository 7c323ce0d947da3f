package io.dbaoperator.harness;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.RandomAccessFile;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerState;
import io.fabric8.kubernetes.api.model.ContainerStateBuilder;
import io.fabric8.kubernetes.api.model.ContainerStatus;
import io.fabric8.kubernetes.api.model.ContainerStatusBuilder;
import io.fabric8.kubernetes.api.model.NodeBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodCondition;
import io.fabric8.kubernetes.api.model.PodConditionBuilder;
import io.fabric8.kubernetes.api.model.PodIPBuilder;
import io.fabric8.kubernetes.api.model.PodStatus;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.coordination.v1.LeaseBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;

/**
 * A node of the test control plane that runs Pods as local processes, doing what a kubelet does and no more: it
 * registers its Node and renews its Lease, runs the pods kube-scheduler binds to it (the container's command, env
 * from values, Secrets, ConfigMaps and pod fields, emptyDir, Secret, ConfigMap and PersistentVolumeClaim volumes),
 * restarts containers by the pod's restartPolicy with the kubelet's doubling back-off, runs exec readiness probes,
 * ends a deleted pod's process (SIGTERM, or SIGINT for PostgreSQL as its image's STOPSIGNAL says, then SIGKILL after
 * the grace period) and writes only what a kubelet writes: pod status, container states, exit codes and
 * termination messages. Its HTTPS endpoint serves {@code /containerLogs}, so {@code kubectl logs} goes through the
 * API server. Job, ReplicaSet, Deployment and StatefulSet status come from the real controllers.
 * <p>
 * What a process on one machine cannot be, and how this node stands in: each pod gets its own loopback address
 * (127.0.1.x) as its IP, and loopback addresses in its command and probes are pointed at it; volumes are
 * directories, and arguments naming a mount path are pointed at them; the image is not pulled: a container whose
 * command is {@code dba-agent} runs the agent from this JVM's classpath, and a container whose command is
 * {@code postgres} (or of the {@code postgres} image without a command) runs that major version's server from the
 * machine's packages as the local postgres account (the image's uid 999); every other container runs as this JVM's user. No Service
 * routing or DNS: a client reaches a pod at its IP.
 */
public final class TestNode implements AutoCloseable {

    public static final String NAME = "dba-test-node";
    private static final Pattern LOG_PATH = Pattern.compile("/containerLogs/([^/]+)/([^/]+)/([^/]+)");

    private final KubernetesClient client;
    private final ContainerProcesses processes;
    private final Map<String, PodWorker> workers = new ConcurrentHashMap<>();
    private final AtomicInteger nextAddress = new AtomicInteger(2);
    private final ExecutorService pool = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "test-node");
        t.setDaemon(true);
        return t;
    });
    private final ScheduledExecutorService heartbeat = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "test-node-heartbeat");
        t.setDaemon(true);
        return t;
    });
    private final HttpsServer logServer;
    private final LocalVolumes volumes;
    private final Path journal;
    private SharedIndexInformer<Pod> informer;

    private TestNode(TestControlPlane cp) throws Exception {
        // the node's own identity: the Node authorizer lets it read only what its pods reference
        this.client = cp.user("system:node:" + NAME, "system:nodes");
        this.processes = new ContainerProcesses(client);
        this.volumes = new LocalVolumes(cp.admin(), processes.root().resolve("volumes"), null);
        this.journal = processes.root().resolve("journal.log");
        KeyStore store = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(cp.servingKeyStore("node-serving"))) {
            store.load(in, "test".toCharArray());
        }
        KeyManagerFactory keys = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        keys.init(store, "test".toCharArray());
        SSLContext tls = SSLContext.getInstance("TLS");
        tls.init(keys.getKeyManagers(), null, null);
        logServer = HttpsServer.create(new InetSocketAddress("127.0.0.1", 0), 16);
        logServer.setHttpsConfigurator(new HttpsConfigurator(tls));
        logServer.createContext("/containerLogs/", this::serveLog);
        logServer.setExecutor(pool);
    }

    /** Registers the node, its default StorageClass and provisioner, and starts running the pods bound to it. */
    public static TestNode start(TestControlPlane cp) {
        TestNode node = null;
        try {
            node = new TestNode(cp);
            node.logServer.start();
            node.volumes.start();
            node.register();
            node.heartbeat.scheduleWithFixedDelay(node::renew, 10, 10, TimeUnit.SECONDS);
            node.informer = node.client.pods().inAnyNamespace().withField("spec.nodeName", NAME)
                    .inform(Informers.handler(node::handle, node::deleted), 0);
            return node;
        } catch (Exception e) {
            if (node != null) {
                node.close(); // its directories and threads go with the failed start
            }
            throw new IllegalStateException("could not start the test node: " + e.getMessage(), e);
        }
    }

    /** Where a pod's volume of the given claim lives on this node, or null while it is not provisioned. */
    public Path claimDir(String namespace, String claim) {
        return volumes.directory(namespace, claim);
    }

    /**
     * Everything every pod of this node wrote to stdout and stderr, deleted pods' too (a node's journal keeps them),
     * so a test can check that no secret ever reached a container's output.
     */
    public String allLogs() {
        StringBuilder all = new StringBuilder();
        synchronized (journal) {
            try {
                if (Files.exists(journal)) {
                    all.append(Files.readString(journal, StandardCharsets.UTF_8));
                }
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }
        for (PodWorker w : workers.values()) {
            all.append(w.output());
        }
        return all.toString();
    }

    private void keepInJournal(PodWorker w) {
        synchronized (journal) {
            try {
                Files.writeString(journal, w.output(), StandardCharsets.UTF_8, java.nio.file.StandardOpenOption.CREATE,
                        java.nio.file.StandardOpenOption.APPEND);
            } catch (IOException e) {
                // a node going away takes its journal with it
            }
        }
    }

    /** Sends SIGKILL to the container process of a running pod, as an OOM kill or a crash would end it. */
    public boolean killContainer(String namespace, String pod) {
        PodWorker w = workers.values().stream()
                .filter(x -> x.ns.equals(namespace) && x.name.equals(pod)).findFirst().orElse(null);
        Process p = w == null ? null : w.process;
        if (p == null || !p.isAlive()) {
            return false;
        }
        p.descendants().forEach(ProcessHandle::destroyForcibly);
        p.destroyForcibly();
        return true;
    }

    // --- the Node, its Lease and its status ---

    private void register() {
        String now = Instant.now().toString();
        var node = new NodeBuilder().withNewMetadata().withName(NAME)
                .addToLabels("kubernetes.io/hostname", NAME).addToLabels("kubernetes.io/os", "linux")
                .addToLabels("kubernetes.io/arch", "amd64").endMetadata()
                .withNewSpec().endSpec().build();
        client.nodes().resource(node).create();
        // the node-lifecycle controller writes the new Node too (taints): a conflict is retried on the fresh object
        onConflictRetry(() -> client.nodes().withName(NAME).editStatus(n -> new NodeBuilder(n).withNewStatus()
                .addToCapacity(resources()).addToAllocatable(resources())
                .addNewAddress().withType("InternalIP").withAddress("127.0.0.1").endAddress()
                .addNewAddress().withType("Hostname").withAddress(NAME).endAddress()
                .withNewDaemonEndpoints().withNewKubeletEndpoint().withPort(logServer.getAddress().getPort())
                .endKubeletEndpoint().endDaemonEndpoints()
                .withNewNodeInfo().withKubeletVersion("v1.37.2").withKubeProxyVersion("").withOperatingSystem("linux")
                .withArchitecture("amd64").withContainerRuntimeVersion("process://test-node").withOsImage("local")
                .withKernelVersion(System.getProperty("os.version")).withMachineID(NAME).withSystemUUID(NAME)
                .withBootID(NAME).endNodeInfo()
                .addNewCondition().withType("Ready").withStatus("True").withReason("KubeletReady")
                .withMessage("test node is posting ready status").withLastHeartbeatTime(now)
                .withLastTransitionTime(now).endCondition()
                .addNewCondition().withType("MemoryPressure").withStatus("False").withReason("KubeletHasSufficientMemory")
                .withLastHeartbeatTime(now).withLastTransitionTime(now).endCondition()
                .addNewCondition().withType("DiskPressure").withStatus("False").withReason("KubeletHasNoDiskPressure")
                .withLastHeartbeatTime(now).withLastTransitionTime(now).endCondition()
                .addNewCondition().withType("PIDPressure").withStatus("False").withReason("KubeletHasSufficientPID")
                .withLastHeartbeatTime(now).withLastTransitionTime(now).endCondition()
                .endStatus().build()));
        renew();
    }

    private static void onConflictRetry(Runnable write) {
        for (int attempt = 1;; attempt++) {
            try {
                write.run();
                return;
            } catch (KubernetesClientException e) {
                if (e.getCode() != 409 || attempt == 10) {
                    throw e;
                }
            }
        }
    }

    private static Map<String, Quantity> resources() {
        return Map.of("cpu", new Quantity("16"), "memory", new Quantity("64Gi"), "pods", new Quantity("110"),
                "ephemeral-storage", new Quantity("100Gi"));
    }

    /** The node's heartbeat: its Lease in kube-node-lease, and the Ready condition's heartbeat time. */
    private void renew() {
        try {
            var now = java.time.ZonedDateTime.now(java.time.ZoneOffset.UTC);
            var leases = client.leases().inNamespace("kube-node-lease");
            if (leases.withName(NAME).get() == null) {
                var uid = client.nodes().withName(NAME).get().getMetadata().getUid();
                leases.resource(new LeaseBuilder().withNewMetadata().withName(NAME).addNewOwnerReference()
                        .withApiVersion("v1").withKind("Node").withName(NAME).withUid(uid).endOwnerReference()
                        .endMetadata().withNewSpec().withHolderIdentity(NAME).withLeaseDurationSeconds(40)
                        .withRenewTime(now).endSpec().build()).create();
            } else {
                leases.withName(NAME).edit(l -> {
                    l.getSpec().setRenewTime(now);
                    return l;
                });
            }
            onConflictRetry(() -> client.nodes().withName(NAME).editStatus(n -> {
                n.getStatus().getConditions().forEach(c -> c.setLastHeartbeatTime(Instant.now().toString()));
                return n;
            }));
        } catch (RuntimeException e) {
            // a missed beat is retried in 10 s; the node lifecycle controller allows 50 s
        }
    }

    // --- pods ---

    /** A pod removed for good (its deletion finished elsewhere): its container ends at once. */
    private void deleted(Pod pod) {
        PodWorker w = workers.get(pod.getMetadata().getUid());
        if (w != null) {
            w.terminate(0);
        }
    }

    private void handle(Pod pod) {
        String uid = pod.getMetadata().getUid();
        PodWorker w = workers.get(uid);
        boolean terminal = pod.getStatus() != null && ("Succeeded".equals(pod.getStatus().getPhase())
                || "Failed".equals(pod.getStatus().getPhase()));
        if (pod.getMetadata().getDeletionTimestamp() != null) {
            if (w != null) {
                w.terminate(pod.getMetadata().getDeletionGracePeriodSeconds() == null ? 30
                        : pod.getMetadata().getDeletionGracePeriodSeconds());
            } else {
                pool.submit(() -> finishDeletion(pod));
            }
            return;
        }
        if (w == null && !terminal) {
            PodWorker created = new PodWorker(pod, "127.0.1." + nextAddress.getAndIncrement());
            if (workers.putIfAbsent(uid, created) == null) {
                pool.submit(created);
            }
        }
    }

    /** The kubelet's last word on a deleted pod: removed for good once its containers are gone. */
    private void finishDeletion(Pod pod) {
        try {
            client.pods().inNamespace(pod.getMetadata().getNamespace()).withName(pod.getMetadata().getName())
                    .withGracePeriod(0).delete();
        } catch (KubernetesClientException e) {
            // already gone
        }
    }

    /** One pod: its container run, restarted and ended as the kubelet would, and its status written. */
    private final class PodWorker implements Runnable {
        final String ns;
        final String name;
        final String uid;
        final String ip;
        final Pod pod;
        final Container container;
        final boolean postgres;
        final String startTime = Instant.now().toString();
        volatile Process process;
        volatile boolean terminating;
        boolean finished;
        volatile long gracePeriod = 30;
        volatile boolean ready;
        volatile ContainerState state = new ContainerStateBuilder().withNewWaiting().withReason("ContainerCreating")
                .endWaiting().build();
        volatile ContainerState lastState;
        volatile int restarts;
        volatile String phase = "Pending";
        final Object lock = new Object();
        Map<String, Path> mounts = Map.of();
        Map<String, String> env = Map.of();

        PodWorker(Pod pod, String ip) {
            this.pod = pod;
            this.ns = pod.getMetadata().getNamespace();
            this.name = pod.getMetadata().getName();
            this.uid = pod.getMetadata().getUid();
            this.ip = ip;
            this.container = pod.getSpec().getContainers().get(0);
            this.postgres = List.of("postgres").equals(container.getCommand())
                    || (container.getCommand() == null || container.getCommand().isEmpty())
                    && container.getImage() != null && container.getImage().matches("(.*/)?postgres(:.*)?");
        }

        Path podDir() {
            return processes.root().resolve("pods").resolve(uid);
        }

        Path log(int restart) {
            return podDir().resolve("logs").resolve(container.getName() + "-" + restart + ".log");
        }

        /** What every run of the container wrote, headed by the pod's name. */
        String output() {
            StringBuilder out = new StringBuilder();
            for (int i = 0; i <= restarts; i++) {
                try {
                    if (Files.exists(log(i))) {
                        out.append("--- ").append(ns).append('/').append(name).append(" #").append(i).append('\n')
                                .append(Files.readString(log(i), StandardCharsets.UTF_8));
                    }
                } catch (IOException e) {
                    // removed meanwhile
                }
            }
            return out.toString();
        }

        @Override
        public void run() {
            try {
                Files.createDirectories(podDir().resolve("logs"));
                writeStatus();
                long backoff = 10;
                while (!terminating) {
                    if (!prepare()) {
                        continue;
                    }
                    Instant started = Instant.now();
                    try {
                        process = start();
                    } catch (IOException e) {
                        state = terminated(128, "StartError", e.getMessage(), started);
                        phase = "Failed";
                        writeStatus();
                        return;
                    }
                    state = new ContainerStateBuilder().withNewRunning().withStartedAt(started.toString())
                            .endRunning().build();
                    phase = "Running";
                    ready = container.getReadinessProbe() == null;
                    writeStatus();
                    if (container.getReadinessProbe() != null) {
                        pool.submit(() -> probe(process));
                    }
                    int exit = process.waitFor();
                    ready = false;
                    state = terminated(exit, exit == 0 ? "Completed" : "Error", terminationMessage(exit), started);
                    if (terminating) {
                        break;
                    }
                    String policy = pod.getSpec().getRestartPolicy() == null ? "Always"
                            : pod.getSpec().getRestartPolicy();
                    if ("Never".equals(policy) || "OnFailure".equals(policy) && exit == 0) {
                        phase = exit == 0 ? "Succeeded" : "Failed";
                        writeStatus();
                        return;
                    }
                    if (Duration.between(started, Instant.now()).toMinutes() >= 10) {
                        backoff = 10; // the kubelet forgets a crash loop after ten minutes of running
                    }
                    lastState = state;
                    restarts++;
                    state = new ContainerStateBuilder().withNewWaiting().withReason("CrashLoopBackOff")
                            .withMessage("back-off " + backoff + "s restarting failed container=" + container.getName()
                                    + " pod=" + name + "_" + ns + "(" + uid + ")")
                            .endWaiting().build();
                    writeStatus();
                    pause(backoff);
                    backoff = Math.min(backoff * 2, 300);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } catch (IOException | RuntimeException e) {
                state = terminated(128, "StartError", String.valueOf(e.getMessage()), Instant.now());
                phase = "Failed";
                writeStatus();
            } finally {
                boolean cleanUp;
                synchronized (lock) {
                    finished = true;
                    cleanUp = terminating;
                }
                if (cleanUp) {
                    cleanUp();
                }
            }
        }

        /** A deleted pod: its process ended, the pod removed for good, its logs and volumes deleted. */
        private void cleanUp() {
            stopProcess();
            finishDeletion(pod);
            workers.remove(uid);
            keepInJournal(this);
            TempDirs.delete(podDir());
        }

        /** Volumes and environment; false (after a pause) while something the pod needs is not there yet. */
        private boolean prepare() throws InterruptedException {
            try {
                mounts = mounts();
                env = processes.env(ns, container, fields());
                return true;
            } catch (ContainerProcesses.ConfigError | KubernetesClientException | IOException e) {
                state = new ContainerStateBuilder().withNewWaiting().withReason("CreateContainerConfigError")
                        .withMessage(e.getMessage()).endWaiting().build();
                writeStatus();
                pause(2);
                return false;
            }
        }

        /** What the Downward API gives a container's env from fieldRef. */
        private Map<String, String> fields() {
            return Map.of("metadata.name", name, "metadata.namespace", ns, "metadata.uid", uid,
                    "status.podIP", ip, "status.hostIP", "127.0.0.1", "spec.nodeName", NAME,
                    "spec.serviceAccountName", String.valueOf(pod.getSpec().getServiceAccountName()));
        }

        private Process start() throws IOException {
            List<String> command = postgres ? postgresCommand(env) : ContainerProcesses.command(container);
            if (command.isEmpty()) {
                throw new IOException("the container has no command and this node does not run images' entry "
                        + "points (only dba-agent and the postgres server)");
            }
            Path scratch = mounts.get("/tmp");
            if (scratch != null && command.get(0).endsWith("/java")) {
                command = new ArrayList<>(command);
                command.add(1, "-Djava.io.tmpdir=" + scratch);
            }
            command = loopbackToPodIp(ContainerProcesses.remount(command, mounts));
            if (scratch != null) {
                env.put("TMPDIR", scratch.toString());
            }
            return processes.launch(command, env, log(restarts), postgres);
        }

        /** The postgres image's default command: the server on PGDATA, listening on the pod's address. */
        private List<String> postgresCommand(Map<String, String> env) throws IOException {
            String tag = container.getImage().contains(":") ? container.getImage().replaceAll(".*:", "") : "";
            String major = tag.replaceAll("^(\\d+).*", "$1");
            Path bin = Path.of("/usr/lib/postgresql", major, "bin", "postgres");
            if (!Files.isExecutable(bin)) {
                bin = TestPostgres.get().binDir().resolve("postgres");
            }
            String pgdata = env.getOrDefault("PGDATA", "/var/lib/postgresql/data");
            String port = container.getPorts() == null || container.getPorts().isEmpty() ? "5432"
                    : String.valueOf(container.getPorts().get(0).getContainerPort());
            Path sockets = Files.createDirectories(podDir().resolve("run"));
            sockets.toFile().setWritable(true, false);
            podDir().toFile().setExecutable(true, false);
            podDir().getParent().toFile().setExecutable(true, false);
            List<String> command = new ArrayList<>(List.of(bin.toString(), "-D", pgdata));
            if (container.getArgs() != null) {
                // the container's settings, a path in a setting's value pointed at its volume (hba_file=...)
                for (String arg : container.getArgs().stream().dropWhile("postgres"::equals).toList()) {
                    int eq = arg.indexOf('=');
                    command.add(eq < 0 ? arg : arg.substring(0, eq + 1)
                            + ContainerProcesses.remount(List.of(arg.substring(eq + 1)), mounts).get(0));
                }
            }
            // then what a process here must differ in (later settings win): the pod's address, its socket directory
            command.addAll(List.of("-c", "listen_addresses=" + ip, "-c", "port=" + port, "-c",
                    "unix_socket_directories=" + sockets));
            return command;
        }

        private List<String> loopbackToPodIp(List<String> command) {
            return command.stream().map(a -> a.equals("127.0.0.1") || a.equals("localhost") ? ip : a).toList();
        }

        /** Volumes as directories, keyed by the container's mount paths. */
        private Map<String, Path> mounts() throws IOException, ContainerProcesses.ConfigError {
            Map<String, Path> result = new LinkedHashMap<>();
            if (container.getVolumeMounts() == null) {
                return result;
            }
            for (var mount : container.getVolumeMounts()) {
                Volume v = pod.getSpec().getVolumes().stream().filter(x -> x.getName().equals(mount.getName()))
                        .findFirst().orElseThrow(() -> new ContainerProcesses.ConfigError("no volume "
                                + mount.getName()));
                Path dir;
                if (v.getEmptyDir() != null) {
                    dir = Files.createDirectories(podDir().resolve("volumes").resolve(v.getName()));
                    dir.toFile().setWritable(true, false);
                } else if (v.getPersistentVolumeClaim() != null) {
                    String claim = v.getPersistentVolumeClaim().getClaimName();
                    var pvc = client.persistentVolumeClaims().inNamespace(ns).withName(claim).get();
                    if (pvc == null || pvc.getSpec().getVolumeName() == null) {
                        throw new ContainerProcesses.ConfigError("persistentvolumeclaim \"" + claim + "\" not bound");
                    }
                    var pv = client.persistentVolumes().withName(pvc.getSpec().getVolumeName()).get();
                    dir = Path.of(pv.getSpec().getHostPath().getPath());
                } else if (v.getSecret() != null) {
                    var secret = client.secrets().inNamespace(ns).withName(v.getSecret().getSecretName()).get();
                    if (secret == null) {
                        throw new ContainerProcesses.ConfigError("secret \"" + v.getSecret().getSecretName()
                                + "\" not found");
                    }
                    dir = Files.createDirectories(podDir().resolve("volumes").resolve(v.getName()));
                    for (var e : io.dbaoperator.kube.SecretReader.decode(secret).entrySet()) {
                        Files.writeString(dir.resolve(e.getKey()), e.getValue(), StandardCharsets.UTF_8);
                    }
                } else if (v.getConfigMap() != null) {
                    var cm = client.configMaps().inNamespace(ns).withName(v.getConfigMap().getName()).get();
                    if (cm == null) {
                        throw new ContainerProcesses.ConfigError("configmap \"" + v.getConfigMap().getName()
                                + "\" not found");
                    }
                    dir = Files.createDirectories(podDir().resolve("volumes").resolve(v.getName()));
                    for (var e : (cm.getData() == null ? Map.<String, String>of() : cm.getData()).entrySet()) {
                        Files.writeString(dir.resolve(e.getKey()), e.getValue(), StandardCharsets.UTF_8);
                    }
                } else {
                    continue; // the projected service-account token: no process here reads it
                }
                result.put(mount.getMountPath(), dir);
            }
            return result;
        }

        /** The exec readiness probe, run every periodSeconds while this container process lives. */
        private void probe(Process p) {
            var probe = container.getReadinessProbe();
            if (probe.getExec() == null) {
                ready = true;
                writeStatus();
                return;
            }
            int period = probe.getPeriodSeconds() == null ? 10 : probe.getPeriodSeconds();
            int timeout = probe.getTimeoutSeconds() == null ? 1 : probe.getTimeoutSeconds();
            try {
                pause(probe.getInitialDelaySeconds() == null ? 0 : probe.getInitialDelaySeconds());
                while (p.isAlive() && !terminating) {
                    boolean ok;
                    try {
                        Process check = new ProcessBuilder(loopbackToPodIp(probe.getExec().getCommand()))
                                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
                        ok = check.waitFor(Math.max(timeout, 2), TimeUnit.SECONDS) && check.exitValue() == 0;
                        check.destroyForcibly();
                    } catch (IOException e) {
                        ok = false;
                    }
                    if (ok != ready && p.isAlive()) {
                        ready = ok;
                        writeStatus();
                    }
                    pause(period);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }

        /** As terminationMessagePolicy FallbackToLogsOnError: the log's tail (80 lines, 2 KiB) on failure. */
        private String terminationMessage(int exit) {
            if (exit == 0 || !"FallbackToLogsOnError".equals(container.getTerminationMessagePolicy())) {
                return null;
            }
            try {
                List<String> lines = Files.readAllLines(log(restarts), StandardCharsets.UTF_8);
                String tail = String.join("\n", lines.subList(Math.max(0, lines.size() - 80), lines.size()));
                return tail.length() > 2048 ? tail.substring(tail.length() - 2048) : tail;
            } catch (IOException e) {
                return null;
            }
        }

        /** The pod was deleted: its worker ends the container (or, when it has ended, cleans up at once). */
        void terminate(long grace) {
            boolean alreadyFinished;
            synchronized (lock) {
                if (terminating) {
                    return;
                }
                gracePeriod = grace;
                terminating = true;
                alreadyFinished = finished;
                lock.notifyAll();
            }
            if (alreadyFinished) {
                pool.submit(this::cleanUp);
            } else {
                pool.submit(this::stopProcess); // the worker then cleans up as it leaves its loop
            }
        }

        private void stopProcess() {
            Process p = process;
            if (p == null || !p.isAlive()) {
                return;
            }
            // the postgres image stops with SIGINT (fast shutdown); other containers get SIGTERM
            List<ProcessHandle> targets = new ArrayList<>(p.descendants().toList());
            targets.add(p.toHandle());
            for (ProcessHandle h : targets) {
                try {
                    new ProcessBuilder("kill", postgres ? "-INT" : "-TERM", String.valueOf(h.pid()))
                            .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start()
                            .waitFor();
                } catch (IOException e) {
                    // already gone
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            try {
                if (!p.waitFor(Math.max(1, gracePeriod), TimeUnit.SECONDS)) {
                    p.descendants().forEach(ProcessHandle::destroyForcibly);
                    p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }

        private void pause(long seconds) throws InterruptedException {
            synchronized (lock) {
                long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
                while (!terminating && System.nanoTime() < until) {
                    lock.wait(Math.max(1, TimeUnit.NANOSECONDS.toMillis(until - System.nanoTime())));
                }
            }
        }

        private ContainerState terminated(int exit, String reason, String message, Instant started) {
            return new ContainerStateBuilder().withNewTerminated().withExitCode(exit).withReason(reason)
                    .withMessage(message).withStartedAt(started.toString()).withFinishedAt(Instant.now().toString())
                    .withContainerID("process://" + uid + "/" + restarts).endTerminated().build();
        }

        /** The whole status as this node sees it; other writers' conditions (PodScheduled, ...) are kept. */
        synchronized void writeStatus() {
            ContainerStatus cs = new ContainerStatusBuilder().withName(container.getName())
                    .withImage(container.getImage()).withImageID("process://" + container.getImage())
                    .withContainerID(state.getWaiting() == null ? "process://" + uid + "/" + restarts : null)
                    .withState(state).withLastState(lastState == null ? new ContainerState() : lastState)
                    .withReady(ready).withStarted(state.getRunning() != null).withRestartCount(restarts).build();
            String now = Instant.now().toString();
            boolean running = state.getRunning() != null;
            for (int attempt = 0; attempt < 10; attempt++) {
                try {
                    Pod current = client.pods().inNamespace(ns).withName(name).get();
                    if (current == null || !uid.equals(current.getMetadata().getUid())) {
                        return;
                    }
                    PodStatus s = current.getStatus() == null ? new PodStatus() : current.getStatus();
                    s.setPhase(phase);
                    s.setHostIP("127.0.0.1");
                    s.setHostIPs(List.of(new io.fabric8.kubernetes.api.model.HostIPBuilder().withIp("127.0.0.1")
                            .build()));
                    s.setPodIP(ip);
                    s.setPodIPs(List.of(new PodIPBuilder().withIp(ip).build()));
                    s.setStartTime(startTime);
                    s.setQosClass(s.getQosClass() == null ? "BestEffort" : s.getQosClass());
                    s.setContainerStatuses(List.of(cs));
                    boolean done = "Succeeded".equals(phase) || "Failed".equals(phase);
                    Map<String, String> mine = new LinkedHashMap<>();
                    mine.put("PodReadyToStartContainers", done ? "False" : "True");
                    mine.put("Initialized", "True");
                    mine.put("ContainersReady", ready ? "True" : "False");
                    mine.put("Ready", ready ? "True" : "False");
                    List<PodCondition> conditions = new ArrayList<>();
                    Map<String, PodCondition> before = new HashMap<>();
                    for (PodCondition c : s.getConditions() == null ? List.<PodCondition>of() : s.getConditions()) {
                        if (mine.containsKey(c.getType())) {
                            before.put(c.getType(), c);
                        } else {
                            conditions.add(c);
                        }
                    }
                    mine.forEach((type, status) -> {
                        PodCondition old = before.get(type);
                        String since = old != null && status.equals(old.getStatus()) ? old.getLastTransitionTime() : now;
                        conditions.add(new PodConditionBuilder().withType(type).withStatus(status)
                                .withLastTransitionTime(since)
                                .withReason(!"True".equals(status) && type.endsWith("Ready") && !done && running
                                        ? "ContainersNotReady" : done && !"True".equals(status) ? "PodCompleted" : null)
                                .build());
                    });
                    s.setConditions(conditions);
                    current.setStatus(s);
                    client.pods().resource(current).updateStatus();
                    return;
                } catch (KubernetesClientException e) {
                    if (e.getCode() != 409) {
                        return; // deleted meanwhile, or the node may not: nothing a retry changes
                    }
                }
            }
        }
    }

    // --- /containerLogs, for kubectl logs through the API server ---

    private void serveLog(HttpExchange exchange) throws IOException {
        try (exchange) {
            Matcher m = LOG_PATH.matcher(exchange.getRequestURI().getPath());
            Map<String, String> query = new HashMap<>();
            String raw = exchange.getRequestURI().getRawQuery();
            if (raw != null) {
                for (String pair : raw.split("&")) {
                    String[] kv = pair.split("=", 2);
                    query.put(kv[0], kv.length > 1 ? URLDecoder.decode(kv[1], StandardCharsets.UTF_8) : "");
                }
            }
            PodWorker w = m.matches() ? workers.values().stream().filter(x -> x.ns.equals(m.group(1))
                    && x.name.equals(m.group(2)) && x.container.getName().equals(m.group(3))).findFirst()
                    .orElse(null) : null;
            // a container waiting to restart shows its last run, as the kubelet shows the last container's log
            Path file = w == null ? null : w.log(Boolean.parseBoolean(query.get("previous"))
                    || !Files.exists(w.log(w.restarts)) ? Math.max(0, w.restarts - 1) : w.restarts);
            if (file == null || !Files.exists(file)) {
                byte[] body = "container not found on this node\n".getBytes(StandardCharsets.UTF_8);
                exchange.sendResponseHeaders(404, body.length);
                exchange.getResponseBody().write(body);
                return;
            }
            exchange.getResponseHeaders().set("Content-Type", "text/plain");
            exchange.sendResponseHeaders(200, 0);
            OutputStream out = exchange.getResponseBody();
            byte[] content = Files.readAllBytes(file);
            String text = new String(content, StandardCharsets.UTF_8);
            if (query.containsKey("tailLines")) {
                String[] lines = text.split("\n", -1);
                int n = Integer.parseInt(query.get("tailLines"));
                int from = Math.max(0, lines.length - 1 - n);
                text = String.join("\n", java.util.Arrays.copyOfRange(lines, from, lines.length));
            }
            byte[] body = text.getBytes(StandardCharsets.UTF_8);
            if (query.containsKey("limitBytes")) {
                body = java.util.Arrays.copyOf(body, (int) Math.min(body.length, Long.parseLong(query.get("limitBytes"))));
            }
            out.write(body);
            out.flush();
            if (Boolean.parseBoolean(query.get("follow")) && w != null) {
                long offset = content.length;
                while (w.process == null || w.process.isAlive()) {
                    offset = copyFrom(file, offset, out);
                    try {
                        Thread.sleep(200);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        return;
                    }
                }
                copyFrom(file, offset, out);
            }
        }
    }

    private static long copyFrom(Path file, long offset, OutputStream out) throws IOException {
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "r")) {
            if (f.length() <= offset) {
                return offset;
            }
            f.seek(offset);
            byte[] buf = new byte[(int) (f.length() - offset)];
            f.readFully(buf);
            out.write(buf);
            out.flush();
            return offset + buf.length;
        }
    }

    @Override
    public void close() {
        if (informer != null) {
            informer.close();
        }
        heartbeat.shutdownNow();
        workers.values().forEach(w -> w.terminate(0));
        logServer.stop(0);
        volumes.close();
        pool.shutdownNow();
        processes.killAll(); // like a node going away: every container process ends with it, its files too
        try {
            client.nodes().withName(NAME).delete();
        } catch (KubernetesClientException e) {
            // the control plane may be gone already
        }
        client.close();
    }
}
