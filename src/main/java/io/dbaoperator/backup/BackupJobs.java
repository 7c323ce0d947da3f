package io.dbaoperator.backup;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;

import io.dbaoperator.contract.AgentEnvironment;
import io.dbaoperator.contract.BackupArgs;
import io.dbaoperator.contract.LogicalBackupArgs;
import io.dbaoperator.api.backup.BackupPolicy;
import io.dbaoperator.api.backup.BackupPolicySpec;
import io.dbaoperator.api.common.JobTemplate;
import io.fabric8.kubernetes.api.model.ContainerBuilder;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.batch.v1.JobBuilder;

/**
 * Builds the Job that takes one backup of a policy, shaped as every Job the operator makes (docs/architecture.md):
 * a deterministic name, the owner reference, limits and labels, and for a backup the spec hash.
 */
public final class BackupJobs {

    public static final String POLICY_LABEL = "dbaoperator.io/backup-policy";
    public static final String BACKUP_ID_LABEL = "dbaoperator.io/backup-id";
    public static final String SPEC_HASH = "dbaoperator.io/spec-hash";
    static final DateTimeFormatter BACKUP_ID = DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'")
            .withZone(ZoneOffset.UTC);

    private BackupJobs() {
    }

    /** A backup id: the compact UTC time, e.g. 20261121T020000Z. */
    public static String backupId(Instant time) {
        return BACKUP_ID.format(time);
    }

    /** Deterministic: the same backup never gets two Jobs. Within the 63 characters of a label value. */
    public static String jobName(String policy, String backupId) {
        String suffix = "-" + backupId.toLowerCase(Locale.ROOT);
        String base = policy.length() > 63 - suffix.length() ? policy.substring(0, 63 - suffix.length()) : policy;
        return base.replaceAll("-+$", "") + suffix;
    }

    public static Job build(BackupPolicy policy, String backupId, String defaultImage) {
        BackupPolicySpec spec = policy.getSpec();
        JobTemplate t = spec.jobTemplate == null ? new JobTemplate() : spec.jobTemplate;
        String ns = policy.getMetadata().getNamespace();
        String name = policy.getMetadata().getName();
        // an incomplete upload older than this is an earlier backup's (with Forbid, none runs beside us)
        long abortOlderThan = spec.concurrencyPolicy == BackupPolicySpec.ConcurrencyPolicy.Forbid ? 0
                : (t.activeDeadlineSeconds == null ? 6 * 3600L : t.activeDeadlineSeconds);
        boolean verify = !Boolean.FALSE.equals(spec.verification.verifyChecksums);
        List<String> command;
        if (spec.method == BackupPolicySpec.Method.logical) {
            BackupPolicySpec.Logical l = spec.logical == null ? new BackupPolicySpec.Logical() : spec.logical;
            command = new LogicalBackupArgs(ns, name, backupId, l.databases, l.schemas, l.tables,
                    Boolean.TRUE.equals(l.globals), spec.compression.algorithm == BackupPolicySpec.Compression
                            .Algorithm.none ? Integer.valueOf(0) : spec.compression.level, verify, abortOlderThan)
                    .command();
        } else {
            command = new BackupArgs(ns, name, backupId, spec.compression.algorithm.name(),
                    spec.compression.location.name(), spec.compression.level, verify, abortOlderThan).command();
        }
        List<EnvVar> env = new ArrayList<>(AgentEnvironment.databaseEnv(spec.database));
        env.addAll(AgentEnvironment.encryptionEnv(spec.encryption, true));
        env.addAll(AgentEnvironment.s3Env(spec.storage, spec.storage.prefix == null ? "" : spec.storage.prefix));
        Job job = agentJob(policy, jobName(name, backupId), "backup", "backup", POLICY_LABEL, backupId, command, env,
                AgentEnvironment.envFrom(spec.database, spec.encryption),
                t.ttlSecondsAfterFinished == null ? 86400 : t.ttlSecondsAfterFinished, defaultImage);
        job.getMetadata().setAnnotations(new java.util.HashMap<>(java.util.Map.of(SPEC_HASH,
                hash(job.getSpec().toString()))));
        return job;
    }

    /**
     * A Job of a policy that runs the agent once: the policy's jobTemplate (image, resources, deadline, backoff,
     * placement), labels {@code policyLabel} and the backup id on the Job and its pod, owned by the policy, the
     * agent's last log lines as its termination message, a non-root read-only container with a scratch /tmp.
     * Backups and copies ({@link CopyJobs}) are made by it.
     */
    static Job agentJob(BackupPolicy policy, String jobName, String containerName, String component, String policyLabel,
            String backupId,
            List<String> command, List<EnvVar> env, List<io.fabric8.kubernetes.api.model.EnvFromSource> envFrom,
            int ttlSeconds, String defaultImage) {
        BackupPolicySpec spec = policy.getSpec();
        JobTemplate t = spec.jobTemplate == null ? new JobTemplate() : spec.jobTemplate;
        String name = policy.getMetadata().getName();
        var container = new ContainerBuilder().withName(containerName).withImage(t.image == null ? defaultImage : t.image)
                .withCommand(command).withEnvFrom(envFrom)
                .withEnv(env)
                .withResources(AgentResources.orDefault(t.resources, AgentResources.BACKUP))
                // the agent's last log lines become the container's termination message: the reason in status
                .withTerminationMessagePolicy("FallbackToLogsOnError")
                .addNewVolumeMount().withName("scratch").withMountPath("/tmp").endVolumeMount()
                .withNewSecurityContext().withRunAsNonRoot(true).withAllowPrivilegeEscalation(false)
                .withReadOnlyRootFilesystem(true).endSecurityContext()
                .build();
        return new JobBuilder()
                .withNewMetadata().withName(jobName).withNamespace(policy.getMetadata().getNamespace())
                .addToLabels("app.kubernetes.io/managed-by", "dba-operator")
                .addToLabels("app.kubernetes.io/component", component)
                .addToLabels(policyLabel, name).addToLabels(BACKUP_ID_LABEL, backupId)
                .addToOwnerReferences(RestoreJobs.owner(policy))
                .endMetadata()
                .withNewSpec()
                .withBackoffLimit(t.backoffLimit == null ? 0 : t.backoffLimit)
                .withActiveDeadlineSeconds(t.activeDeadlineSeconds == null ? 6 * 3600L : t.activeDeadlineSeconds)
                .withTtlSecondsAfterFinished(ttlSeconds)
                .withNewTemplate()
                .withNewMetadata().addToLabels(policyLabel, name).addToLabels(BACKUP_ID_LABEL, backupId).endMetadata()
                .withNewSpec().withRestartPolicy("Never").withServiceAccountName(t.serviceAccountName)
                .withNodeSelector(t.nodeSelector).withTolerations(t.tolerations)
                .withContainers(container)
                .addNewVolume().withName("scratch").withNewEmptyDir().endEmptyDir().endVolume()
                .endSpec().endTemplate().endSpec().build();
    }

    static String hash(String text) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
                    .digest(text.getBytes(StandardCharsets.UTF_8))).substring(0, 16);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
