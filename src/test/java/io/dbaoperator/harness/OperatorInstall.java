package io.dbaoperator.harness;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.api.model.authentication.TokenRequestBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;

/**
 * The operator installed on a {@link TestControlPlane} as a platform team installs it: {@code kubectl apply -k
 * deploy/} (CRDs, least-privilege RBAC, approver and viewer roles, the operator's ServiceAccount and Deployment)
 * and {@code kubectl apply -k deploy/admission/} (the policy that stamps the authenticated approver),
 * then either the Deployment run on a {@link RealNode} from the image this machine built ({@link #runAsPods}), or the
 * operator run beside the control plane with the identity its Deployment would give it (a token of deploy/'s
 * ServiceAccount from the TokenRequest API; {@link #operatorEnv}) while the Deployment stays at zero.
 */
public final class OperatorInstall {

    public static final String NAMESPACE = "dba-operator";

    private OperatorInstall() {
    }

    /**
     * Applies deploy/ and deploy/admission/ (the approver-identity policy) and waits until every CRD is Established
     * and served.
     */
    public static void apply(TestControlPlane cp) throws IOException, InterruptedException {
        kubectl(cp, "admin", "apply", "-k", "deploy/");
        kubectl(cp, "admin", "apply", "-k", "deploy/admission/");
        KubernetesClient admin = cp.admin();
        for (CustomResourceDefinition crd : admin.apiextensions().v1().customResourceDefinitions().list().getItems()) {
            admin.apiextensions().v1().customResourceDefinitions().withName(crd.getMetadata().getName())
                    .waitUntilCondition(c -> c.getStatus() != null && c.getStatus().getConditions().stream()
                            .anyMatch(x -> "Established".equals(x.getType()) && "True".equals(x.getStatus())),
                            60, TimeUnit.SECONDS);
        }
        // discovery follows Established by a moment: kubectl finds the kinds (and the dba category) only then
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (true) {
            var resources = admin.getApiResources("dbaoperator.io/v1alpha1");
            if (resources != null && resources.getResources().stream().filter(r -> !r.getName().contains("/"))
                    .count() >= 5) {
                break;
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("the API server does not serve the dbaoperator.io kinds: " + resources);
            }
            Thread.sleep(200);
        }
        admin.apps().deployments().inNamespace(NAMESPACE).withName("dba-operator").patch(
                PatchContext.of(PatchType.STRATEGIC_MERGE), "{\"spec\": {\"replicas\": 0}}");
    }

    /**
     * Runs deploy/'s Deployment (applied by {@link #apply}) as {@code replicas} Pods on {@code node} from
     * {@code image}, which the node has already (nothing is pulled; the backup and restore Jobs get the same image),
     * and waits until the kubelet finds them ready by their probes. A strategic merge patch, as {@code kubectl patch}
     * sends it: no resourceVersion, so the Deployment controller's own writes since the apply cannot make it a 409.
     */
    public static io.fabric8.kubernetes.api.model.apps.Deployment runAsPods(TestControlPlane cp, String node,
            String image, int replicas) throws IOException, InterruptedException {
        return runAsPods(cp, node, image, replicas, List.of());
    }

    /** As {@link #runAsPods(TestControlPlane, String, String, int)}, with {@code env} added to the container's. */
    public static io.fabric8.kubernetes.api.model.apps.Deployment runAsPods(TestControlPlane cp, String node,
            String image, int replicas, List<io.fabric8.kubernetes.api.model.EnvVar> env)
            throws IOException, InterruptedException {
        var deployment = cp.admin().apps().deployments().inNamespace(NAMESPACE).withName("dba-operator");
        String container = deployment.get().getSpec().getTemplate().getSpec().getContainers().get(0).getName();
        List<io.fabric8.kubernetes.api.model.EnvVar> all = new ArrayList<>(env);
        all.add(new io.fabric8.kubernetes.api.model.EnvVar("DBA_AGENT_IMAGE", image, null));
        deployment.patch(PatchContext.of(PatchType.STRATEGIC_MERGE), """
                {"spec": {"replicas": %d, "template": {"spec": {
                  "nodeSelector": {"kubernetes.io/hostname": "%s"},
                  "containers": [{"name": "%s", "image": "%s", "imagePullPolicy": "Never", "env": %s}]}}}}
                """.formatted(replicas, node, container, image,
                cp.admin().getKubernetesSerialization().asJson(all)));
        return awaitReady(cp, NAMESPACE, "dba-operator", replicas, 180);
    }

