package io.dbaoperator.backup;

import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;

import io.dbaoperator.api.backup.BackupPolicy;
import io.dbaoperator.api.backup.BackupPolicyStatus;
import io.dbaoperator.backup.catalog.BackupCatalog;
import io.dbaoperator.backup.catalog.BackupRecord;
import io.dbaoperator.backup.catalog.RestoreRecord;
import io.dbaoperator.kube.CronSchedule;
import io.dbaoperator.kube.EventRecorder;
import io.dbaoperator.kube.Owned;
import io.dbaoperator.postgres.ConnectionSettings;
import io.dbaoperator.problem.Reason;
import io.dbaoperator.status.ConditionType;
import io.dbaoperator.status.Conditions;
import io.dbaoperator.status.Step;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.client.KubernetesClient;

/**
 * A policy's scheduled restore tests (spec.verification.restoreTest): on its schedule, or when
 * {@code dbaoperator.io/restore-test-now} changes, a Job restores the newest verified backup to its end on scratch
 * space with the same agent a BackupRestore uses, runs pg_amcheck and the checks, and keeps nothing; a logical
 * policy's dumps go into a scratch PostgreSQL the Job starts, and the checks run in the policy's database there. No approval:
 * nothing is served and production is not touched. The outcome is the condition RestoreTestPassed (with the backup,
 * the measured time to restore, and the failed check), {@code status.lastRestoreTest}, and the metrics in
 * {@link BackupMetrics}. A missed schedule runs once, not once per missed time.
 */
final class RestoreTests {

    static final String RESTORE_TEST_NOW = "dbaoperator.io/restore-test-now";

    /** The event source of the restore tests' Jobs in the policy's controller. */
    static final String JOBS = "restore-test-jobs";

    private final KubernetesClient client;
    private final EventRecorder events;
    private final BackupMetrics metrics;
    private final String agentImage;

    RestoreTests(KubernetesClient client, EventRecorder events, BackupMetrics metrics, String agentImage) {
        this.client = client;
        this.events = events;
        this.metrics = metrics;
        this.agentImage = agentImage;
    }

    /**
     * Starts or follows the restore test ({@code jobs}: its Jobs, from their informer); returns when to look again.
     * Decide, persist, act: the test being started (its id, Job and backup, and the request or schedule time it
     * consumes) is stored before its Job is created, so a 409 or a crash in between never starts a second test.
     */
    Step apply(BackupPolicy policy, BackupPolicyStatus status, BackupCatalog catalog, List<BackupRecord> records,
            ConnectionSettings db, Instant now, Owned<Job> jobs) {
        var spec = policy.getSpec();
        var test = spec.verification == null ? null : spec.verification.restoreTest;
        String ns = policy.getMetadata().getNamespace();
        if (test == null) {
            status.nextRestoreTestTime = null;
            status.conditions = Conditions.remove(status.conditions, ConditionType.RestoreTestPassed);
            return Step.onEvent();
        }
        CronSchedule schedule = CronSchedule.parse("spec.verification.restoreTest.schedule", test.schedule,
                spec.timeZone);
        BackupPolicyStatus.RestoreTestInfo last = status.lastRestoreTest;
        if (last != null && last.passed == null && jobs.named(last.job).isEmpty()
                && catalog.readRestore(last.restoreId) == null) {
            // stored as started by a reconcile that ended (a 409, a crash) before its Job existed: make it now
            return Step.act(() -> {
                jobs.create(testJob(policy, last, db));
                events.normal(policy, "RestoreTestStarted", last.message + " (a recorded start)");
                return Step.next();
            });
        }
        if (last != null && last.passed == null) {
            Duration d = follow(policy, status, catalog, last, db, now, jobs);
            if (d != null) {
                return Step.rest(d);
            }
        }
        Map<String, String> annotations = policy.getMetadata().getAnnotations();
        String asked = annotations == null ? null : annotations.get(RESTORE_TEST_NOW);
        boolean requested = asked != null && !asked.equals(status.lastRestoreTestRequest);
        Instant since = status.lastRestoreTestScheduleTime != null ? Instant.parse(status.lastRestoreTestScheduleTime)
                : Instant.parse(policy.getMetadata().getCreationTimestamp());
        Instant due = schedule.next(since.atZone(ZoneOffset.UTC)).map(z -> z.toInstant()).orElse(null);
        boolean scheduled = due != null && !due.isAfter(now) && !Boolean.TRUE.equals(spec.suspend);
        Instant next = schedule.next(now.atZone(ZoneOffset.UTC)).map(z -> z.toInstant()).orElse(null);
        status.nextRestoreTestTime = next == null ? null : next.toString();
        if (requested || scheduled) {
            if (requested) {
                status.lastRestoreTestRequest = asked;
            }
            if (scheduled) {
                status.lastRestoreTestScheduleTime = now.toString();
            }
            BackupRecord newest = records.stream().filter(r -> r.state == BackupRecord.State.verified).findFirst()
                    .orElse(null);
            if (newest == null) {
                events.normal(policy, "RestoreTestSkipped", "no verified backup to test yet");
            } else {
                return start(policy, status, newest, db, now, jobs);
            }
        }
        return Step.rest(next == null ? null : Duration.between(now, next).plusMillis(200));
    }

