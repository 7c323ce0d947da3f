package io.dbaoperator.api.migration;

import static java.util.Map.entry;

import java.util.Map;
import java.util.Set;

import io.dbaoperator.api.common.Phase;

/**
 * Phases of a DatabaseMigration. Moves (every one there is: {@link Phase#move} refuses others):
 * <table>
 * <caption>DatabaseMigration</caption>
 * <tr><th>from</th><th>to</th><th>when</th></tr>
 * <tr><td>(none)</td><td>Pending, Planning, Failed</td><td>first reconcile; Failed on invalid input</td></tr>
 * <tr><td>Pending</td><td>Planning, Failed</td><td>the spec validates; Failed on invalid input</td></tr>
 * <tr><td>Planning</td><td>Queued, AwaitingApproval, Failed</td><td>planned, linted and rehearsed on staging;
 * AwaitingApproval (step expand) under approval policy Always; Failed on a syntax or lint error or a failed
 * rehearsal</td></tr>
 * <tr><td>Queued</td><td>BackingUp, Expanding, RollingBack, Failed</td><td>holds the database's migration lease
 * (BackingUp with preMigrationBackup)</td></tr>
 * <tr><td>BackingUp</td><td>Expanding, RollingBack, Failed</td><td>the backup is verified; Failed when it
 * failed</td></tr>
 * <tr><td>Expanding</td><td>Backfilling, AwaitingCutover, RollingBack, Failed</td><td>expand applied (AwaitingCutover
 * without a backfill); on error RollingBack (rollbackOnFailure) or Failed</td></tr>
 * <tr><td>Backfilling</td><td>AwaitingCutover, RollingBack, Failed</td><td>every batch committed; resumable from the
 * last one</td></tr>
 * <tr><td>AwaitingCutover</td><td>AwaitingApproval, Completed, RollingBack, Rejected, Failed</td><td>cutover seen
 * or approved (Completed without a contract step); a rejection rolls back what was applied</td></tr>
 * <tr><td>AwaitingApproval</td><td>Queued, Contracting, RollingBack, Rejected, Failed</td><td>a person approves
 * expand (Queued) or contract (Contracting), or rejects</td></tr>
 * <tr><td>Contracting</td><td>Completed, Failed</td><td>contract applied; never rolled back
 * automatically</td></tr>
 * <tr><td>RollingBack</td><td>RolledBack, Failed</td><td>the rollback SQL ran (or nothing had been applied)</td></tr>
 * <tr><td>Failed</td><td>Pending, RollingBack</td><td>Pending when it had failed validation only and now validates;
 * RollingBack when a person asks for it</td></tr>
 * </table>
 * From Queued to AwaitingApproval, and from Failed, a person may ask for the rollback ({@code status.rollbackRequested}),
 * and a stored plan that no longer matches its digest fails the migration. Completed, RolledBack and Rejected are
 * terminal.
 */
public enum MigrationPhase implements Phase<MigrationPhase> {
    Pending, Planning, Queued, BackingUp, Expanding, Backfilling, AwaitingCutover, AwaitingApproval, Contracting, Completed,
    RollingBack, RolledBack, Rejected, Failed;

    private static final Map<MigrationPhase, Set<MigrationPhase>> NEXT = Phase.table(MigrationPhase.class, Map.ofEntries(
            entry(Pending, Set.of(Planning, Failed)),
            entry(Planning, Set.of(Queued, AwaitingApproval, Failed)),
            entry(Queued, Set.of(BackingUp, Expanding, RollingBack, Failed)),
            entry(BackingUp, Set.of(Expanding, RollingBack, Failed)),
            entry(Expanding, Set.of(Backfilling, AwaitingCutover, RollingBack, Failed)),
            entry(Backfilling, Set.of(AwaitingCutover, RollingBack, Failed)),
            entry(AwaitingCutover, Set.of(AwaitingApproval, Completed, RollingBack, Rejected, Failed)),
            entry(AwaitingApproval, Set.of(Queued, Contracting, RollingBack, Rejected, Failed)),
            entry(Contracting, Set.of(Completed, Failed)),
            entry(RollingBack, Set.of(RolledBack, Failed)),
            entry(Failed, Set.of(Pending, RollingBack))));

    @Override
    public Set<MigrationPhase> next() {
        return NEXT.get(this);
    }

    @Override
    public boolean initial() {
        return this == Pending || this == Planning || this == Failed;
    }
}
