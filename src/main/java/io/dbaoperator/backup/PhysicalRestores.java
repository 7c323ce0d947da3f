package io.dbaoperator.backup;

import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.List;
import java.util.Map;


import io.dbaoperator.api.backup.BackupRestore;
import io.dbaoperator.api.backup.BackupRestoreSpec;
import io.dbaoperator.api.backup.BackupRestoreStatus;
import io.dbaoperator.api.backup.RestorePhase;
import io.dbaoperator.api.common.Phase;
import io.dbaoperator.approval.ApprovalStep;
import io.dbaoperator.approval.GateOutcome;
import io.dbaoperator.approval.GatedStep;
import io.dbaoperator.approval.PlanDigest;
import io.dbaoperator.audit.AuditEvent;
import io.dbaoperator.backup.catalog.BackupCatalog;
import io.dbaoperator.backup.catalog.RestoreRecord;
import io.dbaoperator.kube.Owned;
import io.dbaoperator.problem.Reason;
import io.dbaoperator.status.PhaseMachine;
import io.dbaoperator.status.Step;
import io.dbaoperator.status.WriteAhead;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.javaoperatorsdk.operator.api.reconciler.Context;

import static io.dbaoperator.backup.BackupRestoreReconciler.APPROVAL_ANNOTATION;
import static io.dbaoperator.backup.BackupRestoreReconciler.SERVING_POLL;
import static io.dbaoperator.backup.BackupRestoreReconciler.SHORT_NAME;
import static io.dbaoperator.backup.BackupRestoreReconciler.STEP;

import io.dbaoperator.backup.BackupRestoreReconciler.Inputs;
import io.dbaoperator.backup.BackupRestoreReconciler.Restoring;

/**
 * The BackupRestore phases of a base backup (a policy with method: physical): the plan from the catalog
 * ({@link RestorePlanner}) and its approval; once stored, the instance's Secret and volume and the restore Job
 * ({@link RestoredInstance}); the Job followed through its catalog record (Restoring, Verifying); on success the
 * StatefulSet and Service that serve the restored volume ({@link RestoredServing}, Starting), Ready once its pod
 * accepts connections; a failure removes what the restore made. {@link LogicalRestores} is the other path.
 */
final class PhysicalRestores {

    private final KubernetesClient client;
    private final String agentImage;
    /** The instance image when the spec names none ({@code {major}}: the backup's major version). */
    private final String instanceImage;
    private final RestoredInstance instances;
    private final RestoredServing.Serving serving;

    PhysicalRestores(KubernetesClient client, String agentImage, String instanceImage, RestoredInstance instances,
            RestoredServing.Serving serving) {
        this.client = client;
        this.agentImage = agentImage;
        this.instanceImage = instanceImage;
        this.instances = instances;
        this.serving = serving;
    }

    /**
     * Restoring acts (its volume, Secret and Job are made only once the consumed approval is stored), and so does
     * Starting (the StatefulSet and Service are made from the stored image); Verifying follows the same Job.
     */
    final PhaseMachine<RestorePhase, Restoring> machine = PhaseMachine
            .<RestorePhase, Restoring>of(RestorePhase.class, RestorePhase.Pending, r -> r.st().phase)
            .decides(RestorePhase.Pending, this::planned)
            .decides(RestorePhase.AwaitingApproval, this::planned)
            .acts(RestorePhase.Restoring, this::restoring)
            .decides(RestorePhase.Verifying, this::follow)
            .acts(RestorePhase.Starting, this::awaitServing)
            .build();

