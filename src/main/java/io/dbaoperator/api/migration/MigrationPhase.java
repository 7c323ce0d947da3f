package io.dbaoperator.api.migration;

/**
 * Phases of a DatabaseMigration. Transitions:
 * <ul>
 * <li>{@code Pending} -> Planning once the spec is validated; -> Failed on invalid input.</li>
 * <li>{@code Planning} -> Queued; -> Failed when the SQL does not parse, a lint error is found or the staging
 * rehearsal fails. With approval policy Always, a person approves step {@code expand} first (AwaitingApproval).</li>
 * <li>{@code Queued} -> BackingUp (or Expanding without preMigrationBackup) once this migration holds the database's
 * migration lease: migrations on one database run one at a time.</li>
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
    Pending, Planning, Queued, BackingUp, Expanding, Backfilling, AwaitingCutover, AwaitingApproval, Contracting, Completed,
    RollingBack, RolledBack, Rejected, Failed
}
