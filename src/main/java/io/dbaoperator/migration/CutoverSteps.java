package io.dbaoperator.migration;

import java.sql.Connection;
import java.sql.SQLException;
import java.time.Instant;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

import io.dbaoperator.api.common.Phase;
import io.dbaoperator.api.migration.DatabaseMigrationSpec;
import io.dbaoperator.api.migration.DatabaseMigrationStatus;
import io.dbaoperator.api.migration.MigrationPhase;
import io.dbaoperator.approval.ApprovalStep;
import io.dbaoperator.approval.GateOutcome;
import io.dbaoperator.approval.GatedStep;
import io.dbaoperator.kube.EventRecorder;
import io.dbaoperator.status.Step;
import io.dbaoperator.problem.Reason;
import io.dbaoperator.sql.QualifiedName;
import io.dbaoperator.status.ConditionType;
import io.dbaoperator.status.Conditions;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.client.KubernetesClient;

/**
 * AwaitingCutover and AwaitingApproval: the cutover (a person's approval, or the Deployment's rollout in mode Auto)
 * and the approvals of expand (policy Always) and contract (destructive, or policy Always).
 */
final class CutoverSteps {
    private final KubernetesClient client;
    private final EventRecorder events;

    CutoverSteps(KubernetesClient client, EventRecorder events) {
        this.client = client;
        this.events = events;
    }

    void enterCutover(MigrationWork w) {
        w.st.phase = Phase.move(w.st.phase, MigrationPhase.AwaitingCutover);
        if (w.m.getSpec().cutover.mode == DatabaseMigrationSpec.CutoverMode.Auto) {
            Deployment d = deployment(w);
            w.st.cutover = new DatabaseMigrationStatus.CutoverProgress();
            w.st.cutover.baselineGeneration = d == null ? 0L : d.getMetadata().getGeneration();
        }
    }

    private Deployment deployment(MigrationWork w) {
        return client.apps().deployments().inNamespace(w.m.getMetadata().getNamespace())
                .withName(w.m.getSpec().cutover.deploymentRef.name).get();
    }

    Step awaitingCutover(MigrationWork w) throws SQLException {
        DatabaseMigrationSpec spec = w.m.getSpec();
        if (spec.cutover.mode == DatabaseMigrationSpec.CutoverMode.Manual) {
            GateOutcome g = gate(w, "cutover", "confirm the application now reads and writes the new schema "
                    + "(cutover); contract may follow", null);
            if (g != GateOutcome.PROCEED) {
                return waitForApproval(w, g, MigrationPhase.AwaitingCutover);
            }
        } else {
            Step n = autoCutover(w);
            if (!(n instanceof Step.Next)) {
                return n;
            }
        }
        if (w.plan.step(MigrationPlan.CONTRACT).isEmpty()) {
            w.st.phase = Phase.move(w.st.phase, MigrationPhase.Completed);
            DatabaseMigrationReconciler.completedForSlo(w.st);
            w.setReady(true, Reason.MigrationCompleted, "completed: expand" + (spec.backfill != null ? ", backfill" : "")
                    + " and cutover done; no contract step");
            w.releaseLease();
            return Step.onEvent();
        }
        w.st.phase = Phase.move(w.st.phase, MigrationPhase.AwaitingApproval);
        return Step.next();
    }

    private Step autoCutover(MigrationWork w) {
        if (w.st.cutover == null) {
            enterCutover(w);
        }
        AutoCutover.Decision d = AutoCutover.decide(deployment(w), w.m.getSpec().cutover.deploymentRef.name,
                w.st.cutover, w.in.validationPeriod(), Instant.now());
        if (d.done()) {
            return Step.next();
        }
        w.setReady(false, Reason.CutoverPending, "waiting for cutover: " + d.waitingFor());
        return Step.rest(d.lookAgain());
    }

