package io.dbaoperator.ship;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.marcnuri.helm.Helm;

/** helm/dba-operator linted and rendered by the real Helm engine, in-process; the objects it renders checked. */
class HelmChartTest {

    static final Path CHART = Path.of("helm/dba-operator");
    static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

    static List<JsonNode> render(String... sets) throws Exception {
        var template = new Helm(CHART).template().withName("dba").withNamespace("dba-system");
        for (int i = 0; i < sets.length; i += 2) {
            template = template.set(sets[i], sets[i + 1]);
        }
        String out = template.call();
        List<JsonNode> docs = new ArrayList<>();
        try (var parser = YAML.getFactory().createParser(out)) {
            YAML.readValues(parser, JsonNode.class).forEachRemaining(d -> {
                if (d != null && !d.isNull() && d.has("kind")) {
                    docs.add(d);
                }
            });
        }
        return docs;
    }

    static List<JsonNode> ofKind(List<JsonNode> docs, String kind) {
        return docs.stream().filter(d -> kind.equals(d.path("kind").asText())).toList();
    }

    @Test
    void theChartLints() {
        var result = new Helm(CHART).lint().call();
        assertThat(result.isFailed()).as(String.join("\n", result.getMessages())).isFalse();
    }

    @Test
    void clusterWideByDefaultWithoutWildcardsAndWithTheApproverRole() throws Exception {
        List<JsonNode> docs = render();
        List<JsonNode> roles = new ArrayList<>(ofKind(docs, "ClusterRole"));
        roles.addAll(ofKind(docs, "Role"));
        for (JsonNode role : roles) {
            for (JsonNode rule : role.path("rules")) {
                rule.forEach(list -> list.forEach(v -> assertThat(v.asText()).as("%s", role.path("metadata"))
                        .doesNotContain("*")));
            }
        }
        assertThat(roles).extracting(r -> r.path("metadata").path("name").asText())
                .contains("dba", "dba-approver", "dba-viewer", "dba-leader-election");
        JsonNode approver = roles.stream().filter(r -> r.path("metadata").path("name").asText().equals("dba-approver"))
                .findFirst().orElseThrow();
        approver.path("rules").get(0).path("resources").forEach(r -> assertThat(r.asText()).endsWith("/status"));
        assertThat(approver.path("rules").get(0).path("verbs").toString()).isEqualTo("[\"get\",\"patch\"]");
        JsonNode deployment = ofKind(docs, "Deployment").get(0);
        assertThat(deployment.path("spec").path("replicas").asInt()).isEqualTo(2);
        assertThat(deployment.toString()).contains("JOSDK_ALL_NAMESPACES").contains("readOnlyRootFilesystem");
    }

    @Test
    void theApproverIdentityPolicyIsDeploysForThisReleasesServiceAccount() throws Exception {
        assertThat(ofKind(render(), "MutatingAdmissionPolicy")).as("auto: not on a cluster without the API").isEmpty();
        List<JsonNode> docs = render("admissionPolicy.approverIdentity", "true");
        JsonNode chart = ofKind(docs, "MutatingAdmissionPolicy").get(0);
        var deploy = YAML.readValues(YAML.getFactory().createParser(Path.of("deploy/admission/approver-identity.yaml")
                .toFile()), JsonNode.class).readAll();
        JsonNode policy = deploy.get(0);
        assertThat(chart.path("spec").path("mutations")).isEqualTo(policy.path("spec").path("mutations"));
        assertThat(chart.path("spec").path("matchConstraints")).isEqualTo(policy.path("spec").path("matchConstraints"));
        assertThat(chart.path("spec").path("matchConditions").toString()).isEqualTo(policy.path("spec")
                .path("matchConditions").toString().replace("system:serviceaccount:dba-operator:dba-operator",
                        "system:serviceaccount:dba-system:dba"));
        assertThat(ofKind(docs, "MutatingAdmissionPolicyBinding").get(0).path("spec").path("policyName").asText())
                .isEqualTo(chart.path("metadata").path("name").asText());
    }

