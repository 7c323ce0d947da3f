package io.dbaoperator.api;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.api.model.apiextensions.v1.JSONSchemaProps;
import io.fabric8.kubernetes.api.model.apiextensions.v1.ValidationRule;
import io.fabric8.kubernetes.client.utils.Serialization;

/**
 * docs/crd-reference.md is generated from crds/ (which CrdSyncTest keeps equal to the API classes): every field of
 * every kind with its type, default, constraints and description. Run with -Dcrds.update=true to rewrite it.
 */
class CrdReferenceDocTest {

    static final Path DOC = Path.of("docs/crd-reference.md");

    @Test
    void theReferenceIsGeneratedFromTheCrds() throws IOException {
        String expected = render();
        if (Boolean.getBoolean("crds.update")) {
            Files.writeString(DOC, expected, StandardCharsets.UTF_8);
        }
        assertThat(Files.readString(DOC)).as("docs/crd-reference.md drifted from crds/; run ./mvnw verify "
                + "-Dcrds.update=true").isEqualTo(expected);
    }

    static String render() throws IOException {
        StringBuilder out = new StringBuilder();
        out.append("# CRD field reference\n\n")
                .append("Generated from `crds/` by `CrdReferenceDocTest` (`./mvnw verify -Dcrds.update=true` rewrites "
                        + "it); do not edit by hand. How the kinds behave is in [reference.md](reference.md); "
                        + "`kubectl explain <kind>.spec` shows the same descriptions.\n");
        for (String plural : CrdSyncTest.KINDS.stream()
                .map(io.fabric8.kubernetes.api.model.HasMetadata::getPlural).toList()) {
            CustomResourceDefinition crd = Serialization.unmarshal(Files.readString(
                    Path.of("crds/" + plural + ".dbaoperator.io.yaml")), CustomResourceDefinition.class);
            var names = crd.getSpec().getNames();
            var version = crd.getSpec().getVersions().get(0);
            out.append("\n## ").append(names.getKind()).append("\n\n")
                    .append("`").append(crd.getSpec().getGroup()).append("/").append(version.getName())
                    .append("`, plural `").append(names.getPlural()).append("`, short name `")
                    .append(String.join("`, `", names.getShortNames())).append("`, categories `")
                    .append(String.join("`, `", names.getCategories())).append("`.\n");
            JSONSchemaProps root = version.getSchema().getOpenAPIV3Schema();
            for (String part : List.of("spec", "status")) {
                JSONSchemaProps schema = root.getProperties().get(part);
                if (schema == null) {
                    continue;
                }
                out.append("\n### ").append(part).append("\n\n");
                rules(out, part, schema);
                out.append("| field | type | required | default | description |\n|---|---|---|---|---|\n");
                List<String> rows = new ArrayList<>();
                fields(rows, part, schema);
                rows.forEach(out::append);
            }
        }
        return out.toString();
    }

    static void rules(StringBuilder out, String path, JSONSchemaProps schema) {
        List<ValidationRule> rules = schema.getXKubernetesValidations();
        if (rules != null) {
            for (ValidationRule r : rules) {
                out.append("- Rule on `").append(path).append("`: ").append(cell(r.getMessage() != null
                        ? r.getMessage() : r.getRule()));
                if (r.getMessage() == null || r.getRule().length() <= 160) { // long ones: see the CRD
                    out.append(" (`").append(r.getRule().replace("|", "\\|")).append("`)");
                }
                out.append('\n');
            }
            out.append('\n');
        }
    }

    static void fields(List<String> rows, String path, JSONSchemaProps schema) {
        Map<String, JSONSchemaProps> props = schema.getProperties();
        if (props == null) {
            return;
        }
        List<String> required = schema.getRequired() == null ? List.of() : schema.getRequired();
        for (Map.Entry<String, JSONSchemaProps> e : props.entrySet()) {
            String field = path + "." + e.getKey();
            JSONSchemaProps p = e.getValue();
            String type = type(p);
            rows.add("| `" + field + "` | " + type + " | " + (required.contains(e.getKey()) ? "yes" : "") + " | "
                    + (p.getDefault() == null ? "" : "`" + cell(p.getDefault().isTextual() ? p.getDefault().asText()
                            : p.getDefault().toString()) + "`") + " | "
                    + cell(describe(p)) + " |\n");
            if ("array".equals(p.getType()) && p.getItems() != null && p.getItems().getSchema() != null) {
                fields(rows, field + "[]", p.getItems().getSchema());
            } else if (p.getAdditionalProperties() != null && p.getAdditionalProperties().getSchema() != null) {
                fields(rows, field + ".<key>", p.getAdditionalProperties().getSchema());
            } else {
                fields(rows, field, p);
            }
        }
    }

    static String type(JSONSchemaProps p) {
        if ("array".equals(p.getType()) && p.getItems() != null && p.getItems().getSchema() != null) {
            return "array of " + type(p.getItems().getSchema());
        }
        if (p.getAdditionalProperties() != null && p.getAdditionalProperties().getSchema() != null) {
            return "map of " + type(p.getAdditionalProperties().getSchema());
        }
        return p.getType() == null ? "any" : p.getType();
    }

    static String describe(JSONSchemaProps p) {
        StringBuilder d = new StringBuilder(p.getDescription() == null ? "" : p.getDescription());
        if (p.getEnum() != null && !p.getEnum().isEmpty()) {
            d.append(" One of: ").append(String.join(", ", p.getEnum().stream().map(v -> v.toString()
                    .replace("\"", "")).toList())).append('.');
        }
        if (p.getPattern() != null) {
            d.append(" Pattern: `").append(p.getPattern()).append("`.");
        }
        if (p.getMinimum() != null) {
            d.append(" Minimum ").append(number(p.getMinimum())).append('.');
        }
        if (p.getMaximum() != null) {
            d.append(" Maximum ").append(number(p.getMaximum())).append('.');
        }
        return d.toString().trim();
    }

    static String number(Number n) {
        double d = n.doubleValue();
        return d == Math.rint(d) ? String.valueOf((long) d) : String.valueOf(d);
    }

    static String cell(String s) {
        return s.replace("|", "\\|").replace("\n", " ");
    }
}
