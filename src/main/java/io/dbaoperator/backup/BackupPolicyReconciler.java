package io.dbaoperator.backup;

import java.time.ZoneOffset;
import java.time.ZonedDateTime;

import io.dbaoperator.api.backup.BackupPolicy;
import io.dbaoperator.api.backup.BackupPolicyPhase;
import io.dbaoperator.api.backup.BackupPolicySpec;
import io.dbaoperator.api.backup.BackupPolicyStatus;
import io.dbaoperator.kube.CronSchedule;
import io.dbaoperator.kube.ReferenceChecks;
import io.dbaoperator.status.Problem;
import io.dbaoperator.status.Reason;
import io.dbaoperator.status.StatusPatcher;
import io.dbaoperator.status.ValidationRunner;
import io.dbaoperator.storage.S3Location;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.ControllerConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.Reconciler;
import io.javaoperatorsdk.operator.api.reconciler.UpdateControl;

/**
 * Reconciles BackupPolicy. This version validates the policy (schedules, the database and its REPLICATION role, the
 * bucket and its credentials) and reports the next scheduled time; taking backups lands with the BackupPolicy issue.
 */
@ControllerConfiguration(name = "backuppolicy", generationAwareEventProcessing = false)
public class BackupPolicyReconciler implements Reconciler<BackupPolicy> {

    private final ReferenceChecks checks;
    private final ValidationRunner runner;

    public BackupPolicyReconciler(ReferenceChecks checks, ValidationRunner runner) {
        this.checks = checks;
        this.runner = runner;
    }

    @Override
    public UpdateControl<BackupPolicy> reconcile(BackupPolicy policy, Context<BackupPolicy> context) {
        BackupPolicySpec spec = policy.getSpec();
        String ns = policy.getMetadata().getNamespace();
        BackupPolicyStatus desired = StatusPatcher.copy(policy.getStatus(), BackupPolicyStatus.class);
        CronSchedule[] schedule = new CronSchedule[1];
        return runner.run(policy, desired, () -> {
            schedule[0] = CronSchedule.parse("spec.schedule", spec.schedule, spec.timeZone);
            if (spec.verification != null && spec.verification.restoreTest != null) {
                CronSchedule.parse("spec.verification.restoreTest.schedule", spec.verification.restoreTest.schedule,
                        spec.timeZone);
            }
            var db = checks.database(ns, spec.database, "spec.database");
            if (!db.replication()) {
                throw Problem.invalid(Reason.MissingPrivilege, "role " + db.settings().user() + " lacks the "
                        + "REPLICATION attribute that pg_basebackup and pg_receivewal need: run ALTER ROLE "
                        + db.settings().user() + " REPLICATION, or point spec.database at a replication Secret")
                        .exception();
            }
            S3Location storage = checks.storage(ns, spec.storage, "spec.storage");
            return "database " + db.describe() + " and bucket " + storage.url(ns + "/" + policy.getMetadata().getName())
                    + " answer";
        }, (status, summary) -> {
            boolean suspended = Boolean.TRUE.equals(spec.suspend);
            status.phase = suspended ? BackupPolicyPhase.Suspended : BackupPolicyPhase.Pending;
            status.nextScheduleTime = suspended ? null
                    : schedule[0].next(ZonedDateTime.now(ZoneOffset.UTC))
                            .map(t -> t.withZoneSameInstant(ZoneOffset.UTC).toInstant().toString()).orElse(null);
            status.message = suspended ? "suspended: no backups are scheduled" : "validated: " + summary;
        }, (status, problem) -> status.phase = problem.permanent() ? BackupPolicyPhase.Failed
                : status.phase == BackupPolicyPhase.Active ? BackupPolicyPhase.Degraded : BackupPolicyPhase.Pending);
    }
}
