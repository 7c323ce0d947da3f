package io.dbaoperator.api.tuning;

/**
 * Phases of a QueryTuningRequest.
 * <ul>
 * <li>{@code Pending} -> Analyzing once the spec is validated; -> Failed on invalid input.</li>
 * <li>{@code Analyzing} (EXPLAIN, candidate indexes, HypoPG costing) -> TestingOnStaging, or Recommended
 * (RecommendOnly), or NoRecommendation.</li>
 * <li>{@code TestingOnStaging} -> AwaitingApproval (AfterApproval) or Applying (Automatic).</li>
 * <li>{@code AwaitingApproval}: a person approves (-> Applying) or rejects (-> Rejected).</li>
 * <li>{@code Applying} (CREATE INDEX CONCURRENTLY) -> Monitoring.</li>
 * <li>{@code Monitoring}: the index's use is followed -> Completed.</li>
 * </ul>
 */
public enum TuningPhase {
    Pending, Analyzing, TestingOnStaging, Recommended, NoRecommendation, AwaitingApproval, Applying, Monitoring,
    Completed, Rejected, Failed
}
