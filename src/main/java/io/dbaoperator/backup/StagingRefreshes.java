package io.dbaoperator.backup;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Base64;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;

import io.dbaoperator.api.backup.BackupRestore;
import io.dbaoperator.api.backup.BackupRestoreSpec;
import io.dbaoperator.api.backup.BackupRestoreStatus;
import io.dbaoperator.api.backup.RestorePhase;
import io.dbaoperator.api.common.Phase;
import io.dbaoperator.audit.AuditEvent;
import io.dbaoperator.backup.BackupRestoreReconciler.Restoring;
import io.dbaoperator.backup.catalog.RestoreRecord;
import io.dbaoperator.kube.CronSchedule;
import io.dbaoperator.problem.Problem;
import io.dbaoperator.problem.ProblemException;
import io.dbaoperator.problem.Reason;
import io.dbaoperator.status.ConditionType;
import io.dbaoperator.status.Conditions;
import io.dbaoperator.status.ScheduledRuns;
import io.dbaoperator.status.Sizes;
import io.dbaoperator.status.Step;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;

/**
 * A staging refresh (a logical BackupRestore with {@code spec.refresh}): the same restore again and again, each run
 * into a database of its own ({@code <target.database.name>_r<N>}), masked and checked by the agent like any masked
 * restore; only then does {@link #swapping} point the staging Secret at it (the Secret written first, the previous
 * copy dropped in an {@code Act} stored after it), so the Secret never names a copy that is not masked, and a run
 * that fails leaves the previous copy serving ({@link #failed}). Between runs the resource waits ({@link #waiting})
 * for the schedule or annotation {@value #REFRESH_NOW}; each run is planned again against the newest verified
 * backup and runs under the approval already given while its digest (policy, source database, instance, names,
 * schedule, masking rules as resolved, checks) is unchanged: the gate asks again when it is not.
 */
final class StagingRefreshes {

    /** Asks for a refresh now: {@code kubectl annotate bkr NAME dbaoperator.io/refresh-now=$(date +%s) --overwrite}. */
    static final String REFRESH_NOW = "dbaoperator.io/refresh-now";
    /** On the staging Secret: the backup its copy holds, when that backup was taken, the copy's database and size. */
    static final String BACKUP_ANNOTATION = "dbaoperator.io/staging-backup-id";
    static final String BACKUP_TIME_ANNOTATION = "dbaoperator.io/staging-backup-time";
    static final String SIZE_ANNOTATION = "dbaoperator.io/staging-size-bytes";
    static final String SERVED_SINCE_ANNOTATION = "dbaoperator.io/staging-served-since";
    /** The longest base name: {@code _r} and a run number of up to six digits still fit PostgreSQL's 63 bytes. */
    static final int MAX_BASE_NAME = 55;

    private final KubernetesClient client;
    private final LogicalRestores.Target target;

    StagingRefreshes(KubernetesClient client, LogicalRestores.Target target) {
        this.client = client;
        this.target = target;
    }

    static boolean refreshing(BackupRestore restore) {
        return restore.getSpec().refresh != null;
    }

    /** Whether a staging refresh's copy serves (Ready stays True through the next run). */
    static boolean serving(BackupRestoreStatus st) {
        return st.staging != null && st.staging.serving != null;
    }

    /** The run a plan is made for: the next one. */
    static int nextRun(BackupRestoreStatus st) {
        return st.staging == null || st.staging.run == null ? 1 : st.staging.run + 1;
    }

    static String database(BackupRestore restore, int run) {
        return restore.getSpec().target.database.name + "_r" + run;
    }

    /** The database the restore writes: a refresh's run's own, else the target's name. */
    static String into(BackupRestore restore, BackupRestoreStatus st) {
        return st.staging != null && st.staging.runDatabase != null ? st.staging.runDatabase
                : restore.getSpec().target.database.name;
    }

