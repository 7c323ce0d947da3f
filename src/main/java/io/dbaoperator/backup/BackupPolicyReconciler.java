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
import io.dbaoperator.backup.catalog.BackupCatalog;
import io.dbaoperator.backup.catalog.BackupRecord;
import io.dbaoperator.kube.CronSchedule;
import io.dbaoperator.kube.Durations;
import io.dbaoperator.kube.EventRecorder;
import io.dbaoperator.kube.ReferenceChecks;
import io.dbaoperator.status.Problem;
import io.dbaoperator.status.Reason;
import io.dbaoperator.status.StatusPatcher;
import io.dbaoperator.status.ValidationRunner;
import io.dbaoperator.storage.S3Clients;
import io.dbaoperator.storage.S3Location;
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
import software.amazon.awssdk.services.s3.S3Client;

/**
 * Reconciles BackupPolicy: validates the policy (schedules, the database and its REPLICATION role, the bucket),
 * starts a backup Job when a scheduled run comes due or one is requested
 * ({@code kubectl annotate bkp NAME dbaoperator.io/backup-now=$(date +%s) --overwrite}), and reports the backups
 * from the catalog the agent writes in object storage. A Job's end triggers a reconcile through the Job informer.
 * Retention removes what keepLast and maxAge together let go ({@link BackupRetention}). WAL archiving is not built
 * yet.
 */
@ControllerConfiguration(name = "backuppolicy", generationAwareEventProcessing = false)
public class BackupPolicyReconciler implements Reconciler<BackupPolicy> {

    /** Set this annotation to a new value to ask for a backup now. */
    public static final String BACKUP_NOW = "dbaoperator.io/backup-now";

    private final ReferenceChecks checks;
    private final ValidationRunner runner;
    private final KubernetesClient client;
    private final EventRecorder events;
    private final String agentImage;
    private final BackupMetrics metrics;
    private final io.dbaoperator.audit.AuditLog audit;

    public BackupPolicyReconciler(ReferenceChecks checks, ValidationRunner runner, KubernetesClient client,
            EventRecorder events, BackupMetrics metrics, io.dbaoperator.audit.AuditLog audit,
            @ConfigProperty(name = "dba.agent.image") String agentImage) {
        this.checks = checks;
        this.runner = runner;
        this.client = client;
        this.events = events;
        this.metrics = metrics;
        this.audit = audit;
        this.agentImage = agentImage;
    }

    @Override
    public List<EventSource<?, BackupPolicy>> prepareEventSources(EventSourceContext<BackupPolicy> context) {
        var jobs = InformerEventSourceConfiguration.from(Job.class, BackupPolicy.class)
                .withLabelSelector(BackupJobs.POLICY_LABEL)
                .withSecondaryToPrimaryMapper(job -> Set.of(new ResourceID(
                        job.getMetadata().getLabels().get(BackupJobs.POLICY_LABEL), job.getMetadata().getNamespace())))
                .build();
        return List.of(new InformerEventSource<>(jobs, context));
    }

    @Override
    public UpdateControl<BackupPolicy> reconcile(BackupPolicy policy, Context<BackupPolicy> context) {
        BackupPolicySpec spec = policy.getSpec();
        String ns = policy.getMetadata().getNamespace();
        BackupPolicyStatus desired = StatusPatcher.copy(policy.getStatus(), BackupPolicyStatus.class);
        CronSchedule[] schedule = new CronSchedule[1];
        S3Location[] storage = new S3Location[1];
        return runner.runThen(policy, desired, () -> {
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
            storage[0] = checks.storage(ns, spec.storage, "spec.storage");
            return "database " + db.describe() + " and bucket " + storage[0].url(ns + "/"
                    + policy.getMetadata().getName()) + " answer";
        }, (status, summary) -> backups(policy, status, schedule[0], storage[0]),
                (status, problem) -> status.phase = problem.permanent() ? BackupPolicyPhase.Failed
                        : status.phase == BackupPolicyPhase.Active ? BackupPolicyPhase.Degraded
                                : BackupPolicyPhase.Pending);
    }

