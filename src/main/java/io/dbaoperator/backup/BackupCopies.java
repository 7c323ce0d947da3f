package io.dbaoperator.backup;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

import io.dbaoperator.api.backup.BackupPolicy;
import io.dbaoperator.api.backup.BackupPolicySpec;
import io.dbaoperator.api.backup.BackupPolicyStatus;
import io.dbaoperator.api.backup.BackupPolicyStatus.CopyInfo;
import io.dbaoperator.audit.AuditEvent;
import io.dbaoperator.audit.AuditLog;
import io.dbaoperator.backup.catalog.BackupCatalog;
import io.dbaoperator.backup.catalog.BackupRecord;
import io.dbaoperator.kube.EventRecorder;
import io.dbaoperator.kube.Owned;
import io.dbaoperator.problem.Reason;
import io.dbaoperator.status.Step;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.client.KubernetesClient;

/**
 * A policy's copies (spec.copies): the offsite copy and the archive class of each backup, made by one Job at a time
 * ({@link CopyJobs}), and the offsite storage's own retention. Every change is an act whose decision is stored
 * first: the copy to make ({@code status.copying}, before its Job exists: a restart makes the same Job, never a
 * second one), and the offsite backups retention removes ({@code status.offsite.lastPrune}). A copy counts only on
 * the catalog's evidence: the primary's record names the offsite copy (written by the Job after the copy's own record
 * exists and every object's SHA-256 was read back), or shows the archive class (written after a HEAD of every object
 * showed it); a Job that ended without that evidence is a failure, with its last words.
 */
final class BackupCopies {

    /** The event source of the policy's copy Jobs. */
    static final String JOBS = "copy-jobs";
    /** How often the offsite catalog is read (and after each copy). */
    static final Duration SURVEY_EVERY = Duration.ofMinutes(10);

    private final KubernetesClient client;
    private final EventRecorder events;
    private final AuditLog audit;
    private final String agentImage;

    BackupCopies(KubernetesClient client, EventRecorder events, AuditLog audit, String agentImage) {
        this.client = client;
        this.events = events;
        this.audit = audit;
        this.agentImage = agentImage;
    }

    /** What to change now, as an act; null when the copies are as they should be. */
    Step keep(Tending t) {
        BackupPolicy policy = t.policy();
        BackupPolicyStatus st = t.status();
        BackupPolicySpec.Copies copies = policy.getSpec().copies;
        Owned<Job> jobs = t.copyJobs();
        if (st.copying != null) {
            CopyInfo c = st.copying;
            Job job = jobs.named(c.job).orElse(null);
            if (job == null && copies != null && !shown(t.catalog().read(c.backupId), c)) {
                // decided and stored by an earlier reconcile that ended (a crash, a 409) before its Job existed; a
                // Job that ran and expired while nobody looked left its evidence, and is not made again
                return Step.act(() -> {
                    create(t, c);
                    return Step.next();
                });
            }
            if (job != null && AgentJobs.outcome(job).active()) {
                return null; // its end arrives through the Job informer
            }
            finish(t, c, job);
        }
        if (copies == null) {
            st.offsite = null;
            return null;
        }
        if (copies.offsite == null) {
            st.offsite = null;
        } else {
            Step prune = offsite(t);
            if (prune != null) {
                return prune;
            }
        }
        Set<String> blocked = jobs.list().stream().map(j -> j.getMetadata().getLabels() == null ? null
                : j.getMetadata().getLabels().get(BackupJobs.BACKUP_ID_LABEL)).filter(id -> id != null)
                .collect(Collectors.toSet());
        CopyPlanner.Due due = CopyPlanner.next(copies, t.retained().records(), blocked, t.now());
        if (due == null) {
            return null;
        }
        CopyInfo c = new CopyInfo();
        c.backupId = due.backupId();
        c.job = CopyJobs.jobName(policy.getMetadata().getName(), due.backupId());
        c.offsite = due.offsite();
        c.archiveClass = due.archiveClass();
        c.decidedAt = t.now().toString();
        c.message = "copying backup " + c.backupId + describe(c, policy.getSpec());
        st.copying = c;
        return Step.act(() -> {
            create(t, c);
            return Step.next();
        });
    }

    private void create(Tending t, CopyInfo c) {
        Job job = t.copyJobs().create(CopyJobs.build(t.policy(), new CopyPlanner.Due(c.backupId,
                Boolean.TRUE.equals(c.offsite), c.archiveClass), agentImage));
        events.normal(t.policy(), "CopyStarted", c.message + " (Job " + job.getMetadata().getName() + ")");
    }

    private static String describe(CopyInfo c, BackupPolicySpec spec) {
        String to = Boolean.TRUE.equals(c.offsite) ? " to the offsite storage s3://" + spec.copies.offsite.storage.bucket
                + "/" + (spec.copies.offsite.storage.prefix == null ? "" : spec.copies.offsite.storage.prefix) : "";
        return to + (c.archiveClass == null ? "" : (to.isEmpty() ? "" : " and") + " into storage class "
                + c.archiveClass);
    }

    /** Whether the catalog shows every copy {@code c} asked for. */
    private static boolean shown(BackupRecord r, CopyInfo c) {
        return r != null && (!Boolean.TRUE.equals(c.offsite) || r.offsite != null)
                && (c.archiveClass == null || c.archiveClass.equals(r.storageClass));
    }

