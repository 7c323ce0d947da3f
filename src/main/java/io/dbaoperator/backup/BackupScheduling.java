package io.dbaoperator.backup;

import java.time.Instant;
import java.util.List;
import java.util.Map;

import io.dbaoperator.api.backup.BackupPolicy;
import io.dbaoperator.api.backup.BackupPolicySpec;
import io.dbaoperator.api.backup.BackupPolicyStatus;
import io.dbaoperator.kube.EventRecorder;
import io.dbaoperator.kube.Owned;
import io.dbaoperator.problem.Reason;
import io.dbaoperator.status.Step;
import io.fabric8.kubernetes.api.model.batch.v1.Job;

/**
 * A policy's schedule and on-demand requests ({@link BackupSchedulePlanner} decides): the backup to start, a running
 * one to replace (concurrencyPolicy Replace), a due one to skip (Forbid). Every change in the cluster is an act: the
 * backup's id is stored with the slot or request it consumes before its Job exists, and Jobs are deleted only once
 * the decision that replaces them is stored, so a 409 or a restart never starts a second backup for one slot.
 */
final class BackupScheduling {

    private final EventRecorder events;
    private final String agentImage;

    BackupScheduling(EventRecorder events, String agentImage) {
        this.events = events;
        this.agentImage = agentImage;
    }

    /** What to start or stop now, as an act; null when nothing is due. */
    Step decide(Tending t) {
        BackupPolicy policy = t.policy();
        BackupPolicyStatus status = t.status();
        BackupPolicySpec spec = policy.getSpec();
        String name = policy.getMetadata().getName();
        Owned<Job> backupJobs = t.backupJobs();
        List<Job> jobs = backupJobs.list();
        String starting = status.startingBackupId;
        if (starting != null && jobs.stream().noneMatch(j -> j.getMetadata().getName().equals(
                BackupJobs.jobName(name, starting)))) {
            // decided and stored by an earlier reconcile that ended (a crash, a 409) before its Job existed
            return Step.act(() -> {
                startJob(policy, backupJobs, starting, "a recorded start");
                status.startingBackupId = null;
                return Step.next();
            });
        }
        status.startingBackupId = null;
        List<String> active = jobs.stream().filter(j -> AgentJobs.outcome(j).active())
                .map(j -> j.getMetadata().getName()).toList();
        Map<String, String> annotations = policy.getMetadata().getAnnotations();
        var decision = BackupSchedulePlanner.decide(new BackupSchedulePlanner.Observed(t.now(),
                Instant.parse(policy.getMetadata().getCreationTimestamp()), t.in().schedule(),
                Boolean.TRUE.equals(spec.suspend), spec.concurrencyPolicy,
                annotations == null ? null : annotations.get(BackupPolicyReconciler.BACKUP_NOW),
                status.lastOnDemandRequest, status.lastScheduleTime, active));
        if (decision.skipped() != null) {
            events.warning(policy, Reason.BackupSkipped.name(), decision.skipped());
        }
        status.lastScheduleTime = decision.newLastScheduleTime();
        status.lastOnDemandRequest = decision.newLastOnDemandRequest();
        if (decision.startBackupId() == null && decision.deleteJobs().isEmpty()) {
            return null;
        }
        status.startingBackupId = decision.startBackupId();
        return Step.act(() -> {
            decision.deleteJobs().forEach(backupJobs::delete); // Replace: the running one goes for the new one
            if (decision.startBackupId() != null) {
                startJob(policy, backupJobs, decision.startBackupId(), decision.trigger());
            }
            status.startingBackupId = null;
            return Step.next();
        });
    }

    /** Creates the backup's Job; its name is deterministic, so a Job that exists already is this backup's. */
    private void startJob(BackupPolicy policy, Owned<Job> jobs, String backupId, String trigger) {
        Job job = jobs.create(BackupJobs.build(policy, backupId, agentImage));
        events.normal(policy, "BackupStarted", "backup " + backupId + " started by " + trigger + " (Job "
                + job.getMetadata().getName() + ")");
    }
}
