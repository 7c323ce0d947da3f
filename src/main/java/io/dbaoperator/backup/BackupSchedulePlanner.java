package io.dbaoperator.backup;

import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;

import io.dbaoperator.api.backup.BackupPolicySpec.ConcurrencyPolicy;
import io.dbaoperator.kube.CronSchedule;

/**
 * Decides whether a policy starts a backup now: a scheduled run that came due since the last one (only the most
 * recent missed run, as a CronJob without startingDeadlineSeconds would), or an on-demand request (the
 * {@code dbaoperator.io/backup-now} annotation with a value not acted on yet, honoured even while suspended), under
 * the concurrency policy. Pure: no clients, unit-tested run by run.
 */
public final class BackupSchedulePlanner {

    /** What the reconciler observed. */
    public record Observed(Instant now, Instant created, CronSchedule schedule, boolean suspended,
            ConcurrencyPolicy concurrency, String onDemandRequest, String lastOnDemandRequest,
            String lastScheduleTime, List<String> activeJobs) {
    }

    /**
     * The decision. {@code startBackupId} null means start nothing; {@code deleteJobs} are active Jobs to remove first
     * (Replace); the two {@code new...} fields are what status must remember so the same run is never started twice.
     */
    public record Decision(String startBackupId, String trigger, List<String> deleteJobs, String newLastScheduleTime,
            String newLastOnDemandRequest, String skipped) {
    }

    private BackupSchedulePlanner() {
    }

    public static Decision decide(Observed o) {
        String lastSchedule = o.lastScheduleTime();
        String lastOnDemand = o.lastOnDemandRequest();
        String backupId = null;
        String trigger = null;
        if (o.onDemandRequest() != null && !o.onDemandRequest().isBlank()
                && !o.onDemandRequest().equals(o.lastOnDemandRequest())) {
            backupId = BackupJobs.backupId(o.now());
            trigger = "on-demand request " + o.onDemandRequest();
            lastOnDemand = o.onDemandRequest();
        } else if (!o.suspended()) {
            Instant since = lastSchedule == null ? o.created() : Instant.parse(lastSchedule);
            Instant due = o.schedule().last(o.now().atZone(ZoneOffset.UTC)).map(t -> t.toInstant()).orElse(null);
            if (due != null && due.isAfter(since)) {
                backupId = BackupJobs.backupId(due);
                trigger = "schedule (" + due + ")";
                lastSchedule = due.toString();
            }
        }
        if (backupId == null) {
            return new Decision(null, null, List.of(), lastSchedule, lastOnDemand, null);
        }
        if (!o.activeJobs().isEmpty()) {
            switch (o.concurrency()) {
                case Forbid:
                    return new Decision(null, trigger, List.of(), lastSchedule, lastOnDemand, "backup Job "
                            + o.activeJobs().get(0) + " is still running and concurrencyPolicy is Forbid; "
                            + trigger + " skipped");
                case Replace:
                    return new Decision(backupId, trigger, o.activeJobs(), lastSchedule, lastOnDemand, null);
                default:
                    break;
            }
        }
        return new Decision(backupId, trigger, List.of(), lastSchedule, lastOnDemand, null);
    }
}