    /** The plan, made again on every look (the catalog may change under it), and the person's approval of it. */
    private Step planned(Restoring r) {
        BackupRestore restore = r.restore();
        BackupRestoreStatus st = r.st();
        var chosen = r.sources().choose((source, records) -> plan(restore.getSpec(), source, records),
                RestorePlanner.Plan::backup);
        RestorePlanner.Plan plan = chosen.plan();
        r.in().requireKeyFor(plan.backup());
        st.plan = plan.toStatus();
        chosen.describe(st.plan);
        st.restoreId = RestoreJobs.restoreId(restore);
        var masking = r.in().masking();
        Map<String, Object> approved = new java.util.LinkedHashMap<>(Map.of("plan", st.plan, "target",
                restore.getSpec().target, "checks", restore.getSpec().checks == null ? List.of()
                        : restore.getSpec().checks));
        if (masking != null) {
            // the rules as resolved, and the database they mask: the approval covers what will be masked
            approved.put("masking", Map.of("rules", masking.rules(), "unmaskedColumns", masking.unmaskedColumns(),
                    "database", r.in().database()));
        }
        String digest = PlanDigest.of(approved);
        st.phase = Phase.move(st.phase, RestorePhase.AwaitingApproval);
        var result = ApprovalStep.check(restore, st, new GatedStep(STEP, "restore backup "
                + plan.backup().backupId + (RestoreSources.OFFSITE.equals(st.plan.copy) ? " from its offsite copy"
                        : "") + " to " + plan.expectedRecoveryPoint() + " into a new instance "
                + instance(restore.getSpec()) + (masking == null ? "" : ", database " + r.in().database()
                        + " masked first by " + masking.rules().size() + " rule(s) over " + masking.rules().stream()
                                .mapToInt(x -> x.columns().size()).sum() + " column(s) and every other database "
                        + "dropped, before the instance starts (unmasked columns that look personal: "
                        + masking.unmaskedColumns() + ")"), digest, null, BackupRestoreReconciler.generation(restore)),
                SHORT_NAME, Instant.now());
        r.log().decided(result.audit());
        if (result.outcome() == GateOutcome.REJECTED) {
            st.phase = Phase.move(st.phase, RestorePhase.Rejected);
            st.message = "rejected by " + st.rejection.approvedBy + "; nothing was restored";
            BackupRestoreReconciler.ready(restore, st, false, Reason.Rejected, st.message);
            return Step.onEvent();
        }
        if (result.outcome() == GateOutcome.WAIT) {
            st.message = "plan: " + st.plan.expectedRecoveryPoint + " from backup " + st.plan.backupId
                    + (st.plan.copyReason == null ? "" : " (" + st.plan.copyReason + ")") + "; waiting for approval";
            return Step.rest(Duration.ofMinutes(1)); // the catalog may change under the plan (retention, new WAL)
        }
        st.phase = Phase.move(st.phase, RestorePhase.Restoring);
        st.restoreStartedAt = Instant.now().toString();
        st.restoredUnder = ApprovalStep.under(st, STEP, digest);
        st.progress = "approved; creating the restore's volume, Secret and Job";
        return Step.next();
    }

    /** Entered with the approval stored: the restore's objects are made once (again after a crash), then followed. */
    private Step restoring(Restoring r) {
        if (r.st().job == null) {
            start(r.restore(), r.st(), r.in(), r.jobs(), r.sources());
        }
        return follow(r);
    }

    /** The plan from one copy's records; the offsite copy holds no archived WAL, so it reaches a backup's end. */
    private static RestorePlanner.Plan plan(BackupRestoreSpec spec, RestoreSources.Source source,
            List<io.dbaoperator.backup.catalog.BackupRecord> records) {
        RestorePlanner.Target target = new RestorePlanner.Target(
                spec.targetTime == null ? null : OffsetDateTime.parse(spec.targetTime).toInstant(), spec.targetLSN);
        BackupCatalog catalog = source.catalog();
        if (RestoreSources.OFFSITE.equals(source.name()) && (target.time() != null || target.lsn() != null)) {
            throw io.dbaoperator.problem.Problem.invalid(Reason.WalGap, "the backup can be read only from its "
                    + "offsite copy at " + catalog.baseUrl() + ", which holds no archived WAL (it is not copied): a "
                    + "restore from it reaches the end of its backup; leave targetTime and targetLSN out").exception();
        }
        return RestorePlanner.plan(spec.backupId, target, records, RestoreSources.OFFSITE.equals(source.name())
                ? List.of() : catalog.walObjects(), catalog.baseUrl());
    }

