package io.dbaoperator.api.common;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;

/** An approval the operator consumed: the audit trail of who let which plan run. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class ApprovalRecord {

    @JsonPropertyDescription("The step that was approved.")
    public String step;

    @JsonPropertyDescription("Digest of the plan that was approved.")
    public String planDigest;

    @JsonPropertyDescription("Fingerprint of the live schema when the plan was approved.")
    public String schemaFingerprint;

    @JsonPropertyDescription("When the operator consumed the approval (RFC 3339).")
    public String approvedAt;

    @JsonPropertyDescription("Who approved (or rejected): the user the API server authenticated when the operator's "
            + "admission policy is installed (verified true); otherwise only the field manager that set the field "
            + "(kubectl patch --field-manager=<name>; kubectl's default is kubectl-patch), or 'unknown'.")
    public String approvedBy;

    @JsonPropertyDescription("True when approvedBy is the authenticated user (stamped by the operator's admission "
            + "policy); false when it is only a field manager, which any client can name freely.")
    public Boolean verified;
}
