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
import io.fabric8.kubernetes.api.model.OwnerReferenceBuilder;
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
        var container = new ContainerBuilder().withName("backup").withImage(t.image == null ? defaultImage : t.image)
                .withCommand(command).withEnvFrom(AgentEnvironment.envFrom(spec.database, spec.encryption))
                .withEnv(env)
                .withResources(AgentResources.orDefault(t.resources, AgentResources.BACKUP))
                // the agent's last log lines become the container's termination message: the reason in status
                .withTerminationMessagePolicy("FallbackToLogsOnError")
                .addNewVolumeMount().withName("scratch").withMountPath("/tmp").endVolumeMount()
                .withNewSecurityContext().withRunAsNonRoot(true).withAllowPrivilegeEscalation(false)
                .withReadOnlyRootFilesystem(true).endSecurityContext()
                .build();
        Job job = new JobBuilder()
                .withNewMetadata().withName(jobName(name, backupId)).withNamespace(ns)
                .addToLabels("app.kubernetes.io/managed-by", "dba-operator")
                .addToLabels("app.kubernetes.io/component", "backup")
                .addToLabels(POLICY_LABEL, name).addToLabels(BACKUP_ID_LABEL, backupId)
                .addToOwnerReferences(new OwnerReferenceBuilder().withApiVersion(policy.getApiVersion())
                        .withKind(policy.getKind()).withName(name).withUid(policy.getMetadata().getUid())
                        .withController(true).withBlockOwnerDeletion(true).build())
                .endMetadata()
                .withNewSpec()
                .withBackoffLimit(t.backoffLimit == null ? 0 : t.backoffLimit)
                .withActiveDeadlineSeconds(t.activeDeadlineSeconds == null ? 6 * 3600L : t.activeDeadlineSeconds)
                .withTtlSecondsAfterFinished(t.ttlSecondsAfterFinished == null ? 86400 : t.ttlSecondsAfterFinished)
                .withNewTemplate()
                .withNewMetadata().addToLabels(POLICY_LABEL, name).addToLabels(BACKUP_ID_LABEL, backupId).endMetadata()
                .withNewSpec().withRestartPolicy("Never").withServiceAccountName(t.serviceAccountName)
                .withNodeSelector(t.nodeSelector).withTolerations(t.tolerations)
                .withContainers(container)
                .addNewVolume().withName("scratch").withNewEmptyDir().endEmptyDir().endVolume()
                .endSpec().endTemplate().endSpec().build();
        job.getMetadata().setAnnotations(new java.util.HashMap<>(java.util.Map.of(SPEC_HASH,
                hash(job.getSpec().toString()))));
        return job;
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
