package io.dbaoperator.sandbox;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.client.server.mock.KubernetesCrudDispatcher;
import io.fabric8.mockwebserver.dsl.HttpMethod;
import io.fabric8.mockwebserver.http.Buffer;
import io.fabric8.mockwebserver.http.Headers;
import io.fabric8.mockwebserver.http.MockResponse;
import io.fabric8.mockwebserver.http.RecordedRequest;

/**
 * The fabric8 test server in CRUD mode, made to answer like a Kubernetes API server where clients depend on it:
 * API discovery (kubectl needs it for every command), OpenAPI v3 of the CRDs (kubectl explain), Table responses
 * built from the printer columns (kubectl get), RFC 7386 merge patches (the CRUD server merges arrays by
 * appending, and refuses strategic merge patches, which kubectl sends for built-in kinds) retried on conflict as an
 * API server does for a patch without a precondition, and managedFields for status patches, so the operator can
 * name who approved ({@code kubectl patch --field-manager}).
 */
public class SandboxApiDispatcher extends KubernetesCrudDispatcher {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String JSON_TYPE = "application/json";

    private final ApiResources resources;
    private final OpenApiDocuments openApi;
    private volatile java.util.function.BiFunction<String, String, String> podLogs = (ns, pod) -> null;

    public SandboxApiDispatcher(List<CustomResourceDefinition> crds) {
        super(List.of());
        this.resources = new ApiResources(crds);
        this.openApi = new OpenApiDocuments(resources);
    }

    /** Where `kubectl logs` reads a pod's output from: the kubelet that ran it. */
    public void podLogs(java.util.function.BiFunction<String, String, String> source) {
        this.podLogs = source;
    }

    @Override
    public MockResponse dispatch(RecordedRequest request) {
        String path = request.getPath();
        int q = path.indexOf('?');
        String bare = q < 0 ? path : path.substring(0, q);
        String query = q < 0 ? "" : path.substring(q + 1);
        String method = request.getMethod();
        if ("GET".equals(method)) {
            MockResponse served = serveGet(request, bare, query);
            if (served != null) {
                return served;
            }
        }
        if ("POST".equals(method) || "PUT".equals(method)) {
            ApiResources.Resource custom = customResource(bare);
            if (custom != null && !bare.endsWith("/status")) {
                return validatedWrite(request, bare, query, read(request.getUtf8Body()), custom, "POST".equals(method));
            }
        }
        if ("PATCH".equals(method) && bare.endsWith("/status") && interference != NONE) {
            String body = request.getUtf8Body(); // reading consumes it: hand on a copy
            request = new RecordedRequest(request.getHttpVersion(), request.method(), request.getPath(),
                    request.getHeaders(), new Buffer(body.getBytes(StandardCharsets.UTF_8)));
            interfereIfAsked(bare, body);
        }
        if ("PATCH".equals(method)) {
            String type = request.getHeader("Content-Type");
            if (type != null && (type.startsWith("application/merge-patch+json")
                    || type.startsWith("application/strategic-merge-patch+json"))) {
                return mergePatch(request, bare, query);
            }
            ApiResources.Resource custom = customResource(bare);
            if (type != null && type.startsWith("application/json-patch+json") && custom != null
                    && !bare.endsWith("/status")) {
                return jsonPatch(request, bare, query, custom);
            }
        }
        return super.dispatch(request);
    }

    /**
     * Which status writes meet a concurrent writer: given the object's path and the count of status writes to it so
     * far (1 for the first) and the patch body, says whether another client writes the object first.
     */
    public interface Interference {
        boolean before(String objectPath, int statusWrite, String patch);
    }

    private static final Interference NONE = (path, n, patch) -> false;
    private volatile Interference interference = NONE;
    private final Map<String, java.util.concurrent.atomic.AtomicInteger> statusWrites =
            new java.util.concurrent.ConcurrentHashMap<>();
    private final java.util.concurrent.atomic.AtomicInteger interfered = new java.util.concurrent.atomic.AtomicInteger();

