package io.dbaoperator.backup;

import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.util.List;
import java.util.Map;
import java.util.Set;

import io.dbaoperator.api.backup.BackupPolicy;
import io.dbaoperator.api.backup.BackupPolicySpec;
import io.dbaoperator.api.backup.BackupPolicyStatus;
import io.dbaoperator.audit.AuditEvent;
import io.dbaoperator.audit.AuditLog;
import io.dbaoperator.backup.catalog.BackupCatalog;
import io.dbaoperator.backup.catalog.BackupRecord;
import io.dbaoperator.kube.Durations;
import io.dbaoperator.kube.EventRecorder;
import io.dbaoperator.status.Step;

/**
 * Retention over a policy's bucket: the backups no rule keeps ({@link BackupRetention}) and the archived WAL older
 * than the recovery window needs ({@link BackupRetention#walKeptFrom}) are deleted, as an act whose decision is
 * stored first; what went is in status ({@code lastPrune}), an Event and the audit store.
 */
final class RetentionPass {

    /** Retention's verdict on each backup, newest first, and where archived WAL must start. */
    record Result(List<BackupRetention.Verdict> verdicts, String walKeptFrom) {
        /** The verdicts of the backups kept. */
        List<BackupRetention.Verdict> kept() {
            return verdicts.stream().filter(BackupRetention.Verdict::kept).toList();
        }

        List<BackupRecord> records() {
            return kept().stream().map(BackupRetention.Verdict::record).toList();
        }
    }

    private final EventRecorder events;
    private final AuditLog audit;

    RetentionPass(EventRecorder events, AuditLog audit) {
        this.events = events;
        this.audit = audit;
    }

    /** Retention's verdict on every backup ({@code records}: newest first), and where archived WAL must start. Pure. */
    static Result verdicts(BackupPolicySpec spec, List<BackupRecord> records, Instant now) {
        // a verified backup waits for its offsite copy (spec.copies.offsite) before retention may remove it here
        List<BackupRetention.Verdict> verdicts = BackupRetention.decide(records, rules(spec), now).stream()
                .map(v -> v.kept() || !CopyPlanner.awaitingOffsite(spec.copies, v.record()) ? v
                        : new BackupRetention.Verdict(v.record(), List.of(CopyPlanner.AWAITING_OFFSITE), null))
                .toList();
        String walFrom = BackupRetention.walKeptFrom(verdicts.stream().filter(BackupRetention.Verdict::kept)
                .map(BackupRetention.Verdict::record).toList(), recoveryWindow(spec), now);
        return new Result(verdicts, walFrom);
    }

    /**
     * The deletions retention asks for, as an act: what goes (backups no rule keeps, archived WAL before where the
     * kept backups and the recovery window need it) is decided from the bucket and stored in status.lastPrune
     * first; then the objects are deleted, and an Event and the audit store say so. Null when nothing is to go.
     * Deciding again after a crash finds the same (or fewer) objects: the bucket is the record.
     */
    Step prune(Tending t) {
        BackupPolicy policy = t.policy();
        BackupCatalog catalog = t.catalog();
        Instant now = t.now();
        Result result = t.retained();
        List<BackupRecord> remove = result.verdicts().stream().filter(v -> !v.kept())
                .map(BackupRetention.Verdict::record).toList();
        String walFrom = result.walKeptFrom();
        List<BackupCatalog.WalObject> wal = walFrom == null ? List.of() : catalog.walSegmentsBefore(walFrom);
        if (remove.isEmpty() && wal.isEmpty()) {
            return null;
        }
        BackupPolicyStatus.PruneReport report = new BackupPolicyStatus.PruneReport();
        report.decidedAt = now.toString();
        remove.forEach(r -> report.removed.add(r.backupId));
        if (!wal.isEmpty()) {
            report.walSegmentsRemoved = wal.size();
            report.walKeptFrom = walFrom;
        }
        t.status().lastPrune = report;
        return Step.act(() -> {
            long freed = 0;
            for (BackupRecord r : remove) {
                freed += catalog.delete(r.backupId);
            }
            if (!wal.isEmpty()) {
                freed += catalog.deleteWal(wal);
            }
            report.freedBytes = freed;
            report.prunedAt = java.time.Instant.now().toString();
            t.forgetRecords();
            events.normal(policy, "BackupsPruned", "retention removed " + report.removed.size() + " backup(s) "
                    + report.removed + (wal.isEmpty() ? "" : " and " + wal.size() + " archived WAL segment(s) "
                            + "before " + walFrom + " (the recovery window starts there)") + ", " + freed
                    + " bytes freed");
            audit.record(policy, AuditEvent.byOperator(now, policy, "retention", "prune", "succeeded", null,
                    Map.of("removed", report.removed, "walSegmentsRemoved", wal.size(), "walKeptFrom",
                            walFrom == null ? "" : walFrom, "freedBytes", freed)));
            return Step.next();
        });
    }

    /** The policy's retention rules, in its time zone. */
    static BackupRetention.Rules rules(BackupPolicySpec spec) {
        return rules(spec.retention, spec.timeZone, "spec.retention.maxAge");
    }

    /** The rules of {@code retention} (the policy's, or its offsite copies'), in {@code timeZone}. */
    static BackupRetention.Rules rules(BackupPolicySpec.Retention retention, String timeZone) {
        return rules(retention, timeZone, "spec.copies.offsite.retention.maxAge");
    }

    private static BackupRetention.Rules rules(BackupPolicySpec.Retention retention, String timeZone, String field) {
        return new BackupRetention.Rules(retention.keepLast == null ? 7 : retention.keepLast, Durations.parse(field,
                retention.maxAge == null ? "30d" : retention.maxAge), retention.keepDaily, retention.keepWeekly,
                retention.keepMonthly, retention.keepYearly,
                retention.pinned == null ? Set.of() : Set.copyOf(retention.pinned),
                ZoneId.of(timeZone == null ? "UTC" : timeZone));
    }

    static Duration maxAge(BackupPolicySpec spec) {
        return Durations.parse("spec.retention.maxAge", spec.retention.maxAge == null ? "30d"
                : spec.retention.maxAge);
    }

    /** How far back point-in-time recovery stays possible: spec.retention.recoveryWindow, else maxAge. */
    static Duration recoveryWindow(BackupPolicySpec spec) {
        return spec.retention.recoveryWindow == null ? maxAge(spec)
                : Durations.parse("spec.retention.recoveryWindow", spec.retention.recoveryWindow);
    }
}