    /** The test decided and stored (with the request or schedule time it consumes), then its Job. */
    private Step start(BackupPolicy policy, BackupPolicyStatus status, BackupRecord backup, ConnectionSettings db,
            Instant now, Owned<Job> jobs) {
        String restoreId = "test-" + BackupJobs.backupId(now).toLowerCase(java.util.Locale.ROOT);
        BackupPolicyStatus.RestoreTestInfo info = new BackupPolicyStatus.RestoreTestInfo();
        info.restoreId = restoreId;
        info.job = RestoreJobs.testJobName(policy.getMetadata().getName(), restoreId);
        info.backupId = backup.backupId;
        info.startedAt = now.toString();
        info.message = "restoring backup " + backup.backupId + " to its end on scratch space (Job " + info.job + ")";
        status.lastRestoreTest = info;
        return Step.act(() -> {
            jobs.create(testJob(policy, info, db));
            events.normal(policy, "RestoreTestStarted", info.message);
            return Step.next(); // decided again: the policy's status, with the test following its Job
        });
    }

    private Job testJob(BackupPolicy policy, BackupPolicyStatus.RestoreTestInfo info, ConnectionSettings db) {
        return RestoreJobs.restoreTestJob(policy, info.restoreId, info.backupId, db.dbname(), db.user(), agentImage);
    }

    private Duration follow(BackupPolicy policy, BackupPolicyStatus status, BackupCatalog catalog,
            BackupPolicyStatus.RestoreTestInfo info, ConnectionSettings db, Instant now,
            Owned<Job> jobs) {
        String ns = policy.getMetadata().getNamespace();
        Job job = jobs.named(info.job).orElse(null);
        RestoreRecord record = catalog.readRestore(info.restoreId);
        var outcome = AgentJobs.outcome(job);
        if (job != null && outcome.active()) {
            return Duration.ofSeconds(3);
        }
        info.completedAt = now.toString();
        info.checks = AgentJobs.checkResults(record);
        boolean passed = job != null && !outcome.failed() && record != null
                && record.state == RestoreRecord.State.succeeded;
        info.passed = passed;
        long generation = policy.getMetadata().getGeneration() == null ? 0 : policy.getMetadata().getGeneration();
        if (passed) {
            info.restoreSeconds = record.timings.totalSeconds;
            info.message = "backup " + info.backupId + ("logical".equals(record.method)
                    ? " restored into a scratch instance (" + record.tableCount + " table(s) in " + db.dbname()
                            + ") and checked in " : " restored, promoted and checked in ") + info.restoreSeconds
                    + " s (" + info.checks.size() + " check(s) passed)";
            status.conditions = Conditions.set(status.conditions, ConditionType.RestoreTestPassed, true,
                    Reason.RestoreTestPassed, info.message, generation, now);
        } else {
            String why = AgentJobs.whyRestoreFailed(client, info.job, job, record);
            info.message = "backup " + info.backupId + " did not restore: " + why;
            status.conditions = Conditions.set(status.conditions, ConditionType.RestoreTestPassed, false,
                    Reason.RestoreTestFailed, info.message, generation, now);
        }
        metrics.restoreTest(ns, policy.getMetadata().getName(), passed, info.restoreSeconds, now);
        return null;
    }
}
