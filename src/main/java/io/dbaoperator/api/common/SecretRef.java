package io.dbaoperator.api.common;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;

import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Required;

/** A Secret in the same namespace as the resource that names it. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class SecretRef {

    @Required
    @Pattern("^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
    @JsonPropertyDescription("Name of a Secret in the same namespace as this resource.")
    public String name;

    public SecretRef() {
    }

    public SecretRef(String name) {
        this.name = name;
    }
}
