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

/**
 * One retention pass over a policy's bucket: the backups no rule keeps are deleted ({@link BackupRetention}), then
 * the archived WAL older than the recovery window needs ({@link BackupRetention#walKeptFrom}); what went is in
 * status ({@code lastPrune}), an Event and the audit store.
 */
final class RetentionPass {

    /** What the pass left: retention's verdict on each remaining backup, newest first, and where WAL now starts. */
    record Result(List<BackupRetention.Verdict> kept, String walKeptFrom) {
        List<BackupRecord> records() {
            return kept.stream().map(BackupRetention.Verdict::record).toList();
        }
    }

    private final EventRecorder events;
    private final AuditLog audit;

    RetentionPass(EventRecorder events, AuditLog audit) {
        this.events = events;
        this.audit = audit;
    }

    /** @param records every backup of the policy, newest first */
    Result apply(BackupPolicy policy, BackupPolicyStatus status, BackupCatalog catalog, List<BackupRecord> records,
            Instant now) {
        BackupPolicySpec spec = policy.getSpec();
        List<BackupRetention.Verdict> verdicts = BackupRetention.decide(records, rules(spec), now);
        List<BackupRecord> remove = verdicts.stream().filter(v -> !v.kept()).map(BackupRetention.Verdict::record)
                .toList();
        List<BackupRetention.Verdict> kept = verdicts.stream().filter(BackupRetention.Verdict::kept).toList();
        String walFrom = BackupRetention.walKeptFrom(kept.stream().map(BackupRetention.Verdict::record).toList(),
                recoveryWindow(spec), now);
        List<BackupCatalog.WalObject> wal = walFrom == null ? List.of() : catalog.walSegmentsBefore(walFrom);
        if (remove.isEmpty() && wal.isEmpty()) {
            return new Result(kept, walFrom);
        }
        BackupPolicyStatus.PruneReport report = new BackupPolicyStatus.PruneReport();
        report.prunedAt = now.toString();
        long freed = 0;
        for (BackupRecord r : remove) {
            freed += catalog.delete(r.backupId);
            report.removed.add(r.backupId);
        }
        if (!wal.isEmpty()) {
            freed += catalog.deleteWal(wal);
            report.walSegmentsRemoved = wal.size();
            report.walKeptFrom = walFrom;
        }
        report.freedBytes = freed;
        status.lastPrune = report;
        events.normal(policy, "BackupsPruned", "retention removed " + report.removed.size() + " backup(s) "
                + report.removed + (wal.isEmpty() ? "" : " and " + wal.size() + " archived WAL segment(s) before "
                        + walFrom + " (the recovery window starts there)") + ", " + freed + " bytes freed");
        audit.record(policy, AuditEvent.byOperator(now, policy, "retention", "prune", "succeeded", null,
                Map.of("removed", report.removed, "walSegmentsRemoved", wal.size(), "walKeptFrom",
                        walFrom == null ? "" : walFrom, "freedBytes", freed)));
        return new Result(kept, walFrom);
    }

    /** The policy's retention rules, in its time zone. */
    static BackupRetention.Rules rules(BackupPolicySpec spec) {
        var retention = spec.retention;
        return new BackupRetention.Rules(retention.keepLast == null ? 7 : retention.keepLast, maxAge(spec),
                retention.keepDaily, retention.keepWeekly, retention.keepMonthly, retention.keepYearly,
                retention.pinned == null ? Set.of() : Set.copyOf(retention.pinned),
                ZoneId.of(spec.timeZone == null ? "UTC" : spec.timeZone));
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
