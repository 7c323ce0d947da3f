package io.dbaoperator.api.common;

import java.util.Objects;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;

import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Required;

/** A Kubernetes-style condition (the shape of metav1.Condition). */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class Condition {

    @Required
    @JsonPropertyDescription("Type of condition in CamelCase, e.g. Ready, Validated, Approved.")
    public String type;

    @Required
    @Pattern("^(True|False|Unknown)$")
    @JsonPropertyDescription("True, False or Unknown.")
    public String status;

    @JsonPropertyDescription("A CamelCase machine-readable reason for the condition's last transition.")
    public String reason;

    @JsonPropertyDescription("What happened and, when something is wrong, what a person can do about it.")
    public String message;

    @JsonPropertyDescription("When the condition last changed status (RFC 3339).")
    public String lastTransitionTime;

    @JsonPropertyDescription("The metadata.generation of the resource this condition was computed from.")
    public Long observedGeneration;

    public Condition() {
    }

    public Condition(String type, String status, String reason, String message, String lastTransitionTime,
            Long observedGeneration) {
        this.type = type;
        this.status = status;
        this.reason = reason;
        this.message = message;
        this.lastTransitionTime = lastTransitionTime;
        this.observedGeneration = observedGeneration;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Condition c && Objects.equals(type, c.type) && Objects.equals(status, c.status)
                && Objects.equals(reason, c.reason) && Objects.equals(message, c.message)
                && Objects.equals(lastTransitionTime, c.lastTransitionTime)
                && Objects.equals(observedGeneration, c.observedGeneration);
    }

    @Override
    public int hashCode() {
        return Objects.hash(type, status, reason, message, lastTransitionTime, observedGeneration);
    }

    @Override
    public String toString() {
        return type + "=" + status + " (" + reason + "): " + message;
    }
}