    static String runId(BackupRestore restore, int run) {
        return RestoreJobs.restoreId(restore) + "-r" + run;
    }

    /** What a refresh refuses before anyone approves it (beside the masking rules, checked as for any restore). */
    static CronSchedule validate(BackupRestore restore, KubernetesClient client) {
        BackupRestoreSpec spec = restore.getSpec();
        BackupRestoreSpec.Refresh refresh = spec.refresh;
        if (spec.masking == null) {
            throw Problem.invalid(Reason.InvalidSpec, "spec.refresh keeps a masked staging copy: set spec.masking")
                    .exception();
        }
        if (Boolean.TRUE.equals(spec.target.database.replace)) {
            throw Problem.invalid(Reason.InvalidSpec, "spec.refresh restores each copy into a new database "
                    + "(<name>_r<N>) and drops the previous one itself: spec.target.database.replace does not apply")
                    .exception();
        }
        if (spec.target.database.name.length() > MAX_BASE_NAME) {
            throw Problem.invalid(Reason.InvalidSpec, "spec.target.database.name is at most " + MAX_BASE_NAME
                    + " characters with spec.refresh: each copy is named <name>_r<N> within PostgreSQL's 63")
                    .exception();
        }
        String secret = refresh.stagingSecretRef == null ? null : refresh.stagingSecretRef.name;
        if (secret == null || secret.isBlank()) {
            throw Problem.invalid(Reason.InvalidSpec, "spec.refresh.stagingSecretRef.name is required").exception();
        }
        if (secret.equals(spec.target.database.databaseRef.secretRef.name)) {
            throw Problem.invalid(Reason.InvalidSpec, "spec.refresh.stagingSecretRef names the target instance's own "
                    + "Secret " + secret + ", which the refresh would overwrite: name a Secret of its own").exception();
        }
        BackupRestoreReconciler.notTaken(restore, client.secrets().inNamespace(restore.getMetadata().getNamespace())
                .withName(secret).get(), "Secret", "the refresh writes the staging Secret itself; name another in "
                        + "spec.refresh.stagingSecretRef (the applications' stagingDatabase then names it)");
        return CronSchedule.parse("spec.refresh.schedule", refresh.schedule, refresh.timeZone);
    }

    /**
     * What the approval of a refresh binds: the refresh itself (everything but the data, which is the newest verified
     * backup each time); the caller adds the masking rules as resolved, the checks and the target.
     */
    static Map<String, Object> bound(BackupRestore restore, String sourceDatabase, String hosts) {
        BackupRestoreSpec.Refresh refresh = restore.getSpec().refresh;
        Map<String, Object> bound = new LinkedHashMap<>();
        bound.put("refresh", Map.of("schedule", refresh.schedule, "timeZone", refresh.timeZone == null ? "UTC"
                : refresh.timeZone, "stagingSecret", refresh.stagingSecretRef.name));
        bound.put("sourceDatabase", sourceDatabase);
        bound.put("instance", hosts);
        bound.put("copies", restore.getSpec().target.database.name + "_r<N>");
        return bound;
    }

    /** The plan's words for a refresh. */
    static String describe(BackupRestore restore, String backupId, String source, String into, String hosts) {
        BackupRestoreSpec.Refresh refresh = restore.getSpec().refresh;
        return "refresh the masked staging copy: the newest verified logical backup of database " + source
                + " (now " + backupId + ") into new database " + into + " on " + hosts + ", masked and checked, then "
                + "Secret " + refresh.stagingSecretRef.name + " points at it and the previous copy is dropped; again "
                + "on schedule '" + refresh.schedule + "' (" + (refresh.timeZone == null ? "UTC" : refresh.timeZone)
                + ") under this approval while the rules stay as approved";
    }