    /**
     * Approved and persisted: the Secret (with a new password), the volume, the Job, for the stored plan. Each
     * create is idempotent, so a retry after a crash or a 409 makes each object once.
     */
    private void start(BackupRestore restore, BackupRestoreStatus st, Inputs in,
            Owned<Job> jobs, RestoreSources sources) {
        String ns = restore.getMetadata().getNamespace();
        BackupRestoreSpec spec = restore.getSpec();
        Job job = RestoreJobs.restoreJob(restore, spec, in.policy(), sources.of(st).storage(), st.plan.backupId,
                in.database(), in.loginRole(), in.masking(), agentImage);
        if (st.restoredUnder != null) {
            Map<String, String> annotations = new java.util.HashMap<>(job.getMetadata().getAnnotations() == null
                    ? Map.of() : job.getMetadata().getAnnotations());
            annotations.put(APPROVAL_ANNOTATION, st.restoredUnder);
            job.getMetadata().setAnnotations(annotations);
        }
        instances.create(restore, in.database(), job, jobs);
        st.job = job.getMetadata().getName();
        st.progress = "starting Job " + st.job;
        BackupRestoreReconciler.ready(restore, st, false, Reason.Restoring, "restoring backup " + st.plan.backupId + " to "
                + st.plan.expectedRecoveryPoint + " (Job " + st.job + ")");
    }

    /** Follows the Job through its catalog record; ends Ready (serving) or Failed (cleaned up). */
    private Step follow(Restoring r) {
        BackupRestore restore = r.restore();
        BackupRestoreStatus st = r.st();
        WriteAhead log = r.log();
        Job job = r.jobs().named(st.job).orElse(null);
        RestoreRecord record = r.catalog().readRestore(st.restoreId);
        var outcome = AgentJobs.outcome(job);
        if (record != null) {
            st.masking = LogicalRestores.masking(r.catalog(), record);
            st.progress = record.progress();
            if (record.state == RestoreRecord.State.verifying) {
                st.phase = Phase.move(st.phase, RestorePhase.Verifying);
                BackupRestoreReconciler.ready(restore, st, false, Reason.Verifying, st.progress);
            }
        }
        boolean succeeded = job != null && !outcome.active() && !outcome.failed();
        if (job == null || outcome.failed() || record != null && record.state == RestoreRecord.State.failed) {
            if (job != null && outcome.active()) {
                return Step.rest(Duration.ofSeconds(2)); // the agent wrote its failure; the Job is about to end
            }
            fail(restore, st, record, AgentJobs.whyRestoreFailed(client, st.job, job, record), log);
            return Step.onEvent();
        }
        if (!succeeded || record == null || record.state != RestoreRecord.State.succeeded) {
            if (succeeded && (record == null || record.state != RestoreRecord.State.succeeded)) {
                fail(restore, st, record, "Job " + st.job + " ended without a successful restore record", log);
                return Step.onEvent();
            }
            return Step.rest(Duration.ofSeconds(3));
        }
        serve(restore, st, r.catalog(), record);
        // keyed: after a 409 or a restart follow() finds the same record in the catalog and reports it again
        log.executed(AuditEvent.byOperator(restore, "restore", STEP, "succeeded", null, RestoreReport.auditDetails(st, record)),
                "restore/succeeded");
        return Step.rest(SERVING_POLL); // the next reconcile makes the Service and StatefulSet from stored status
    }

