package io.dbaoperator.api.migration;

/**
 * Phases of a DatabaseMigration. Transitions:
 * <ul>
 * <li>{@code Pending} -> Planning once the spec is validated; -> Failed on invalid input.</li>
 * <li>{@code Planning} -> BackingUp (or Expanding without preMigrationBackup); -> Failed when a lint error is found
 * or the staging rehearsal fails.</li>
 * <li>{@code BackingUp} -> Expanding when the backup is verified.</li>
 * <li>{@code Expanding} -> Backfilling (or AwaitingCutover); -> RollingBack on error.</li>
 * <li>{@code Backfilling} -> AwaitingCutover; resumable from the last committed batch.</li>
 * <li>{@code AwaitingCutover} -> AwaitingApproval when cutover is seen. A person approves step {@code cutover}
 * in Manual mode.</li>
 * <li>{@code AwaitingApproval} -> Contracting when a person approves; -> Rejected when a person rejects.</li>
 * <li>{@code Contracting} -> Completed.</li>
 * <li>{@code RollingBack} -> RolledBack.</li>
 * </ul>
 * Completed, RolledBack, Rejected and Failed are final.
 */
public enum MigrationPhase {
    Pending, Planning, BackingUp, Expanding, Backfilling, AwaitingCutover, AwaitingApproval, Contracting, Completed,
    RollingBack, RolledBack, Rejected, Failed
}