    /**
     * Makes chosen status writes race another writer: just before the status PATCH is served, an annotation in the
     * operator's own domain (one it may act on, so the operator cannot just re-pin its patch) is merge-patched onto
     * the same object, and a PATCH pinned to the version it was decided on gets the API server's real 409 Conflict,
     * which the operator must answer by deciding again. Null stops it.
     */
    public void interfere(Interference rule) {
        this.interference = rule == null ? NONE : rule;
        statusWrites.clear();
    }

    /** How many status writes met the concurrent writer. */
    public int interfered() {
        return interfered.get();
    }

    private void interfereIfAsked(String statusPath, String patch) {
        String object = statusPath.substring(0, statusPath.length() - "/status".length());
        int n = statusWrites.computeIfAbsent(object, k -> new java.util.concurrent.atomic.AtomicInteger()).incrementAndGet();
        if (!interference.before(object, n, patch)) {
            return;
        }
        int i = interfered.incrementAndGet();
        Headers headers = Headers.builder().add("Content-Type", "application/merge-patch+json").build();
        String body = "{\"metadata\":{\"annotations\":{\"dbaoperator.io/test-concurrent-writer\":\"" + i + "\"}}}";
        mergePatch(new RecordedRequest("HTTP/1.1", HttpMethod.PATCH, object, headers,
                new Buffer(body.getBytes(StandardCharsets.UTF_8))), object, "");
    }

    private MockResponse serveGet(RecordedRequest request, String bare, String query) {
        String[] seg = bare.replaceFirst("^/", "").split("/");
        switch (bare) {
            case "/api":
                return json(200, resources.apiVersions());
            case "/apis":
                return json(200, resources.groupList());
            case "/api/v1":
                return json(200, resources.resourceList("v1"));
            case "/version":
                return json(200, Map.of("major", "1", "minor", "32", "gitVersion", "v1.32.0-dba-sandbox",
                        "platform", "linux/amd64"));
            case "/openapi/v3":
                return json(200, openApi.index());
            case "/openapi/v2":
                return json(404, status(404, "NotFound", "OpenAPI v2 is not served; use v3"));
            default:
                break;
        }
        if (seg.length == 3 && seg[0].equals("apis")) {
            Map<String, Object> list = resources.resourceList(seg[1] + "/" + seg[2]);
            return list == null ? json(404, status(404, "NotFound", "the server could not find the requested resource"))
                    : json(200, list);
        }
        if (seg.length == 5 && seg[0].equals("openapi") && seg[1].equals("v3") && seg[2].equals("apis")) {
            Map<String, Object> doc = openApi.groupVersion(seg[3] + "/" + seg[4]);
            return doc == null ? json(404, status(404, "NotFound", "no such group version")) : json(200, doc);
        }
        String accept = request.getHeader("Accept");
        if (seg.length == 7 && seg[0].equals("api") && seg[4].equals("pods") && seg[6].equals("log")) {
            String text = podLogs.apply(seg[3], seg[5]);
            return text == null ? json(404, status(404, "NotFound", "pods \"" + seg[5] + "\" not found"))
                    : new MockResponse().setResponseCode(200).setHeader("Content-Type", "text/plain")
                            .setBody(text.isEmpty() ? "\n" : text);
        }
        if (query.contains("watch=true") && !"websocket".equalsIgnoreCase(request.getHeader("Upgrade"))) {
            return httpWatch(bare, query);
        }
        if (seg.length == 5 && seg[0].equals("api") && seg[4].equals("events")) {
            return events(bare, query, accept != null && accept.contains("as=Table"));
        }
        if (accept != null && accept.contains("as=Table") && seg.length >= 4 && seg[0].equals("apis")
                && !query.contains("watch=")) {
            return table(bare, query, seg);
        }
        return null;
    }

