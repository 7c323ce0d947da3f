package io.dbaoperator.api.maintenance;

import static java.util.Map.entry;

import java.util.Map;
import java.util.Set;

import io.dbaoperator.api.common.Phase;

/**
 * Phases of a DatabaseMaintenance. Moves (every one there is: {@link Phase#move} refuses others):
 * <table>
 * <caption>DatabaseMaintenance</caption>
 * <tr><th>from</th><th>to</th><th>when</th></tr>
 * <tr><td>(none)</td><td>Pending, Planning, Failed</td><td>first reconcile; Failed on invalid input</td></tr>
 * <tr><td>Pending</td><td>Planning, Failed</td><td>the database answers</td></tr>
 * <tr><td>Planning</td><td>Maintaining, Completed, Scheduled, Failed, Pending</td><td>the survey's evidence gives
 * the plan, written to status before anything runs (Completed or Scheduled at once with spec.dryRun or nothing to
 * do); Failed when the policy names what the database does not have or a threshold is out of range; Pending when
 * the database does not answer</td></tr>
 * <tr><td>Maintaining</td><td>AwaitingApproval, Completed, Scheduled, Planning</td><td>one task at a time inside the
 * maintenance window (an urgent freeze also outside it); AwaitingApproval when only tasks that need a person's
 * approval are left</td></tr>
 * <tr><td>AwaitingApproval</td><td>Maintaining, Rejected, Planning</td><td>a person approves the run's gated tasks
 * (their digest) or rejects them</td></tr>
 * <tr><td>Scheduled</td><td>Planning</td><td>the next run is due, asked for, or a table's freeze age passed the
 * urgent threshold</td></tr>
 * <tr><td>Completed</td><td>Planning</td><td>a run is asked for (annotation), the spec changed, or a freeze became
 * urgent</td></tr>
 * <tr><td>Failed</td><td>Planning, Pending</td><td>looked at again: the database or the spec may have
 * changed</td></tr>
 * </table>
 * From Maintaining and AwaitingApproval a change of the spec goes back to Planning. Rejected is terminal.
 */
public enum MaintenancePhase implements Phase<MaintenancePhase> {
    Pending, Planning, Maintaining, AwaitingApproval, Completed, Scheduled, Rejected, Failed;

    private static final Map<MaintenancePhase, Set<MaintenancePhase>> NEXT = Phase.table(MaintenancePhase.class,
            Map.ofEntries(
                    entry(Pending, Set.of(Planning, Failed)),
                    entry(Planning, Set.of(Maintaining, Completed, Scheduled, Failed, Pending)),
                    entry(Maintaining, Set.of(AwaitingApproval, Completed, Scheduled, Planning)),
                    entry(AwaitingApproval, Set.of(Maintaining, Rejected, Planning)),
                    entry(Scheduled, Set.of(Planning)),
                    entry(Completed, Set.of(Planning)),
                    entry(Failed, Set.of(Planning, Pending))));

    @Override
    public Set<MaintenancePhase> next() {
        return NEXT.get(this);
    }

    @Override
    public boolean initial() {
        return this == Pending || this == Planning || this == Failed;
    }
}
