package io.dbaoperator.harness;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import io.dbaoperator.contract.AgentEnvironment;
import io.dbaoperator.kube.SecretReader;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvFromSource;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.client.KubernetesClient;

/**
 * Starts a container's command as a local process, as a container runtime would: env resolved from values,
 * secretKeyRef and envFrom (with prefix), the image's {@code dba-agent} entry point mapped to the agent main class on
 * this JVM's classpath. Keeps every process it started, so a stopping node can end them all.
 */
final class ContainerProcesses {

    /** The JVM options of the image's dba-agent script, so the tests run the agent within the same memory bounds. */
    static final List<String> AGENT_JAVA_OPTS = agentJavaOpts();

    private static List<String> agentJavaOpts() {
        try {
            String script = java.nio.file.Files.readString(Path.of("src/main/docker/dba-agent"));
            var m = java.util.regex.Pattern.compile("AGENT_JAVA_OPTS:-([^}]*)}").matcher(script);
            if (m.find()) {
                return List.of(m.group(1).trim().split("\\s+"));
            }
        } catch (java.io.IOException e) {
            // run from elsewhere: fall back to the JVM's defaults
        }
        return List.of();
    }

    private final KubernetesClient client;
    private final Set<Process> running = ConcurrentHashMap.newKeySet();
    private final Path logDir;

