package io.dbaoperator.api.tuning;

import static java.util.Map.entry;

import java.util.Map;
import java.util.Set;

import io.dbaoperator.api.common.Phase;

/**
 * Phases of a QueryTuningRequest. Moves (every one there is: {@link Phase#move} refuses others):
 * <table>
 * <caption>QueryTuningRequest</caption>
 * <tr><th>from</th><th>to</th><th>when</th></tr>
 * <tr><td>(none)</td><td>Pending, Analyzing, Failed</td><td>first reconcile; Failed on invalid input</td></tr>
 * <tr><td>Pending</td><td>Analyzing, Failed</td><td>the spec validates</td></tr>
 * <tr><td>Analyzing</td><td>TestingOnStaging, Recommended, AwaitingApproval, Applying, NoRecommendation, Pending,
 * Failed</td><td>EXPLAIN, candidates and HypoPG costing (or, with spec.indexHygiene, the review of the indexes);
 * then staging, or as apply.policy says (RecommendOnly, AfterApproval, Automatic); Failed when the statement itself
 * fails; Pending when the database does not answer</td></tr>
 * <tr><td>TestingOnStaging</td><td>Recommended, AwaitingApproval, Applying, NoRecommendation</td><td>the best
 * candidate was built and used on staging (NoRecommendation when it was not used)</td></tr>
 * <tr><td>AwaitingApproval</td><td>Applying, Rejected</td><td>a person approves or rejects</td></tr>
 * <tr><td>Applying</td><td>Monitoring, Completed</td><td>CREATE INDEX CONCURRENTLY, inside the maintenance window
 * (Completed: spec.indexHygiene's approved DROP INDEX CONCURRENTLY done)</td></tr>
 * <tr><td>Monitoring</td><td>Completed, AwaitingRemovalApproval</td><td>the index's use and the statement's real
 * mean time followed for unusedAfter; AwaitingRemovalApproval when it brought no gain and followUp.onNoGain is
 * ProposeRemoval</td></tr>
 * <tr><td>AwaitingRemovalApproval</td><td>Removing, Completed</td><td>a person approves the removal, or rejects it
 * (the index kept)</td></tr>
 * <tr><td>Removing</td><td>Completed</td><td>DROP INDEX CONCURRENTLY, inside the maintenance window</td></tr>
 * <tr><td>Failed</td><td>Analyzing</td><td>looked at again</td></tr>
 * </table>
 * Recommended, NoRecommendation, Completed and Rejected are terminal.
 */
public enum TuningPhase implements Phase<TuningPhase> {
    Pending, Analyzing, TestingOnStaging, Recommended, NoRecommendation, AwaitingApproval, Applying, Monitoring,
    AwaitingRemovalApproval, Removing, Completed, Rejected, Failed;

    private static final Map<TuningPhase, Set<TuningPhase>> NEXT = Phase.table(TuningPhase.class, Map.ofEntries(
            entry(Pending, Set.of(Analyzing, Failed)),
            entry(Analyzing, Set.of(TestingOnStaging, Recommended, AwaitingApproval, Applying, NoRecommendation,
                    Pending, Failed)),
            entry(TestingOnStaging, Set.of(Recommended, AwaitingApproval, Applying, NoRecommendation)),
            entry(AwaitingApproval, Set.of(Applying, Rejected)),
            entry(Applying, Set.of(Monitoring, Completed)),
            entry(Monitoring, Set.of(Completed, AwaitingRemovalApproval)),
            entry(AwaitingRemovalApproval, Set.of(Removing, Completed)),
            entry(Removing, Set.of(Completed)),
            entry(Failed, Set.of(Analyzing))));

    @Override
    public Set<TuningPhase> next() {
        return NEXT.get(this);
    }

    @Override
    public boolean initial() {
        return this == Pending || this == Analyzing || this == Failed;
    }
}
