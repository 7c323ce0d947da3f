package io.dbaoperator.approval;

/**
 * A step that needs a person's approval, as planned right now.
 *
 * @param step the step's name, e.g. contract, restore, dispose
 * @param reason what the step does that a person must agree to
 * @param planDigest digest of the exact plan (see {@link PlanDigest})
 * @param schemaFingerprint fingerprint of the live objects the plan was made against; null when none applies
 * @param generation metadata.generation of the spec the plan was made from
 */
public record GatedStep(String step, String reason, String planDigest, String schemaFingerprint, long generation) {
}
