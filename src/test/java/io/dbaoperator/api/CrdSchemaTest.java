package io.dbaoperator.api;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.cel.common.types.SimpleType;
import dev.cel.compiler.CelCompiler;
import dev.cel.compiler.CelCompilerFactory;
import dev.cel.parser.CelStandardMacro;
import dev.cel.runtime.CelRuntime;
import dev.cel.runtime.CelRuntimeFactory;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.client.CustomResource;
import io.fabric8.kubernetes.client.utils.Serialization;

/**
 * What a real API server would check of crds/ (none can run here): structural schemas (every property typed),
 * a description on every field of ours so `kubectl explain` teaches, and CEL rules that compile and mean what they
 * say, evaluated on sample objects with a CEL implementation.
 */
class CrdSchemaTest {

    static final ObjectMapper JSON = new ObjectMapper();
    /** Subtrees generated from Kubernetes' own types, which carry no descriptions in the fabric8 model. */
    static final Set<String> KUBERNETES_TYPES = Set.of("resources", "tolerations");

    static JsonNode schema(Class<? extends CustomResource<?, ?>> kind) throws IOException {
        CustomResourceDefinition crd = Serialization.unmarshal(Files.readString(Paths.get("crds/"
                + HasMetadata.getPlural(kind) + ".dbaoperator.io.yaml")), CustomResourceDefinition.class);
        return JSON.valueToTree(crd.getSpec().getVersions().get(0).getSchema().getOpenAPIV3Schema());
    }

    @Test
    void everyFieldIsTypedAndDescribed() throws IOException {
        List<String> problems = new ArrayList<>();
        for (var kind : CrdSyncTest.KINDS) {
            JsonNode root = schema(kind);
            walk(kind.getSimpleName(), root.path("properties").path("spec"), problems);
            walk(kind.getSimpleName() + ".status", root.path("properties").path("status"), problems);
        }
        assertThat(problems).isEmpty();
    }

    static void walk(String path, JsonNode node, List<String> problems) {
        if (!node.has("type") && !node.has("x-kubernetes-int-or-string")
                && !node.path("x-kubernetes-preserve-unknown-fields").asBoolean()) {
            problems.add(path + ": no type (not structural)");
        }
        node.path("properties").fields().forEachRemaining(e -> {
            String child = path + "." + e.getKey();
            if (!e.getValue().hasNonNull("description")) {
                problems.add(child + ": no description");
            }
            if (!KUBERNETES_TYPES.contains(e.getKey())) {
                walk(child, e.getValue(), problems);
            }
        });
        if (node.has("items")) {
            walk(path + "[]", node.get("items"), problems);
        }
        if (node.path("additionalProperties").isObject()) {
            walk(path + "{}", node.get("additionalProperties"), problems);
        }
    }

    @Test
    void everyCelRuleCompiles() throws Exception {
        CelCompiler compiler = compiler();
        int rules = 0;
        for (var kind : CrdSyncTest.KINDS) {
            for (JsonNode rule : rules(schema(kind))) {
                compiler.compile(rule.get("rule").asText()).getAst();
                assertThat(rule.path("message").asText()).as("message of %s", rule).isNotBlank();
                rules++;
            }
        }
        assertThat(rules).isGreaterThanOrEqualTo(10);
    }

    @Test
    void aMigrationSpecIsImmutableExceptPaused() throws Exception {
        String rule = ruleWithMessage(schema(io.dbaoperator.api.migration.DatabaseMigration.class).path("properties")
                .path("spec"), "immutable");
        Map<String, Object> old = spec("{\"database\":{\"secretRef\":{\"name\":\"app-db\"}},\"expand\":{\"sql\":\"a\"},"
                + "\"rollback\":{\"sql\":\"r\"},\"lockTimeout\":\"500ms\",\"maxLockRetries\":10,"
                + "\"approval\":{\"policy\":\"DestructiveOnly\"},\"cutover\":{\"mode\":\"Manual\"},\"paused\":false}");
        Map<String, Object> paused = new HashMap<>(old);
        paused.put("paused", true);
        Map<String, Object> changedSql = new HashMap<>(old);
        changedSql.put("expand", Map.of("sql", "b"));
        Map<String, Object> addedContract = new HashMap<>(old);
        addedContract.put("contract", Map.of("sql", "drop column x"));
        assertThat(eval(rule, paused, old)).isTrue();
        assertThat(eval(rule, changedSql, old)).isFalse();
        assertThat(eval(rule, addedContract, old)).isFalse();
    }