    /**
     * A watch over plain HTTP, as kubectl and client-go make it (the CRUD server only streams watches over a
     * websocket): the objects changed since the requested resourceVersion, one event each with its latest state,
     * then the stream ends and the client watches again from there. With nothing new the answer waits a second,
     * so a waiting client polls gently.
     */
    private MockResponse httpWatch(String bare, String query) {
        long since = 0;
        StringBuilder listQuery = new StringBuilder();
        for (String param : query.split("&")) {
            if (param.startsWith("resourceVersion=")) {
                try {
                    since = Long.parseLong(param.substring("resourceVersion=".length()));
                } catch (NumberFormatException e) {
                    since = 0;
                }
            } else if (param.startsWith("fieldSelector=") || param.startsWith("labelSelector=")) {
                listQuery.append(listQuery.length() == 0 ? "?" : "&").append(param);
            }
        }
        MockResponse list = super.handleGet(bare + listQuery);
        StringBuilder events = new StringBuilder();
        if (list.code() == 200) {
            for (JsonNode item : read(list.getBody().readUtf8()).path("items")) {
                long rv = item.path("metadata").path("resourceVersion").asLong(0);
                if (rv > since) {
                    ObjectNode event = JsonNodeFactory.instance.objectNode();
                    event.put("type", "MODIFIED");
                    event.set("object", item);
                    events.append(event).append('\n');
                }
            }
        }
        String watchedName = watchedName(query);
        if (events.length() == 0 && watchedName != null && since > 0 && list.code() == 200
                && read(super.handleGet(bare + listQuery).getBody().readUtf8()).path("items").isEmpty()) {
            // the one object watched by name is gone (kubectl delete waits for this after a finalizer ran)
            String[] seg = bare.replaceFirst("^/", "").split("/");
            ObjectNode event = JsonNodeFactory.instance.objectNode();
            event.put("type", "DELETED");
            ObjectNode object = event.putObject("object");
            String groupVersion = seg[0].equals("api") ? seg[1] : seg[1] + "/" + seg[2];
            object.put("apiVersion", groupVersion);
            object.put("kind", resources.all().stream().filter(r -> r.groupVersion().equals(groupVersion)
                    && r.plural().equals(seg[seg.length - 1])).map(ApiResources.Resource::kind).findFirst()
                    .orElse("Unknown"));
            ObjectNode meta = object.putObject("metadata");
            meta.put("name", watchedName);
            int nsAt = java.util.Arrays.asList(seg).indexOf("namespaces");
            if (nsAt >= 0 && nsAt + 1 < seg.length) {
                meta.put("namespace", seg[nsAt + 1]);
            }
            meta.put("resourceVersion", String.valueOf(since + 1));
            events.append(event).append('\n');
        }
        if (events.length() > 0) {
            return new MockResponse().setResponseCode(200).setHeader("Content-Type", JSON_TYPE)
                    .setBody(events.toString());
        }
        // nothing new: a bookmark at the current version, sent after a pause (the server sends an empty body at once)
        String[] seg = bare.replaceFirst("^/", "").split("/");
        String groupVersion = seg[0].equals("api") ? seg[1] : seg.length > 2 ? seg[1] + "/" + seg[2] : "v1";
        String plural = seg[seg.length - 1];
        String kind = resources.all().stream().filter(r -> r.groupVersion().equals(groupVersion)
                && r.plural().equals(plural)).map(ApiResources.Resource::kind).findFirst().orElse("Unknown");
        String current = list.code() == 200
                ? read(list.getBody().readUtf8()).path("metadata").path("resourceVersion").asText(String.valueOf(since))
                : String.valueOf(since);
        ObjectNode bookmark = JsonNodeFactory.instance.objectNode();
        bookmark.put("type", "BOOKMARK");
        ObjectNode object = bookmark.putObject("object");
        object.put("kind", kind);
        object.put("apiVersion", groupVersion);
        object.putObject("metadata").put("resourceVersion", current.isEmpty() ? String.valueOf(since) : current);
        return new MockResponse().setResponseCode(200).setHeader("Content-Type", JSON_TYPE)
                .setBody(bookmark + "\n").setBodyDelay(java.time.Duration.ofMillis(1500));
    }

    /** The name in a {@code fieldSelector=metadata.name=X} watch, else null. */
    private static String watchedName(String query) {
        for (String param : query.split("&")) {
            if (param.startsWith("fieldSelector=")) {
                String value = java.net.URLDecoder.decode(param.substring("fieldSelector=".length()),
                        StandardCharsets.UTF_8);
                if (value.startsWith("metadata.name=") && !value.contains(",")) {
                    return value.substring("metadata.name=".length());
                }
            }
        }
        return null;
    }

