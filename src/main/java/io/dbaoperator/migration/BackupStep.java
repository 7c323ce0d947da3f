package io.dbaoperator.migration;

import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;

import io.dbaoperator.api.backup.BackupInfo;
import io.dbaoperator.api.backup.BackupPolicy;
import io.dbaoperator.api.common.Phase;
import io.dbaoperator.api.migration.DatabaseMigrationStatus;
import io.dbaoperator.api.migration.MigrationPhase;
import io.dbaoperator.backup.BackupPolicyReconciler;
import io.dbaoperator.kube.EventRecorder;
import io.dbaoperator.status.Step;
import io.dbaoperator.problem.Reason;

/**
 * BackingUp: a verified backup young enough (spec.preMigrationBackup.maxAge), or one asked of the BackupPolicy by
 * its {@code dbaoperator.io/backup-now} annotation, the request's id stored first.
 */
final class BackupStep {
    private final BackupPolicies policies;
    private final EventRecorder events;

    BackupStep(BackupPolicies policies, EventRecorder events) {
        this.policies = policies;
        this.events = events;
    }

    Step backingUp(MigrationWork w) throws SQLException {
        DatabaseMigrationStatus st = w.st;
        String ns = w.m.getMetadata().getNamespace();
        String policyName = w.m.getSpec().preMigrationBackup.backupPolicyRef.name;
        BackupPolicy policy = policies.get(ns, policyName);
        if (policy == null) {
            w.setReady(false, Reason.ReferenceNotFound, "BackupPolicy " + policyName + " is gone; the pre-migration "
                    + "backup cannot be taken");
            return Step.rest(Duration.ofSeconds(30));
        }
        Instant now = Instant.now();
        List<BackupInfo> backups = policy.getStatus() == null || policy.getStatus().backups == null ? List.of()
                : policy.getStatus().backups;
        Instant requestedAt = st.backupRequest == null ? null : Instant.parse(st.backupRequest.requestedAt);
        // young enough, or the very backup this migration asked for (which may end more than maxAge ago by the
        // time it is seen, when maxAge is short)
        Optional<BackupInfo> usable = backups.stream()
                .filter(b -> Boolean.TRUE.equals(b.verified) && b.completedAt != null)
                .filter(b -> Duration.between(Instant.parse(b.completedAt), now).compareTo(w.in.backupMaxAge()) <= 0
                        || requestedAt != null && b.startedAt != null
                                && !Instant.parse(b.startedAt).isBefore(requestedAt.minusSeconds(5)))
                .max(Comparator.comparing(b -> b.completedAt));
        if (usable.isPresent()) {
            st.preMigrationBackupId = usable.get().backupId;
            events.normal(w.m, Reason.BackupReady.name(), "pre-migration backup " + usable.get().backupId + " (completed "
                    + usable.get().completedAt + ", verified) recorded for the rollback runbook");
            st.phase = Phase.move(st.phase, MigrationPhase.Expanding);
            return Step.next();
        }
        if (requestedAt != null) {
            Optional<BackupInfo> failed = backups.stream().filter(b -> "failed".equals(b.state) && b.startedAt != null
                    && !Instant.parse(b.startedAt).isBefore(requestedAt.minusSeconds(5))).findFirst();
            if (failed.isPresent()) {
                return w.fail("backup", Reason.BackupFailed, "the pre-migration backup " + failed.get().backupId
                        + " failed (" + failed.get().error + "); nothing was applied. Fix the BackupPolicy and create "
                        + "the migration again");
            }
            var asked = policy.getMetadata().getAnnotations();
            if (!st.backupRequest.requestId.equals(asked == null ? null : asked.get(BackupPolicyReconciler.BACKUP_NOW))
                    && (policy.getStatus() == null
                            || !st.backupRequest.requestId.equals(policy.getStatus().lastOnDemandRequest))) {
                // recorded here, but the request never reached the policy (a crash or a 409 in between): the same id
                policies.ask(ns, policyName, st.backupRequest.requestId);
            }
            w.setReady(false, Reason.BackupRequested, "waiting for the pre-migration backup requested from BackupPolicy "
                    + policyName + " at " + st.backupRequest.requestedAt);
            return Step.rest(Duration.ofSeconds(5));
        }
        String requestId = "dbm-" + w.m.getMetadata().getName() + "-" + now.getEpochSecond();
        st.backupRequest = new DatabaseMigrationStatus.BackupRequest();
        st.backupRequest.requestId = requestId;
        st.backupRequest.requestedAt = now.toString();
        // the request's id is stored before the policy is asked: a retry asks with the same id
        return Step.act(() -> {
            policies.ask(ns, policyName, requestId);
            w.setReady(false, Reason.BackupRequested, "asked BackupPolicy " + policyName + " for a backup ("
                    + BackupPolicyReconciler.BACKUP_NOW + "=" + requestId + "); no verified backup younger than "
                    + w.m.getSpec().preMigrationBackup.maxAge + " exists");
            return Step.rest(Duration.ofSeconds(5));
        });
    }
}
