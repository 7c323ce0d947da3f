package io.dbaoperator.approval;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

import io.dbaoperator.api.common.ApprovalRecord;
import io.dbaoperator.api.common.ApprovalRequest;
import io.dbaoperator.api.common.GatedStatus;
import io.dbaoperator.problem.Reason;
import io.dbaoperator.status.ConditionType;
import io.dbaoperator.status.Conditions;
import io.fabric8.kubernetes.api.model.ManagedFieldsEntry;

/**
 * The approval contract shared by every kind (docs/approvals.md), as a pure function over the desired
 * status. The caller passes the step as planned from fresh observations, every time before it executes it; the gate
 * answers PROCEED only when a consumed approval matches that exact plan digest and live-schema fingerprint.
 * <ol>
 * <li>No approval yet: write {@code approvalRequest} (step, reason, digest, commands), condition
 * Approved=False/AwaitingApproval, and WAIT.</li>
 * <li>{@code approved: true} for the current request (or pinned to the current digest): record it in
 * {@code approvals[]}, clear {@code approved}, {@code approvedPlanDigest} and the request, and PROCEED.</li>
 * <li>{@code approvedPlanDigest} not matching the plan: refuse (PlanDigestMismatch), clear the approval, WAIT.</li>
 * <li>{@code approved: true} given for a request that no longer matches (the spec or the live schema changed):
 * void it (ApprovalVoided) and ask again.</li>
 * <li>{@code rejected: true}: REJECTED, recorded in {@code rejection}.</li>
 * </ol>
 * The operator writes the result with {@link io.dbaoperator.status.StatusPatcher}, which uses optimistic locking, so
 * an approval that arrives while the operator writes is never cleared unseen.
 */
public final class ApprovalGate {

    private ApprovalGate() {
    }

    /**
     * Decides, and updates {@code desired} (a copy of the observed status) accordingly.
     *
     * @param commands the kubectl lines for this resource
     * @param managedFields the resource's metadata.managedFields, to name who approved or rejected
     */
    public static GateOutcome evaluate(GatedStatus desired, GatedStep step, Commands commands,
            List<ManagedFieldsEntry> managedFields, Instant now) {
        if (desired.approvals == null) {
            desired.approvals = new ArrayList<>();
        }
        if (Boolean.TRUE.equals(desired.rejected)) {
            if (desired.rejection == null) {
                desired.rejection = record(step, now, desired.rejectedByUser, managedFields, "rejected");
            }
            desired.rejectedByUser = null;
            withdraw(desired);
            desired.approvalRequest = null;
            setCondition(desired, false, Reason.Rejected,
                    "step " + step.step() + " was rejected by " + desired.rejection.approvedBy, step, now);
            return GateOutcome.REJECTED;
        }
        if (alreadyApproved(desired, step)) {
            if (desired.approvalRequest != null && step.step().equals(desired.approvalRequest.step)) {
                desired.approvalRequest = null;
            }
            return GateOutcome.PROCEED;
        }
        boolean requestIsCurrent = isCurrent(desired.approvalRequest, step);
        if (Boolean.TRUE.equals(desired.approved)) {
            String pinned = desired.approvedPlanDigest;
            if (pinned != null && !pinned.equals(step.planDigest())) {
                withdraw(desired);
                request(desired, step, commands, now, requestIsCurrent);
                setCondition(desired, false, Reason.PlanDigestMismatch, "approval refused: approvedPlanDigest " + pinned
                        + " does not match the current plan " + step.planDigest()
                        + "; review status.approvalRequest and approve again with: " + desired.approvalRequest.command,
                        step, now);
                return GateOutcome.WAIT;
            }
            if (pinned == null && !requestIsCurrent) {
                withdraw(desired); // approvedPlanDigest is null here: nothing was pinned
                request(desired, step, commands, now, false);
                setCondition(desired, false, Reason.ApprovalVoided, "approval voided: it was given for a plan that has "
                        + "since changed (spec or live schema); review the new plan and approve again with: "
                        + desired.approvalRequest.command, step, now);
                return GateOutcome.WAIT;
            }
            ApprovalRecord consumed = record(step, now, desired.approvedByUser, managedFields, "approved");
            String approvedBy = consumed.approvedBy + (Boolean.TRUE.equals(consumed.verified) ? ""
                    : " (field manager, unverified)");
            desired.approvals.add(consumed);
            withdraw(desired);
            desired.approvalRequest = null;
            setCondition(desired, true, Reason.Approved,
                    "step " + step.step() + " approved by " + approvedBy + " for plan " + step.planDigest(), step, now);
            return GateOutcome.PROCEED;
        }
        boolean schemaDrift = desired.approvals.stream().anyMatch(r -> step.step().equals(r.step)
                && step.planDigest().equals(r.planDigest) && !Objects.equals(step.schemaFingerprint(), r.schemaFingerprint));
        if (requestIsCurrent && Conditions.find(desired.conditions, ConditionType.Approved)
                .map(c -> Reason.PlanDigestMismatch.name().equals(c.reason) || Reason.ApprovalVoided.name().equals(c.reason))
                .orElse(false)) {
            return GateOutcome.WAIT; // keep the refusal in view until the person approves again
        }
        request(desired, step, commands, now, requestIsCurrent);
        if (schemaDrift) {
            setCondition(desired, false, Reason.SchemaChanged, "the live schema changed since step " + step.step()
                    + " was approved; the plan was made again and needs a new approval: "
                    + desired.approvalRequest.command, step, now);
        } else {
            setCondition(desired, false, Reason.AwaitingApproval, "waiting for a person to approve step " + step.step()
                    + ": " + step.reason() + ". Approve with: " + desired.approvalRequest.command, step, now);
        }
        return GateOutcome.WAIT;
    }