    /** Contract waits here when destructive (or always under policy Always). */
    Step awaitingApproval(MigrationWork w) throws SQLException {
        if (w.m.getSpec().approval.policy == DatabaseMigrationSpec.ApprovalPolicy.Policy.Always
                && !io.dbaoperator.approval.ApprovalGate.alreadyApproved(w.st, expandStep(w))) {
            GateOutcome g = gate(w, MigrationPlan.EXPAND, expandStep(w).reason(), null);
            if (g != GateOutcome.PROCEED) {
                return waitForApproval(w, g, MigrationPhase.AwaitingApproval);
            }
            w.st.phase = Phase.move(w.st.phase, MigrationPhase.Queued);
            return Step.next();
        }
        boolean gated = w.plan.destructive(MigrationPlan.CONTRACT)
                || w.m.getSpec().approval.policy == DatabaseMigrationSpec.ApprovalPolicy.Policy.Always;
        if (gated) {
            List<MigrationPlan.Planned> contract = w.plan.step(MigrationPlan.CONTRACT);
            GateOutcome g = gate(w, MigrationPlan.CONTRACT, "run contract on production: " + contract.size()
                    + " statement(s)" + (w.plan.destructive(MigrationPlan.CONTRACT) ? ", destructive ("
                            + String.join("; ", contract.stream().filter(p -> p.classification().destructive())
                                    .map(p -> p.statement().sql().strip()).toList()) + ")" : ""),
                    touchedTables(w, MigrationPlan.CONTRACT));
            if (g != GateOutcome.PROCEED) {
                return waitForApproval(w, g, MigrationPhase.AwaitingApproval);
            }
        }
        w.st.phase = Phase.move(w.st.phase, MigrationPhase.Contracting);
        return Step.next();
    }

    /** The existing tables a step locks: their live definition is what its approval is bound to. */
    private static Set<QualifiedName> touchedTables(MigrationWork w, String step) {
        Set<QualifiedName> tables = new LinkedHashSet<>();
        w.plan.step(step).forEach(p -> tables.addAll(p.classification().tables()));
        return tables;
    }

    private static GatedStep expandStep(MigrationWork w) {
        String backfill = w.plan.step(MigrationPlan.BACKFILL).stream().filter(p -> p.classification().destructive())
                .map(p -> ", and a backfill that " + p.classification().why()).findFirst().orElse("");
        return new GatedStep(MigrationPlan.EXPAND, "approval policy Always: run expand ("
                + w.plan.step(MigrationPlan.EXPAND).size() + " statements) on production" + backfill, w.st.planDigest,
                null, w.generation());
    }

    private GateOutcome gate(MigrationWork w, String step, String reason, Set<QualifiedName> fingerprintTables)
            throws SQLException {
        String fingerprint = null;
        if (fingerprintTables != null && !fingerprintTables.isEmpty()) {
            try (Connection c = w.databases.open(w.in.db(), "dba-operator/plan/" + w.id)) {
                fingerprint = new LiveCatalog(c).fingerprint(fingerprintTables);
            }
        }
        var result = ApprovalStep.check(w.m, w.st, new GatedStep(step, reason, w.st.planDigest, fingerprint,
                w.generation()), DatabaseMigrationReconciler.SHORT_NAME, Instant.now());
        w.log.decided(result.audit());
        return result.outcome();
    }

    private Step waitForApproval(MigrationWork w, GateOutcome g, MigrationPhase waitingPhase) throws SQLException {
        if (g == GateOutcome.REJECTED) {
            if (w.appliedAnything()) {
                w.st.phase = Phase.move(w.st.phase, MigrationPhase.RollingBack);
                events.warning(w.m, "Rejected", "rejected by " + w.st.rejection.approvedBy + "; rolling back");
                return Step.next();
            }
            w.st.phase = Phase.move(w.st.phase, MigrationPhase.Rejected);
            w.setReady(false, Reason.Rejected, "rejected by " + w.st.rejection.approvedBy + " before any production "
                    + "change" + (w.st.log != null && w.st.log.alreadyPresent != null ? " of this run's own (expand "
                            + "was already present, so its rollback, which drops what expand adds, did not run)" : ""));
            w.releaseLease();
            return Step.onEvent();
        }
        w.st.phase = Phase.move(w.st.phase, waitingPhase);
        w.st.message = Conditions.find(w.st.conditions, ConditionType.Approved).map(x -> x.message).orElse(null);
        return Step.onEvent();
    }
}
