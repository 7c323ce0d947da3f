package io.dbaoperator.api.tuning;

/**
 * Phases of a QueryTuningRequest.
 * <ul>
 * <li>{@code Pending} -> Analyzing once the spec is validated; -> Failed on invalid input.</li>
 * <li>{@code Analyzing} (EXPLAIN, candidate indexes, HypoPG costing; or, with spec.indexHygiene, the review of the
 * database's indexes) -> TestingOnStaging, or Recommended (RecommendOnly), or AwaitingApproval, or Applying
 * (Automatic), or NoRecommendation.</li>
 * <li>{@code TestingOnStaging} -> AwaitingApproval (AfterApproval) or Applying (Automatic).</li>
 * <li>{@code AwaitingApproval}: a person approves (-> Applying) or rejects (-> Rejected).</li>
 * <li>{@code Applying} (CREATE INDEX CONCURRENTLY) -> Monitoring; with spec.indexHygiene (DROP INDEX CONCURRENTLY of
 * the approved findings) -> Completed.</li>
 * <li>{@code Monitoring}: the index's use and the statement's real mean time are followed -> Completed, or, when
 * the index brought no gain and followUp.onNoGain is ProposeRemoval, -> AwaitingRemovalApproval.</li>
 * <li>{@code AwaitingRemovalApproval}: a person approves the removal (-> Removing) or rejects it (-> Completed, the
 * index kept).</li>
 * <li>{@code Removing} (DROP INDEX CONCURRENTLY) -> Completed.</li>
 * </ul>
 */
public enum TuningPhase {
    Pending, Analyzing, TestingOnStaging, Recommended, NoRecommendation, AwaitingApproval, Applying, Monitoring,
    AwaitingRemovalApproval, Removing, Completed, Rejected, Failed
}
