package io.dbaoperator.api.backup;

/**
 * Phases of a BackupPolicy. A policy lives on; its phase says whether it can do its job.
 * <ul>
 * <li>{@code Pending} -> Active once the database and storage answer; -> Failed on invalid input.</li>
 * <li>{@code Active}: backups are scheduled. -> Degraded when a backup or WAL archiving fails; -> Suspended when
 * spec.suspend is set.</li>
 * <li>{@code Degraded} -> Active when the next backup succeeds.</li>
 * <li>{@code Failed}: the spec or its Secrets are wrong; the message says what to fix. Fixing it returns to Pending.</li>
 * </ul>
 */
public enum BackupPolicyPhase {
    Pending, Active, Suspended, Degraded, Failed
}