    ContainerProcesses(KubernetesClient client) {
        this.client = client;
        try {
            this.logDir = java.nio.file.Files.createTempDirectory("test-node-");
            // volumes live below: a server a container starts as another user (postgres) must reach them
            logDir.toFile().setReadable(true, false);
            logDir.toFile().setExecutable(true, false);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Where a pod's container output goes (kept after the pod ends, as a node keeps the last logs). */
    Path logFile(String ns, String pod) {
        return logDir.resolve(ns + "_" + pod + ".log");
    }

    /** A pod's output so far, or null when the pod never ran here. */
    String podLog(String ns, String pod) {
        Path f = logFile(ns, pod);
        try {
            return java.nio.file.Files.exists(f) ? java.nio.file.Files.readString(f) : null;
        } catch (IOException e) {
            return null;
        }
    }

    /** Thrown when a container cannot be configured (a missing Secret or key): CreateContainerConfigError. */
    static final class ConfigError extends Exception {
        ConfigError(String message) {
            super(message);
        }
    }

    Process start(String ns, String pod, io.fabric8.kubernetes.api.model.PodSpec spec, Container container, Path log)
            throws ConfigError, IOException {
        Map<String, String> env = env(ns, container, Map.of());
        List<String> command = withEmptyDirs(command(container), ns, pod, spec, container);
        return launch(command, env, log, false);
    }

    /**
     * Starts {@code command} with exactly {@code env} (plus PATH and HOME), its output appended to {@code log}. With
     * {@code asPostgres} a process started as root runs as the local postgres account (through runuser), as a
     * container of the postgres image runs as its uid 999: the server refuses to run as root.
     */
    Process launch(List<String> command, Map<String, String> env, Path log, boolean asPostgres) throws IOException {
        List<String> full = new ArrayList<>();
        if (asPostgres && "root".equals(System.getProperty("user.name"))) {
            full.addAll(List.of("runuser", "-u", "postgres", "--"));
        }
        full.addAll(command);
        ProcessBuilder pb = new ProcessBuilder(full).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
        pb.environment().clear();
        pb.environment().put("PATH", System.getenv().getOrDefault("PATH", "/usr/bin:/bin"));
        pb.environment().put("HOME", System.getProperty("java.io.tmpdir"));
        pb.environment().putAll(env);
        Process p = pb.start();
        running.add(p);
        p.onExit().thenRun(() -> running.remove(p));
        return p;
    }

    /** The directory below which this runtime keeps logs and volumes (removed with it). */
    Path root() {
        return logDir;
    }

    /**
     * Arguments naming a mount path are pointed at the directory standing in for that volume (a process here shares
     * the machine's file system, a container would not).
     */
    static List<String> remount(List<String> command, Map<String, Path> mounts) {
        List<String> result = new ArrayList<>();
        for (String arg : command) {
            // the deepest mount holding the path, once: a rewritten path may itself lie below another mount's path
            String mountPath = mounts.keySet().stream()
                    .filter(m -> arg.equals(m) || arg.startsWith(m + "/"))
                    .max(java.util.Comparator.comparingInt(String::length)).orElse(null);
            result.add(mountPath == null ? arg : mounts.get(mountPath) + arg.substring(mountPath.length()));
        }
        return result;
    }

    /** The directory standing in for a PersistentVolumeClaim's volume: it outlives the pods that mount it. */
    Path claimDir(String ns, String claim) {
        return logDir.resolve("claims").resolve(ns).resolve(claim);
    }

    /**
     * Volumes: an emptyDir mount gets a directory of its own for this pod, a persistentVolumeClaim mount the
     * claim's directory ({@link #claimDir}), and arguments naming the mount path are pointed at it (a process here
     * shares the machine's file system, a container would not).
     */
    private List<String> withEmptyDirs(List<String> command, String ns, String pod,
            io.fabric8.kubernetes.api.model.PodSpec spec, Container container) throws IOException {
        if (container.getVolumeMounts() == null || spec == null || spec.getVolumes() == null) {
            return command;
        }
        Map<String, Path> mounts = new HashMap<>();
        for (var mount : container.getVolumeMounts()) {
            var volume = spec.getVolumes().stream().filter(v -> v.getName().equals(mount.getName())).findFirst()
                    .orElse(null);
            if (volume == null || mount.getMountPath().equals("/tmp")
                    || volume.getEmptyDir() == null && volume.getPersistentVolumeClaim() == null) {
                continue;
            }
            Path dir = java.nio.file.Files.createDirectories(volume.getPersistentVolumeClaim() != null
                    ? claimDir(ns, volume.getPersistentVolumeClaim().getClaimName())
                    : logDir.resolve(ns + "_" + pod + "_volumes").resolve(mount.getName()));
            for (Path p = dir; !p.equals(logDir); p = p.getParent()) {
                p.toFile().setReadable(true, false);
                p.toFile().setExecutable(true, false);
            }
            mounts.put(mount.getMountPath(), dir);
        }
        return remount(command, mounts);
    }

    static List<String> command(Container container) {
        List<String> command = new ArrayList<>();
        if (container.getCommand() != null) {
            command.addAll(container.getCommand());
        }
        if (container.getArgs() != null) {
            command.addAll(container.getArgs());
        }
        if (!command.isEmpty() && AgentEnvironment.AGENT.equals(command.get(0))) {
            command.remove(0);
            List<String> java = new java.util.ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin",
                    "java").toString()));
            java.addAll(AGENT_JAVA_OPTS);
            java.addAll(List.of("-cp", System.getProperty("java.class.path"), "io.dbaoperator.agent.AgentMain"));
            command.addAll(0, java);
        }
        return command;
    }

    /**
     * The container's environment: values, secretKeyRef and configMapKeyRef, envFrom Secrets and ConfigMaps (with
     * prefix), and fieldRef to the pod fields in {@code fields} (metadata.name, status.podIP, ...).
     */
    Map<String, String> env(String ns, Container container, Map<String, String> fields) throws ConfigError {
        Map<String, String> env = new HashMap<>();
        if (container.getEnvFrom() != null) {
            for (EnvFromSource from : container.getEnvFrom()) {
                boolean secret = from.getSecretRef() != null;
                if (!secret && from.getConfigMapRef() == null) {
                    continue;
                }
                String name = secret ? from.getSecretRef().getName() : from.getConfigMapRef().getName();
                Boolean optional = secret ? from.getSecretRef().getOptional() : from.getConfigMapRef().getOptional();
                Map<String, String> data = data(ns, secret, name);
                if (data == null) {
                    if (Boolean.TRUE.equals(optional)) {
                        continue;
                    }
                    throw new ConfigError((secret ? "secret" : "configmap") + " \"" + name + "\" not found");
                }
                String prefix = from.getPrefix() == null ? "" : from.getPrefix();
                data.forEach((k, v) -> env.put(prefix + k, v));
            }
        }
        if (container.getEnv() != null) {
            for (EnvVar var : container.getEnv()) {
                var from = var.getValueFrom();
                if (from != null && (from.getSecretKeyRef() != null || from.getConfigMapKeyRef() != null)) {
                    boolean secret = from.getSecretKeyRef() != null;
                    String name = secret ? from.getSecretKeyRef().getName() : from.getConfigMapKeyRef().getName();
                    String key = secret ? from.getSecretKeyRef().getKey() : from.getConfigMapKeyRef().getKey();
                    Boolean optional = secret ? from.getSecretKeyRef().getOptional()
                            : from.getConfigMapKeyRef().getOptional();
                    Map<String, String> data = data(ns, secret, name);
                    String value = data == null ? null : data.get(key);
                    if (value == null) {
                        if (Boolean.TRUE.equals(optional)) {
                            continue;
                        }
                        throw new ConfigError("couldn't find key " + key + " in " + (secret ? "Secret " : "ConfigMap ")
                                + ns + "/" + name);
                    }
                    env.put(var.getName(), value);
                } else if (from != null && from.getFieldRef() != null) {
                    String path = from.getFieldRef().getFieldPath();
                    if (!fields.containsKey(path)) {
                        throw new ConfigError("unsupported fieldPath " + path);
                    }
                    env.put(var.getName(), fields.get(path));
                } else if (var.getValue() != null) {
                    env.put(var.getName(), var.getValue());
                }
            }
        }
        return env;
    }

    /** The data of a Secret (decoded) or a ConfigMap, or null when there is no such object. */
    private Map<String, String> data(String ns, boolean secret, String name) {
        if (secret) {
            Secret s = client.secrets().inNamespace(ns).withName(name).get();
            return s == null ? null : SecretReader.decode(s);
        }
        var cm = client.configMaps().inNamespace(ns).withName(name).get();
        return cm == null ? null : cm.getData() == null ? Map.of() : cm.getData();
    }

    /** Ends every process, with its children, like a node going away. */
    void killAll() {
        running.forEach(p -> {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
        });
        running.forEach(p -> {
            try {
                p.onExit().get(10, java.util.concurrent.TimeUnit.SECONDS);
            } catch (Exception e) {
                // gone or going: its files are removed as far as they can be
            }
        });
        TempDirs.delete(logDir); // logs, volumes and claims live only as long as the node
    }
}
