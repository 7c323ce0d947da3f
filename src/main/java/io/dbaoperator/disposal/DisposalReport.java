package io.dbaoperator.disposal;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;

import io.dbaoperator.api.backup.BackupInfo;
import io.dbaoperator.api.backup.BackupPolicy;
import io.dbaoperator.api.common.ApprovalRecord;
import io.dbaoperator.api.disposal.DisposalJob;
import io.dbaoperator.api.disposal.DisposalJobStatus;
import io.dbaoperator.kube.Durations;
import io.dbaoperator.storage.S3Clients;
import io.dbaoperator.storage.S3Location;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.PutObjectRequest;

/**
 * The disposal report: what the rules were (and their digest), what each matched and disposed of, when, who
 * approved, and until when backups still hold the disposed data: a backup taken before the run keeps it until the
 * retention lets that backup go (its completion plus the policy's maxAge), a pinned backup indefinitely.
 */
public record DisposalReport(Map<String, Object> content, String backupsHoldDataUntil) {

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    public Map<String, Object> asMap() {
        return content;
    }

    static DisposalReport build(DisposalJob job, DisposalJobStatus st, List<DisposalPlanner.RulePlan> plans,
            List<BackupPolicy> policies, Instant now) {
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("kind", "DisposalReport");
        r.put("namespace", job.getMetadata().getNamespace());
        r.put("disposalJob", job.getMetadata().getName());
        r.put("runId", st.runId);
        r.put("dryRun", Boolean.TRUE.equals(job.getSpec().dryRun));
        r.put("rulesDigest", st.rulesDigest);
        r.put("startedAt", st.runStartedAt);
        r.put("finishedAt", now.toString());
        ApprovalRecord approval = st.approvals == null ? null : st.approvals.stream()
                .filter(a -> DisposalJobReconciler.STEP.equals(a.step) && a.planDigest.equals(st.rulesDigest))
                .reduce((a, b) -> b).orElse(null);
        if (approval != null) {
            r.put("approvedBy", approval.approvedBy);
            r.put("approvedAt", approval.approvedAt);
        }
        List<Map<String, Object>> rules = new ArrayList<>();
        for (int i = 0; i < plans.size(); i++) {
            DisposalPlanner.RulePlan p = plans.get(i);
            DisposalJobStatus.RuleProgress progress = st.rules.get(i);
            Map<String, Object> rule = new LinkedHashMap<>();
            rule.put("name", p.name());
            rule.put("table", p.table().toString());
            rule.put("action", p.rule().action.name());
            rule.put("selection", p.rule().olderThan != null ? p.rule().olderThan.column + " older than "
                    + p.rule().olderThan.age : p.rule().where);
            if (p.rule().anonymize != null) {
                Map<String, String> columns = new LinkedHashMap<>();
                p.rule().anonymize.columns.forEach((k, v) -> columns.put(k, v.strategy.name()));
                rule.put("columns", columns);
            }
            rule.put("matched", progress.matched);
            rule.put("disposed", progress.done);
            if (progress.notes != null) {
                rule.put("foreignKeys", progress.notes);
            }
            rules.add(rule);
        }
        r.put("rules", rules);
        if (st.piiFindings != null) {
            List<Map<String, Object>> pii = new ArrayList<>();
            for (var f : st.piiFindings) {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("column", f.column);
                m.put("type", f.type);
                m.put("kind", f.kind);
                m.put("evidence", f.evidence);
                m.put("coveredBy", f.coveredBy);
                pii.add(m);
            }
            r.put("piiFindings", pii);
        }
        r.put("rowsAffected", st.rowsAffected);
        List<Map<String, Object>> held = new ArrayList<>();
        String until = null;
        for (BackupPolicy policy : policies) {
            Duration maxAge = Durations.parse("retention.maxAge", policy.getSpec().retention == null
                    || policy.getSpec().retention.maxAge == null ? "30d" : policy.getSpec().retention.maxAge);
            List<String> pinned = policy.getSpec().retention == null || policy.getSpec().retention.pinned == null
                    ? List.of() : policy.getSpec().retention.pinned;
            List<BackupInfo> backups = policy.getStatus() == null || policy.getStatus().backups == null ? List.of()
                    : policy.getStatus().backups;
            for (BackupInfo b : backups) {
                if (b.completedAt == null || Instant.parse(b.completedAt).isAfter(now)) {
                    continue;
                }
                boolean pin = pinned.contains(b.backupId);
                String holds = pin ? "indefinitely" : Instant.parse(b.completedAt).plus(maxAge).toString();
                held.add(Map.of("backupPolicy", policy.getMetadata().getName(), "backupId", b.backupId,
                        "holdsDataUntil", holds));
                if (until == null || "indefinitely".equals(holds)
                        || !"indefinitely".equals(until) && holds.compareTo(until) > 0) {
                    until = holds;
                }
            }
        }
        r.put("backupsHoldingData", held);
        r.put("backupsHoldDataUntil", until);
        return new DisposalReport(r, until);
    }

    /** Writes the report as JSON; returns its s3:// URL. */
    static String write(S3Location location, DisposalJob job, DisposalReport report) {
        String relative = "disposal/" + job.getMetadata().getNamespace() + "/" + job.getMetadata().getName() + "/"
                + report.content.get("runId") + ".json";
        try (S3Client s3 = S3Clients.create(location)) {
            byte[] body = JSON.writeValueAsBytes(report.content);
            s3.putObject(PutObjectRequest.builder().bucket(location.bucket()).key(location.key(relative))
                    .contentType("application/json").build(), RequestBody.fromBytes(body));
        } catch (java.io.IOException e) {
            throw new IllegalStateException("report cannot be serialized", e);
        }
        return location.url(relative);
    }
}