    @Test
    void tuningRequestNeedsExactlyOneQuerySource() throws Exception {
        String rule = ruleWithMessage(schema(io.dbaoperator.api.tuning.QueryTuningRequest.class).path("properties")
                .path("spec"), "exactly one");
        assertThat(eval(rule, spec("{\"query\":\"select 1\"}"), null)).isTrue();
        assertThat(eval(rule, spec("{\"query\":\"select 1\",\"queryId\":\"7\"}"), null)).isFalse();
        assertThat(eval(rule, spec("{}"), null)).isFalse();
        assertThat(eval(rule, spec("{\"indexHygiene\":{}}"), null)).isTrue();
        assertThat(eval(rule, spec("{\"indexHygiene\":{},\"query\":\"select 1\"}"), null)).isFalse();
        // dropping indexes always waits for a person
        String hygiene = ruleWithMessage(schema(io.dbaoperator.api.tuning.QueryTuningRequest.class)
                .path("properties").path("spec"), "always waits for a person");
        assertThat(eval(hygiene, spec("{\"indexHygiene\":{},\"apply\":{\"policy\":\"AfterApproval\"}}"), null))
                .isTrue();
        assertThat(eval(hygiene, spec("{\"indexHygiene\":{},\"apply\":{\"policy\":\"Automatic\"}}"), null))
                .isFalse();
        assertThat(eval(hygiene, spec("{\"query\":\"x\",\"apply\":{\"policy\":\"Automatic\"}}"), null))
                .isTrue();
    }

    @Test
    void disposalRuleNeedsOlderThanOrWhere() throws Exception {
        JsonNode rules = schema(io.dbaoperator.api.disposal.DisposalJob.class).path("properties").path("spec")
                .path("properties").path("rules").path("items");
        String rule = ruleWithMessage(rules, "olderThan or where");
        assertThat(eval(rule, spec("{\"where\":\"x\",\"action\":\"Delete\"}"), null)).isTrue();
        assertThat(eval(rule, spec("{\"action\":\"Delete\"}"), null)).isFalse();
        assertThat(eval(rule, spec("{\"where\":\"x\",\"olderThan\":{\"column\":\"c\",\"age\":\"1d\"}}"), null))
                .isFalse();
    }

    static CelCompiler compiler() {
        return CelCompilerFactory.standardCelCompilerBuilder().setStandardMacros(CelStandardMacro.STANDARD_MACROS)
                .addVar("self", SimpleType.DYN)
                .addVar("oldSelf", SimpleType.DYN).build();
    }

    static boolean eval(String rule, Map<String, Object> self, Map<String, Object> oldSelf) throws Exception {
        CelRuntime runtime = CelRuntimeFactory.standardCelRuntimeBuilder().build();
        Map<String, Object> vars = new HashMap<>();
        vars.put("self", self);
        if (oldSelf != null) {
            vars.put("oldSelf", oldSelf);
        }
        return (Boolean) runtime.createProgram(compiler().compile(rule).getAst()).eval(vars);
    }

    static String ruleWithMessage(JsonNode node, String messagePart) {
        for (JsonNode r : node.path("x-kubernetes-validations")) {
            if (r.path("message").asText().contains(messagePart)) {
                return r.path("rule").asText();
            }
        }
        throw new AssertionError("no rule whose message contains '" + messagePart + "' in " + node);
    }

    static List<JsonNode> rules(JsonNode node) {
        List<JsonNode> found = new ArrayList<>();
        node.path("x-kubernetes-validations").forEach(found::add);
        node.path("properties").forEach(child -> found.addAll(rules(child)));
        if (node.has("items")) {
            found.addAll(rules(node.get("items")));
        }
        return found;
    }

    /** JSON to the value types CEL uses (integers as Long). */
    @SuppressWarnings("unchecked")
    static Map<String, Object> spec(String json) throws IOException {
        return (Map<String, Object>) celValue(JSON.readValue(json, Object.class));
    }

    @SuppressWarnings("unchecked")
    static Object celValue(Object v) {
        if (v instanceof Map<?, ?> m) {
            Map<String, Object> out = new LinkedHashMap<>();
            ((Map<String, Object>) m).forEach((k, x) -> out.put(k, celValue(x)));
            return out;
        }
        if (v instanceof List<?> l) {
            return l.stream().map(CrdSchemaTest::celValue).toList();
        }
        if (v instanceof Integer i) {
            return i.longValue();
        }
        return v;
    }
}
