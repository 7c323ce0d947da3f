package io.dbaoperator.backup;

import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;

import io.dbaoperator.api.backup.BackupPolicy;
import io.dbaoperator.api.backup.BackupRestore;
import io.dbaoperator.api.backup.BackupRestoreSpec;
import io.dbaoperator.api.backup.BackupRestoreStatus;
import io.dbaoperator.api.backup.RestorePhase;
import io.dbaoperator.kube.ReferenceChecks;
import io.dbaoperator.status.Problem;
import io.dbaoperator.status.Reason;
import io.dbaoperator.status.StatusPatcher;
import io.dbaoperator.status.ValidationRunner;
import io.fabric8.kubernetes.api.model.apps.StatefulSet;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.ControllerConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.Reconciler;
import io.javaoperatorsdk.operator.api.reconciler.UpdateControl;

/**
 * Reconciles BackupRestore. This version validates the request (the policy exists, the target time parses, the new
 * instance's name is free); planning, the approval and the restore Job land with the BackupRestore issue.
 */
@ControllerConfiguration(name = "backuprestore", generationAwareEventProcessing = false)
public class BackupRestoreReconciler implements Reconciler<BackupRestore> {

    private final ReferenceChecks checks;
    private final ValidationRunner runner;
    private final KubernetesClient client;

    public BackupRestoreReconciler(ReferenceChecks checks, ValidationRunner runner, KubernetesClient client) {
        this.checks = checks;
        this.runner = runner;
        this.client = client;
    }

    @Override
    public UpdateControl<BackupRestore> reconcile(BackupRestore restore, Context<BackupRestore> context) {
        BackupRestoreSpec spec = restore.getSpec();
        String ns = restore.getMetadata().getNamespace();
        BackupRestoreStatus desired = StatusPatcher.copy(restore.getStatus(), BackupRestoreStatus.class);
        if (desired.phase == RestorePhase.Ready || desired.phase == RestorePhase.Rejected) {
            return UpdateControl.noUpdate();
        }
        return runner.run(restore, desired, () -> {
            BackupPolicy policy = checks.exists(ns, BackupPolicy.class, spec.backupPolicyRef.name, "spec.backupPolicyRef");
            if (spec.targetTime != null) {
                try {
                    OffsetDateTime.parse(spec.targetTime);
                } catch (DateTimeParseException e) {
                    throw Problem.invalid(Reason.InvalidSpec, "spec.targetTime '" + spec.targetTime
                            + "' is not an RFC 3339 time such as 2026-11-21T09:30:00Z").exception();
                }
            }
            String instance = spec.target.newInstance.name;
            StatefulSet existing = client.apps().statefulSets().inNamespace(ns).withName(instance).get();
            if (existing != null && existing.getMetadata().getOwnerReferences().stream()
                    .noneMatch(o -> restore.getMetadata().getUid().equals(o.getUid()))) {
                throw Problem.invalid(Reason.InvalidSpec, "StatefulSet " + instance + " already exists and is not "
                        + "this restore's: a restore never overwrites an instance; choose another target.newInstance.name")
                        .exception();
            }
            return "BackupPolicy " + policy.getMetadata().getName() + " exists and instance name " + instance
                    + " is free";
        }, (status, summary) -> {
            status.phase = RestorePhase.Pending;
            status.message = "validated: " + summary;
        }, (status, problem) -> status.phase = problem.permanent() ? RestorePhase.Failed : RestorePhase.Pending);
    }
}
