package io.dbaoperator.backup;

import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.eclipse.microprofile.config.inject.ConfigProperty;

import io.dbaoperator.api.backup.BackupPolicy;
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
import io.dbaoperator.kube.EventRecorder;
import io.dbaoperator.kube.Owned;
import io.dbaoperator.kube.OwnedObjects;
import io.dbaoperator.references.ReferenceChecks;
import io.dbaoperator.kube.SecretReader;
import io.dbaoperator.postgres.ConnectionSettings;
import io.dbaoperator.problem.Problem;
import io.dbaoperator.problem.ProblemException;
import io.dbaoperator.problem.Reason;
import io.dbaoperator.status.ConditionType;
import io.dbaoperator.status.Conditions;
import io.dbaoperator.status.StatusPatcher;
import io.dbaoperator.status.Workflow;
import io.dbaoperator.status.WorkflowRunner;
import io.dbaoperator.status.PhaseMachine;
import io.dbaoperator.status.Step;
import io.dbaoperator.status.WriteAhead;
import io.dbaoperator.storage.ObjectStores;
import io.dbaoperator.storage.S3Clients;
import io.dbaoperator.storage.S3Location;
import io.dbaoperator.storage.StorageDefaults;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.javaoperatorsdk.operator.api.config.informer.InformerEventSourceConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.ControllerConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.EventSourceContext;
import io.javaoperatorsdk.operator.api.reconciler.Reconciler;
import io.javaoperatorsdk.operator.api.reconciler.UpdateControl;
import io.javaoperatorsdk.operator.processing.event.ResourceID;
import io.javaoperatorsdk.operator.processing.event.source.EventSource;
import io.javaoperatorsdk.operator.processing.event.source.informer.InformerEventSource;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * Reconciles BackupRestore. A restore is always a person's decision: the operator plans it from the policy's catalog
 * ({@link RestorePlanner}: which backup, which WAL, where recovery stops, or a refusal with the window), shows the
 * plan, and waits for approval of step {@code restore}. Then it creates the instance's Secret and volume and the Job
 * ({@code dba-agent restore}), follows the Job through the catalog record it writes (Restoring, Verifying), and on
 * success creates the StatefulSet and Service that serve the restored volume (Ready). A failed restore removes the
 * volume and Secret it created, so the next BackupRestore (even for the same instance name) starts clean.
 * Everything created is owned by the BackupRestore: deleting it deletes the restored instance.
 */
