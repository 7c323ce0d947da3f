package io.dbaoperator.api.backup;

/**
 * Phases of a BackupRestore. A restore always waits for a person.
 * <ul>
 * <li>{@code Pending} -> AwaitingApproval once the plan (backup, WAL range, expected recovery point) is made;
 * -> Failed when the target is outside the recovery window or the backup is missing.</li>
 * <li>{@code AwaitingApproval}: a person approves (-> Restoring) or rejects (-> Rejected).</li>
 * <li>{@code Restoring} -> Verifying when recovery reached the target.</li>
 * <li>{@code Verifying} -> Starting when pg_amcheck and the checks pass (the StatefulSet and Service that serve the
 * restored volume are created); -> Failed otherwise.</li>
 * <li>{@code Starting} -> Ready once the StatefulSet's pod accepts connections (readyReplicas 1).</li>
 * </ul>
 * Ready, Rejected and Failed are final; a failed restore cleans up what it created.
 */
public enum RestorePhase {
    Pending, AwaitingApproval, Restoring, Verifying, Starting, Ready, Rejected, Failed
}
