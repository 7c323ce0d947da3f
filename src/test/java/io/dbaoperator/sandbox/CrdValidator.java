package io.dbaoperator.sandbox;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.cel.common.CelAbstractSyntaxTree;
import dev.cel.common.types.SimpleType;
import dev.cel.compiler.CelCompiler;
import dev.cel.compiler.CelCompilerFactory;
import dev.cel.parser.CelStandardMacro;
import dev.cel.runtime.CelRuntime;
import dev.cel.runtime.CelRuntimeFactory;

/**
 * What the API server does with a custom resource's OpenAPI schema on create and update, for the sandbox and the
 * tests: applies defaults, rejects unknown fields (fieldValidation=Strict, kubectl's default), checks types,
 * required fields, enums, patterns and bounds, and evaluates the x-kubernetes-validations CEL rules, transition rules
 * (oldSelf) on updates only. Error texts follow the API server's ("spec.rollback: Required value").
 */
final class CrdValidator {

    private static final CelCompiler CEL = CelCompilerFactory.standardCelCompilerBuilder()
            .setStandardMacros(CelStandardMacro.STANDARD_MACROS)
            .addVar("self", SimpleType.DYN).addVar("oldSelf", SimpleType.DYN).build();
    private static final CelRuntime RUNTIME = CelRuntimeFactory.standardCelRuntimeBuilder().build();
    private static final Map<String, CelAbstractSyntaxTree> COMPILED = new ConcurrentHashMap<>();

    /** The outcome: errors (invalid: 422) and unknown fields (strict: 400). */
    record Result(List<String> errors, List<String> unknownFields) {
        boolean ok(boolean strict) {
            return errors.isEmpty() && (!strict || unknownFields.isEmpty());
        }
    }

    private CrdValidator() {
    }

    /** Applies defaults to {@code object.<section>} in place. */
    static void applyDefaults(JsonNode schema, JsonNode value) {
        if (value == null || !value.isObject() || !schema.has("properties")) {
            return;
        }
        ObjectNode object = (ObjectNode) value;
        schema.get("properties").fields().forEachRemaining(e -> {
            JsonNode child = object.get(e.getKey());
            if ((child == null || child.isNull()) && e.getValue().has("default")) {
                object.set(e.getKey(), e.getValue().get("default").deepCopy());
            }
            applyDefaults(e.getValue(), object.get(e.getKey()));
        });
        if (schema.has("items") && value.isArray()) {
            value.forEach(item -> applyDefaults(schema.get("items"), item));
        }
    }

    static Result validate(JsonNode schema, JsonNode value, JsonNode old, String path) {
        Result r = new Result(new ArrayList<>(), new ArrayList<>());
        check(schema, value, old, path, r);
        return r;
    }

