package io.dbaoperator.operator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import io.dbaoperator.contract.AgentEnvironment;
import io.dbaoperator.harness.RealParts;
import io.dbaoperator.harness.TestKubernetes;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.batch.v1.JobBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;

/**
 * The test node runs the pods the real Job and Deployment controllers make, with the container's real command (the
 * agent), its env and Secret refs, as a node would; what they wrote is read back through the API server, as
 * {@code kubectl logs} reads it.
 */
@RealParts
class TestNodeTest {

    static final String NS = "node";
    static KubernetesClient client;

    @BeforeAll
    static void setUp() {
        client = TestKubernetes.get().namespace(NS);
        Fixtures.databases();
        Fixtures.secret(client, NS, "app-db", Fixtures.appDbKeys());
        Map<String, String> wrong = new HashMap<>(Fixtures.appDbKeys());
        wrong.put("password", "not-" + Fixtures.APP_PASSWORD);
        Fixtures.secret(client, NS, "wrong-db", wrong);
        Fixtures.secret(client, NS, "backup-s3", Fixtures.s3Keys());
    }

    static Job agentJob(String name, String dbSecret, List<String> command, int backoffLimit) {
        List<EnvVar> env = new ArrayList<>(AgentEnvironment.databaseEnv(Fixtures.db(dbSecret)));
        env.addAll(AgentEnvironment.s3Env(Fixtures.storage("backup-s3"), "it/node"));
        return new JobBuilder().withNewMetadata().withName(name).withNamespace(NS).endMetadata()
                .withNewSpec().withBackoffLimit(backoffLimit).withActiveDeadlineSeconds(120L)
                .withNewTemplate().withNewSpec().withRestartPolicy("Never")
                .addNewContainer().withName("agent").withImage("dba-operator:dev").withCommand(command)
                .withEnvFrom(AgentEnvironment.databaseEnvFrom(Fixtures.db(dbSecret))).withEnv(env).endContainer()
                .endSpec().endTemplate().endSpec().build();
    }