    /**
     * Events, filtered by involvedObject field selectors (which the CRUD server ignores, so kubectl describe would
     * show none), as a Table when asked.
     */
    private MockResponse events(String bare, String query, boolean asTable) {
        Map<String, String> selector = new java.util.HashMap<>();
        for (String param : query.split("&")) {
            if (param.startsWith("fieldSelector=")) {
                String value = java.net.URLDecoder.decode(param.substring("fieldSelector=".length()),
                        StandardCharsets.UTF_8);
                for (String term : value.split(",")) {
                    int eq = term.indexOf('=');
                    if (eq > 0) {
                        selector.put(term.substring(0, eq), term.substring(eq + 1));
                    }
                }
            }
        }
        MockResponse all = super.handleGet(bare);
        if (all.code() != 200) {
            return all;
        }
        ObjectNode list = (ObjectNode) read(all.getBody().readUtf8());
        ArrayNode kept = JsonNodeFactory.instance.arrayNode();
        for (JsonNode e : list.path("items")) {
            boolean match = selector.entrySet().stream().allMatch(t -> !t.getKey().startsWith("involvedObject.")
                    || t.getValue().equals(e.path("involvedObject").path(t.getKey().substring("involvedObject."
                            .length())).asText()));
            if (match) {
                kept.add(e);
            }
        }
        if (!asTable) {
            list.set("items", kept);
            return json(200, list);
        }
        List<Object> rows = new ArrayList<>();
        for (JsonNode e : kept) {
            String last = e.path("lastTimestamp").asText(e.path("metadata").path("creationTimestamp").asText());
            rows.add(Map.of("cells", List.of(PrinterTable.age(last, Instant.now()), e.path("type").asText(),
                    e.path("reason").asText(), e.path("involvedObject").path("kind").asText().toLowerCase() + "/"
                            + e.path("involvedObject").path("name").asText(), e.path("message").asText()),
                    "object", Map.of("kind", "PartialObjectMetadata", "apiVersion", "meta.k8s.io/v1", "metadata",
                            e.path("metadata"))));
        }
        List<Object> columns = new ArrayList<>();
        for (String c : List.of("Last Seen", "Type", "Reason", "Object", "Message")) {
            columns.add(Map.of("name", c, "type", "string", "format", "", "description", c, "priority", 0));
        }
        return json(200, Map.of("kind", "Table", "apiVersion", "meta.k8s.io/v1", "metadata", Map.of(),
                "columnDefinitions", columns, "rows", rows));
    }

    /** A Table for a custom resource list or item; null (plain handling) for anything else. */
    private MockResponse table(String bare, String query, String[] seg) {
        boolean namespaced = seg.length >= 6 && seg[3].equals("namespaces");
        String plural = namespaced ? seg[5] : seg[3];
        boolean item = namespaced ? seg.length == 7 : seg.length == 5;
        if ((namespaced && seg.length > 7) || (!namespaced && seg.length > 5)) {
            return null;
        }
        ApiResources.Resource r = resources.custom(seg[1], seg[2], plural);
        if (r == null) {
            return null;
        }
        MockResponse plain = super.handleGet(query.isEmpty() ? bare : bare + "?" + query);
        if (plain.code() != 200) {
            return plain;
        }
        JsonNode body = read(plain.getBody().readUtf8());
        List<JsonNode> items = new ArrayList<>();
        if (item) {
            items.add(body);
        } else {
            body.path("items").forEach(items::add);
        }
        var version = r.crd().getSpec().getVersions().stream().filter(v -> v.getName().equals(r.version())).findFirst()
                .orElseThrow();
        return json(200, PrinterTable.render(version.getAdditionalPrinterColumns() == null ? List.of()
                : version.getAdditionalPrinterColumns(), items, body.path("metadata").path("resourceVersion").asText()));
    }

