package io.dbaoperator.contract;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Optional;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * How a failing agent says why: its last line on stderr is {@code {"reason":...,"message":...}}, which Kubernetes
 * keeps as the container's termination message (terminationMessagePolicy FallbackToLogsOnError) and the operator
 * reads back into status. Written and read here only, as JSON (any message survives: quotes, newlines, unicode).
 *
 * @param reason a {@link io.dbaoperator.problem.Reason} name, or {@code Failed} for an unexpected error
 */
public record AgentFailure(String reason, String message) {

    private static final ObjectMapper JSON = new ObjectMapper();

    /** The failure as the agent's last line. */
    public String line() {
        ObjectNode node = JSON.createObjectNode().put("reason", reason).put("message", message);
        try {
            return JSON.writeValueAsString(node);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The failure a line holds, or empty when it is not the agent's failure line (a tool's output, say). */
    public static Optional<AgentFailure> parse(String line) {
        if (line == null || !line.startsWith("{")) {
            return Optional.empty();
        }
        try {
            JsonNode node = JSON.readTree(line);
            if (node == null || !node.hasNonNull("message")) {
                return Optional.empty();
            }
            return Optional.of(new AgentFailure(node.hasNonNull("reason") ? node.get("reason").asText() : null,
                    node.get("message").asText()));
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    /** The last line of a failed container in words: "Reason: message" for the agent's line, else the line. */
    public static String describe(String line) {
        return parse(line).map(f -> (f.reason() == null ? "" : f.reason() + ": ") + f.message()).orElse(line);
    }
}