    /** Approved (or unchanged since the approval): the run starts; its Job is made once this status is stored. */
    static void begin(BackupRestore restore, BackupRestoreStatus st, Instant now) {
        int run = nextRun(st);
        if (st.staging == null) {
            st.staging = new BackupRestoreStatus.Staging();
        }
        st.staging.secret = restore.getSpec().refresh.stagingSecretRef.name;
        st.staging.run = run;
        st.staging.runDatabase = database(restore, run);
        st.staging.nextRefreshTime = null;
        st.restoreId = runId(restore, run);
        st.job = null;
        st.progress = "refresh r" + run + " approved; creating its Job";
        st.conditions = Conditions.set(st.conditions, ConditionType.StagingRefreshed,
                st.staging.serving != null, Reason.StagingRefreshing, "refresh r" + run + " restores backup "
                        + st.plan.backupId + " into " + st.staging.runDatabase + (st.staging.serving == null ? ""
                                : "; " + st.staging.serving + " serves meanwhile"),
                BackupRestoreReconciler.generation(restore), now);
    }

    static String jobName(BackupRestore restore, BackupRestoreStatus st) {
        return st.staging == null || st.staging.run == null ? RestoreJobs.jobName(restore.getMetadata().getName())
                : RestoreJobs.jobName(restore.getMetadata().getName() + "-r" + st.staging.run);
    }

    /**
     * Entered with the run's copy restored, masked and checked (status stored): the staging Secret is pointed at it,
     * then, in an Act stored first, the previous copy is dropped. Each part again after a crash does the same.
     */
    Step swapping(Restoring r) {
        BackupRestore restore = r.restore();
        BackupRestoreStatus st = r.st();
        BackupRestoreStatus.Staging s = st.staging;
        if (!s.runDatabase.equals(s.serving)) {
            LogicalRestores.TargetState copy = target.inspect(r.in().target(), s.runDatabase);
            if (!copy.exists()) {
                // dropped by someone since the agent made it: this run cannot serve it, the next makes another
                return failed(r, "its copy " + s.runDatabase + " is gone from " + r.in().target().hosts()
                        + " before the staging Secret pointed at it", Reason.StagingRefreshFailed);
            }
            Instant now = Instant.now();
            // the copy says what it holds, for whoever connects (a migration's rehearsal records it)
            target.comment(r.in().target(), s.runDatabase, io.dbaoperator.contract.StagingCopies.comment(
                    st.plan.backupId, st.plan.backupEnd, restore.getMetadata().getNamespace(),
                    restore.getMetadata().getName(), s.run));
            writeSecret(restore, r.in().target().hosts(), s.runDatabase, st.plan, copy.bytes(), now);
            s.retiring = s.serving;
            s.serving = s.runDatabase;
            s.servingBackupId = st.plan.backupId;
            s.servingBackupTime = st.plan.backupEnd;
            s.servingSizeBytes = copy.bytes();
            s.servedSince = now.toString();
            st.progress = "Secret " + s.secret + " points at " + s.serving + (s.retiring == null ? ""
                    : "; dropping the previous copy " + s.retiring);
        }
        if (s.retiring != null) {
            String retiring = s.retiring;
            return Step.act(() -> {
                target.drop(r.in().target(), retiring);
                s.retiring = null;
                return served(r, retiring);
            });
        }
        return served(r, null);
    }

