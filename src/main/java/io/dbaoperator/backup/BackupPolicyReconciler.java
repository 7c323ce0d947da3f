package io.dbaoperator.backup;

import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.eclipse.microprofile.config.inject.ConfigProperty;

import io.dbaoperator.api.backup.BackupPolicy;
import io.dbaoperator.api.backup.BackupPolicyPhase;
import io.dbaoperator.api.backup.BackupPolicySpec;
import io.dbaoperator.api.backup.BackupPolicyStatus;
import io.dbaoperator.api.common.Phase;
import io.dbaoperator.backup.catalog.BackupCatalog;
import io.dbaoperator.backup.catalog.BackupRecord;
import io.dbaoperator.kube.CronSchedule;
import io.dbaoperator.kube.Durations;
import io.dbaoperator.kube.EventRecorder;
import io.dbaoperator.kube.Owned;
import io.dbaoperator.kube.OwnedObjects;
import io.dbaoperator.references.ReferenceChecks;
import io.dbaoperator.postgres.ConnectionSettings;
import io.dbaoperator.problem.Problem;
import io.dbaoperator.problem.Reason;
import io.dbaoperator.status.StatusPatcher;
import io.dbaoperator.status.Step;
import io.dbaoperator.status.Workflow;
import io.dbaoperator.status.WorkflowRunner;
import io.dbaoperator.status.WriteAhead;
import io.dbaoperator.storage.ObjectStores;
import io.dbaoperator.storage.S3Clients;
import io.dbaoperator.storage.S3Location;
import io.dbaoperator.storage.StorageDefaults;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.javaoperatorsdk.operator.api.config.informer.InformerEventSourceConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.ControllerConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.EventSourceContext;
import io.javaoperatorsdk.operator.api.reconciler.EventSourceUtils;
import io.javaoperatorsdk.operator.api.reconciler.Reconciler;
import io.javaoperatorsdk.operator.api.reconciler.UpdateControl;
import io.javaoperatorsdk.operator.api.reconciler.dependent.ReconcileResult;
import io.javaoperatorsdk.operator.processing.event.ResourceID;
import io.javaoperatorsdk.operator.processing.event.source.EventSource;
import io.javaoperatorsdk.operator.processing.event.source.informer.InformerEventSource;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * Reconciles BackupPolicy: validates the policy (schedules, the database and its REPLICATION role, the bucket),
 * starts a backup Job when a scheduled run comes due or one is requested
 * ({@code kubectl annotate bkp NAME dbaoperator.io/backup-now=$(date +%s) --overwrite}), and reports the backups
 * from the catalog the agent writes in object storage. A Job's end triggers a reconcile through the Job informer.
 * Retention removes what no rule keeps, and archived WAL older than the recovery window needs ({@link RetentionPass}). WAL archiving is not built
 * with the policy: a Deployment running pg_receivewal on a replication slot ({@link WalArchiverDeployment}).
 */
