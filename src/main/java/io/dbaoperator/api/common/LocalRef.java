package io.dbaoperator.api.common;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;

import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Required;

/** Another object, of the kind the field names, in the same namespace. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class LocalRef {

    @Required
    @Pattern("^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
    @JsonPropertyDescription("Name of the object, in the same namespace as this resource.")
    public String name;

    public LocalRef() {
    }

    public LocalRef(String name) {
        this.name = name;
    }
}