    private static void check(JsonNode schema, JsonNode value, JsonNode old, String path, Result r) {
        if (value == null || value.isNull()) {
            return;
        }
        String type = schema.path("type").asText("");
        if (!typeMatches(type, value, schema)) {
            r.errors().add(path + ": Invalid value: \"" + kind(value) + "\": " + path + " in body must be of type "
                    + type);
            return;
        }
        if (schema.has("enum")) {
            boolean found = false;
            List<String> allowed = new ArrayList<>();
            for (JsonNode e : schema.get("enum")) {
                allowed.add("\"" + e.asText() + "\"");
                found |= e.equals(value);
            }
            if (!found) {
                r.errors().add(path + ": Unsupported value: \"" + value.asText() + "\": supported values: "
                        + String.join(", ", allowed));
            }
        }
        if (value.isTextual()) {
            String s = value.asText();
            if (schema.has("pattern") && !Pattern.compile(schema.get("pattern").asText()).matcher(s).find()) {
                r.errors().add(path + ": Invalid value: \"" + s + "\": " + path + " in body should match '"
                        + schema.get("pattern").asText() + "'");
            }
            if (schema.has("minLength") && s.length() < schema.get("minLength").asInt()) {
                r.errors().add(path + ": Invalid value: \"" + s + "\": " + path + " in body should be at least "
                        + schema.get("minLength").asInt() + " chars long");
            }
            if (schema.has("maxLength") && s.length() > schema.get("maxLength").asInt()) {
                r.errors().add(path + ": Too long: may not be more than " + schema.get("maxLength").asInt() + " bytes");
            }
        }
        if (value.isNumber()) {
            if (schema.has("minimum") && value.asDouble() < schema.get("minimum").asDouble()) {
                r.errors().add(path + ": Invalid value: " + value + ": " + path + " in body should be greater than or "
                        + "equal to " + schema.get("minimum").asText());
            }
            if (schema.has("maximum") && value.asDouble() > schema.get("maximum").asDouble()) {
                r.errors().add(path + ": Invalid value: " + value + ": " + path + " in body should be less than or "
                        + "equal to " + schema.get("maximum").asText());
            }
        }
        if (value.isObject()) {
            for (JsonNode req : schema.path("required")) {
                if (!value.has(req.asText()) || value.get(req.asText()).isNull()) {
                    r.errors().add(path + "." + req.asText() + ": Required value");
                }
            }
            JsonNode properties = schema.path("properties");
            boolean preserve = schema.path("x-kubernetes-preserve-unknown-fields").asBoolean();
            for (Iterator<Map.Entry<String, JsonNode>> it = value.fields(); it.hasNext();) {
                Map.Entry<String, JsonNode> e = it.next();
                String child = path + "." + e.getKey();
                JsonNode oldChild = old == null ? null : old.get(e.getKey());
                if (properties.has(e.getKey())) {
                    check(properties.get(e.getKey()), e.getValue(), oldChild, child, r);
                } else if (schema.path("additionalProperties").isObject()) {
                    check(schema.get("additionalProperties"), e.getValue(), oldChild, child, r);
                } else if (!preserve && properties.size() > 0) {
                    r.unknownFields().add(child);
                }
            }
        }
        if (value.isArray()) {
            if (schema.has("minItems") && value.size() < schema.get("minItems").asInt()) {
                r.errors().add(path + ": Invalid value: " + value.size() + ": " + path + " in body should have at "
                        + "least " + schema.get("minItems").asInt() + " items");
            }
            if (schema.has("maxItems") && value.size() > schema.get("maxItems").asInt()) {
                r.errors().add(path + ": Too many: " + value.size() + ": must have at most "
                        + schema.get("maxItems").asInt() + " items");
            }
            int i = 0;
            for (JsonNode item : value) {
                check(schema.path("items"), item, null, path + "[" + i++ + "]", r);
            }
        }
        for (JsonNode rule : schema.path("x-kubernetes-validations")) {
            String expr = rule.path("rule").asText();
            boolean transition = expr.contains("oldSelf");
            if (transition && (old == null || old.isNull())) {
                continue;
            }
            Map<String, Object> vars = new HashMap<>();
            vars.put("self", celValue(value));
            if (transition) {
                vars.put("oldSelf", celValue(old));
            }
            Object result;
            try {
                result = RUNTIME.createProgram(COMPILED.computeIfAbsent(expr, CrdValidator::compile)).eval(vars);
            } catch (Exception e) {
                r.errors().add(path + ": Invalid value: \"object\": rule could not be evaluated: " + expr);
                continue;
            }
            if (!Boolean.TRUE.equals(result)) {
                r.errors().add(path + ": Invalid value: \"object\": " + rule.path("message").asText(expr));
            }
        }
    }

    private static CelAbstractSyntaxTree compile(String expr) {
        try {
            return CEL.compile(expr).getAst();
        } catch (Exception e) {
            throw new IllegalArgumentException("CEL rule does not compile: " + expr, e);
        }
    }

    private static boolean typeMatches(String type, JsonNode value, JsonNode schema) {
        if (schema.path("x-kubernetes-int-or-string").asBoolean()) {
            return value.isTextual() || value.isIntegralNumber();
        }
        return switch (type) {
            case "object" -> value.isObject();
            case "array" -> value.isArray();
            case "string" -> value.isTextual();
            case "integer" -> value.isIntegralNumber();
            case "number" -> value.isNumber();
            case "boolean" -> value.isBoolean();
            default -> true;
        };
    }

    private static String kind(JsonNode v) {
        return v.isObject() ? "object" : v.isArray() ? "array" : v.isTextual() ? "string" : v.isBoolean() ? "boolean"
                : "number";
    }

    static Object celValue(JsonNode v) {
        if (v == null || v.isNull()) {
            return dev.cel.common.values.NullValue.NULL_VALUE;
        }
        if (v.isObject()) {
            Map<String, Object> m = new LinkedHashMap<>();
            v.fields().forEachRemaining(e -> m.put(e.getKey(), celValue(e.getValue())));
            return m;
        }
        if (v.isArray()) {
            List<Object> l = new ArrayList<>();
            v.forEach(x -> l.add(celValue(x)));
            return l;
        }
        if (v.isIntegralNumber()) {
            return v.asLong();
        }
        if (v.isNumber()) {
            return v.asDouble();
        }
        if (v.isBoolean()) {
            return v.asBoolean();
        }
        return v.asText();
    }
}
