package io.dbaoperator.ship;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;

/**
 * deploy/ as kubectl renders it (kubectl kustomize, no cluster needed): every object a cluster admin would apply,
 * checked for what a security review asks first.
 */
class DeployManifestsTest {

    static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

    static List<JsonNode> render(String dir) throws Exception {
        Process p = new ProcessBuilder("kubectl", "kustomize", dir).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(out).isZero();
        List<JsonNode> docs = new ArrayList<>();
        try (var parser = YAML.getFactory().createParser(out)) {
            YAML.readValues(parser, JsonNode.class).forEachRemaining(docs::add);
        }
        return docs;
    }

    static List<JsonNode> ofKind(List<JsonNode> docs, String kind) {
        return docs.stream().filter(d -> kind.equals(d.path("kind").asText())).toList();
    }

    @ParameterizedTest
    @ValueSource(strings = {"deploy", "deploy/namespaced"})
    void rbacIsLeastPrivilege(String dir) throws Exception {
        List<JsonNode> docs = render(dir);
        List<JsonNode> roles = new ArrayList<>(ofKind(docs, "ClusterRole"));
        roles.addAll(ofKind(docs, "Role"));
        assertThat(roles).isNotEmpty();
        for (JsonNode role : roles) {
            for (JsonNode rule : role.path("rules")) {
                for (String field : List.of("apiGroups", "resources", "verbs")) {
                    rule.path(field).forEach(v -> assertThat(v.asText()).as("%s of %s", field,
                            role.path("metadata").path("name")).doesNotContain("*"));
                }
                rule.path("verbs").forEach(v -> assertThat(v.asText()).isNotIn("escalate", "bind", "impersonate"));
                if (rule.path("resources").toString().contains("secrets")) {
                    // read by name only (never listed or watched); written only for a restored instance's Secret
                    assertThat(rule.path("verbs").toString()).as("Secrets are never listed or watched")
                            .isEqualTo("[\"get\",\"create\",\"patch\",\"delete\"]");
                }
            }
        }
        assertThat(ofKind(docs, "ClusterRoleBinding")).allSatisfy(b -> assertThat(b.path("roleRef").path("name")
                .asText()).isNotEqualTo("cluster-admin"));
        JsonNode approver = roles.stream().filter(r -> r.path("metadata").path("name").asText()
                .equals("dba-operator-approver")).findFirst().orElseThrow();
        assertThat(approver.path("rules")).hasSize(1);
        approver.path("rules").get(0).path("resources").forEach(r -> assertThat(r.asText()).endsWith("/status"));
        assertThat(YAML.convertValue(approver.path("rules").get(0).path("verbs"), List.class))
                .containsExactly("get", "patch");
        assertThat(ofKind(docs, "CustomResourceDefinition")).hasSize(6);
        if (dir.endsWith("namespaced")) {
            assertThat(ofKind(docs, "ClusterRole")).extracting(r -> r.path("metadata").path("name").asText())
                    .doesNotContain("dba-operator");
            assertThat(ofKind(docs, "Role")).anySatisfy(r -> assertThat(r.path("metadata").path("namespace").asText())
                    .isEqualTo("apps"));
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"deploy", "deploy/namespaced"})
    void theOperatorRunsLockedDownAndHighlyAvailable(String dir) throws Exception {
        JsonNode d = ofKind(render(dir), "Deployment").get(0);
        assertThat(d.path("spec").path("replicas").asInt()).isGreaterThanOrEqualTo(2);
        JsonNode pod = d.path("spec").path("template").path("spec");
        assertThat(pod.path("securityContext").path("runAsNonRoot").asBoolean()).isTrue();
        JsonNode c = pod.path("containers").get(0);
        assertThat(c.path("securityContext").path("readOnlyRootFilesystem").asBoolean()).isTrue();
        assertThat(c.path("securityContext").path("allowPrivilegeEscalation").asBoolean()).isFalse();
        assertThat(c.path("securityContext").path("capabilities").path("drop").toString()).contains("ALL");
        assertThat(c.path("livenessProbe").path("httpGet").path("path").asText()).isEqualTo("/q/health/live");
        assertThat(c.path("readinessProbe").path("httpGet").path("path").asText()).isEqualTo("/q/health/ready");
        assertThat(c.path("resources").path("requests").path("memory").asText()).isNotEmpty();
        assertThat(c.path("resources").path("limits").path("memory").asText()).isNotEmpty();
        List<String> env = new ArrayList<>();
        c.path("env").forEach(e -> env.add(e.path("name").asText()));
        assertThat(env).contains("POD_NAMESPACE", "DBA_AGENT_IMAGE", "QUARKUS_OPERATOR_SDK_NAMESPACES");
    }
}
