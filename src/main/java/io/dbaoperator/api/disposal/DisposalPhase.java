package io.dbaoperator.api.disposal;

/**
 * Phases of a DisposalJob.
 * <ul>
 * <li>{@code Pending} -> Counting once the rules are validated against the catalog; -> Failed on invalid input.</li>
 * <li>{@code Counting} (the dry run) -> AwaitingApproval, or Completed when dryRun is set.</li>
 * <li>{@code AwaitingApproval}: a person approves the rules' digest (-> Disposing) or rejects (-> Rejected).</li>
 * <li>{@code Disposing} -> Vacuuming -> Reporting -> Completed, or Scheduled when a schedule is set.</li>
 * <li>{@code Scheduled} -> Counting at the next run; unchanged rules do not ask again.</li>
 * </ul>
 */
public enum DisposalPhase {
    Pending, Counting, AwaitingApproval, Disposing, Vacuuming, Reporting, Completed, Scheduled, Rejected, Failed
}
