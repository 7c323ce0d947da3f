package io.dbaoperator.api.common;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;

/** What the operator asks a person to approve. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class ApprovalRequest {

    @JsonPropertyDescription("The gated step, e.g. contract, restore, dispose, apply-index.")
    public String step;

    @JsonPropertyDescription("Why this step needs a person: what it will do and what it cannot undo.")
    public String reason;

    @JsonPropertyDescription("Digest (sha256:...) of the exact plan that an approval applies to.")
    public String planDigest;

    @JsonPropertyDescription("Fingerprint of the live database objects the plan was made against; a change voids the approval.")
    public String schemaFingerprint;

    @JsonPropertyDescription("metadata.generation of the spec the plan was made from.")
    public Long generation;

    @JsonPropertyDescription("When the approval was requested (RFC 3339).")
    public String requestedAt;

    @JsonPropertyDescription("The exact command a person runs to approve this plan.")
    public String command;

    @JsonPropertyDescription("The exact command a person runs to reject it.")
    public String rejectCommand;
}
