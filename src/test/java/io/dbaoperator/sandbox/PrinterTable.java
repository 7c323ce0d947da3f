package io.dbaoperator.sandbox;

import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;

import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceColumnDefinition;

/**
 * Renders objects as a meta.k8s.io/v1 Table from their CRD's additionalPrinterColumns, which is how an API server
 * answers `kubectl get` (Accept: application/json;as=Table), so the printer columns show.
 */
final class PrinterTable {

    private PrinterTable() {
    }

    static Map<String, Object> render(List<CustomResourceColumnDefinition> columns, List<JsonNode> items,
            String resourceVersion) {
        List<Object> definitions = new ArrayList<>();
        definitions.add(Map.of("name", "Name", "type", "string", "format", "name", "description",
                "Name must be unique within a namespace.", "priority", 0));
        for (CustomResourceColumnDefinition c : columns) {
            Map<String, Object> d = new LinkedHashMap<>();
            d.put("name", c.getName());
            d.put("type", c.getType());
            d.put("format", c.getFormat() == null ? "" : c.getFormat());
            d.put("description", c.getDescription() == null ? "" : c.getDescription());
            d.put("priority", c.getPriority() == null ? 0 : c.getPriority());
            definitions.add(d);
        }
        List<Object> rows = new ArrayList<>();
        for (JsonNode item : items) {
            List<Object> cells = new ArrayList<>();
            cells.add(item.path("metadata").path("name").asText());
            for (CustomResourceColumnDefinition c : columns) {
                Object v = value(item, c.getJsonPath());
                cells.add("date".equals(c.getType()) && v instanceof String t ? age(t, Instant.now()) : v);
            }
            Map<String, Object> partial = new LinkedHashMap<>();
            partial.put("kind", "PartialObjectMetadata");
            partial.put("apiVersion", "meta.k8s.io/v1");
            partial.put("metadata", item.path("metadata"));
            rows.add(Map.of("cells", cells, "object", partial));
        }
        return Map.of("kind", "Table", "apiVersion", "meta.k8s.io/v1", "metadata",
                Map.of("resourceVersion", resourceVersion == null ? "" : resourceVersion), "columnDefinitions",
                definitions, "rows", rows);
    }

    /** A timestamp as the age an API server prints for date columns (5s, 3m20s, 4h, 12d...). */
    static String age(String timestamp, Instant now) {
        Instant t;
        try {
            t = Instant.parse(timestamp);
        } catch (DateTimeParseException e) {
            return timestamp;
        }
        long s = Math.max(0, Duration.between(t, now).getSeconds());
        long m = s / 60;
        long h = s / 3600;
        if (s < 120) {
            return s + "s";
        }
        if (m < 10) {
            return s % 60 == 0 ? m + "m" : m + "m" + (s % 60) + "s";
        }
        if (m < 180) {
            return m + "m";
        }
        if (h < 8) {
            return m % 60 == 0 ? h + "h" : h + "h" + (m % 60) + "m";
        }
        if (h < 48) {
            return h + "h";
        }
        if (h < 24 * 8) {
            return h % 24 == 0 ? (h / 24) + "d" : (h / 24) + "d" + (h % 24) + "h";
        }
        if (h < 24 * 365 * 2) {
            return (h / 24) + "d";
        }
        return (h / 24 / 365) + "y";
    }

    /** Evaluates the simple JSONPaths printer columns use: .a.b.c (a missing value prints as <none>). */
    static Object value(JsonNode item, String jsonPath) {
        JsonNode node = item;
        for (String part : jsonPath.replaceFirst("^\\.", "").split("\\.")) {
            node = node.path(part);
        }
        if (node.isMissingNode() || node.isNull()) {
            return null;
        }
        if (node.isNumber()) {
            return node.numberValue();
        }
        if (node.isBoolean()) {
            return node.booleanValue();
        }
        return node.isValueNode() ? node.asText() : node.toString();
    }
}
