package io.dbaoperator.backup;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

import io.dbaoperator.api.backup.BackupRestoreStatus;
import io.dbaoperator.backup.catalog.RestoreRecord;
import io.dbaoperator.contract.AgentFailure;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.client.KubernetesClient;

/**
 * Following an agent's Job, the same for a backup, a restore and a restore test: whether it still runs or failed
 * and why, in the agent's own words (its container's termination message, the last line of its log with
 * terminationMessagePolicy FallbackToLogsOnError), and a restore's checks from its catalog record.
 */
final class AgentJobs {

    private static final int MAX_CAUSE = 300;

    private AgentJobs() {
    }

    /** The Job's state from its conditions; an absent Job is neither active nor failed. */
    static BackupStatusBuilder.JobOutcome outcome(Job job) {
        if (job == null) {
            return new BackupStatusBuilder.JobOutcome(null, null, false, false, null);
        }
        var s = job.getStatus();
        String id = job.getMetadata().getLabels() == null ? null
                : job.getMetadata().getLabels().get(BackupJobs.BACKUP_ID_LABEL);
        String failedReason = s == null || s.getConditions() == null ? null : s.getConditions().stream()
                .filter(c -> "Failed".equals(c.getType()) && "True".equals(c.getStatus()))
                .map(c -> c.getReason() == null ? "Failed" : c.getReason()).findFirst().orElse(null);
        boolean complete = s != null && s.getConditions() != null && s.getConditions().stream()
                .anyMatch(c -> "Complete".equals(c.getType()) && "True".equals(c.getStatus()));
        return new BackupStatusBuilder.JobOutcome(job.getMetadata().getName(), id, failedReason == null && !complete,
                failedReason != null, failedReason);
    }

    /** As {@link #outcome}, a failed Job's reason followed by the agent's last words, so status says what failed. */
    static BackupStatusBuilder.JobOutcome outcomeWithCause(KubernetesClient client, Job job) {
        BackupStatusBuilder.JobOutcome o = outcome(job);
        if (!o.failed()) {
            return o;
        }
        String cause = lastWords(client, job).orElse(null);
        return cause == null ? o : new BackupStatusBuilder.JobOutcome(o.name(), o.backupId(), o.active(), true,
                o.failureReason() + ": " + cause);
    }

    /** The last line a failed Job's agent wrote (its termination message), as "Reason: message", shortened. */
    static Optional<String> lastWords(KubernetesClient client, Job job) {
        List<io.fabric8.kubernetes.api.model.Pod> pods = client.pods().inNamespace(job.getMetadata().getNamespace())
                .withLabel("job-name", job.getMetadata().getName()).list().getItems();
        Optional<String> oom = oomKilled(pods);
        if (oom.isPresent()) {
            return oom;
        }
        return pods.stream()
                .flatMap(p -> p.getStatus() == null || p.getStatus().getContainerStatuses() == null ? Stream.empty()
                        : p.getStatus().getContainerStatuses().stream())
                .map(c -> c.getState() == null || c.getState().getTerminated() == null ? null
                        : c.getState().getTerminated().getMessage())
                .filter(m -> m != null && !m.isBlank()).reduce((a, b) -> b)
                .map(m -> Arrays.stream(m.split("\n")).map(String::strip).filter(l -> !l.isEmpty())
                        .reduce((a, b) -> b).orElse(""))
                .map(AgentFailure::describe)
                .map(cause -> cause.length() > MAX_CAUSE ? cause.substring(0, MAX_CAUSE) + "..." : cause);
    }

    /**
     * The kubelet's word that an agent container went over its memory limit (its last log lines say nothing of it:
     * the kernel killed it mid-sentence), with the limit and what to raise.
     */
    static Optional<String> oomKilled(List<io.fabric8.kubernetes.api.model.Pod> pods) {
        for (var p : pods) {
            if (p.getStatus() == null || p.getStatus().getContainerStatuses() == null) {
                continue;
            }
            for (var c : p.getStatus().getContainerStatuses()) {
                var t = c.getState() == null ? null : c.getState().getTerminated();
                if (t == null && c.getLastState() != null) {
                    t = c.getLastState().getTerminated();
                }
                if (t != null && "OOMKilled".equals(t.getReason())) {
                    String limit = p.getSpec().getContainers().stream().filter(x -> x.getName().equals(c.getName()))
                            .findFirst().map(x -> x.getResources() == null || x.getResources().getLimits() == null
                                    ? null : x.getResources().getLimits().get("memory"))
                            .map(q -> " (" + q + ")").orElse("");
                    return Optional.of("OOMKilled: container " + c.getName() + " of pod " + p.getMetadata().getName()
                            + " went over its memory limit" + limit + "; raise spec.jobTemplate.resources.limits"
                            + ".memory");
                }
            }
        }
        return Optional.empty();
    }

    /**
     * Why a restore (or restore test) Job did not succeed: the agent's recorded error, else that the Job is gone,
     * else the Job's failure with the agent's last words.
     */
    static String whyRestoreFailed(KubernetesClient client, String jobName, Job job, RestoreRecord record) {
        if (record != null && record.error != null) {
            return record.error;
        }
        if (job == null) {
            return "the Job " + jobName + " was deleted";
        }
        return "Job " + jobName + " failed (" + outcome(job).failureReason() + ")"
                + lastWords(client, job).map(m -> ": " + m).orElse("");
    }

    /** A restore's checks as the agent recorded them. */
    /** The reason the agent wrote into a failed restore's record, or {@code otherwise} (none, or not one of ours). */
    static io.dbaoperator.problem.Reason failureReason(RestoreRecord record, io.dbaoperator.problem.Reason otherwise) {
        if (record == null || record.errorReason == null) {
            return otherwise;
        }
        try {
            return io.dbaoperator.problem.Reason.valueOf(record.errorReason);
        } catch (IllegalArgumentException unknown) {
            return otherwise;
        }
    }

    static List<BackupRestoreStatus.CheckResult> checkResults(RestoreRecord record) {
        List<BackupRestoreStatus.CheckResult> results = new ArrayList<>();
        if (record == null) {
            return results;
        }
        for (RestoreRecord.Check c : record.checks) {
            BackupRestoreStatus.CheckResult r = new BackupRestoreStatus.CheckResult();
            r.check = c.check;
            r.passed = c.passed;
            r.message = c.message;
            results.add(r);
        }
        return results;
    }
}