    /**
     * RFC 7386 merge (strategic merge patches are treated as merge patches), written as an update with the
     * resourceVersion read, and retried on conflict like an API server does for a patch without a precondition.
     */
    private MockResponse mergePatch(RecordedRequest request, String bare, String query) {
        JsonNode patch = read(request.getUtf8Body());
        boolean status = bare.endsWith("/status");
        String objectPath = status ? bare.substring(0, bare.length() - "/status".length()) : bare;
        boolean pinned = patch.path("metadata").has("resourceVersion");
        if (status) {
            // an API server records the manager in the same write as the fields; two writes here, so the manager
            // goes first: nobody may ever see the approval without who gave it
            recordStatusManager(objectPath, patch, fieldManager(query));
        }
        for (int attempt = 0; attempt < 10; attempt++) {
            MockResponse current = super.handleGet(objectPath);
            if (current.code() != 200) {
                return current;
            }
            JsonNode currentObject = read(current.getBody().readUtf8());
            JsonNode merged = merge(currentObject.deepCopy(), patch);
            if (!pinned && merged.path("metadata").isObject()) {
                ((ObjectNode) merged.get("metadata")).put("resourceVersion",
                        currentObject.path("metadata").path("resourceVersion").asText());
            }
            ApiResources.Resource custom = customResource(bare);
            MockResponse updated = custom != null && !status
                    ? validatedWrite(request, bare, query, merged, custom, false)
                    : super.handleUpdate(put(request, bare, merged));
            if (updated.code() == 409 && !pinned) {
                continue;
            }
            return updated;
        }
        return json(409, status(409, "Conflict", "the object kept changing; try again"));
    }

    /** The custom resource a path names (collection or item), or null. */
    private ApiResources.Resource customResource(String bare) {
        String[] seg = bare.replaceFirst("^/", "").split("/");
        if (seg.length < 6 || !seg[0].equals("apis") || !seg[3].equals("namespaces")) {
            return null;
        }
        return resources.custom(seg[1], seg[2], seg[5]);
    }

    /**
     * Defaults, then validates the spec of a custom resource against its CRD as an API server does, before the
     * create or update is stored: 422 Invalid with the API server's texts, 400 for unknown fields when the client
     * asked for Strict field validation (kubectl's default).
     */
    private MockResponse validatedWrite(RecordedRequest request, String bare, String query, JsonNode body,
            ApiResources.Resource r, boolean create) {
        var version = r.crd().getSpec().getVersions().stream().filter(v -> v.getName().equals(r.version())).findFirst()
                .orElseThrow();
        JsonNode schema = JSON.valueToTree(version.getSchema().getOpenAPIV3Schema()).path("properties");
        JsonNode old = null;
        if (!create) {
            MockResponse current = super.handleGet(bare);
            if (current.code() == 200) {
                JsonNode stored = read(current.getBody().readUtf8());
                old = stored.path("spec");
                // the status subresource is enabled: a write to the main resource never changes status
                if (body instanceof ObjectNode o) {
                    if (stored.has("status") && stored.get("status").isObject()) {
                        o.set("status", stored.get("status"));
                    } else {
                        o.remove("status");
                    }
                }
            }
        } else if (body instanceof ObjectNode o) {
            o.remove("status");
        }
        CrdValidator.applyDefaults(schema.path("spec"), body.path("spec"));
        CrdValidator.Result result = CrdValidator.validate(schema.path("spec"), body.path("spec"), old, "spec");
        String name = body.path("metadata").path("name").asText();
        if (!result.errors().isEmpty()) {
            String errors = result.errors().size() == 1 ? result.errors().get(0)
                    : "[" + String.join(", ", result.errors()) + "]";
            List<Object> causes = new ArrayList<>();
            for (String error : result.errors()) {
                int colon = error.indexOf(": ");
                causes.add(Map.of("reason", error.contains("Required value") ? "FieldValueRequired" : "FieldValueInvalid",
                        "field", colon < 0 ? "" : error.substring(0, colon),
                        "message", colon < 0 ? error : error.substring(colon + 2)));
            }
            return json(422, Map.of("kind", "Status", "apiVersion", "v1", "metadata", Map.of(), "status", "Failure",
                    "reason", "Invalid", "code", 422, "message", r.kind() + "." + r.group() + " \"" + name
                            + "\" is invalid: " + errors,
                    "details", Map.of("name", name, "group", r.group(), "kind", r.kind(), "causes", causes)));
        }
        if (query.contains("fieldValidation=Strict") && !result.unknownFields().isEmpty()) {
            return json(400, status(400, "BadRequest", r.kind() + " in version \"" + r.version()
                    + "\" cannot be handled as a " + r.kind() + ": strict decoding error: " + String.join(", ",
                            result.unknownFields().stream().map(f -> "unknown field \"" + f + "\"").toList())));
        }
        RecordedRequest validated = new RecordedRequest("HTTP/1.1", create ? HttpMethod.POST : HttpMethod.PUT,
                bare, Headers.builder().add("Content-Type", JSON_TYPE).build(),
                new Buffer(body.toString().getBytes(StandardCharsets.UTF_8)));
        return create ? super.handleCreate(validated) : super.handleUpdate(validated);
    }

