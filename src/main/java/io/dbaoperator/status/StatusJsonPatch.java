package io.dbaoperator.status;

import java.util.Iterator;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * Builds the RFC 6902 JSON Patch that turns one status into another, one operation per top-level status field that
 * changed (fields the operator did not change are not mentioned, so a person's {@code approved} survives), preceded by
 * a {@code replace} of {@code /metadata/resourceVersion} with the version the decision was made on: the API server
 * answers 409 Conflict when the object changed meanwhile. JSON Patch rather than a merge patch because merge-patch
 * array semantics are where API server implementations disagree (the fabric8 test server appends arrays).
 */
public final class StatusJsonPatch {

    private StatusJsonPatch() {
    }

    /** The operations, or an empty array when nothing changed. */
    public static ArrayNode diff(String resourceVersion, JsonNode before, JsonNode after) {
        ArrayNode ops = JsonNodeFactory.instance.arrayNode();
        ObjectNode to = after != null && after.isObject() ? (ObjectNode) after : JsonNodeFactory.instance.objectNode();
        if (before == null || !before.isObject()) {
            if (!to.isEmpty()) {
                ops.add(op("add", "/status", to));
            }
            return withLock(resourceVersion, ops);
        }
        for (Iterator<Map.Entry<String, JsonNode>> it = to.fields(); it.hasNext();) {
            Map.Entry<String, JsonNode> e = it.next();
            JsonNode old = before.get(e.getKey());
            if (e.getValue() == null || e.getValue().isNull()) {
                if (old != null && !old.isNull()) {
                    ops.add(op("remove", path(e.getKey()), null));
                }
            } else if (!e.getValue().equals(old)) {
                ops.add(op("add", path(e.getKey()), e.getValue()));
            }
        }
        for (Iterator<String> it = before.fieldNames(); it.hasNext();) {
            String name = it.next();
            if (!to.has(name) && !before.get(name).isNull()) {
                ops.add(op("remove", path(name), null));
            }
        }
        return withLock(resourceVersion, ops);
    }

    private static ArrayNode withLock(String resourceVersion, ArrayNode ops) {
        if (ops.isEmpty()) {
            return ops;
        }
        ArrayNode locked = JsonNodeFactory.instance.arrayNode();
        locked.add(op("replace", "/metadata/resourceVersion", JsonNodeFactory.instance.textNode(resourceVersion)));
        locked.addAll(ops);
        return locked;
    }

    private static String path(String field) {
        return "/status/" + field.replace("~", "~0").replace("/", "~1");
    }

    private static ObjectNode op(String op, String path, JsonNode value) {
        ObjectNode node = JsonNodeFactory.instance.objectNode();
        node.put("op", op);
        node.put("path", path);
        if (value != null) {
            node.set("value", value);
        }
        return node;
    }
}