    /** Whether an approval for this exact plan and schema was already consumed (e.g. an unchanged scheduled run). */
    public static boolean alreadyApproved(GatedStatus status, GatedStep step) {
        return status.approvals != null && status.approvals.stream().anyMatch(r -> step.step().equals(r.step)
                && step.planDigest().equals(r.planDigest) && Objects.equals(step.schemaFingerprint(), r.schemaFingerprint));
    }

    private static boolean isCurrent(ApprovalRequest request, GatedStep step) {
        return request != null && step.step().equals(request.step) && step.planDigest().equals(request.planDigest)
                && Objects.equals(step.schemaFingerprint(), request.schemaFingerprint)
                && Objects.equals(step.generation(), request.generation);
    }

    private static void request(GatedStatus desired, GatedStep step, Commands commands, Instant now, boolean keep) {
        if (keep) {
            return;
        }
        ApprovalRequest r = new ApprovalRequest();
        r.step = step.step();
        r.reason = step.reason();
        r.planDigest = step.planDigest();
        r.schemaFingerprint = step.schemaFingerprint();
        r.generation = step.generation();
        r.requestedAt = now.toString();
        r.command = commands.approve(step.planDigest());
        r.rejectCommand = commands.reject();
        desired.approvalRequest = r;
    }

    /** A person's approval leaves status (consumed or refused) with its pinned digest and the API server's stamp. */
    private static void withdraw(GatedStatus desired) {
        desired.approved = null;
        desired.approvedPlanDigest = null;
        desired.approvedByUser = null;
    }

    /**
     * The record of a decision: by the user the API server stamped ({@code authenticated}, from the admission
     * policy), else by the field manager that set {@code field}, which is marked unverified.
     */
    private static ApprovalRecord record(GatedStep step, Instant now, String authenticated,
            List<ManagedFieldsEntry> managedFields, String field) {
        ApprovalRecord r = new ApprovalRecord();
        r.step = step.step();
        r.planDigest = step.planDigest();
        r.schemaFingerprint = step.schemaFingerprint();
        r.approvedAt = now.toString();
        boolean verified = authenticated != null && !authenticated.isBlank();
        r.approvedBy = verified ? authenticated : ApproverIdentity.of(managedFields, field);
        r.verified = verified;
        return r;
    }

    private static void setCondition(GatedStatus desired, boolean approved, Reason reason, String message,
            GatedStep step, Instant now) {
        desired.conditions = Conditions.set(desired.conditions, ConditionType.Approved, approved, reason, message,
                step.generation(), now);
    }

    /** The kubectl lines of one resource. */
    public record Commands(String shortName, String name, String namespace) {
        String approve(String digest) {
            return ApprovalCommands.approve(shortName, name, namespace, digest);
        }

        String reject() {
            return ApprovalCommands.reject(shortName, name, namespace);
        }
    }
}
