package io.dbaoperator.harness;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import io.dbaoperator.kube.SecretReader;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvFromSource;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.OwnerReferenceBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.batch.v1.JobConditionBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;

/**
 * Runs Jobs for real, as a node would: for each new Job it creates the Pod, resolves the container's env (values,
 * secretKeyRef, envFrom with prefix), runs the container's command as a local process (the image's {@code dba-agent}
 * entry point is this JVM's agent main class), enforces activeDeadlineSeconds and backoffLimit, and writes the pod's
 * exit code and the Job's status. It never touches our custom resources: like a kubelet it knows only Pods and Jobs.
 * One simplification: a container whose Secret or key is missing fails its Job at once (CreateContainerConfigError),
 * where a node would keep the pod pending until activeDeadlineSeconds.
 */
public final class TestKubelet implements AutoCloseable {

    public static final String AGENT_COMMAND = "dba-agent";

    private final KubernetesClient client;
    private final ExecutorService pool = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "test-kubelet");
        t.setDaemon(true);
        return t;
    });
    private final Set<String> seen = ConcurrentHashMap.newKeySet();
    private final Set<Process> running = ConcurrentHashMap.newKeySet();
    private final Map<String, String> logs = new ConcurrentHashMap<>();
    private SharedIndexInformer<Job> informer;

    public TestKubelet(KubernetesClient client) {
        this.client = client;
    }

    public void start() {
        informer = client.batch().v1().jobs().inAnyNamespace().inform(new ResourceEventHandler<>() {
            @Override
            public void onAdd(Job job) {
                schedule(job);
            }

            @Override
            public void onUpdate(Job oldJob, Job job) {
                schedule(job);
            }

            @Override
            public void onDelete(Job job, boolean unknown) {
                // a deleted Job's process is left to finish; its status writes then fail quietly
            }
        });
    }

    /** Everything the pods of this Job wrote to stdout and stderr, in attempt order. */
    public String logs(String namespace, String jobName) {
        return logs.getOrDefault(namespace + "/" + jobName, "");
    }

    /** All pod output of the run, to check that no secret leaked into it. */
    public String allLogs() {
        return String.join("\n", logs.values());
    }

    private void schedule(Job job) {
        String key = job.getMetadata().getNamespace() + "/" + job.getMetadata().getName() + "/"
                + job.getMetadata().getUid();
        if (job.getStatus() != null && job.getStatus().getCompletionTime() != null) {
            return;
        }
        if (seen.add(key)) {
            pool.submit(() -> run(job));
        }
    }

    private void run(Job job) {
        String ns = job.getMetadata().getNamespace();
        String name = job.getMetadata().getName();
        int backoffLimit = job.getSpec().getBackoffLimit() == null ? 6 : job.getSpec().getBackoffLimit();
        Long deadline = job.getSpec().getActiveDeadlineSeconds();
        String started = Instant.now().toString();
        updateJob(ns, name, j -> {
            j.getStatus().setStartTime(started);
            j.getStatus().setActive(1);
        });
        int failures = 0;
        while (true) {
            Outcome outcome = runPod(job, failures);
            if (outcome.exitCode == 0) {
                updateJob(ns, name, j -> {
                    j.getStatus().setActive(0);
                    j.getStatus().setSucceeded(1);
                    j.getStatus().setCompletionTime(Instant.now().toString());
                    j.getStatus().setConditions(List.of(new JobConditionBuilder().withType("Complete")
                            .withStatus("True").withLastTransitionTime(Instant.now().toString()).build()));
                });
                return;
            }
            failures++;
            if (outcome.reason != null || failures > backoffLimit) {
                int failed = failures;
                String reason = outcome.reason != null ? outcome.reason : "BackoffLimitExceeded";
                updateJob(ns, name, j -> {
                    j.getStatus().setActive(0);
                    j.getStatus().setFailed(failed);
                    j.getStatus().setConditions(List.of(new JobConditionBuilder().withType("Failed")
                            .withStatus("True").withReason(reason)
                            .withMessage(reason.equals("DeadlineExceeded") ? "Job was active longer than specified deadline"
                                    : "Job has reached the specified backoff limit")
                            .withLastTransitionTime(Instant.now().toString()).build()));
                });
                return;
            }
            if (deadline != null && Instant.parse(started).plusSeconds(deadline).isBefore(Instant.now())) {
                outcome = new Outcome(1, "DeadlineExceeded");
            }
        }
    }

    private Outcome runPod(Job job, int attempt) {
        String ns = job.getMetadata().getNamespace();
        String podName = job.getMetadata().getName() + "-" + Integer.toHexString((job.getMetadata().getUid() + attempt)
                .hashCode() & 0xfffff);
        Container container = job.getSpec().getTemplate().getSpec().getContainers().get(0);
        Pod pod = client.pods().inNamespace(ns).resource(new PodBuilder()
                .withNewMetadata().withName(podName).withNamespace(ns)
                .addToLabels("job-name", job.getMetadata().getName())
                .addToLabels("batch.kubernetes.io/job-name", job.getMetadata().getName())
                .addToOwnerReferences(new OwnerReferenceBuilder().withApiVersion("batch/v1").withKind("Job")
                        .withName(job.getMetadata().getName()).withUid(job.getMetadata().getUid())
                        .withController(true).build())
                .endMetadata()
                .withSpec(job.getSpec().getTemplate().getSpec())
                .withNewStatus().withPhase("Running").withStartTime(Instant.now().toString()).endStatus()
                .build()).create();
        Map<String, String> env;
        try {
            env = resolveEnv(ns, container);
        } catch (IllegalStateException e) {
            setPodStatus(ns, podName, "Pending", null, "CreateContainerConfigError", e.getMessage());
            return new Outcome(1, "CreateContainerConfigError");
        }
        List<String> command = new ArrayList<>();
        if (container.getCommand() != null) {
            command.addAll(container.getCommand());
        }
        if (container.getArgs() != null) {
            command.addAll(container.getArgs());
        }
        if (!command.isEmpty() && AGENT_COMMAND.equals(command.get(0))) {
            command.remove(0);
            command.addAll(0, List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "-XX:TieredStopAtLevel=1", "-Xshare:auto", "-cp", System.getProperty("java.class.path"),
                    "io.dbaoperator.agent.AgentMain"));
        }
        Long deadline = job.getSpec().getActiveDeadlineSeconds();
        try {
            Path log = Files.createTempFile("pod-" + podName, ".log");
            ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
            pb.environment().clear();
            pb.environment().put("PATH", System.getenv().getOrDefault("PATH", "/usr/bin:/bin"));
            pb.environment().put("HOME", System.getProperty("java.io.tmpdir"));
            pb.environment().putAll(env);
            Process p = pb.start();
            running.add(p);
            boolean finished = p.waitFor(deadline == null ? 3600 : deadline, TimeUnit.SECONDS);
            running.remove(p);
            if (!finished) {
                p.destroyForcibly().waitFor();
            }
            int exit = finished ? p.exitValue() : 137;
            logs.merge(ns + "/" + job.getMetadata().getName(), Files.readString(log, StandardCharsets.UTF_8),
                    (a, b) -> a + b);
            Files.deleteIfExists(log);
            setPodStatus(ns, pod.getMetadata().getName(), exit == 0 ? "Succeeded" : "Failed", exit, null, null);
            return new Outcome(exit, finished ? null : "DeadlineExceeded");
        } catch (IOException e) {
            setPodStatus(ns, podName, "Failed", 128, "StartError", e.getMessage());
            return new Outcome(128, null);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Outcome(137, "DeadlineExceeded");
        }
    }

    private Map<String, String> resolveEnv(String ns, Container container) {
        Map<String, String> env = new HashMap<>();
        if (container.getEnvFrom() != null) {
            for (EnvFromSource from : container.getEnvFrom()) {
                if (from.getSecretRef() != null) {
                    Secret s = client.secrets().inNamespace(ns).withName(from.getSecretRef().getName()).get();
                    if (s == null) {
                        if (Boolean.TRUE.equals(from.getSecretRef().getOptional())) {
                            continue;
                        }
                        throw new IllegalStateException("secret \"" + from.getSecretRef().getName() + "\" not found");
                    }
                    String prefix = from.getPrefix() == null ? "" : from.getPrefix();
                    SecretReader.decode(s).forEach((k, v) -> env.put(prefix + k, v));
                }
            }
        }
        if (container.getEnv() != null) {
            for (EnvVar var : container.getEnv()) {
                if (var.getValueFrom() != null && var.getValueFrom().getSecretKeyRef() != null) {
                    var ref = var.getValueFrom().getSecretKeyRef();
                    Secret s = client.secrets().inNamespace(ns).withName(ref.getName()).get();
                    String value = s == null ? null : SecretReader.decode(s).get(ref.getKey());
                    if (value == null) {
                        if (Boolean.TRUE.equals(ref.getOptional())) {
                            continue;
                        }
                        throw new IllegalStateException("couldn't find key " + ref.getKey() + " in Secret " + ns + "/"
                                + ref.getName());
                    }
                    env.put(var.getName(), value);
                } else if (var.getValue() != null) {
                    env.put(var.getName(), var.getValue());
                }
            }
        }
        return env;
    }

    private void setPodStatus(String ns, String name, String phase, Integer exitCode, String reason, String message) {
        client.pods().inNamespace(ns).withName(name).editStatus(p -> new PodBuilder(p).editOrNewStatus()
                .withPhase(phase)
                .withContainerStatuses(exitCode == null
                        ? List.of(new io.fabric8.kubernetes.api.model.ContainerStatusBuilder().withName("agent")
                                .withNewState().withNewWaiting().withReason(reason).withMessage(message).endWaiting()
                                .endState().build())
                        : List.of(new io.fabric8.kubernetes.api.model.ContainerStatusBuilder().withName("agent")
                                .withNewState().withNewTerminated().withExitCode(exitCode)
                                .withReason(exitCode == 0 ? "Completed" : "Error")
                                .withFinishedAt(Instant.now().toString()).endTerminated().endState().build()))
                .endStatus().build());
    }

    private void updateJob(String ns, String name, java.util.function.Consumer<Job> change) {
        try {
            client.batch().v1().jobs().inNamespace(ns).withName(name).editStatus(j -> {
                if (j.getStatus() == null) {
                    j.setStatus(new io.fabric8.kubernetes.api.model.batch.v1.JobStatus());
                }
                change.accept(j);
                return j;
            });
        } catch (RuntimeException e) {
            // the Job was deleted meanwhile
        }
    }

    @Override
    public void close() {
        if (informer != null) {
            informer.close();
        }
        pool.shutdownNow();
        // like a node going away: every container process ends with it
        running.forEach(p -> {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
        });
    }

    private record Outcome(int exitCode, String reason) {
    }
}