    /**
     * Starting, as stored (with the image): the Service and StatefulSet are made from that stored status (dependent
     * resources, create only); then Ready once the StatefulSet's pod accepts connections (its readiness probe,
     * pg_isready), so that a person or a script waiting for Ready can connect at once; until then the pod's state
     * says what it waits for.
     */
    private Step awaitServing(Restoring r) {
        BackupRestore restore = r.restore();
        BackupRestoreStatus st = r.st();
        Context<BackupRestore> context = r.context();
        String instance = instance(restore.getSpec());
        RestoredServing.Served served = serving.serve(restore, context);
        // Ready only on evidence from the cluster: the pod serving the restored volume accepts connections, and the
        // Service that routes to it is there (read again on every look, also after a restart)
        String waiting = instances.waitingFor(restore, served.statefulSet());
        if (waiting == null && served.service() == null) {
            waiting = "Service " + instance + " is not there (not yet made, or deleted): nothing routes to the "
                    + "restored instance";
        }
        if (waiting == null) {
            st.phase = Phase.move(st.phase, RestorePhase.Ready);
            st.progress = null;
            st.message = RestoreReport.summary(st) + "; served by StatefulSet and Service " + instance
                    + ", credentials in Secret " + instance;
            BackupRestoreReconciler.ready(restore, st, true, Reason.RestoreSucceeded, st.message);
            return Step.onEvent();
        }
        st.progress = waiting;
        BackupRestoreReconciler.ready(restore, st, false, Reason.InstanceStarting, RestoreReport.summary(st) + "; " + waiting);
        return Step.rest(SERVING_POLL);
    }

    /**
     * The restore ran: the Secret gets its user, and phase Starting is decided with the image the instance will run;
     * the Service and StatefulSet are made by the next reconcile, from that stored decision ({@link #awaitServing}).
     */
    private void serve(BackupRestore restore, BackupRestoreStatus st, BackupCatalog catalog, RestoreRecord record) {
        var newInstance = restore.getSpec().target.newInstance;
        String image = newInstance.image;
        if (image == null) {
            var b = st.plan == null ? null : catalog.read(st.plan.backupId);
            image = RestoredServing.image(newInstance, b == null || b.serverVersion == null ? null
                    : b.serverVersion.split("\\.")[0], instanceImage);
        }
        instances.completeSecret(restore, record.superuser);
        st.recovered = new BackupRestoreStatus.RecoveredPoint();
        st.recovered.lsn = record.recoveredLsn;
        st.recovered.time = record.recoveredTime;
        st.recovered.timeline = record.timeline;
        st.recovered.restoreSeconds = st.restoreStartedAt == null ? null
                : Duration.between(Instant.parse(st.restoreStartedAt), Instant.now()).getSeconds();
        st.checkResults = AgentJobs.checkResults(record);
        st.instance = new BackupRestoreStatus.Instance();
        st.instance.service = newInstance.name;
        st.instance.secret = newInstance.name;
        st.instance.image = image;
        st.phase = Phase.move(st.phase, RestorePhase.Starting);
        st.progress = "starting PostgreSQL on the restored volume (StatefulSet " + newInstance.name + ")";
        st.message = RestoreReport.summary(st) + "; " + st.progress;
        BackupRestoreReconciler.ready(restore, st, false, Reason.InstanceStarting, st.message);
    }

    /**
     * Ends Failed, removing what the restore created: its Job (whose last words {@code why} already holds), the
     * volume and the Secret. The Job goes too because a pod that names a claim, even a finished one, keeps the
     * claim from being deleted (PVC protection), and the next restore of the same instance needs the claim's name.
     */
    private void fail(BackupRestore restore, BackupRestoreStatus st, RestoreRecord record, String why,
            WriteAhead log) {
        String ns = restore.getMetadata().getNamespace();
        instances.remove(restore, st.job);
        st.checkResults = AgentJobs.checkResults(record);
        st.phase = Phase.move(st.phase, RestorePhase.Failed);
        st.message = "restore failed: " + why + "; its Job, volume and Secret were removed, nothing is served";
        BackupRestoreReconciler.ready(restore, st, false, AgentJobs.failureReason(record, Reason.RestoreFailed),
                st.message);
        log.executed(AuditEvent.byOperator(restore, "restore", STEP, "failed", null, Map.of("reason", why)),
                "restore/failed");
    }


    private static String instance(BackupRestoreSpec spec) {
        return spec.target.newInstance.name;
    }
}
