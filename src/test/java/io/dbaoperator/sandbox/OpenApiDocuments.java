package io.dbaoperator.sandbox;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * OpenAPI v3 documents for the custom resources, shaped as a Kubernetes API server publishes them (schemas named
 * by reversed group, tagged with x-kubernetes-group-version-kind), so `kubectl explain` reads our field
 * descriptions.
 */
final class OpenApiDocuments {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String OBJECT_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta";

    private final ApiResources resources;

    OpenApiDocuments(ApiResources resources) {
        this.resources = resources;
    }

    /** The /openapi/v3 index: one entry per custom group/version. */
    Map<String, Object> index() {
        Map<String, Object> paths = new LinkedHashMap<>();
        for (ApiResources.Resource r : resources.all()) {
            if (r.crd() != null) {
                String key = "apis/" + r.groupVersion();
                paths.put(key, Map.of("serverRelativeURL", "/openapi/v3/" + key + "?hash=" + Integer.toHexString(
                        key.hashCode())));
            }
        }
        return Map.of("paths", paths);
    }

    /** The document of one group/version, or null. */
    Map<String, Object> groupVersion(String groupVersion) {
        Map<String, Object> schemas = new LinkedHashMap<>();
        Map<String, Object> paths = new LinkedHashMap<>();
        for (ApiResources.Resource r : resources.all()) {
            if (r.crd() == null || !r.groupVersion().equals(groupVersion)) {
                continue;
            }
            var version = r.crd().getSpec().getVersions().stream().filter(v -> v.getName().equals(r.version()))
                    .findFirst().orElseThrow();
            @SuppressWarnings("unchecked")
            Map<String, Object> schema = JSON.convertValue(version.getSchema().getOpenAPIV3Schema(), Map.class);
            @SuppressWarnings("unchecked")
            Map<String, Object> properties = new LinkedHashMap<>((Map<String, Object>) schema.getOrDefault("properties",
                    Map.of()));
            properties.put("apiVersion", Map.of("type", "string", "description", "APIVersion defines the versioned "
                    + "schema of this representation of an object."));
            properties.put("kind", Map.of("type", "string", "description", "Kind is a string value representing the "
                    + "REST resource this object represents."));
            properties.put("metadata", Map.of("allOf", List.of(Map.of("$ref", "#/components/schemas/" + OBJECT_META)),
                    "description", "Standard object's metadata."));
            schema.put("properties", properties);
            schema.put("type", "object");
            schema.put("x-kubernetes-group-version-kind", List.of(Map.of("group", r.group(), "version", r.version(),
                    "kind", r.kind())));
            String name = schemaName(r);
            schemas.put(name, schema);
            String base = "/apis/" + groupVersion + "/namespaces/{namespace}/" + r.plural();
            Map<String, Object> gvk = Map.of("group", r.group(), "version", r.version(), "kind", r.kind());
            paths.put(base, Map.of("post", operation("create", gvk, name)));
            paths.put(base + "/{name}", Map.of("get", operation("get", gvk, name), "put", operation("update", gvk, name),
                    "patch", operation("patch", gvk, name)));
        }
        if (schemas.isEmpty()) {
            return null;
        }
        schemas.put(OBJECT_META, Map.of("type", "object", "description", "ObjectMeta is metadata that all persisted "
                + "resources must have.", "properties", Map.of(
                        "name", Map.of("type", "string", "description", "Name must be unique within a namespace."),
                        "namespace", Map.of("type", "string", "description", "Namespace of the object."),
                        "labels", Map.of("type", "object", "additionalProperties", Map.of("type", "string"),
                                "description", "Map of string keys and values for organizing objects."),
                        "annotations", Map.of("type", "object", "additionalProperties", Map.of("type", "string"),
                                "description", "Unstructured key value map stored with the object."))));
        return Map.of("openapi", "3.0.0", "info", Map.of("title", "dba-operator sandbox", "version", "v1.32.0"),
                "paths", paths, "components", Map.of("schemas", schemas));
    }

    /** An operation as the API server describes it; fieldValidation tells kubectl the server validates fields. */
    private static Map<String, Object> operation(String action, Map<String, Object> gvk, String schema) {
        return Map.of("x-kubernetes-action", action, "x-kubernetes-group-version-kind", gvk,
                "parameters", List.of(Map.of("name", "fieldValidation", "in", "query", "schema",
                        Map.of("type", "string", "uniqueItems", true), "description", "Ignore, Warn or Strict")),
                "responses", Map.of("200", Map.of("content", Map.of("application/json", Map.of("schema",
                        Map.of("$ref", "#/components/schemas/" + schema))))));
    }

    static String schemaName(ApiResources.Resource r) {
        String[] parts = r.group().split("\\.");
        StringBuilder reversed = new StringBuilder();
        for (int i = parts.length - 1; i >= 0; i--) {
            reversed.append(parts[i]).append('.');
        }
        return reversed + r.version() + "." + r.kind();
    }
}
