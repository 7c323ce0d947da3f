package io.dbaoperator.sql;

import java.util.Locale;

/**
 * What a statement does, in the classes the approval gate acts on. A statement the classifier does not recognise is
 * {@link #DESTRUCTIVE}: the gate fails closed.
 */
public enum StatementClass {
    /** Creates objects or rows, reads, grants, comments: nothing is lost and the running version keeps working. */
    ADDITIVE,
    /**
     * Loses nothing, but takes a lock that stops the application's reads or writes for as long as it runs (VACUUM
     * FULL, CLUSTER, REINDEX without CONCURRENTLY, LOCK TABLE in a strong mode, a table moved to another tablespace).
     */
    LOCK_HEAVY,
    /**
     * Loses data, objects or privileges, or breaks the version still running (drops, renames, DELETE/UPDATE/MERGE,
     * CASCADE, REVOKE, SET UNLOGGED...), or runs code the planner cannot see into (DO, CALL, an unknown function);
     * and anything the classifier does not recognise.
     */
    DESTRUCTIVE,
    /** Transaction and session control the operator owns (BEGIN, COMMIT, PREPARE TRANSACTION, cursors, LISTEN...). */
    SESSION_CONTROL;

    /** The name in status and docs: additive, lock-heavy, destructive, session-control. */
    public String label() {
        return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }

    public static StatementClass ofLabel(String label) {
        for (StatementClass c : values()) {
            if (c.label().equals(label)) {
                return c;
            }
        }
        return null;
    }
}