    static Job awaitFinished(String name) {
        Job[] job = new Job[1];
        await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(200)).until(() -> {
            job[0] = client.batch().v1().jobs().inNamespace(NS).withName(name).get();
            return condition(job[0], "Complete") != null || condition(job[0], "Failed") != null;
        });
        return job[0];
    }

    /** A Job's condition of this type when True (the real controller adds interim ones, e.g. SuccessCriteriaMet). */
    static io.fabric8.kubernetes.api.model.batch.v1.JobCondition condition(Job job, String type) {
        return job.getStatus() == null || job.getStatus().getConditions() == null ? null
                : job.getStatus().getConditions().stream()
                        .filter(c -> type.equals(c.getType()) && "True".equals(c.getStatus())).findFirst().orElse(null);
    }

    static List<Pod> pods(String job) {
        return client.pods().inNamespace(NS).withLabel("job-name", job).list().getItems();
    }

    @Test
    void agentJobRunsForRealAndSucceeds() {
        client.resource(agentJob("check-ok", "app-db", List.of("dba-agent", "check"), 0)).create();
        Job job = awaitFinished("check-ok");
        assertThat(job.getStatus().getSucceeded()).isEqualTo(1);
        assertThat(condition(job, "Complete")).isNotNull();
        assertThat(job.getStatus().getStartTime()).isNotNull();
        assertThat(job.getStatus().getCompletionTime()).isNotNull();
        Pod pod = pods("check-ok").get(0);
        assertThat(pod.getStatus().getPhase()).isEqualTo("Succeeded");
        assertThat(pod.getStatus().getContainerStatuses().get(0).getState().getTerminated().getExitCode()).isZero();
        String logs = TestKubernetes.get().jobLog(NS, "check-ok");
        assertThat(logs).contains("\"serverVersion\":\"15.").contains("\"bucket\":\"dba-test\"");
    }

    @Test
    void failingAgentFailsTheJobAfterItsBackoffLimitWithTheExitCode() {
        client.resource(agentJob("check-wrong", "wrong-db", List.of("dba-agent", "check"), 1)).create();
        Job job = awaitFinished("check-wrong");
        assertThat(job.getStatus().getFailed()).isEqualTo(2);
        assertThat(condition(job, "Failed").getReason()).isEqualTo("BackoffLimitExceeded");
        assertThat(pods("check-wrong")).hasSize(2).allSatisfy(p -> {
            assertThat(p.getStatus().getPhase()).isEqualTo("Failed");
            assertThat(p.getStatus().getContainerStatuses().get(0).getState().getTerminated().getExitCode())
                    .isEqualTo(1);
        });
        String logs = TestKubernetes.get().jobLog(NS, "check-wrong");
        assertThat(logs).contains("AuthenticationFailed").doesNotContain(Fixtures.APP_PASSWORD);
    }

    @Test
    void aMissingSecretIsAContainerConfigErrorThatWaitsForTheSecret() {
        client.resource(agentJob("check-no-secret", "absent-db", List.of("dba-agent", "check"), 0))
                .create();
        // as on a kubelet: the pod waits (the Job stays active) until the Secret appears or the deadline passes
        await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> assertThat(pods("check-no-secret")).singleElement()
                .satisfies(p -> {
                    assertThat(p.getStatus().getContainerStatuses()).isNotEmpty();
                    var waiting = p.getStatus().getContainerStatuses().get(0).getState().getWaiting();
                    assertThat(waiting).isNotNull();
                    assertThat(waiting.getReason()).isEqualTo("CreateContainerConfigError");
                    assertThat(waiting.getMessage()).contains("absent-db");
                }));
        assertThat(client.batch().v1().jobs().inNamespace(NS).withName("check-no-secret").get().getStatus()
                .getActive()).isEqualTo(1);
        Fixtures.secret(client, NS, "absent-db", Fixtures.appDbKeys());
        Job job = awaitFinished("check-no-secret");
        assertThat(job.getStatus().getSucceeded()).isEqualTo(1);
    }

    @Test
    void deploymentPodsRunUntilDeletedAndCrashingOnesAreRestarted() throws Exception {
        // under target/, so that a failing run leaves nothing in /tmp
        var marker = java.nio.file.Files.createTempFile(java.nio.file.Path.of("target").toAbsolutePath(), "deployment-",
                ".pid");
        client.apps().deployments().inNamespace(NS).resource(new io.fabric8.kubernetes.api.model.apps.DeploymentBuilder()
                .withNewMetadata().withName("archiver").withNamespace(NS).endMetadata()
                .withNewSpec().withReplicas(1).withNewSelector().addToMatchLabels("app", "archiver").endSelector()
                .withNewTemplate().withNewMetadata().addToLabels("app", "archiver")
                .endMetadata().withNewSpec().addNewContainer().withName("main").withImage("dba-operator:dev")
                .withCommand("sh", "-c", "echo $$ > " + marker + "; echo archiving; exec sleep 600")
                .withEnvFrom(AgentEnvironment.databaseEnvFrom(Fixtures.db("app-db"))).endContainer().endSpec()
                .endTemplate().endSpec().build()).create();
        await().atMost(Duration.ofSeconds(30)).until(() -> {
            var d = client.apps().deployments().inNamespace(NS).withName("archiver").get();
            return d.getStatus() != null && Integer.valueOf(1).equals(d.getStatus().getReadyReplicas());
        });
        await().atMost(Duration.ofSeconds(10)).until(() -> !java.nio.file.Files.readString(marker).isBlank());
        long pid = Long.parseLong(java.nio.file.Files.readString(marker).trim());
        java.nio.file.Files.delete(marker);
        assertThat(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)).isTrue();
        assertThat(client.pods().inNamespace(NS).withLabel("app", "archiver").list().getItems()).singleElement()
                .satisfies(p -> assertThat(p.getStatus().getPhase()).isEqualTo("Running"));

        client.apps().deployments().inNamespace(NS).withName("archiver").delete();
        await().atMost(Duration.ofSeconds(20)).until(() -> !ProcessHandle.of(pid).map(ProcessHandle::isAlive)
                .orElse(false));
        java.nio.file.Files.deleteIfExists(marker); // a restarted container wrote it again
        await().atMost(Duration.ofSeconds(10)).until(() -> client.pods().inNamespace(NS).withLabel("app", "archiver")
                .list().getItems().isEmpty());

        client.apps().deployments().inNamespace(NS).resource(new io.fabric8.kubernetes.api.model.apps.DeploymentBuilder()
                .withNewMetadata().withName("crasher").withNamespace(NS).endMetadata()
                .withNewSpec().withReplicas(1).withNewSelector().addToMatchLabels("app", "crasher").endSelector()
                .withNewTemplate().withNewMetadata().addToLabels("app", "crasher")
                .endMetadata().withNewSpec().addNewContainer().withName("main").withImage("dba-operator:dev")
                .withCommand("sh", "-c", "echo crashing; exit 3").endContainer().endSpec()
                .endTemplate().endSpec().build()).create();
        // ignoring exceptions: the pod, then its container statuses, appear a moment after the Deployment
        await().atMost(Duration.ofSeconds(20)).ignoreExceptions().untilAsserted(() -> {
            var pods = client.pods().inNamespace(NS).withLabel("app", "crasher").list().getItems();
            assertThat(pods).isNotEmpty(); // the ReplicaSet makes it a moment after the Deployment
            var pod = pods.get(0);
            var state = pod.getStatus().getContainerStatuses().get(0);
            assertThat(state.getRestartCount()).isGreaterThanOrEqualTo(1);
            assertThat(state.getState().getWaiting()).isNotNull();
            assertThat(state.getState().getWaiting().getReason()).isEqualTo("CrashLoopBackOff");
            assertThat(state.getState().getWaiting().getMessage()).contains("back-off");
            assertThat(state.getLastState().getTerminated().getExitCode()).isEqualTo(3);
        });
        // the Deployment controller's status follows the pod's: one replica, unavailable (readyReplicas omitted)
        await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
            var status = client.apps().deployments().inNamespace(NS).withName("crasher").get().getStatus();
            assertThat(status.getReplicas()).isEqualTo(1);
            assertThat(status.getUnavailableReplicas()).isEqualTo(1);
            assertThat(status.getReadyReplicas()).isNull();
        });
        assertThat(client.apps().deployments().inNamespace(NS).withName("crasher").getLog()).contains("crashing");
        client.apps().deployments().inNamespace(NS).withName("crasher").delete();
    }

    @Test
    void plainCommandsRunToo() {
        client.resource(agentJob("shell", "app-db", List.of("sh", "-c", "test -n \"$DBA_DB_password\" && echo ran"), 0))
                .create();
        Job job = awaitFinished("shell");
        assertThat(job.getStatus().getSucceeded()).isEqualTo(1);
        assertThat(TestKubernetes.get().jobLog(NS, "shell")).contains("ran");
    }
}