    private Step served(Restoring r, String dropped) {
        BackupRestore restore = r.restore();
        BackupRestoreStatus st = r.st();
        BackupRestoreStatus.Staging s = st.staging;
        Instant now = Instant.now();
        s.runDatabase = null;
        s.last = last(st, "Served", "copy " + s.serving + " of backup " + s.servingBackupId + " (taken "
                + s.servingBackupTime + ", " + Sizes.human(s.servingSizeBytes == null ? 0 : s.servingSizeBytes)
                + ") masked, checked and served by Secret " + s.secret + (dropped == null ? ""
                        : "; the previous copy " + dropped + " was dropped"), now);
        st.phase = Phase.move(st.phase, RestorePhase.Waiting);
        st.progress = null;
        s.nextRefreshTime = next(r, now);
        st.message = "staging: " + s.last.message + "; next refresh " + s.nextRefreshTime;
        st.conditions = Conditions.set(st.conditions, ConditionType.StagingRefreshed, true, Reason.StagingRefreshed,
                "refresh r" + s.run + ": " + s.last.message, BackupRestoreReconciler.generation(restore), now);
        BackupRestoreReconciler.ready(restore, st, true, Reason.StagingRefreshed, "Secret " + s.secret + " serves "
                + "the masked copy " + s.serving + " of backup " + s.servingBackupId);
        Map<String, Object> details = new LinkedHashMap<>();
        details.put("run", s.run);
        details.put("database", s.serving);
        details.put("backupId", s.servingBackupId);
        details.put("secret", s.secret);
        details.put("sizeBytes", s.servingSizeBytes);
        details.put("dropped", dropped);
        details.put("approval", st.restoredUnder);
        r.log().executed(AuditEvent.byOperator(restore, "staging-refresh", BackupRestoreReconciler.STEP, "served",
                null, details), "staging-refresh/served/" + s.run);
        return Step.rest(ScheduledRuns.untilNext(s.nextRefreshTime, now));
    }

    /** A run that failed: nothing swapped (the agent dropped what it created); the previous copy still serves. */
    Step failed(Restoring r, String why, Reason reason) {
        BackupRestore restore = r.restore();
        BackupRestoreStatus st = r.st();
        BackupRestoreStatus.Staging s = st.staging;
        Instant now = Instant.now();
        String failedDb = s.runDatabase;
        s.runDatabase = null;
        s.last = last(st, "Failed", "refresh r" + s.run + " failed: " + why + "; " + (s.serving == null
                ? "no copy is served yet" : s.serving + " still serves (Secret " + s.secret + " unchanged)"), now);
        st.phase = Phase.move(st.phase, RestorePhase.Waiting);
        st.progress = null;
        s.nextRefreshTime = next(r, now);
        st.message = "staging: " + s.last.message + "; next refresh " + s.nextRefreshTime;
        st.conditions = Conditions.set(st.conditions, ConditionType.StagingRefreshed, false, reason, s.last.message,
                BackupRestoreReconciler.generation(restore), now);
        if (s.serving == null) {
            BackupRestoreReconciler.ready(restore, st, false, Reason.StagingRefreshFailed, s.last.message);
        }
        r.log().executed(AuditEvent.byOperator(restore, "staging-refresh", BackupRestoreReconciler.STEP, "failed",
                null, Map.of("run", s.run, "database", failedDb == null ? "" : failedDb, "reason", why)),
                "staging-refresh/failed/" + s.run);
        return Step.rest(ScheduledRuns.untilNext(s.nextRefreshTime, now));
    }

    /**
     * Between runs: the next is due (or asked for) and planned like the first ({@code plan}: the AwaitingApproval
     * handler, which passes at once while the approval's digest holds); a plan that cannot be made now (no verified
     * backup, the instance not answering) is this run's failure, and the next is waited for.
     */
    Step waiting(Restoring r, java.util.function.Function<Restoring, Step> plan) {
        BackupRestore restore = r.restore();
        BackupRestoreStatus st = r.st();
        BackupRestoreStatus.Staging s = st.staging;
        Instant now = Instant.now();
        if (s.nextRefreshTime == null) {
            s.nextRefreshTime = next(r, now);
        }
        boolean asked = ScheduledRuns.asked(restore, REFRESH_NOW, st.lastRefreshRequest);
        if (!asked && Instant.parse(s.nextRefreshTime).isAfter(now)) {
            return Step.rest(ScheduledRuns.untilNext(s.nextRefreshTime, now));
        }
        if (asked) {
            st.lastRefreshRequest = restore.getMetadata().getAnnotations().get(REFRESH_NOW);
        }
        s.nextRefreshTime = null;
        try {
            return plan.apply(r);
        } catch (ProblemException e) {
            if (st.phase != RestorePhase.Waiting) {
                throw e;
            }
            s.run = nextRun(st);
            return failed(r, "it could not be planned: " + e.problem().message(), e.problem().reason());
        }
    }

