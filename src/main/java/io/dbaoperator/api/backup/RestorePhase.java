package io.dbaoperator.api.backup;

import static java.util.Map.entry;

import java.util.Map;
import java.util.Set;

import io.dbaoperator.api.common.Phase;

/**
 * Phases of a BackupRestore; a restore always waits for a person. Moves (every one there is: {@link Phase#move}
 * refuses others):
 * <table>
 * <caption>BackupRestore</caption>
 * <tr><th>from</th><th>to</th><th>when</th></tr>
 * <tr><td>(none)</td><td>Pending, AwaitingApproval, Failed</td><td>first reconcile: the plan (backup, WAL range,
 * expected recovery point) is made; Failed when the target is outside the recovery window or the backup is
 * missing</td></tr>
 * <tr><td>Pending</td><td>AwaitingApproval, Failed</td><td>as from none, once the references answer</td></tr>
 * <tr><td>AwaitingApproval</td><td>Restoring, Rejected, Pending, Failed</td><td>a person approves or rejects; the
 * plan is made again meanwhile (Failed when it no longer can be)</td></tr>
 * <tr><td>Restoring</td><td>Verifying, Starting, Ready, Swapping, Waiting, Failed</td><td>recovery reached the
 * target, or pg_restore finished (Starting, Ready or Swapping when its checks were already done); a staging
 * refresh's run that failed waits for the next (Waiting)</td></tr>
 * <tr><td>Verifying</td><td>Starting, Ready, Swapping, Waiting, Failed</td><td>pg_amcheck and the checks passed; the
 * StatefulSet and Service that serve the restored volume are created (Starting), or a logical restore's database
 * holds its tables (Ready; Swapping for a staging refresh); a refresh's run that failed waits (Waiting)</td></tr>
 * <tr><td>Starting</td><td>Ready</td><td>the StatefulSet's pod accepts connections</td></tr>
 * <tr><td>Swapping</td><td>Waiting</td><td>a staging refresh: the staging Secret points at the new masked copy and
 * the previous copy is dropped</td></tr>
 * <tr><td>Waiting</td><td>Restoring, AwaitingApproval</td><td>a staging refresh between runs: the next one is due
 * (or asked for), or its rules changed since the approval (asked again; the served copy stays)</td></tr>
 * </table>
 * Ready, Rejected and Failed are terminal; a failed restore removes what it created.
 */
public enum RestorePhase implements Phase<RestorePhase> {
    Pending, AwaitingApproval, Restoring, Verifying, Starting, Ready, Swapping, Waiting, Rejected, Failed;

    private static final Map<RestorePhase, Set<RestorePhase>> NEXT = Phase.table(RestorePhase.class, Map.ofEntries(
            entry(Pending, Set.of(AwaitingApproval, Failed)),
            entry(AwaitingApproval, Set.of(Restoring, Rejected, Pending, Failed)),
            entry(Restoring, Set.of(Verifying, Starting, Ready, Swapping, Waiting, Failed)),
            entry(Verifying, Set.of(Starting, Ready, Swapping, Waiting, Failed)),
            entry(Starting, Set.of(Ready)),
            entry(Swapping, Set.of(Waiting)),
            entry(Waiting, Set.of(Restoring, AwaitingApproval))));

    @Override
    public Set<RestorePhase> next() {
        return NEXT.get(this);
    }

    @Override
    public boolean initial() {
        return this == Pending || this == AwaitingApproval || this == Failed;
    }
}