@ControllerConfiguration(name = "backuppolicy", generationAwareEventProcessing = false)
public class BackupPolicyReconciler implements Reconciler<BackupPolicy>,
        Workflow<BackupPolicy, BackupPolicyStatus, BackupPolicyReconciler.Inputs>,
        io.javaoperatorsdk.operator.api.reconciler.Cleaner<BackupPolicy> {

    /** How long a deletion waits for the WAL archiver's slot to be droppable before it gives up and says so. */
    static final Duration SLOT_DROP_PATIENCE = Duration.ofMinutes(10);

    /** The event source of the policy's backup Jobs (its restore tests' Jobs have their own). */
    static final String BACKUP_JOBS = "backup-jobs";

    /** Set this annotation to a new value to ask for a backup now. */
    public static final String BACKUP_NOW = "dbaoperator.io/backup-now";

    private final ReferenceChecks checks;
    private final WorkflowRunner runner;
    private final ObjectStores stores;
    private final KubernetesClient client;
    private final EventRecorder events;
    private final String agentImage;
    private final BackupMetrics metrics;
    private final io.dbaoperator.audit.AuditLog audit;
    private final RestoreTests restoreTests;
    private final StorageDefaults storageDefaults;
    private final WalArchiver archiver;

    public BackupPolicyReconciler(ReferenceChecks checks, WorkflowRunner runner, KubernetesClient client,
            ObjectStores stores, EventRecorder events, BackupMetrics metrics, io.dbaoperator.audit.AuditLog audit,
            StorageDefaults storageDefaults, @ConfigProperty(name = "dba.agent.image") String agentImage) {
        this.stores = stores;
        this.checks = checks;
        this.storageDefaults = storageDefaults;
        this.runner = runner;
        this.client = client;
        this.events = events;
        this.metrics = metrics;
        this.audit = audit;
        this.agentImage = agentImage;
        this.restoreTests = new RestoreTests(client, events, metrics, agentImage);
        this.archiver = new WalArchiver(agentImage);
    }

    @Override
    public List<EventSource<?, BackupPolicy>> prepareEventSources(EventSourceContext<BackupPolicy> context) {
        var jobs = InformerEventSourceConfiguration.from(Job.class, BackupPolicy.class)
                .withName(BACKUP_JOBS).withLabelSelector(BackupJobs.POLICY_LABEL)
                .withSecondaryToPrimaryMapper(job -> Set.of(new ResourceID(
                        job.getMetadata().getLabels().get(BackupJobs.POLICY_LABEL), job.getMetadata().getNamespace())))
                .build();
        var restoreTestJobs = InformerEventSourceConfiguration.from(Job.class, BackupPolicy.class)
                .withName(RestoreTests.JOBS).withLabelSelector(RestoreJobs.RESTORE_TEST_LABEL)
                .withSecondaryToPrimaryMapper(job -> Set.of(new ResourceID(
                        job.getMetadata().getLabels().get(RestoreJobs.RESTORE_TEST_LABEL),
                        job.getMetadata().getNamespace())))
                .build();
        List<EventSource<?, BackupPolicy>> sources = new java.util.ArrayList<>(List.of(
                new InformerEventSource<>(jobs, context), new InformerEventSource<>(restoreTestJobs, context)));
        sources.addAll(EventSourceUtils.dependentEventSources(context, archiver));
        return sources;
    }

    @Override
    public UpdateControl<BackupPolicy> reconcile(BackupPolicy policy, Context<BackupPolicy> context) {
        return runner.run(policy, context, StatusPatcher.copy(policy.getStatus(), BackupPolicyStatus.class), this);
    }

    /** What validation resolved: the parsed schedule, the policy's bucket and its database. */
    record Inputs(CronSchedule schedule, S3Location storage, ConnectionSettings database) {
    }

    @Override
    public Validated<Inputs> validate(BackupPolicy policy, BackupPolicyStatus status) {
        BackupPolicySpec spec = policy.getSpec();
        String ns = policy.getMetadata().getNamespace();
        CronSchedule schedule = CronSchedule.parse("spec.schedule", spec.schedule, spec.timeZone);
        if (spec.verification != null && spec.verification.restoreTest != null) {
            CronSchedule.parse("spec.verification.restoreTest.schedule", spec.verification.restoreTest.schedule,
                    spec.timeZone);
        }
        RetentionPass.rules(spec); // the durations parse (spec.retention.maxAge), or status says which does not
        RetentionPass.recoveryWindow(spec);
        boolean logical = spec.method == BackupPolicySpec.Method.logical;
        if (logical) {
            LogicalBackups.refuseWhatTheyCannotDo(spec);
        }
        var db = checks.database(ns, spec.database, "spec.database");
        if (!logical && !db.replication()) {
            throw Problem.invalid(Reason.MissingPrivilege, "role " + db.settings().user() + " lacks the "
                    + "REPLICATION attribute that pg_basebackup and pg_receivewal need: run ALTER ROLE "
                    + db.settings().user() + " REPLICATION, or point spec.database at a replication Secret")
                    .exception();
        }
        // the Secret holds every key it names as 256-bit keys, the current one among them (before any Job needs it)
        checks.encryption(ns, spec.encryption, true);
        // the Jobs, the archiver and the catalog all read spec.storage: resolved once, on this reconcile's copy
        spec.storage = storageDefaults.resolve(spec.storage, "spec.storage");
        S3Location storage = checks.storage(ns, spec.storage, "spec.storage");
        return new Validated<>(new Inputs(schedule, storage, db.settings()), "database " + db.describe()
                + " and bucket " + storage.url(ns + "/" + policy.getMetadata().getName()) + " answer");
    }

    @Override
    public void onProblem(BackupPolicy policy, BackupPolicyStatus status, Problem problem) {
        status.phase = Phase.move(status.phase, problem.permanent() ? BackupPolicyPhase.Failed
                : status.phase == BackupPolicyPhase.Active ? BackupPolicyPhase.Degraded : BackupPolicyPhase.Pending);
        archiverWhileInvalid(policy, status);
    }

    /** One reconcile of a policy: what the handlers work on. */
    record Tending(BackupPolicy policy, BackupPolicyStatus status, Inputs in, Context<BackupPolicy> context,
            Instant now, Owned<Job> backupJobs, Owned<Job> restoreTestJobs) {
    }

    /**
     * A policy has one handler for every phase (the phase is the outcome of its backups, which BackupStatusBuilder
     * derives): start what is due, then survey the catalog. Starting a backup or a restore test is an act: its
     * decision is stored first, and the handler then decides again on the new state.
     */
    final io.dbaoperator.status.PhaseMachine<BackupPolicyPhase, Tending> machine = io.dbaoperator.status.PhaseMachine
            .<BackupPolicyPhase, Tending>of(BackupPolicyPhase.class, BackupPolicyPhase.Pending, t -> t.status().phase)
            .decides(BackupPolicyPhase.Pending, this::tend)
            .decides(BackupPolicyPhase.Active, this::tend)
            .decides(BackupPolicyPhase.Suspended, this::tend)
            .decides(BackupPolicyPhase.Degraded, this::tend)
            .decides(BackupPolicyPhase.Failed, this::tend)
            .build();

    @Override
    public Duration advance(BackupPolicy policy, BackupPolicyStatus status, Inputs in, WriteAhead log,
            Context<BackupPolicy> context) throws java.sql.SQLException {
        // from the informers, with the Jobs this controller created recorded in them: never a stale "none running"
        return machine.drive(new Tending(policy, status, in, context, Instant.now(),
                OwnedObjects.of(context, Job.class, BACKUP_JOBS), OwnedObjects.of(context, Job.class,
                        RestoreTests.JOBS)), log);
    }

    private Step tend(Tending t) {
        Step start = schedule(t);
        return start != null ? start : survey(t);
    }

    /**
     * The schedule and on-demand requests: the backup to start (its backupId stored with the slot or request it
     * consumes before its Job exists, so a 409 or a restart never starts a second backup for it), or null.
     */
    private Step schedule(Tending t) {
        BackupPolicy policy = t.policy();
        BackupPolicyStatus status = t.status();
        BackupPolicySpec spec = policy.getSpec();
        String ns = policy.getMetadata().getNamespace();
        String name = policy.getMetadata().getName();
        Owned<Job> backupJobs = t.backupJobs();
        List<Job> jobs = backupJobs.list();
        List<String> active = jobs.stream().filter(j -> AgentJobs.outcome(j).active()).map(j -> j.getMetadata().getName())
                .toList();
        Map<String, String> annotations = policy.getMetadata().getAnnotations();
        var decision = BackupSchedulePlanner.decide(new BackupSchedulePlanner.Observed(t.now(),
                Instant.parse(policy.getMetadata().getCreationTimestamp()), t.in().schedule(),
                Boolean.TRUE.equals(spec.suspend), spec.concurrencyPolicy,
                annotations == null ? null : annotations.get(BACKUP_NOW), status.lastOnDemandRequest,
                status.lastScheduleTime, active));
        for (String job : decision.deleteJobs()) {
            client.batch().v1().jobs().inNamespace(ns).withName(job).withPropagationPolicy(
                    io.fabric8.kubernetes.api.model.DeletionPropagation.BACKGROUND).delete();
        }
        String starting = status.startingBackupId;
        if (starting != null && jobs.stream().noneMatch(j -> j.getMetadata().getName().equals(
                BackupJobs.jobName(name, starting)))) {
            // decided and recorded by an earlier reconcile that ended (a crash, a 409) before its Job existed
            startJob(policy, backupJobs, starting, "a recorded start");
        }
        status.startingBackupId = null;
        if (decision.skipped() != null) {
            events.warning(policy, Reason.BackupSkipped.name(), decision.skipped());
        }
        status.lastScheduleTime = decision.newLastScheduleTime();
        status.lastOnDemandRequest = decision.newLastOnDemandRequest();
        if (decision.startBackupId() == null) {
            return null;
        }
        status.startingBackupId = decision.startBackupId();
        return Step.act(() -> {
            startJob(policy, backupJobs, decision.startBackupId(), decision.trigger());
            status.startingBackupId = null;
            return Step.next();
        });
    }

    /** Retention, the catalog, WAL archiving and restore tests, and the status they make; when to look again. */
    private Step survey(Tending t) {
        BackupPolicy policy = t.policy();
        BackupPolicyStatus status = t.status();
        S3Location storage = t.in().storage();
        BackupPolicySpec spec = policy.getSpec();
        String ns = policy.getMetadata().getNamespace();
        String name = policy.getMetadata().getName();
        Instant now = t.now();
        List<Job> jobs = t.backupJobs().list();
        List<BackupRecord> records;
        Duration restoreTest;
        try (S3Client s3 = stores.open(storage)) {
            BackupCatalog catalog = new BackupCatalog(s3, storage, ns, name);
            RetentionPass.Result retained = new RetentionPass(events, audit).apply(policy, status, catalog,
                    catalog.list(), now);
            records = retained.records();
            metrics.record(ns, name, records);
            walArchiving(policy, status, catalog, records, retained.walKeptFrom(), t.in().database(), now,
                    t.context());
            Step test = restoreTests.apply(policy, status, catalog, records, t.in().database(), now,
                    t.restoreTestJobs());
            if (test instanceof Step.Act) {
                return test;
            }
            restoreTest = ((Step.Rest) test).requeue();
            BackupStatusBuilder.apply(status, records, retained.kept().stream().collect(
                    java.util.stream.Collectors.toMap(v -> v.record().backupId, v -> v)), jobs.stream().map(j -> AgentJobs.outcomeWithCause(client, j))
                    .toList(), catalog::url, Boolean.TRUE.equals(spec.suspend), policy.getMetadata().getGeneration(),
                    now);
        } catch (SdkClientException e) {
            // the bucket answered validation a moment ago and stopped answering: say so, and try again
            throw S3Clients.unreachable(storage, e).exception();
        }
        ZonedDateTime next = Boolean.TRUE.equals(spec.suspend) ? null
                : t.in().schedule().next(now.atZone(ZoneOffset.UTC)).orElse(null);
        status.nextScheduleTime = next == null ? null : next.toInstant().toString();
        status.message = Boolean.TRUE.equals(spec.suspend) ? "suspended: no backups are scheduled"
                : status.lastBackup == null ? "no backup yet; next at " + status.nextScheduleTime
                        : "last backup " + status.lastBackup.backupId + " " + status.lastBackup.state + "; next at "
                                + status.nextScheduleTime;
        Duration untilNext = next == null ? Duration.ofMinutes(10) : Duration.between(now, next.toInstant());
        if (archivingEnabled(spec) && untilNext.compareTo(Duration.ofSeconds(30)) > 0) {
            untilNext = Duration.ofSeconds(30); // the archiver's heartbeat is read, not pushed
        }
        // while a backup runs, its Job's end arrives as an event; look again anyway in a minute for the catalog
        boolean running = records.stream().anyMatch(r -> r.state == BackupRecord.State.running
                || r.state == BackupRecord.State.uploaded) || jobs.stream().anyMatch(j -> AgentJobs.outcome(j).active());
        Duration requeue = running && untilNext.compareTo(Duration.ofMinutes(1)) > 0 ? Duration.ofMinutes(1) : untilNext;
        if (restoreTest != null && restoreTest.compareTo(requeue) < 0) {
            requeue = restoreTest;
        }
        return Step.rest(requeue.isNegative() || requeue.isZero() ? Duration.ofSeconds(1) : requeue);
    }

    /** Creates the backup's Job; its name is deterministic, so a Job that exists already is this backup's. */
    private void startJob(BackupPolicy policy, Owned<Job> jobs, String backupId,
            String trigger) {
        Job job = jobs.create(BackupJobs.build(policy, backupId, agentImage));
        events.normal(policy, "BackupStarted", "backup " + backupId + " started by " + trigger + " (Job "
                + job.getMetadata().getName() + ")");
    }

    /**
     * A deleted policy takes its replication slot with it: a slot nobody reads from makes the server keep WAL until
     * its disk is full. The archiver Deployment is removed first (the slot cannot be dropped while pg_receivewal
     * streams from it); if the database cannot be reached for {@link #SLOT_DROP_PATIENCE}, the deletion goes on and a
     * Warning Event gives the statement to run by hand. Backups in the bucket are kept: deleting a policy never
     * deletes backups.
     */
    @Override
    public io.javaoperatorsdk.operator.api.reconciler.DeleteControl cleanup(BackupPolicy policy,
            Context<BackupPolicy> context) {
        var done = io.javaoperatorsdk.operator.api.reconciler.DeleteControl.defaultDelete();
        boolean hadArchiver = archivingEnabled(policy.getSpec()) || (policy.getStatus() != null
                && io.dbaoperator.status.Conditions.find(policy.getStatus().conditions,
                        io.dbaoperator.status.ConditionType.WalArchiving).isPresent());
        if (!hadArchiver) {
            return done;
        }
        String ns = policy.getMetadata().getNamespace();
        String slot = WalArchiverDeployment.slot(policy);
        client.apps().deployments().inNamespace(ns).withName(WalArchiverDeployment.name(policy.getMetadata().getName()))
                .delete();
        ReplicationSlots.Drop result;
        try {
            result = ReplicationSlots.drop(checks.database(ns, policy.getSpec().database, "spec.database").settings(),
                    slot);
        } catch (io.dbaoperator.problem.ProblemException e) {
            result = ReplicationSlots.Drop.FAILED;
        }
        if (result == ReplicationSlots.Drop.DROPPED || result == ReplicationSlots.Drop.ABSENT) {
            if (result == ReplicationSlots.Drop.DROPPED) {
                events.normal(policy, "ReplicationSlotDropped", "policy deleted: replication slot " + slot
                        + " dropped; the backups in the bucket are kept");
            }
            return done;
        }
        String deleted = policy.getMetadata().getDeletionTimestamp();
        if (deleted != null && Duration.between(Instant.parse(deleted), Instant.now()).compareTo(SLOT_DROP_PATIENCE) > 0) {
            events.warning(policy, "ReplicationSlotLeft", "policy deleted, but replication slot " + slot + " could not "
                    + "be dropped (" + result + "); drop it by hand or the server keeps WAL forever: SELECT "
                    + "pg_drop_replication_slot('" + slot + "')");
            return done;
        }
        return io.javaoperatorsdk.operator.api.reconciler.DeleteControl.noFinalizerRemoval()
                .rescheduleAfter(Duration.ofSeconds(3));
    }

    static boolean archivingEnabled(BackupPolicySpec spec) {
        return spec.walArchiving != null && Boolean.TRUE.equals(spec.walArchiving.enabled);
    }

    /**
     * Keeps the WAL archiver Deployment as the spec says, and reports it. Disabling archiving removes the Deployment
     * and drops its replication slot, which would otherwise make the server keep WAL forever.
     */
    private void walArchiving(BackupPolicy policy, BackupPolicyStatus status, BackupCatalog catalog,
            List<BackupRecord> records, String walKeptFrom, io.dbaoperator.postgres.ConnectionSettings db, Instant now,
            Context<BackupPolicy> context) {
        String ns = policy.getMetadata().getNamespace();
        String deploymentName = WalArchiverDeployment.name(policy.getMetadata().getName());
        var existing = archiver.getSecondaryResource(policy, context).orElse(null);
        if (!archivingEnabled(policy.getSpec())) {
            if (existing != null) {
                archiver.delete(policy, context);
                events.normal(policy, "WalArchivingStopped", "WAL archiving disabled: Deployment " + deploymentName
                        + " removed");
            }
            if (existing != null || io.dbaoperator.status.Conditions.find(status.conditions,
                    io.dbaoperator.status.ConditionType.WalArchiving).isPresent()) {
                ReplicationSlots.dropIfInactive(db, WalArchiverDeployment.slot(policy));
            }
            status.conditions = io.dbaoperator.status.Conditions.remove(status.conditions,
                    io.dbaoperator.status.ConditionType.WalArchiving);
            status.recoveryWindow = null;
            return;
        }
        if (archiver.reconcile(policy, context).getSingleOperation() == ReconcileResult.Operation.CREATED) {
            events.normal(policy, "WalArchivingStarted", "WAL archiver Deployment " + deploymentName + " created on "
                    + "slot " + WalArchiverDeployment.slot(policy));
        }
        var heartbeat = catalog.walArchiver();
        WalArchivingStatus.apply(status, WalArchiverDeployment.problem(client, ns, existing), heartbeat, records,
                walKeptFrom, policy.getMetadata().getGeneration(), now);
        Long lag = status.recoveryWindow == null ? null : status.recoveryWindow.archivingLagSeconds;
        metrics.walArchiving(ns, policy.getMetadata().getName(), io.dbaoperator.status.Conditions.isTrue(
                status.conditions, io.dbaoperator.status.ConditionType.WalArchiving), lag,
                lag == null || heartbeat == null || heartbeat.lastArchivedSegment == null ? null
                        : ReplicationSlots.unarchivedBytes(db, heartbeat.lastArchivedSegment));
    }

    /**
     * When the policy cannot be validated (its Secret changed, the database is unreachable), the archiver may be
     * failing for the same reason: what the Deployment shows is still reported, so the condition never stays True
     * on an archiver that stopped.
     */
    private void archiverWhileInvalid(BackupPolicy policy, BackupPolicyStatus status) {
        if (!archivingEnabled(policy.getSpec())) {
            return;
        }
        String ns = policy.getMetadata().getNamespace();
        var d = client.apps().deployments().inNamespace(ns).withName(WalArchiverDeployment.name(
                policy.getMetadata().getName())).get();
        String problem = d == null ? null : WalArchiverDeployment.problem(client, ns, d);
        if (problem != null) {
            status.conditions = io.dbaoperator.status.Conditions.set(status.conditions,
                    io.dbaoperator.status.ConditionType.WalArchiving, false, Reason.WalArchiverNotRunning,
                    "the WAL archiver is not running: " + problem, policy.getMetadata().getGeneration(),
                    Instant.now());
        }
    }
}
