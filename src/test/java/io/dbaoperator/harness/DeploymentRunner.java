package io.dbaoperator.harness;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import io.fabric8.kubernetes.api.model.ContainerStatusBuilder;
import io.fabric8.kubernetes.api.model.OwnerReferenceBuilder;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.DeploymentConditionBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;

/**
 * Runs the long-lived pods of Deployments (one replica; e.g. the WAL archiver): the container's process runs until
 * the Deployment is deleted, scaled to zero or its template changes; a process that exits is restarted with the
 * kubelet's doubling back-off (CrashLoopBackOff), and the Pod and Deployment statuses say so.
 */
final class DeploymentRunner implements AutoCloseable {

    private final KubernetesClient client;
    private final ContainerProcesses processes;
    private final Map<String, PodLoop> loops = new ConcurrentHashMap<>();
    private final Map<String, StringBuilder> logs = new ConcurrentHashMap<>();
    private final ExecutorService pool = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "test-kubelet-deployment");
        t.setDaemon(true);
        return t;
    });
    private SharedIndexInformer<Deployment> informer;

    DeploymentRunner(KubernetesClient client, ContainerProcesses processes) {
        this.client = client;
        this.processes = processes;
    }

    void start() {
        informer = client.apps().deployments().inAnyNamespace().inform(Informers.handler(this::reconcile,
                d -> stop(key(d))));
    }

    String logs(String ns, String name) {
        StringBuilder b = logs.get(ns + "/" + name);
        return b == null ? "" : b.toString();
    }

    String allLogs() {
        return String.join("\n", logs.values().stream().map(StringBuilder::toString).toList());
    }

    private static String key(Deployment d) {
        return d.getMetadata().getNamespace() + "/" + d.getMetadata().getName();
    }

    private synchronized void reconcile(Deployment d) {
        String key = key(d);
        int replicas = d.getSpec().getReplicas() == null ? 1 : d.getSpec().getReplicas();
        String template = Integer.toHexString(d.getSpec().getTemplate().hashCode() & 0xfffffff);
        PodLoop current = loops.get(key);
        if (replicas == 0 || d.getMetadata().getDeletionTimestamp() != null) {
            stop(key);
            return;
        }
        if (current != null && current.template.equals(template)) {
            return;
        }
        stop(key);
        PodLoop loop = new PodLoop(d, template);
        loops.put(key, loop);
        pool.submit(loop);
    }

    private void stop(String key) {
        PodLoop loop = loops.remove(key);
        if (loop != null) {
            loop.stop();
        }
    }

    @Override
    public void close() {
        if (informer != null) {
            informer.close();
        }
        loops.keySet().forEach(this::stop);
        pool.shutdownNow();
    }

    /** One pod of one Deployment: run, and restart on exit with back-off, until stopped. */
    private final class PodLoop implements Runnable {
        final Deployment deployment;
        final String template;
        final String podName;
        volatile boolean stopped;
        volatile Process process;

        PodLoop(Deployment deployment, String template) {
            this.deployment = deployment;
            this.template = template;
            this.podName = deployment.getMetadata().getName() + "-" + template + "-"
                    + Integer.toHexString(deployment.getMetadata().getUid().hashCode() & 0xfffff);
        }

        @Override
        public void run() {
            String ns = deployment.getMetadata().getNamespace();
            var spec = deployment.getSpec().getTemplate();
            client.pods().inNamespace(ns).resource(new PodBuilder().withNewMetadata().withName(podName)
                    .withNamespace(ns).withLabels(spec.getMetadata() == null ? Map.of() : spec.getMetadata().getLabels())
                    .addToOwnerReferences(new OwnerReferenceBuilder().withApiVersion("apps/v1").withKind("Deployment")
                            .withName(deployment.getMetadata().getName()).withUid(deployment.getMetadata().getUid())
                            .withController(true).build())
                    .endMetadata().withSpec(spec.getSpec()).build()).createOr(r -> r.update());
            int restarts = 0;
            long backoff = 10;
            while (!stopped) {
                try {
                    Path log = processes.logFile(ns, podName);
                    long offset = Files.exists(log) ? Files.size(log) : 0;
                    process = processes.start(ns, podName, spec.getSpec(), spec.getSpec().getContainers().get(0), log);
                    podStatus(ns, "Running", restarts, null, null);
                    deploymentStatus(ns, 1);
                    long started = System.nanoTime();
                    int exit = process.waitFor();
                    String all = Files.readString(log, StandardCharsets.UTF_8);
                    logs.computeIfAbsent(ns + "/" + deployment.getMetadata().getName(), k -> new StringBuilder())
                            .append(all.substring((int) Math.min(offset, all.length())));
                    if (stopped) {
                        break;
                    }
                    restarts++;
                    backoff = TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - started) > 600 ? 10
                            : Math.min(300, backoff * (restarts == 1 ? 1 : 2));
                    podStatus(ns, "Running", restarts, "CrashLoopBackOff", "back-off " + backoff
                            + "s restarting failed container (exit code " + exit + ")");
                    deploymentStatus(ns, 0);
                    Thread.sleep(TimeUnit.SECONDS.toMillis(backoff));
                } catch (ContainerProcesses.ConfigError e) {
                    podStatus(ns, "Pending", restarts, "CreateContainerConfigError", e.getMessage());
                    deploymentStatus(ns, 0);
                    sleepQuietly(5);
                } catch (IOException e) {
                    podStatus(ns, "Pending", restarts, "StartError", e.getMessage());
                    sleepQuietly(5);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }

        void stop() {
            stopped = true;
            Process p = process;
            if (p != null) {
                p.descendants().forEach(ProcessHandle::destroy);
                p.destroy();
                try {
                    if (!p.waitFor(10, TimeUnit.SECONDS)) {
                        p.destroyForcibly();
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            try {
                client.pods().inNamespace(deployment.getMetadata().getNamespace()).withName(podName).delete();
            } catch (RuntimeException e) {
                // the API is going away with us
            }
        }

        private void podStatus(String ns, String phase, int restarts, String waitingReason, String message) {
            try {
                client.pods().inNamespace(ns).withName(podName).editStatus(p -> new PodBuilder(p).editOrNewStatus()
                        .withPhase(phase).withStartTime(Instant.now().toString())
                        .withContainerStatuses(new ContainerStatusBuilder().withName("main").withRestartCount(restarts)
                                .withReady(waitingReason == null).withNewState().withNewWaitingLike(
                                        waitingReason == null ? null
                                                : new io.fabric8.kubernetes.api.model.ContainerStateWaiting(message,
                                                        waitingReason))
                                .endWaiting().endState().build())
                        .endStatus().build());
            } catch (RuntimeException e) {
                // deleted meanwhile
            }
        }

        private void deploymentStatus(String ns, int ready) {
            try {
                client.apps().deployments().inNamespace(ns).withName(deployment.getMetadata().getName())
                        .editStatus(d -> {
                            var st = d.getStatus() == null ? new io.fabric8.kubernetes.api.model.apps.DeploymentStatus()
                                    : d.getStatus();
                            st.setObservedGeneration(d.getMetadata().getGeneration());
                            st.setReplicas(1);
                            st.setUpdatedReplicas(1);
                            st.setReadyReplicas(ready);
                            st.setAvailableReplicas(ready);
                            st.setUnavailableReplicas(1 - ready);
                            st.setConditions(List.of(new DeploymentConditionBuilder().withType("Available")
                                    .withStatus(ready == 1 ? "True" : "False")
                                    .withReason(ready == 1 ? "MinimumReplicasAvailable" : "MinimumReplicasUnavailable")
                                    .withLastTransitionTime(Instant.now().toString()).build()));
                            d.setStatus(st);
                            return d;
                        });
            } catch (RuntimeException e) {
                // deleted meanwhile
            }
        }

        private void sleepQuietly(long seconds) {
            try {
                Thread.sleep(TimeUnit.SECONDS.toMillis(seconds));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                stopped = true;
            }
        }
    }
}
