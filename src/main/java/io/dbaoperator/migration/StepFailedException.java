package io.dbaoperator.migration;

/**
 * A statement that could not be applied: the database's SQLSTATE, message and position (1-based in the statement,
 * 0 when none), or a refusal by the operator itself (sqlState null).
 */
public class StepFailedException extends Exception {

    private final String stepId;
    private final String sqlState;
    private final int position;
    private final boolean lockTimeout;

    public StepFailedException(String stepId, String message, String sqlState, int position, boolean lockTimeout) {
        super(message);
        this.stepId = stepId;
        this.sqlState = sqlState;
        this.position = position;
        this.lockTimeout = lockTimeout;
    }

    public String stepId() {
        return stepId;
    }

    public String sqlState() {
        return sqlState;
    }

    public int position() {
        return position;
    }

    /** Whether it gave up after lock timeouts (another transaction kept the lock). */
    public boolean lockTimeout() {
        return lockTimeout;
    }
}
