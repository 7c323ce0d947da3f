package io.dbaoperator.api.common;

import java.util.ArrayList;
import java.util.List;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;

/** What every status of ours carries; each kind adds its own {@code phase} enum and details. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public abstract class OperatorStatus {

    @JsonPropertyDescription("The metadata.generation the operator last acted on.")
    public Long observedGeneration;

    @JsonPropertyDescription("Latest observations of the resource's state, one entry per condition type.")
    public List<Condition> conditions = new ArrayList<>();

    @JsonPropertyDescription("A one-line human summary of the current phase.")
    public String message;

    @JsonPropertyDescription("When the resource entered its current phase (RFC 3339).")
    public String phaseSince;

    /** The phase as its enum constant; each kind declares its own {@code phase} field. */
    @JsonIgnore
    public abstract Enum<?> phase();
}
