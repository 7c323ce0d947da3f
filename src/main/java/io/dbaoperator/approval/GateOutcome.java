package io.dbaoperator.approval;

/** What the approval gate lets the caller do. */
public enum GateOutcome {
    /** The exact plan was approved against the same live schema: execute the step. */
    PROCEED,
    /** Wait for a person; the status now holds the request (or the reason an approval was refused). */
    WAIT,
    /** A person rejected: end in phase Rejected. */
    REJECTED
}