    /**
     * Waits until the operator's Deployment {@code name} in {@code namespace} (deploy/'s or a Helm release's) has
     * observed its latest spec and runs {@code replicas} pods of it that the kubelet finds ready by their probes;
     * else fails with every operator pod's status and the end of its log.
     */
    public static io.fabric8.kubernetes.api.model.apps.Deployment awaitReady(TestControlPlane cp, String namespace,
            String name, int replicas, long seconds) throws IOException, InterruptedException {
        try {
            return cp.admin().apps().deployments().inNamespace(namespace).withName(name).waitUntilCondition(d ->
                    d != null && d.getStatus() != null
                    && Integer.valueOf(replicas).equals(d.getStatus().getReadyReplicas())
                    && Integer.valueOf(replicas).equals(d.getStatus().getUpdatedReplicas())
                    && d.getStatus().getObservedGeneration() != null
                    && d.getStatus().getObservedGeneration().equals(d.getMetadata().getGeneration()), seconds,
                    TimeUnit.SECONDS);
        } catch (io.fabric8.kubernetes.client.KubernetesClientTimeoutException e) {
            StringBuilder why = new StringBuilder("the operator's pods are not ready:");
            for (var p : cp.admin().pods().inNamespace(namespace).withLabel("app.kubernetes.io/name", "dba-operator")
                    .list().getItems()) {
                why.append("\n").append(p.getMetadata().getName()).append(": ").append(p.getStatus());
                try {
                    why.append("\nlog: ").append(kubectl(cp, "admin", "logs", "-n", namespace,
                            p.getMetadata().getName(), "--tail", "30"));
                } catch (RuntimeException x) {
                    why.append("\nno log: ").append(x.getMessage());
                }
            }
            throw new AssertionError(why.toString(), e);
        }
    }

    /** Scales deploy/'s Deployment to zero and waits until its pods are gone. */
    public static void stopPods(TestControlPlane cp) {
        cp.admin().apps().deployments().inNamespace(NAMESPACE).withName("dba-operator").patch(
                PatchContext.of(PatchType.STRATEGIC_MERGE), "{\"spec\": {\"replicas\": 0}}");
        cp.admin().pods().inNamespace(NAMESPACE).withLabel("app.kubernetes.io/name", "dba-operator")
                .waitUntilCondition(x -> x == null, 90, TimeUnit.SECONDS);
    }

    /** The environment that points the packaged operator at the control plane as deploy/'s ServiceAccount. */
    public static Map<String, String> operatorEnv(TestControlPlane cp) {
        String token = cp.admin().serviceAccounts().inNamespace(NAMESPACE).withName("dba-operator")
                .tokenRequest(new TokenRequestBuilder().withNewSpec().withExpirationSeconds(24 * 3600L).endSpec()
                        .build()).getStatus().getToken();
        Map<String, String> env = new HashMap<>();
        env.put("QUARKUS_KUBERNETES_CLIENT_API_SERVER_URL", cp.url());
        env.put("QUARKUS_KUBERNETES_CLIENT_CA_CERT_FILE", cp.caFile());
        env.put("QUARKUS_KUBERNETES_CLIENT_TOKEN", token);
        env.put("QUARKUS_OPERATOR_SDK_NAMESPACES", "JOSDK_ALL_NAMESPACES");
        env.put("POD_NAMESPACE", NAMESPACE); // the leader-election Lease's namespace, as the Downward API sets it
        env.put("DBA_AGENT_IMAGE", "dba-operator:test");
        return env;
    }

    /** The real kubectl, as {@code user} (a client certificate of the control plane). */
    public static String kubectl(TestControlPlane cp, String user, String... args) throws IOException,
            InterruptedException {
        List<String> command = new ArrayList<>(List.of("kubectl", "--kubeconfig", cp.kubeconfigFile(user).toString()));
        command.addAll(List.of(args));
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.waitFor() != 0) {
            throw new IllegalStateException("kubectl " + String.join(" ", args) + " as " + user + ": " + out);
        }
        return out;
    }
}
