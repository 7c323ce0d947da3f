package io.dbaoperator.backup;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import io.dbaoperator.api.backup.BackupPolicy;
import io.dbaoperator.api.backup.BackupPolicySpec;
import io.dbaoperator.contract.AgentEnvironment;
import io.dbaoperator.contract.CopyArgs;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.batch.v1.Job;

/**
 * The Job that copies one backup ({@code dba-agent copy}): the primary bucket's settings as DBA_S3_*, the offsite
 * storage's as DBA_OFFSITE_S3_* (credentials from their Secrets), no database and no encryption key: the objects are
 * copied as stored. It expires an hour after it ends, so a failed copy is tried again then (its deterministic name
 * keeps a second Job for the same backup from starting while it is there).
 */
final class CopyJobs {

    static final String POLICY_LABEL = "dbaoperator.io/copy-policy";
    static final long TTL_SECONDS = 3600;

    private CopyJobs() {
    }

    static String jobName(String policy, String backupId) {
        String suffix = "-copy-" + backupId.toLowerCase(Locale.ROOT);
        String base = policy.length() > 63 - suffix.length() ? policy.substring(0, 63 - suffix.length()) : policy;
        return base.replaceAll("-+$", "") + suffix;
    }

    static Job build(BackupPolicy policy, CopyPlanner.Due due, String defaultImage) {
        BackupPolicySpec spec = policy.getSpec();
        String ns = policy.getMetadata().getNamespace();
        String name = policy.getMetadata().getName();
        BackupPolicySpec.Offsite offsite = spec.copies.offsite;
        List<String> command = new CopyArgs(ns, name, due.backupId(), due.offsite(),
                due.offsite() ? offsite.storageClass : null, due.archiveClass()).command();
        List<EnvVar> env = new ArrayList<>(AgentEnvironment.s3Env(spec.storage, spec.storage.prefix == null ? ""
                : spec.storage.prefix));
        if (due.offsite()) {
            env.addAll(AgentEnvironment.s3Env(offsite.storage, offsite.storage.prefix == null ? ""
                    : offsite.storage.prefix, AgentEnvironment.OFFSITE));
        }
        return BackupJobs.agentJob(policy, jobName(name, due.backupId()), "copy", "backup-copy", POLICY_LABEL,
                due.backupId(),
                command, env, List.of(), (int) TTL_SECONDS, defaultImage);
    }
}
