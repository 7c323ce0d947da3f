package io.dbaoperator.api.backup;

import static java.util.Map.entry;

import java.util.Map;
import java.util.Set;

import io.dbaoperator.api.common.Phase;

/**
 * Phases of a BackupPolicy. A policy lives on: its phase says, at each reconcile, whether it can do its job, and
 * nothing is terminal. Moves (every one there is: {@link Phase#move} refuses others):
 * <table>
 * <caption>BackupPolicy</caption>
 * <tr><th>from</th><th>to</th><th>when</th></tr>
 * <tr><td>(none)</td><td>any</td><td>first reconcile</td></tr>
 * <tr><td>Pending</td><td>Active, Suspended, Degraded, Failed</td><td>the database and storage answer</td></tr>
 * <tr><td>Active</td><td>Suspended, Degraded, Failed</td><td>spec.suspend set; the last backup failed, or the
 * database or storage stopped answering; the spec or a Secret became invalid</td></tr>
 * <tr><td>Degraded</td><td>Active, Suspended, Pending, Failed</td><td>the next backup succeeded</td></tr>
 * <tr><td>Suspended</td><td>Active, Degraded, Pending, Failed</td><td>spec.suspend cleared</td></tr>
 * <tr><td>Failed</td><td>Active, Suspended, Degraded, Pending</td><td>the spec or its Secrets fixed</td></tr>
 * </table>
 * WAL archiving has its own condition ({@code WalArchiving}) and metric; it does not change the phase.
 */
public enum BackupPolicyPhase implements Phase<BackupPolicyPhase> {
    Pending, Active, Suspended, Degraded, Failed;

    private static final Map<BackupPolicyPhase, Set<BackupPolicyPhase>> NEXT = Phase.table(BackupPolicyPhase.class,
            Map.ofEntries(
                    entry(Pending, Set.of(Active, Suspended, Degraded, Failed)),
                    entry(Active, Set.of(Suspended, Degraded, Failed)),
                    entry(Degraded, Set.of(Active, Suspended, Pending, Failed)),
                    entry(Suspended, Set.of(Active, Degraded, Pending, Failed)),
                    entry(Failed, Set.of(Active, Suspended, Degraded, Pending))));

    @Override
    public Set<BackupPolicyPhase> next() {
        return NEXT.get(this);
    }

    @Override
    public boolean initial() {
        return true;
    }
}