    private static BackupRestoreStatus.LastRefresh last(BackupRestoreStatus st, String outcome, String message,
            Instant now) {
        var l = new BackupRestoreStatus.LastRefresh();
        l.run = st.staging.run;
        l.outcome = outcome;
        l.backupId = st.plan == null ? null : st.plan.backupId;
        l.startedAt = st.restoreStartedAt;
        l.completedAt = now.toString();
        l.message = message;
        return l;
    }

    private static String next(Restoring r, Instant now) {
        return r.in().refreshSchedule().next(now.atZone(ZoneOffset.UTC)).map(t -> t.toInstant().toString())
                .orElse(now.plus(Duration.ofDays(3650)).toString());
    }

    /**
     * The staging Secret: the target instance's Secret's keys with {@code dbname} (and a {@code uri}'s database) the
     * copy's, owned by the restore, annotated with what the copy holds. Created, or replaced when it is ours.
     */
    private void writeSecret(BackupRestore restore, String hosts, String database,
            BackupRestoreStatus.RestorePlan plan, long bytes, Instant now) {
        String ns = restore.getMetadata().getNamespace();
        String name = restore.getSpec().refresh.stagingSecretRef.name;
        Secret instance = client.secrets().inNamespace(ns)
                .withName(restore.getSpec().target.database.databaseRef.secretRef.name).get();
        if (instance == null || instance.getData() == null) {
            throw Problem.invalid(Reason.SecretNotFound, "the target instance's Secret "
                    + restore.getSpec().target.database.databaseRef.secretRef.name + " is gone: the staging Secret "
                    + "is written from it").exception();
        }
        Map<String, String> data = new HashMap<>(instance.getData());
        data.put("dbname", b64(database));
        if (data.containsKey("uri")) {
            String uri = new String(Base64.getDecoder().decode(data.get("uri")), StandardCharsets.UTF_8);
            data.put("uri", b64(uri.replaceFirst("^(postgres(?:ql)?://[^/?]+)(/[^?]*)?", "$1/"
                    + java.util.regex.Matcher.quoteReplacement(database))));
        }
        Map<String, String> annotations = new LinkedHashMap<>();
        annotations.put(BACKUP_ANNOTATION, plan.backupId);
        annotations.put(BACKUP_TIME_ANNOTATION, plan.backupEnd == null ? "" : plan.backupEnd);
        annotations.put(SIZE_ANNOTATION, String.valueOf(bytes));
        annotations.put(SERVED_SINCE_ANNOTATION, now.toString());
        Secret secret = new SecretBuilder().withNewMetadata().withName(name).withNamespace(ns)
                .withLabels(RestoreJobs.labels("staging", RestoreJobs.RESTORE_LABEL, restore.getMetadata().getName()))
                .withAnnotations(annotations).withOwnerReferences(RestoreJobs.owner(restore)).endMetadata()
                .withType("Opaque").withData(data).build();
        // create, or edit (get and patch: the operator's role has no update on Secrets) the one this restore owns
        if (client.secrets().inNamespace(ns).withName(name).get() == null) {
            client.secrets().inNamespace(ns).resource(secret).create();
        } else {
            client.secrets().inNamespace(ns).withName(name).edit(existing -> {
                existing.setData(data);
                Map<String, String> merged = new HashMap<>(existing.getMetadata().getAnnotations() == null
                        ? Map.of() : existing.getMetadata().getAnnotations());
                merged.putAll(annotations);
                existing.getMetadata().setAnnotations(merged);
                return existing;
            });
        }
    }

    private static String b64(String s) {
        return Base64.getEncoder().encodeToString(s.getBytes(StandardCharsets.UTF_8));
    }
}
