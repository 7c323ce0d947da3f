package io.dbaoperator.api.common;

import java.util.ArrayList;
import java.util.List;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;

/**
 * Status of a kind with steps a person must approve. {@code approved}, {@code approvedPlanDigest} and
 * {@code rejected} belong to people (set with kubectl patch --subresource=status); the operator only ever
 * clears them when it consumes them, and always with optimistic locking.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public abstract class GatedStatus extends OperatorStatus {

    @JsonPropertyDescription("Set to true by a person to approve the pending approvalRequest. The operator consumes it "
            + "into approvals[] and clears it.")
    public Boolean approved;

    @JsonPropertyDescription("Optional, set by a person with 'approved': the planDigest being approved. If it does not "
            + "match the current plan the approval is refused.")
    public String approvedPlanDigest;

    @JsonPropertyDescription("Set to true by a person to reject the pending step; the resource ends in phase Rejected.")
    public Boolean rejected;

    @JsonPropertyDescription("Written by the API server, not by people: the authenticated user whose status update set "
            + "approved, stamped by the operator's admission policy (deploy/admission). The operator records it as "
            + "approvedBy, verified, and clears it with approved.")
    public String approvedByUser;

    @JsonPropertyDescription("Written by the API server, not by people: the authenticated user whose status update set "
            + "rejected, stamped by the operator's admission policy (deploy/admission).")
    public String rejectedByUser;

    @JsonPropertyDescription("The approval the operator is waiting for, if any.")
    public ApprovalRequest approvalRequest;

    @JsonPropertyDescription("Approvals consumed so far, oldest first.")
    public List<ApprovalRecord> approvals = new ArrayList<>();

    @JsonPropertyDescription("Who rejected, and when, once rejected.")
    public ApprovalRecord rejection;
}
