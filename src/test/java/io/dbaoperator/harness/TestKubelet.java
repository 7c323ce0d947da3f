package io.dbaoperator.harness;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.OwnerReferenceBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.batch.v1.JobConditionBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;

/**
 * Runs Jobs and Deployments for real, as a node would: for each new Job it creates the Pod, runs the container's
 * command as a local process ({@link ContainerProcesses}), enforces activeDeadlineSeconds and backoffLimit, and
 * writes the pod's exit code and the Job's status; Deployments' pods run until deleted ({@link DeploymentRunner}). It never touches our custom resources: like a kubelet it knows only Pods and Jobs.
 * One simplification: a container whose Secret or key is missing fails its Job at once (CreateContainerConfigError),
 * where a node would keep the pod pending until activeDeadlineSeconds.
 */
public final class TestKubelet implements AutoCloseable {

    public static final String AGENT_COMMAND = ContainerProcesses.AGENT_COMMAND;

    private final KubernetesClient client;
    private final ContainerProcesses processes;
    private final DeploymentRunner deployments;
    private final ExecutorService pool = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "test-kubelet");
        t.setDaemon(true);
        return t;
    });
    private final Set<String> seen = ConcurrentHashMap.newKeySet();
    private final Map<String, String> logs = new ConcurrentHashMap<>();
    private SharedIndexInformer<Job> informer;

    public TestKubelet(KubernetesClient client) {
        this.client = client;
        this.processes = new ContainerProcesses(client);
        this.deployments = new DeploymentRunner(client, processes);
    }

    public void start() {
        informer = client.batch().v1().jobs().inAnyNamespace().inform(Informers.handler(this::schedule, job -> {
            // a deleted Job's process is left to finish; its status writes then fail quietly
        }));
        deployments.start();
    }

    /** What a pod wrote so far (kubectl logs), or null when no such pod ran here. */
    public String podLog(String namespace, String pod) {
        return processes.podLog(namespace, pod);
    }

    /** Where the volume of a PersistentVolumeClaim lives on this node (what its pods wrote there stays). */
    public Path claimDir(String namespace, String claim) {
        return processes.claimDir(namespace, claim);
    }

    /** What a Deployment's pod wrote (all restarts), for tests. */
    public String deploymentLogs(String namespace, String deployment) {
        return deployments.logs(namespace, deployment);
    }

    /** Everything the pods of this Job wrote to stdout and stderr, in attempt order. */
    public String logs(String namespace, String jobName) {
        return logs.getOrDefault(namespace + "/" + jobName, "");
    }

    /** All pod output of the run, to check that no secret leaked into it. */
    public String allLogs() {
        return String.join("\n", logs.values()) + "\n" + deployments.allLogs();
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
        client.pods().inNamespace(ns).resource(new PodBuilder()
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
        Long deadline = job.getSpec().getActiveDeadlineSeconds();
        try {
            Path log = processes.logFile(ns, podName);
            Process p = processes.start(ns, podName, job.getSpec().getTemplate().getSpec(), container, log);
            boolean finished = p.waitFor(deadline == null ? 3600 : deadline, TimeUnit.SECONDS);
            if (!finished) {
                p.destroyForcibly().waitFor();
            }
            int exit = finished ? p.exitValue() : 137;
            logs.merge(ns + "/" + job.getMetadata().getName(), Files.readString(log, StandardCharsets.UTF_8),
                    (a, b) -> a + b);
            // as the kubelet does for terminationMessagePolicy FallbackToLogsOnError: the log's tail (80 lines, 2 KiB)
            String message = null;
            if (exit != 0 && "FallbackToLogsOnError".equals(container.getTerminationMessagePolicy())) {
                List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
                String tail = String.join("\n", lines.subList(Math.max(0, lines.size() - 80), lines.size()));
                message = tail.length() > 2048 ? tail.substring(tail.length() - 2048) : tail;
            }
            setPodStatus(ns, podName, exit == 0 ? "Succeeded" : "Failed", exit, null, message);
            return new Outcome(exit, finished ? null : "DeadlineExceeded");
        } catch (ContainerProcesses.ConfigError e) {
            setPodStatus(ns, podName, "Pending", null, "CreateContainerConfigError", e.getMessage());
            return new Outcome(1, "CreateContainerConfigError");
        } catch (IOException e) {
            setPodStatus(ns, podName, "Failed", 128, "StartError", e.getMessage());
            return new Outcome(128, null);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Outcome(137, "DeadlineExceeded");
        }
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
                                .withReason(exitCode == 0 ? "Completed" : "Error").withMessage(message)
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
        deployments.close();
        pool.shutdownNow();
        // like a node going away: every container process ends with it
        processes.killAll();
    }

    private record Outcome(int exitCode, String reason) {
    }
}
