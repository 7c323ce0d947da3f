package io.dbaoperator.problem;

/**
 * Something wrong that a person can act on, with the reason for status and Events. Messages never contain a secret
 * value: they are built from our own templates and names only.
 *
 * @param permanent true for invalid input (retrying cannot help until something is changed), false for transient
 *        faults (an unreachable database), which are retried with backoff
 */
public record Problem(Reason reason, String message, boolean permanent) {

    public static Problem invalid(Reason reason, String message) {
        return new Problem(reason, message, true);
    }

    public static Problem transientFault(Reason reason, String message) {
        return new Problem(reason, message, false);
    }

    public ProblemException exception() {
        return new ProblemException(this);
    }
}
