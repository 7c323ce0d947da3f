package io.dbaoperator.disposal;

import java.util.HashSet;
import java.util.Map;
import java.util.Set;

import io.dbaoperator.api.disposal.DisposalJob;
import io.dbaoperator.api.disposal.DisposalJobSpec;
import io.dbaoperator.api.disposal.DisposalJobSpec.ColumnStrategy.Strategy;
import io.dbaoperator.api.disposal.DisposalJobStatus;
import io.dbaoperator.api.disposal.DisposalPhase;
import io.dbaoperator.kube.CronSchedule;
import io.dbaoperator.kube.ReferenceChecks;
import io.dbaoperator.kube.SecretReader;
import io.dbaoperator.status.Problem;
import io.dbaoperator.status.Reason;
import io.dbaoperator.status.StatusPatcher;
import io.dbaoperator.status.ValidationRunner;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.ControllerConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.Reconciler;
import io.javaoperatorsdk.operator.api.reconciler.UpdateControl;

/**
 * Reconciles DisposalJob. This version validates the job (schedule, database, salt Secret, report bucket, rule
 * names); catalog validation, the dry run, approval and the batches land with the DisposalJob issue.
 */
@ControllerConfiguration(name = "disposaljob", generationAwareEventProcessing = false)
public class DisposalJobReconciler implements Reconciler<DisposalJob> {

    private final ReferenceChecks checks;
    private final SecretReader secrets;
    private final ValidationRunner runner;

    public DisposalJobReconciler(ReferenceChecks checks, SecretReader secrets, ValidationRunner runner) {
        this.checks = checks;
        this.secrets = secrets;
        this.runner = runner;
    }

    @Override
    public UpdateControl<DisposalJob> reconcile(DisposalJob job, Context<DisposalJob> context) {
        DisposalJobSpec spec = job.getSpec();
        String ns = job.getMetadata().getNamespace();
        DisposalJobStatus desired = StatusPatcher.copy(job.getStatus(), DisposalJobStatus.class);
        if (desired.phase == DisposalPhase.Completed || desired.phase == DisposalPhase.Rejected) {
            return UpdateControl.noUpdate();
        }
        return runner.run(job, desired, () -> {
            if (spec.schedule != null) {
                CronSchedule.parse("spec.schedule", spec.schedule, spec.timeZone);
            }
            Set<String> names = new HashSet<>();
            boolean needsSalt = false;
            for (var rule : spec.rules) {
                String name = rule.name == null ? rule.table : rule.name;
                if (!names.add(name)) {
                    throw Problem.invalid(Reason.InvalidSpec, "two rules are named '" + name
                            + "': give each rule a distinct name").exception();
                }
                if (rule.anonymize != null && rule.anonymize.columns != null) {
                    needsSalt |= rule.anonymize.columns.values().stream()
                            .anyMatch(c -> c.strategy == Strategy.Hash || c.strategy == Strategy.Fake);
                }
            }
            if (needsSalt) {
                if (spec.saltSecretRef == null) {
                    throw Problem.invalid(Reason.InvalidSpec, "rules use the Hash or Fake strategy, which need a salt: "
                            + "set spec.saltSecretRef to a Secret with key 'salt'").exception();
                }
                Map<String, String> salt = secrets.read(ns, spec.saltSecretRef.name, "spec.saltSecretRef");
                if (salt.get("salt") == null || salt.get("salt").length() < 16) {
                    throw Problem.invalid(Reason.SecretKeyMissing, "Secret " + spec.saltSecretRef.name
                            + " needs key 'salt' with at least 16 characters").exception();
                }
            }
            String summary = "database " + checks.database(ns, spec.database, "spec.database").describe();
            if (spec.report != null) {
                summary += ", report bucket " + checks.storage(ns, spec.report.storage, "spec.report.storage").bucket();
            }
            return summary + " answer" + (spec.report != null ? "" : "s");
        }, (status, summary) -> {
            status.phase = DisposalPhase.Pending;
            status.message = "validated: " + summary;
        }, (status, problem) -> status.phase = problem.permanent() ? DisposalPhase.Failed : DisposalPhase.Pending);
    }
}