    @Test
    void theRulesAreTheSameAsDeploys() throws Exception {
        JsonNode chart = ofKind(render(), "ClusterRole").stream()
                .filter(r -> r.path("metadata").path("name").asText().equals("dba")).findFirst().orElseThrow();
        JsonNode deploy = YAML.readTree(Path.of("deploy/rbac/operator-clusterrole.yaml").toFile());
        assertThat(chart.path("rules")).isEqualTo(deploy.path("rules"));
    }

    @Test
    void watchedNamespacesGetRolesAndNoClusterRoleForTheOperator() throws Exception {
        List<JsonNode> docs = render("watchNamespaces[0]", "shop", "watchNamespaces[1]", "billing");
        assertThat(ofKind(docs, "ClusterRole")).extracting(r -> r.path("metadata").path("name").asText())
                .doesNotContain("dba");
        assertThat(ofKind(docs, "Role")).extracting(r -> r.path("metadata").path("namespace").asText())
                .contains("shop", "billing", "dba-system");
        assertThat(ofKind(docs, "Deployment").get(0).toString()).contains("shop,billing");
    }

    @Test
    void theChartCarriesTheCrdsAsTheyAre() throws Exception {
        try (var files = Files.list(Path.of("crds"))) {
            for (Path crd : files.filter(f -> f.toString().endsWith(".dbaoperator.io.yaml")).toList()) {
                assertThat(CHART.resolve("crds").resolve(crd.getFileName())).as("copy crds/ into the chart")
                        .hasSameTextualContentAs(crd);
            }
        }
    }

    @Test
    void monitoringAndAuditWhenAskedFor() throws Exception {
        List<JsonNode> docs = render("monitoring.serviceMonitor", "true", "monitoring.prometheusRule", "true",
                "audit.enabled", "true", "audit.jdbcUrl", "jdbc:postgresql://db:5432/dba", "audit.existingSecret",
                "dba-audit");
        assertThat(ofKind(docs, "ServiceMonitor")).hasSize(1);
        assertThat(ofKind(docs, "PrometheusRule").get(0).toString()).contains("DbaBackupTooOld")
                .contains("{{ $labels.policy }}");
        assertThat(ofKind(docs, "Deployment").get(0).toString()).contains("DBA_AUDIT_JDBC_URL").contains("dba-audit");
    }

    @Test
    void theDefaultStorageReachesTheOperatorOnlyWhenABucketIsGiven() throws Exception {
        String none = ofKind(render(), "Deployment").get(0).toString();
        assertThat(none).doesNotContain("DBA_STORAGE_DEFAULT");
        JsonNode env = ofKind(render("storage.default.bucket", "pg-backups", "storage.default.endpoint",
                "https://minio.storage:9000", "storage.default.pathStyle", "true", "storage.default.credentialsSecret",
                "backup-s3"), "Deployment").get(0).at("/spec/template/spec/containers/0/env");
        java.util.Map<String, String> vars = new java.util.HashMap<>();
        env.forEach(e -> vars.put(e.path("name").asText(), e.path("value").asText()));
        assertThat(vars).containsEntry("DBA_STORAGE_DEFAULT_BUCKET", "pg-backups")
                .containsEntry("DBA_STORAGE_DEFAULT_ENDPOINT", "https://minio.storage:9000")
                .containsEntry("DBA_STORAGE_DEFAULT_PATH_STYLE", "true")
                .containsEntry("DBA_STORAGE_DEFAULT_CREDENTIALS_SECRET", "backup-s3")
                .containsEntry("DBA_STORAGE_DEFAULT_REGION", "us-east-1");
        // a bucket without credentials is a mistake the chart refuses to render
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> render("storage.default.bucket", "pg-backups"))
                .hasMessageContaining("storage.default.credentialsSecret is required");
    }
}
