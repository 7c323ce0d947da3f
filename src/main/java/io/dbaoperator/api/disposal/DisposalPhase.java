package io.dbaoperator.api.disposal;

import static java.util.Map.entry;

import java.util.Map;
import java.util.Set;

import io.dbaoperator.api.common.Phase;

/**
 * Phases of a DisposalJob. Moves (every one there is: {@link Phase#move} refuses others):
 * <table>
 * <caption>DisposalJob</caption>
 * <tr><th>from</th><th>to</th><th>when</th></tr>
 * <tr><td>(none)</td><td>Pending, Counting, Failed</td><td>first reconcile; Failed on invalid input</td></tr>
 * <tr><td>Pending</td><td>Counting, Failed</td><td>the rules validate against the catalog</td></tr>
 * <tr><td>Counting</td><td>AwaitingApproval, Reporting, Failed, Pending</td><td>the dry run counted every rule
 * (Reporting with spec.dryRun); Failed when a rule is refused (all rows, referenced rows) or invalid; Pending when
 * the database does not answer</td></tr>
 * <tr><td>AwaitingApproval</td><td>Disposing, Rejected, Counting</td><td>a person approves the rules' digest or
 * rejects it</td></tr>
 * <tr><td>Disposing</td><td>Vacuuming, Counting</td><td>every batch done (resumable, inside the maintenance
 * window)</td></tr>
 * <tr><td>Vacuuming</td><td>Reporting, Counting</td><td>VACUUM or ANALYZE as spec.vacuum says</td></tr>
 * <tr><td>Reporting</td><td>Completed, Scheduled, Counting</td><td>report written and audited (Scheduled with a
 * schedule)</td></tr>
 * <tr><td>Scheduled</td><td>Counting</td><td>the next run is due or asked for</td></tr>
 * <tr><td>Completed</td><td>Counting</td><td>a run is asked for (annotation) or the rules changed</td></tr>
 * <tr><td>Failed</td><td>Counting, Pending</td><td>looked at again: the data or the rules may have changed</td></tr>
 * </table>
 * From AwaitingApproval, Disposing, Vacuuming and Reporting a change of the rules goes back to Counting, and the
 * run waits for a new approval. Rejected is terminal.
 */
public enum DisposalPhase implements Phase<DisposalPhase> {
    Pending, Counting, AwaitingApproval, Disposing, Vacuuming, Reporting, Completed, Scheduled, Rejected, Failed;

    private static final Map<DisposalPhase, Set<DisposalPhase>> NEXT = Phase.table(DisposalPhase.class, Map.ofEntries(
            entry(Pending, Set.of(Counting, Failed)),
            entry(Counting, Set.of(AwaitingApproval, Reporting, Failed, Pending)),
            entry(AwaitingApproval, Set.of(Disposing, Rejected, Counting)),
            entry(Disposing, Set.of(Vacuuming, Counting)),
            entry(Vacuuming, Set.of(Reporting, Counting)),
            entry(Reporting, Set.of(Completed, Scheduled, Counting)),
            entry(Scheduled, Set.of(Counting)),
            entry(Completed, Set.of(Counting)),
            entry(Failed, Set.of(Counting, Pending))));

    @Override
    public Set<DisposalPhase> next() {
        return NEXT.get(this);
    }

    @Override
    public boolean initial() {
        return this == Pending || this == Counting || this == Failed;
    }
}