    /** Starts what is due, reads the catalog, fills status; returns when to look again. */
    private Duration backups(BackupPolicy policy, BackupPolicyStatus status, CronSchedule schedule,
            S3Location storage) {
        BackupPolicySpec spec = policy.getSpec();
        String ns = policy.getMetadata().getNamespace();
        String name = policy.getMetadata().getName();
        Instant now = Instant.now();
        List<Job> jobs = client.batch().v1().jobs().inNamespace(ns).withLabel(BackupJobs.POLICY_LABEL, name).list()
                .getItems();
        List<String> active = jobs.stream().filter(j -> outcome(j).active()).map(j -> j.getMetadata().getName())
                .toList();
        Map<String, String> annotations = policy.getMetadata().getAnnotations();
        var decision = BackupSchedulePlanner.decide(new BackupSchedulePlanner.Observed(now,
                Instant.parse(policy.getMetadata().getCreationTimestamp()), schedule,
                Boolean.TRUE.equals(spec.suspend), spec.concurrencyPolicy,
                annotations == null ? null : annotations.get(BACKUP_NOW), status.lastOnDemandRequest,
                status.lastScheduleTime, active));
        for (String job : decision.deleteJobs()) {
            client.batch().v1().jobs().inNamespace(ns).withName(job).withPropagationPolicy(
                    io.fabric8.kubernetes.api.model.DeletionPropagation.BACKGROUND).delete();
        }
        if (decision.startBackupId() != null) {
            Job job = BackupJobs.build(policy, decision.startBackupId(), agentImage);
            try {
                client.batch().v1().jobs().inNamespace(ns).resource(job).create();
            } catch (io.fabric8.kubernetes.client.KubernetesClientException e) {
                if (e.getCode() != 409) {
                    throw e;
                }
                // the same backup's Job exists already (a retried reconcile): its name is deterministic
            }
            events.normal(policy, "BackupStarted", "backup " + decision.startBackupId() + " started by "
                    + decision.trigger() + " (Job " + job.getMetadata().getName() + ")");
            jobs = client.batch().v1().jobs().inNamespace(ns).withLabel(BackupJobs.POLICY_LABEL, name).list()
                    .getItems();
        }
        if (decision.skipped() != null) {
            events.warning(policy, Reason.BackupSkipped.name(), decision.skipped());
        }
        if (spec.walArchiving != null && Boolean.TRUE.equals(spec.walArchiving.enabled)) {
            status.conditions = io.dbaoperator.status.Conditions.set(status.conditions,
                    io.dbaoperator.status.ConditionType.WalArchiving, false, Reason.WalArchivingUnavailable,
                    "WAL archiving is not available in this version of the operator: a restore can reach the end of a "
                            + "base backup, not any point in time", policy.getMetadata().getGeneration(), now);
        } else {
            status.conditions = io.dbaoperator.status.Conditions.remove(status.conditions,
                    io.dbaoperator.status.ConditionType.WalArchiving);
        }
        status.lastScheduleTime = decision.newLastScheduleTime();
        status.lastOnDemandRequest = decision.newLastOnDemandRequest();

        List<BackupRecord> records;
        try (S3Client s3 = S3Clients.create(storage)) {
            BackupCatalog catalog = new BackupCatalog(s3, storage, ns, name);
            records = catalog.list();
            prune(policy, status, catalog, records, now);
            records = catalog.list();
            metrics.record(ns, name, records);
            BackupStatusBuilder.apply(status, records, jobs.stream().map(BackupPolicyReconciler::outcome).toList(),
                    catalog::url, Boolean.TRUE.equals(spec.suspend), policy.getMetadata().getGeneration(), now);
        }
        ZonedDateTime next = Boolean.TRUE.equals(spec.suspend) ? null
                : schedule.next(now.atZone(ZoneOffset.UTC)).orElse(null);
        status.nextScheduleTime = next == null ? null : next.toInstant().toString();
        status.message = Boolean.TRUE.equals(spec.suspend) ? "suspended: no backups are scheduled"
                : status.lastBackup == null ? "no backup yet; next at " + status.nextScheduleTime
                        : "last backup " + status.lastBackup.backupId + " " + status.lastBackup.state + "; next at "
                                + status.nextScheduleTime;
        Duration untilNext = next == null ? Duration.ofMinutes(10) : Duration.between(now, next.toInstant());
        // while a backup runs, its Job's end arrives as an event; look again anyway in a minute for the catalog
        boolean running = records.stream().anyMatch(r -> r.state == BackupRecord.State.running
                || r.state == BackupRecord.State.uploaded) || jobs.stream().anyMatch(j -> outcome(j).active());
        Duration requeue = running && untilNext.compareTo(Duration.ofMinutes(1)) > 0 ? Duration.ofMinutes(1) : untilNext;
        return requeue.isNegative() || requeue.isZero() ? Duration.ofSeconds(1) : requeue;
    }

    /** Applies retention, reports what it removed in status and as an Event. */
    private void prune(BackupPolicy policy, BackupPolicyStatus status, BackupCatalog catalog,
            List<BackupRecord> records, Instant now) {
        var retention = policy.getSpec().retention;
        List<BackupRecord> remove = BackupRetention.toRemove(records, retention.keepLast == null ? 7 : retention.keepLast,
                Durations.parse("spec.retention.maxAge", retention.maxAge == null ? "30d" : retention.maxAge),
                retention.pinned == null ? Set.of() : Set.copyOf(retention.pinned), now);
        if (remove.isEmpty()) {
            return;
        }
        BackupPolicyStatus.PruneReport report = new BackupPolicyStatus.PruneReport();
        report.prunedAt = now.toString();
        long freed = 0;
        for (BackupRecord r : remove) {
            freed += catalog.delete(r.backupId);
            report.removed.add(r.backupId);
        }
        report.freedBytes = freed;
        status.lastPrune = report;
        events.normal(policy, "BackupsPruned", "retention removed " + report.removed.size() + " backup(s) "
                + report.removed + ", " + freed + " bytes freed");
        audit.record(policy, new io.dbaoperator.audit.AuditEvent(now, policy.getMetadata().getNamespace(),
                policy.getKind(), policy.getMetadata().getName(), policy.getMetadata().getUid(), "retention", "prune",
                "dba-operator", "succeeded", null, Map.of("removed", report.removed, "freedBytes", freed)));
    }

    static BackupStatusBuilder.JobOutcome outcome(Job job) {
        var s = job.getStatus();
        String id = job.getMetadata().getLabels().get(BackupJobs.BACKUP_ID_LABEL);
        String failedReason = s == null || s.getConditions() == null ? null : s.getConditions().stream()
                .filter(c -> "Failed".equals(c.getType()) && "True".equals(c.getStatus()))
                .map(c -> c.getReason() == null ? "Failed" : c.getReason()).findFirst().orElse(null);
        boolean complete = s != null && s.getConditions() != null && s.getConditions().stream()
                .anyMatch(c -> "Complete".equals(c.getType()) && "True".equals(c.getStatus()));
        return new BackupStatusBuilder.JobOutcome(job.getMetadata().getName(), id, failedReason == null && !complete,
                failedReason != null, failedReason);
    }
}