    /** RFC 6902 on a custom resource: applied to the stored object, then written (validated, status kept). */
    private MockResponse jsonPatch(RecordedRequest request, String bare, String query, ApiResources.Resource custom) {
        MockResponse current = super.handleGet(bare);
        if (current.code() != 200) {
            return current;
        }
        JsonNode patched;
        try {
            patched = io.fabric8.zjsonpatch.JsonPatch.apply(read(request.getUtf8Body()),
                    read(current.getBody().readUtf8()));
        } catch (RuntimeException e) {
            return json(422, status(422, "Invalid", "the JSON patch cannot be applied: " + e.getMessage()));
        }
        return validatedWrite(request, bare, query, patched, custom, false);
    }

    /** Records who last set each status field, as managedFields (the operator names approvers from it). */
    private void recordStatusManager(String objectPath, JsonNode patch, String manager) {
        ObjectNode fields = JsonNodeFactory.instance.objectNode();
        ObjectNode statusFields = fields.putObject("f:status");
        for (Iterator<String> it = patch.path("status").fieldNames(); it.hasNext();) {
            statusFields.putObject("f:" + it.next());
        }
        for (int attempt = 0; attempt < 10; attempt++) {
            MockResponse current = super.handleGet(objectPath);
            if (current.code() != 200) {
                return;
            }
            JsonNode object = read(current.getBody().readUtf8());
            ObjectNode metadata = (ObjectNode) object.get("metadata");
            ArrayNode managed = metadata.has("managedFields") ? (ArrayNode) metadata.get("managedFields")
                    : metadata.putArray("managedFields");
            ObjectNode entry = managed.addObject();
            entry.put("manager", manager);
            entry.put("operation", "Update");
            entry.put("apiVersion", object.path("apiVersion").asText());
            entry.put("time", Instant.now().toString());
            entry.put("fieldsType", "FieldsV1");
            entry.put("subresource", "status");
            entry.set("fieldsV1", fields);
            if (super.handleUpdate(put(null, objectPath, object)).code() != 409) {
                return;
            }
        }
    }

    private static String fieldManager(String query) {
        for (String param : query.split("&")) {
            if (param.startsWith("fieldManager=")) {
                return java.net.URLDecoder.decode(param.substring("fieldManager=".length()), StandardCharsets.UTF_8);
            }
        }
        return "unknown";
    }

    static JsonNode merge(JsonNode target, JsonNode patch) {
        if (!patch.isObject()) {
            return patch;
        }
        ObjectNode result = target != null && target.isObject() ? (ObjectNode) target
                : JsonNodeFactory.instance.objectNode();
        patch.fields().forEachRemaining(e -> {
            if (e.getValue().isNull()) {
                result.remove(e.getKey());
            } else {
                result.set(e.getKey(), merge(result.get(e.getKey()), e.getValue()));
            }
        });
        return result;
    }

    private static RecordedRequest put(RecordedRequest original, String path, JsonNode body) {
        Headers headers = Headers.builder().add("Content-Type", JSON_TYPE).build();
        return new RecordedRequest("HTTP/1.1", HttpMethod.PUT, path, headers,
                new Buffer(body.toString().getBytes(StandardCharsets.UTF_8)));
    }

    private static JsonNode read(String text) {
        try {
            return JSON.readTree(text);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("not JSON", e);
        }
    }

    private static Map<String, Object> status(int code, String reason, String message) {
        return Map.of("kind", "Status", "apiVersion", "v1", "status", "Failure", "code", code, "reason", reason,
                "message", message);
    }

    private static MockResponse json(int code, Object body) {
        try {
            return new MockResponse().setResponseCode(code).setHeader("Content-Type", JSON_TYPE)
                    .setBody(JSON.writeValueAsString(body));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }
}