@ControllerConfiguration(name = "backuprestore", generationAwareEventProcessing = false)
public class BackupRestoreReconciler implements Reconciler<BackupRestore>,
        Workflow<BackupRestore, BackupRestoreStatus, BackupRestoreReconciler.Inputs> {

    static final String SHORT_NAME = "bkr";
    static final String STEP = "restore";
    /** On the restore Job: the approval it runs under. */
    static final String APPROVAL_ANNOTATION = "dbaoperator.io/approval";
    /** The event source of the restore Jobs. */
    static final String JOBS = "restore-jobs";
    /** How often Starting looks at the pod (its readiness probe runs every 5 s; the StatefulSet's change wakes it). */
    static final Duration SERVING_POLL = Duration.ofSeconds(2);

    private final ReferenceChecks checks;
    private final SecretReader secrets;
    private final WorkflowRunner runner;
    private final ObjectStores stores;
    private final KubernetesClient client;
    private final EventRecorder events;
    private final String agentImage;
    /** The instance image when the spec names none ({@code {major}}: the backup's major version). */
    private final String instanceImage;
    private final RestoredInstance instances;
    private final RestoredServing.Serving serving;
    private final StorageDefaults storageDefaults;
    /** The phases of a logical backup's restore (into a database on an existing instance). */
    final LogicalRestores logical;

    @jakarta.inject.Inject
    public BackupRestoreReconciler(ReferenceChecks checks, SecretReader secrets, WorkflowRunner runner,
            KubernetesClient client, ObjectStores stores, EventRecorder events, StorageDefaults storageDefaults,
            io.dbaoperator.postgres.Databases databases,
            @ConfigProperty(name = "dba.agent.image") String agentImage,
            @ConfigProperty(name = "dba.restore.instance-image") String instanceImage) {
        this(checks, secrets, runner, client, stores, events, storageDefaults, agentImage, instanceImage,
                new RestoredInstance(client), RestoredServing.dependents(), LogicalRestores.postgres(databases));
    }

    /**
     * With the restored instance's Secret, volume and Job made by {@code instances}, its Service and StatefulSet
     * by {@code serving}, and a logical restore's target read by {@code target} (a test records or answers them).
     */
    BackupRestoreReconciler(ReferenceChecks checks, SecretReader secrets, WorkflowRunner runner,
            KubernetesClient client, ObjectStores stores, EventRecorder events, StorageDefaults storageDefaults,
            String agentImage, String instanceImage, RestoredInstance instances, RestoredServing.Serving serving,
            LogicalRestores.Target target) {
        this.logical = new LogicalRestores(target, client, agentImage);
        this.stores = stores;
        this.checks = checks;
        this.storageDefaults = storageDefaults;
        this.secrets = secrets;
        this.runner = runner;
        this.client = client;
        this.events = events;
        this.agentImage = agentImage;
        this.instanceImage = instanceImage;
        this.instances = instances;
        this.serving = serving;
    }

    @Override
    public List<EventSource<?, BackupRestore>> prepareEventSources(EventSourceContext<BackupRestore> context) {
        var jobs = InformerEventSourceConfiguration.from(Job.class, BackupRestore.class)
                .withName(JOBS).withLabelSelector(RestoreJobs.RESTORE_LABEL)
                .withSecondaryToPrimaryMapper(job -> Set.of(new ResourceID(
                        job.getMetadata().getLabels().get(RestoreJobs.RESTORE_LABEL), job.getMetadata().getNamespace())))
                .build();
        List<EventSource<?, BackupRestore>> sources = new java.util.ArrayList<>();
        sources.add(new InformerEventSource<>(jobs, context));
        sources.addAll(serving.eventSources(context));
        return sources;
    }

    /**
     * {@code target}: a logical restore's instance (its Secret read), null for a physical one; {@code keyIds}: the
     * keys the policy's encryption Secret holds, null when the policy does not encrypt.
     */
    record Inputs(BackupPolicy policy, S3Location storage, String database, String loginRole,
            ConnectionSettings target, Set<String> keyIds) {
        Inputs(BackupPolicy policy, S3Location storage, String database, String loginRole, ConnectionSettings target) {
            this(policy, storage, database, loginRole, target, null);
        }

        /**
         * A backup stored encrypted needs its key in the Secret now: refused before anyone approves a restore that
         * could not read it (and nothing is deleted for it).
         */
        void requireKeyFor(io.dbaoperator.backup.catalog.BackupRecord backup) {
            if (backup.encryption == null) {
                return;
            }
            String keyId = backup.encryption.substring(backup.encryption.lastIndexOf(' ') + 1);
            if (keyIds == null || !keyIds.contains(keyId)) {
                throw Problem.invalid(Reason.EncryptionKeyMissing, "backup " + backup.backupId + " was stored "
                        + "encrypted with key " + keyId + (keyIds == null ? ", and the policy no longer names an "
                                + "encryption Secret (spec.encryption)" : ", which Secret "
                                        + (policy.getSpec().encryption == null ? "(spec.encryption)"
                                                : policy.getSpec().encryption.secretRef.name)
                                        + " no longer holds (it holds "
                                        + new java.util.TreeSet<>(keyIds) + ")") + ": put the key back to restore "
                        + "it; nothing was deleted").exception();
            }
        }
        boolean logical() {
            return target != null;
        }
    }

    @Override
    public UpdateControl<BackupRestore> reconcile(BackupRestore restore, Context<BackupRestore> context) {
        return runner.run(restore, context, StatusPatcher.copy(restore.getStatus(), BackupRestoreStatus.class), this);
    }

    @Override
    public Validated<Inputs> validate(BackupRestore restore, BackupRestoreStatus status) {
        BackupRestoreSpec spec = restore.getSpec();
        String ns = restore.getMetadata().getNamespace();
        BackupPolicy policy = checks.exists(ns, BackupPolicy.class, spec.backupPolicyRef.name,
                "spec.backupPolicyRef");
        ConnectionSettings target = null;
        if (policy.getSpec().method == io.dbaoperator.api.backup.BackupPolicySpec.Method.logical) {
            if (spec.target.database != null) {
                target = secrets.connection(ns, spec.target.database.databaseRef, "spec.target.database.databaseRef");
            }
            LogicalRestores.validate(spec, policy, target);
        } else if (spec.target.newInstance == null || spec.logical != null) {
            throw Problem.invalid(Reason.InvalidSpec, "BackupPolicy " + spec.backupPolicyRef.name + " takes base "
                    + "backups (pg_basebackup): they restore into a new instance, spec.target.newInstance; "
                    + "spec.target.database and spec.logical are for a logical policy's dumps").exception();
        }
        if (spec.targetTime != null) {
            try {
                OffsetDateTime.parse(spec.targetTime);
            } catch (DateTimeParseException e) {
                throw Problem.invalid(Reason.InvalidSpec, "spec.targetTime '" + spec.targetTime
                        + "' is not an RFC 3339 time such as 2026-11-21T09:30:00Z").exception();
            }
        }
        if (target == null && (status.phase == null || status.phase == RestorePhase.Pending
                || status.phase == RestorePhase.AwaitingApproval)) {
            String instance = spec.target.newInstance.name;
            notTaken(restore, client.apps().statefulSets().inNamespace(ns).withName(instance).get(), "StatefulSet");
            notTaken(restore, client.persistentVolumeClaims().inNamespace(ns)
                    .withName(RestoreJobs.claimName(instance)).get(), "PersistentVolumeClaim");
            notTaken(restore, client.secrets().inNamespace(ns).withName(instance).get(), "Secret");
        }
        // the restore Job reads the policy's spec.storage: resolved on this copy, as the policy's reconciler does
        policy.getSpec().storage = storageDefaults.resolve(policy.getSpec().storage, "the policy's spec.storage");
        S3Location storage = checks.storage(ns, policy.getSpec().storage, "the policy's spec.storage");
        // The source database need not answer (restoring is for when it does not): its Secret only names the
        // database the checks run in and a role that exists in the restored cluster.
        String database = "postgres";
        String loginRole = "postgres";
        try {
            ConnectionSettings db = secrets.connection(ns, policy.getSpec().database, "the policy's spec.database");
            database = db.dbname();
            loginRole = db.user();
        } catch (ProblemException unreadable) {
            // defaults: the restored cluster's postgres database and role
        }
        var keys = checks.encryption(ns, policy.getSpec().encryption, false);
        return new Validated<>(new Inputs(policy, storage, database, loginRole, target,
                keys == null ? null : keys.keys().keySet()), "BackupPolicy "
                + policy.getMetadata().getName() + " and its bucket answer; " + (target != null ? "the target "
                        + "instance's Secret " + spec.target.database.databaseRef.secretRef.name + " is readable"
                        : "instance name " + instance(spec) + " is free"));
    }

    @Override
    public void onProblem(BackupRestore restore, BackupRestoreStatus st, Problem problem) {
        if (st.phase == null || st.phase == RestorePhase.Pending || st.phase == RestorePhase.AwaitingApproval) {
            st.phase = Phase.move(st.phase, problem.permanent() ? RestorePhase.Failed : RestorePhase.Pending);
        }
    }

    private static String instance(BackupRestoreSpec spec) {
        return spec.target.newInstance.name;
    }

    /** A restore never takes over what someone else owns. */
    private static void notTaken(BackupRestore restore, HasMetadata existing, String kind) {
        if (existing != null && existing.getMetadata().getOwnerReferences().stream()
                .noneMatch(o -> restore.getMetadata().getUid().equals(o.getUid()))) {
            throw Problem.invalid(Reason.InvalidSpec, kind + " " + existing.getMetadata().getName() + " already "
                    + "exists and is not this restore's: a restore never overwrites an instance; choose another "
                    + "target.newInstance.name").exception();
        }
    }

    /** One reconcile of a restore: what the handlers work on. */
    record Restoring(BackupRestore restore, BackupRestoreStatus st, Inputs in, WriteAhead log,
            Context<BackupRestore> context, BackupCatalog catalog, Owned<Job> jobs) {
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

    @Override
    public Duration advance(BackupRestore restore, BackupRestoreStatus st, Inputs in, WriteAhead log,
            Context<BackupRestore> context) throws java.sql.SQLException {
        String policyName = in.policy().getMetadata().getName();
        try (S3Client s3 = stores.open(in.storage())) {
            BackupCatalog catalog = new BackupCatalog(s3, in.storage(), restore.getMetadata().getNamespace(),
                    policyName);
            // from the informer, with the Job this controller created recorded in it: never "deleted" by a lag
            Restoring r = new Restoring(restore, st, in, log, context, catalog,
                    OwnedObjects.of(context, Job.class, JOBS));
            return in.logical() ? logical.machine.drive(r, log) : machine.drive(r, log);
        } catch (SdkClientException e) {
            // the bucket answered validation a moment ago and stopped answering: say so, and try again
            throw S3Clients.unreachable(in.storage(), e).exception();
        }
    }

    /** The plan, made again on every look (the catalog may change under it), and the person's approval of it. */
    private Step planned(Restoring r) {
        BackupRestore restore = r.restore();
        BackupRestoreStatus st = r.st();
        RestorePlanner.Plan plan = plan(restore.getSpec(), r.catalog());
        r.in().requireKeyFor(plan.backup());
        st.plan = plan.toStatus();
        st.restoreId = RestoreJobs.restoreId(restore);
        String digest = PlanDigest.of(Map.of("plan", st.plan, "target", restore.getSpec().target,
                "checks", restore.getSpec().checks == null ? List.of() : restore.getSpec().checks));
        st.phase = Phase.move(st.phase, RestorePhase.AwaitingApproval);
        var result = ApprovalStep.check(restore, st, new GatedStep(STEP, "restore backup "
                + plan.backup().backupId + " to " + plan.expectedRecoveryPoint() + " into a new instance "
                + instance(restore.getSpec()), digest, null, generation(restore)), SHORT_NAME, Instant.now());
        r.log().decided(result.audit());
        if (result.outcome() == GateOutcome.REJECTED) {
            st.phase = Phase.move(st.phase, RestorePhase.Rejected);
            st.message = "rejected by " + st.rejection.approvedBy + "; nothing was restored";
            ready(restore, st, false, Reason.Rejected, st.message);
            return Step.onEvent();
        }
        if (result.outcome() == GateOutcome.WAIT) {
            st.message = "plan: " + st.plan.expectedRecoveryPoint + " from backup " + st.plan.backupId
                    + "; waiting for approval";
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
            start(r.restore(), r.st(), r.in(), r.jobs());
        }
        return follow(r);
    }

    private static RestorePlanner.Plan plan(BackupRestoreSpec spec, BackupCatalog catalog) {
        RestorePlanner.Target target = new RestorePlanner.Target(
                spec.targetTime == null ? null : OffsetDateTime.parse(spec.targetTime).toInstant(), spec.targetLSN);
        return RestorePlanner.plan(spec.backupId, target, catalog.list(), catalog.walObjects(), catalog.baseUrl());
    }

    /**
     * Approved and persisted: the Secret (with a new password), the volume, the Job, for the stored plan. Each
     * create is idempotent, so a retry after a crash or a 409 makes each object once.
     */
    private void start(BackupRestore restore, BackupRestoreStatus st, Inputs in,
            Owned<Job> jobs) {
        String ns = restore.getMetadata().getNamespace();
        BackupRestoreSpec spec = restore.getSpec();
        Job job = RestoreJobs.restoreJob(restore, spec, in.policy(), st.plan.backupId, in.database(),
                in.loginRole(), agentImage);
        if (st.restoredUnder != null) {
            Map<String, String> annotations = new java.util.HashMap<>(job.getMetadata().getAnnotations() == null
                    ? Map.of() : job.getMetadata().getAnnotations());
            annotations.put(APPROVAL_ANNOTATION, st.restoredUnder);
            job.getMetadata().setAnnotations(annotations);
        }
        instances.create(restore, in.database(), job, jobs);
        st.job = job.getMetadata().getName();
        st.progress = "starting Job " + st.job;
        ready(restore, st, false, Reason.Restoring, "restoring backup " + st.plan.backupId + " to "
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
            st.progress = record.progress();
            if (record.state == RestoreRecord.State.verifying) {
                st.phase = Phase.move(st.phase, RestorePhase.Verifying);
                ready(restore, st, false, Reason.Verifying, st.progress);
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
            ready(restore, st, true, Reason.RestoreSucceeded, st.message);
            return Step.onEvent();
        }
        st.progress = waiting;
        ready(restore, st, false, Reason.InstanceStarting, RestoreReport.summary(st) + "; " + waiting);
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
        ready(restore, st, false, Reason.InstanceStarting, st.message);
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
        Reason reason = Reason.RestoreFailed;
        if (record != null && record.errorReason != null) {
            try {
                reason = Reason.valueOf(record.errorReason);
            } catch (IllegalArgumentException unknown) {
                // keep RestoreFailed
            }
        }
        ready(restore, st, false, reason, st.message);
        log.executed(AuditEvent.byOperator(restore, "restore", STEP, "failed", null, Map.of("reason", why)),
                "restore/failed");
    }

    private static void ready(BackupRestore restore, BackupRestoreStatus st, boolean ok, Reason reason,
            String message) {
        st.conditions = Conditions.set(st.conditions, ConditionType.Ready, ok, reason, message, generation(restore),
                Instant.now());
    }

    private static long generation(BackupRestore r) {
        return r.getMetadata().getGeneration() == null ? 0 : r.getMetadata().getGeneration();
    }
}
