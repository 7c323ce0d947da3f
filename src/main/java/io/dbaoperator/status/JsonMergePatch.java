package io.dbaoperator.status;

import java.util.Iterator;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

/** Computes the RFC 7386 merge patch that turns one JSON document into another. */
public final class JsonMergePatch {

    private JsonMergePatch() {
    }

    /**
     * The patch from {@code before} to {@code after}: changed members with their new value, removed members as null,
     * unchanged members absent. Arrays are replaced whole, as RFC 7386 prescribes.
     */
    public static ObjectNode diff(JsonNode before, JsonNode after) {
        ObjectNode patch = JsonNodeFactory.instance.objectNode();
        ObjectNode from = before != null && before.isObject() ? (ObjectNode) before : JsonNodeFactory.instance.objectNode();
        ObjectNode to = after != null && after.isObject() ? (ObjectNode) after : JsonNodeFactory.instance.objectNode();
        for (Iterator<Map.Entry<String, JsonNode>> it = to.fields(); it.hasNext();) {
            Map.Entry<String, JsonNode> e = it.next();
            JsonNode old = from.get(e.getKey());
            JsonNode now = e.getValue();
            if (now == null || now.isNull()) {
                if (old != null && !old.isNull()) {
                    patch.putNull(e.getKey());
                }
            } else if (old != null && old.isObject() && now.isObject()) {
                ObjectNode nested = diff(old, now);
                if (!nested.isEmpty()) {
                    patch.set(e.getKey(), nested);
                }
            } else if (!now.equals(old)) {
                patch.set(e.getKey(), now);
            }
        }
        for (Iterator<String> it = from.fieldNames(); it.hasNext();) {
            String name = it.next();
            if (!to.has(name) && !from.get(name).isNull()) {
                patch.putNull(name);
            }
        }
        return patch;
    }
}
