package io.dbaoperator.status;

/** Condition types used in our statuses. */
public enum ConditionType {
    /** The resource can do its job (a policy is active, a restore is served, a migration completed). */
    Ready,
    /** The spec, its Secrets and the systems it points at passed validation. */
    Validated,
    /** The pending step was approved (True) or waits for a person (False). */
    Approved,
    /** The last scheduled backup succeeded and was verified. */
    LastBackupSucceeded,
    /** WAL archiving runs and keeps up. */
    WalArchiving,
    /** The migration was rehearsed on staging (expand, backfill, rollback, contract) and passed. */
    Rehearsed,
    /** The last scheduled restore test passed. */
    RestoreTestPassed,
    /** The last staging refresh served a new masked copy (False: it failed, the previous copy still serves). */
    StagingRefreshed
}