    /** The Job ended (or is gone): the copy's outcome, from the catalog's evidence. */
    private void finish(Tending t, CopyInfo c, Job job) {
        BackupPolicy policy = t.policy();
        BackupPolicyStatus st = t.status();
        BackupRecord r = t.catalog().read(c.backupId);
        boolean offsiteShown = !Boolean.TRUE.equals(c.offsite) || r != null && r.offsite != null;
        boolean archiveShown = c.archiveClass == null || r != null && c.archiveClass.equals(r.storageClass);
        var outcome = AgentJobs.outcome(job);
        c.completedAt = t.now().toString();
        c.succeeded = (job == null || !outcome.failed()) && shown(r, c);
        if (c.succeeded) {
            c.message = "backup " + c.backupId + (Boolean.TRUE.equals(c.offsite) ? " copied to " + r.offsite.url
                    + " (" + r.objects.size() + " object(s), each read back there with its SHA-256 checked)" : "")
                    + (c.archiveClass == null ? "" : (Boolean.TRUE.equals(c.offsite) ? "; its objects" : " moved")
                            + " in storage class " + c.archiveClass);
            events.normal(policy, Reason.BackupCopied.name(), c.message);
            if (st.offsite != null) {
                st.offsite.surveyedAt = null; // read the offsite catalog again now
            }
            t.forgetRecords();
        } else {
            String why = job == null ? "its Job " + c.job + " is gone (deleted, or spec.copies removed before it "
                    + "ran)"
                    : outcome.failed() ? AgentJobs.outcomeWithCause(client, job).failureReason()
                            : "the Job completed, but the catalog shows no " + (!offsiteShown ? "offsite copy" : "")
                                    + (!offsiteShown && !archiveShown ? " and no " : "")
                                    + (!archiveShown ? "storage class " + c.archiveClass : "");
            c.message = "copy of backup " + c.backupId + " failed: " + why + "; tried again once Job " + c.job
                    + " expires (" + CopyJobs.TTL_SECONDS / 60 + " minutes after it ended) or is deleted; "
                    + "retention keeps the backup until its offsite copy exists";
            events.warning(policy, Reason.CopyFailed.name(), c.message);
        }
        st.lastCopy = c;
        st.copying = null;
    }

    /**
     * The offsite catalog, read every {@link #SURVEY_EVERY} and after each copy: what it holds and which rules of
     * the offsite retention keep each; what none keeps goes, as an act whose decision is stored first.
     */
    private Step offsite(Tending t) {
        BackupPolicy policy = t.policy();
        BackupPolicyStatus st = t.status();
        BackupPolicySpec spec = policy.getSpec();
        BackupPolicyStatus.OffsiteInfo o = st.offsite == null ? new BackupPolicyStatus.OffsiteInfo() : st.offsite;
        st.offsite = o;
        if (t.in().offsiteProblem() != null) {
            if (!t.in().offsiteProblem().equals(o.error)) {
                events.warning(policy, Reason.OffsiteUnreachable.name(), "the offsite storage cannot be used: "
                        + t.in().offsiteProblem() + "; backups go on, copies wait");
            }
            o.error = t.in().offsiteProblem();
            return null;
        }
        boolean unfinishedPrune = o.lastPrune != null && o.lastPrune.prunedAt == null;
        if (!unfinishedPrune && o.surveyedAt != null && Duration.between(Instant.parse(o.surveyedAt), t.now()).compareTo(SURVEY_EVERY) < 0) {
            return null;
        }
        BackupCatalog there = t.offsite();
        List<BackupRecord> records;
        try {
            records = there.list();
        } catch (software.amazon.awssdk.core.exception.SdkException e) {
            o.error = "the offsite catalog at " + there.baseUrl() + " could not be read: " + e.getMessage();
            o.surveyedAt = t.now().toString();
            return null;
        }
        o.error = null;
        o.location = there.baseUrl();
        o.surveyedAt = t.now().toString();
        List<BackupRetention.Verdict> verdicts = BackupRetention.decide(records, RetentionPass.rules(
                spec.copies.offsite.retention, spec.timeZone), t.now());
        o.backups = verdicts.stream().filter(BackupRetention.Verdict::kept).map(v -> {
            var b = new BackupPolicyStatus.OffsiteBackup();
            b.backupId = v.record().backupId;
            b.copiedAt = v.record().copiedAt;
            b.storageClass = v.record().storageClass;
            b.keptBy = v.keptBy();
            return b;
        }).toList();
        List<String> remove = verdicts.stream().filter(v -> !v.kept()).map(v -> v.record().backupId).toList();
        if (remove.isEmpty()) {
            return null;
        }
        BackupPolicyStatus.PruneReport report = new BackupPolicyStatus.PruneReport();
        report.decidedAt = t.now().toString();
        report.removed.addAll(remove);
        o.lastPrune = report;
        return Step.act(() -> {
            long freed = 0;
            for (String id : remove) {
                freed += there.delete(id);
            }
            report.freedBytes = freed;
            report.prunedAt = Instant.now().toString();
            events.normal(policy, "OffsiteCopiesPruned", "offsite retention removed " + remove.size() + " copy(ies) "
                    + remove + " from " + there.baseUrl() + ", " + freed + " bytes freed");
            audit.record(policy, AuditEvent.byOperator(t.now(), policy, "retention", "prune-offsite", "succeeded",
                    null, Map.of("removed", remove, "location", there.baseUrl(), "freedBytes", freed)));
            return Step.next();
        });
    }
}
