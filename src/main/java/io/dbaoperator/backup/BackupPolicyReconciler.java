package io.dbaoperator.backup;

import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.util.List;
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
    /** Schedules are judged by it (the system's, unless a test moves it). */
    private final java.time.InstantSource clock;
    private final WorkflowRunner runner;
    private final ObjectStores stores;
    private final KubernetesClient client;
    private final EventRecorder events;
    private final String agentImage;
    private final BackupMetrics metrics;
    private final io.dbaoperator.audit.AuditLog audit;
    private final RestoreTests restoreTests;
    private final BackupScheduling scheduling;
    private final RetentionPass retention;
    private final ArchiverSteps archiverSteps;
    private final StorageDefaults storageDefaults;
    private final WalArchiver archiver;
    private final BackupCopies copies;

    @jakarta.inject.Inject
    public BackupPolicyReconciler(ReferenceChecks checks, WorkflowRunner runner, KubernetesClient client,
            ObjectStores stores, EventRecorder events, BackupMetrics metrics, io.dbaoperator.audit.AuditLog audit,
            StorageDefaults storageDefaults, @ConfigProperty(name = "dba.agent.image") String agentImage,
            java.time.InstantSource clock) {
        this(checks, runner, client, stores, events, metrics, audit, storageDefaults, agentImage, null, clock);
    }

    /** With the archiver Deployment and its slot reached through {@code archivers} (a test records them). */
    BackupPolicyReconciler(ReferenceChecks checks, WorkflowRunner runner, KubernetesClient client,
            ObjectStores stores, EventRecorder events, BackupMetrics metrics, io.dbaoperator.audit.AuditLog audit,
            StorageDefaults storageDefaults, String agentImage, ArchiverSteps.Archivers archivers,
            java.time.InstantSource clock) {
        this.clock = clock;
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
        this.scheduling = new BackupScheduling(events, agentImage);
        this.retention = new RetentionPass(events, audit);
        this.copies = new BackupCopies(client, events, audit, agentImage);
        this.archiverSteps = new ArchiverSteps(archivers == null ? ArchiverSteps.of(archiver, client) : archivers,
                events, metrics);
    }

    @Override
    public List<EventSource<?, BackupPolicy>> prepareEventSources(EventSourceContext<BackupPolicy> context) {
        // the policies as this controller's informer holds them serve the other kinds' reads of a policy
        checks.caches().share(BackupPolicy.class, context.getPrimaryCache());
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
        var copyJobs = InformerEventSourceConfiguration.from(Job.class, BackupPolicy.class)
                .withName(BackupCopies.JOBS).withLabelSelector(CopyJobs.POLICY_LABEL)
                .withSecondaryToPrimaryMapper(job -> Set.of(new ResourceID(
                        job.getMetadata().getLabels().get(CopyJobs.POLICY_LABEL), job.getMetadata().getNamespace())))
                .build();
        List<EventSource<?, BackupPolicy>> sources = new java.util.ArrayList<>(List.of(
                new InformerEventSource<>(jobs, context), new InformerEventSource<>(restoreTestJobs, context),
                new InformerEventSource<>(copyJobs, context)));
        sources.addAll(EventSourceUtils.dependentEventSources(context, archiver));
        return sources;
    }

    @Override
    public UpdateControl<BackupPolicy> reconcile(BackupPolicy policy, Context<BackupPolicy> context) {
        return runner.run(policy, context, StatusPatcher.copy(policy.getStatus(), BackupPolicyStatus.class), this);
    }

    /**
     * What validation resolved: the parsed schedule, the policy's bucket and its database; the offsite storage
     * (spec.copies.offsite) with its credentials, or why it cannot be used (backups go on without it).
     */
    record Inputs(CronSchedule schedule, S3Location storage, ConnectionSettings database, S3Location offsite,
            String offsiteProblem) {
        Inputs(CronSchedule schedule, S3Location storage, ConnectionSettings database) {
            this(schedule, storage, database, null, null);
        }
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
        String copies = CopyPlanner.invalid(spec.copies);
        if (copies != null) {
            throw Problem.invalid(Reason.InvalidSpec, copies).exception();
        }
        S3Location offsite = null;
        String offsiteProblem = null;
        if (spec.copies != null && spec.copies.offsite != null) {
            try {
                offsite = checks.storage(ns, spec.copies.offsite.storage, "spec.copies.offsite.storage");
            } catch (io.dbaoperator.problem.ProblemException e) {
                offsiteProblem = e.problem().message(); // reported in status.offsite; backups go on
            }
        }
        // the Jobs, the archiver and the catalog all read spec.storage: resolved once, on this reconcile's copy
        spec.storage = storageDefaults.resolve(spec.storage, "spec.storage");
        S3Location storage = checks.storage(ns, spec.storage, "spec.storage");
        return new Validated<>(new Inputs(schedule, storage, db.settings(), offsite, offsiteProblem), "database " + db.describe()
                + " and bucket " + storage.url(ns + "/" + policy.getMetadata().getName()) + " answer");
    }

    @Override
    public void onProblem(BackupPolicy policy, BackupPolicyStatus status, Problem problem) {
        status.phase = Phase.move(status.phase, problem.permanent() ? BackupPolicyPhase.Failed
                : status.phase == BackupPolicyPhase.Active ? BackupPolicyPhase.Degraded : BackupPolicyPhase.Pending);
        ArchiverSteps.whileInvalid(policy, status, client);
    }

    /**
     * A policy has one handler for every phase (the phase is the outcome of its backups, which BackupStatusBuilder
     * derives). It asks each duty in turn for what to change (a backup to start or replace, backups and WAL that
     * retention removes, the archiver to make or remove, a restore test to start), each an act whose decision the
     * machine stores before its effect runs; once none has anything to change, the survey writes status. The
     * copies (spec.copies) are the fifth duty ({@link BackupCopies}).
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
        S3Client[] offsite = new S3Client[1];
        try (S3Client s3 = stores.open(in.storage())) {
            BackupCatalog catalog = new BackupCatalog(s3, in.storage(), policy.getMetadata().getNamespace(),
                    policy.getMetadata().getName());
            // from the informers, with the Jobs this controller created recorded in them: never a stale "none
            // running"
            return machine.drive(new Tending(policy, status, in, context, clock.instant(),
                    OwnedObjects.of(context, Job.class, BACKUP_JOBS), OwnedObjects.of(context, Job.class,
                            RestoreTests.JOBS), catalog, OwnedObjects.of(context, Job.class, BackupCopies.JOBS),
                    () -> {
                        // opened only when a duty reads the offsite catalog, closed with this reconcile
                        offsite[0] = stores.open(in.offsite());
                        return new BackupCatalog(offsite[0], in.offsite(), policy.getMetadata().getNamespace(),
                                policy.getMetadata().getName());
                    }), log);
        } catch (SdkClientException e) {
            // the bucket answered validation a moment ago and stopped answering: say so, and try again
            throw S3Clients.unreachable(in.storage(), e).exception();
        } finally {
            if (offsite[0] != null) {
                offsite[0].close();
            }
        }
    }

    /**
     * The restore tests are followed first (their outcome is part of the phase), then status is made from what the
     * bucket and the Jobs show now, so that every status stored before an act is whole (a phase with its
     * conditions); then the first duty with something to change returns it as an act, and the machine comes back
     * here once it ran. With nothing to change, the policy rests until its next backup, restore test or heartbeat.
     */
    private Step tend(Tending t) {
        Step test = restoreTests.apply(t.policy(), t.status(), t.catalog(), t.retained().records(),
                t.in().database(), t.now(), t.restoreTestJobs());
        Duration requeue = report(t);
        Step change = scheduling.decide(t);
        if (change == null) {
            change = retention.prune(t);
        }
        if (change == null) {
            change = archiverSteps.keep(t);
        }
        if (change == null) {
            change = copies.keep(t);
        }
        if (change == null && test instanceof Step.Act) {
            change = test;
        }
        if (change != null) {
            return change;
        }
        Duration restoreTest = ((Step.Rest) test).requeue();
        if (restoreTest != null && restoreTest.compareTo(requeue) < 0) {
            requeue = restoreTest;
        }
        return Step.rest(requeue.isNegative() || requeue.isZero() ? Duration.ofSeconds(1) : requeue);
    }

    /** Status from the catalog, the Jobs and the archiver as they are now; when to look again for them. */
    private Duration report(Tending t) {
        BackupPolicy policy = t.policy();
        BackupPolicyStatus status = t.status();
        BackupPolicySpec spec = policy.getSpec();
        String ns = policy.getMetadata().getNamespace();
        String name = policy.getMetadata().getName();
        Instant now = t.now();
        List<Job> jobs = t.backupJobs().list();
        RetentionPass.Result retained = t.retained();
        List<BackupRecord> records = retained.records();
        metrics.record(ns, name, records);
        archiverSteps.report(t, records, retained.walKeptFrom(), now);
        BackupStatusBuilder.apply(status, records, retained.kept().stream().collect(
                java.util.stream.Collectors.toMap(v -> v.record().backupId, v -> v)), jobs.stream()
                        .map(j -> AgentJobs.outcomeWithCause(client, j)).toList(), t.catalog()::url,
                Boolean.TRUE.equals(spec.suspend), policy.getMetadata().getGeneration(), now);
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
        return running && untilNext.compareTo(Duration.ofMinutes(1)) > 0 ? Duration.ofMinutes(1) : untilNext;
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
}
