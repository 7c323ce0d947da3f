package io.dbaoperator.backup;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.dbaoperator.contract.AgentEnvironment;
import io.dbaoperator.contract.LogicalRestoreArgs;
import io.dbaoperator.contract.RestoreArgs;
import io.dbaoperator.api.backup.BackupPolicy;
import io.dbaoperator.api.backup.BackupPolicySpec;
import io.dbaoperator.api.backup.BackupRestoreSpec;
import io.dbaoperator.api.common.JobTemplate;
import io.fabric8.kubernetes.api.model.ContainerBuilder;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.EnvVarBuilder;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.OwnerReference;
import io.fabric8.kubernetes.api.model.OwnerReferenceBuilder;
import io.fabric8.kubernetes.api.model.PersistentVolumeClaim;
import io.fabric8.kubernetes.api.model.PersistentVolumeClaimBuilder;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeBuilder;
import io.fabric8.kubernetes.api.model.apps.StatefulSet;
import io.fabric8.kubernetes.api.model.apps.StatefulSetBuilder;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.batch.v1.JobBuilder;

/**
 * What a restore creates: the Job that runs {@code dba-agent restore}, and for a BackupRestore the volume it restores
 * into and the StatefulSet, Service and Secret that then serve it. The volume is created as the PersistentVolumeClaim
 * the StatefulSet's claim template names ({@code data-<instance>-0}), so the StatefulSet adopts the restored volume
 * instead of provisioning an empty one. The pods run as uid/gid 999 (the postgres user of the official image, and of
 * the operator's image, which renumbers Debian's) with fsGroup 999 applied to the volume's root only (see
 * {@link #FS_GROUP_CHANGE}), so the server that serves the volume owns the files the restore wrote.
 */
public final class RestoreJobs {

    public static final String RESTORE_LABEL = "dbaoperator.io/backup-restore";
    public static final String RESTORE_TEST_LABEL = "dbaoperator.io/restore-test-policy";
    static final String MOUNT = "/var/lib/postgresql/data";
    static final String PGDATA = MOUNT + "/pgdata";
    static final long POSTGRES_UID = 999;
    /**
     * The kubelet applies fsGroup to the volume's root only when the root does not match yet (the restore Job's
     * first mount), never recursively afterwards: a recursive pass adds group rwx to every directory, and PostgreSQL
     * refuses a data directory that is not 0700 or 0750 ("has invalid permissions"), found on the real node.
     */
    static final String FS_GROUP_CHANGE = "OnRootMismatch";
    static final ObjectMapper JSON = new ObjectMapper();

    private RestoreJobs() {
    }

    /** A restore's id in the catalog: the resource's name and the start of its uid (a re-created one differs). */
    public static String restoreId(HasMetadata restore) {
        return restore.getMetadata().getName() + "-" + restore.getMetadata().getUid().substring(0, 8);
    }

    public static String jobName(String restoreName) {
        return truncate(restoreName, "-restore");
    }

    public static String claimName(String instance) {
        return "data-" + instance + "-0";
    }

    public static String testJobName(String policy, String restoreId) {
        return truncate(policy, "-" + restoreId.toLowerCase(Locale.ROOT));
    }

    private static String truncate(String base, String suffix) {
        String b = base.length() > 63 - suffix.length() ? base.substring(0, 63 - suffix.length()) : base;
        return b.replaceAll("-+$", "") + suffix;
    }

    static OwnerReference owner(HasMetadata owner) {
        return new OwnerReferenceBuilder().withApiVersion(owner.getApiVersion()).withKind(owner.getKind())
                .withName(owner.getMetadata().getName()).withUid(owner.getMetadata().getUid()).withController(true)
                .withBlockOwnerDeletion(true).build();
    }

    static Map<String, String> labels(String component, String key, String value) {
        return new HashMap<>(Map.of("app.kubernetes.io/managed-by", "dba-operator", "app.kubernetes.io/component",
                component, key, value));
    }

    /** {@code storage}: the copy the agent reads (the policy's bucket, or its offsite copy). */
    static Job job(HasMetadata owner, String name, Map<String, String> labels, BackupPolicy policy,
            io.dbaoperator.api.common.S3Storage storage, List<String> command, List<String> checks, Volume data,
            String passwordSecret, String defaultImage) {
        BackupPolicySpec spec = policy.getSpec();
        JobTemplate t = spec.jobTemplate == null ? new JobTemplate() : spec.jobTemplate;
        List<EnvVar> env = new ArrayList<>(AgentEnvironment.s3Env(storage,
                storage.prefix == null ? "" : storage.prefix));
        try {
            env.add(new EnvVar(AgentEnvironment.RESTORE_CHECKS, JSON.writeValueAsString(checks == null ? List.of() : checks),
                    null));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
        env.addAll(AgentEnvironment.encryptionEnv(spec.encryption, false));
        if (passwordSecret != null) {
            env.add(new EnvVarBuilder().withName(AgentEnvironment.RESTORE_PASSWORD).withNewValueFrom()
                    .withNewSecretKeyRef("password", passwordSecret, false).endValueFrom().build());
        }
        var containerBuilder = new ContainerBuilder().withName("restore")
                .withImage(t.image == null ? defaultImage : t.image).withCommand(command).withEnv(env)
                // an encrypted policy's keys, to read (never the current key id: a restore stores nothing)
                .withEnvFrom(AgentEnvironment.encryptionEnvFrom(spec.encryption))
                .withResources(AgentResources.orDefault(t.resources, AgentResources.RESTORE))
                .withTerminationMessagePolicy("FallbackToLogsOnError");
        if (data != null) {
            containerBuilder.addNewVolumeMount().withName("data").withMountPath(MOUNT).endVolumeMount();
        }
        var container = containerBuilder
                .addNewVolumeMount().withName("scratch").withMountPath("/tmp").endVolumeMount()
                .withNewSecurityContext().withRunAsNonRoot(true).withAllowPrivilegeEscalation(false)
                .withReadOnlyRootFilesystem(true).endSecurityContext().build();
        List<Volume> volumes = new ArrayList<>();
        if (data != null) {
            volumes.add(data);
        }
        volumes.add(new VolumeBuilder().withName("scratch").withNewEmptyDir().endEmptyDir().build());
        return new JobBuilder()
                .withNewMetadata().withName(name).withNamespace(owner.getMetadata().getNamespace()).withLabels(labels)
                .addToOwnerReferences(owner(owner)).endMetadata()
                .withNewSpec().withBackoffLimit(0)
                .withActiveDeadlineSeconds(t.activeDeadlineSeconds == null ? 12 * 3600L : t.activeDeadlineSeconds)
                .withTtlSecondsAfterFinished(t.ttlSecondsAfterFinished == null ? 86400 : t.ttlSecondsAfterFinished)
                .withNewTemplate().withNewMetadata().withLabels(labels).endMetadata()
                .withNewSpec().withRestartPolicy("Never").withServiceAccountName(t.serviceAccountName)
                .withNodeSelector(t.nodeSelector).withTolerations(t.tolerations)
                .withNewSecurityContext().withRunAsUser(POSTGRES_UID).withRunAsGroup(POSTGRES_UID)
                .withFsGroup(POSTGRES_UID).withFsGroupChangePolicy(FS_GROUP_CHANGE).endSecurityContext()
                .withContainers(container).withVolumes(volumes)
                .endSpec().endTemplate().endSpec().build();
    }

    /** The Job of a BackupRestore: restores into the instance's volume and keeps it. */
    public static Job restoreJob(HasMetadata restore, BackupRestoreSpec spec, BackupPolicy policy,
            io.dbaoperator.api.common.S3Storage storage, String backupId, String database, String loginRole,
            String defaultImage) {
        return restoreJob(restore, spec, policy, storage, backupId, database, loginRole, null, defaultImage);
    }

    /** With {@code masking}: the agent masks database {@code database} of the recovered cluster before it is kept. */
    public static Job restoreJob(HasMetadata restore, BackupRestoreSpec spec, BackupPolicy policy,
            io.dbaoperator.api.common.S3Storage storage, String backupId, String database, String loginRole,
            BackupRestoreReconciler.MaskingPlan masking, String defaultImage) {
        String instance = spec.target.newInstance.name;
        List<String> command = new RestoreArgs(restore.getMetadata().getNamespace(), policy.getMetadata().getName(),
                restoreId(restore), backupId, PGDATA, spec.targetTime, spec.targetLSN, database, loginRole,
                !Boolean.FALSE.equals(spec.amcheck), true).command();
        Job job = job(restore, jobName(restore.getMetadata().getName()), labels("restore", RESTORE_LABEL,
                restore.getMetadata().getName()), policy, storage, command, spec.checks,
                new VolumeBuilder().withName("data").withNewPersistentVolumeClaim().withClaimName(claimName(instance))
                        .endPersistentVolumeClaim().build(), instance, defaultImage);
        maskingEnv(job, masking);
        return job;
    }

    /** A masked restore's rules as the approval bound them; the key only as a reference to its Secret. */
    private static void maskingEnv(Job job, BackupRestoreReconciler.MaskingPlan masking) {
        if (masking == null) {
            return;
        }
        var container = job.getSpec().getTemplate().getSpec().getContainers().get(0);
        try {
            container.getEnv().add(new EnvVar(AgentEnvironment.MASKING_RULES, JSON.writeValueAsString(
                    masking.rules()), null));
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
        container.getEnv().add(new EnvVar(AgentEnvironment.MASKING_UNMASKED, masking.unmaskedColumns(), null));
        if (masking.keySecret() != null) {
            container.getEnv().add(AgentEnvironment.secretKeyRef(AgentEnvironment.MASKING_KEY,
                    masking.keySecret(), masking.keyKey()));
        }
    }

    /**
     * The Job of a BackupRestore of a logical backup: {@code dba-agent logical-restore} into a database on the
     * instance of spec.target.database's Secret (envFrom, like a backup Job's database), no volume but scratch
     * (where parallel jobs download the dump).
     */
    public static Job logicalRestoreJob(HasMetadata restore, BackupPolicy policy,
            io.dbaoperator.api.common.S3Storage storage, String backupId, String source,
            BackupRestoreReconciler.MaskingPlan masking, String defaultImage) {
        return logicalRestoreJob(restore, policy, storage, backupId, source, masking, defaultImage,
                restoreId(restore), jobName(restore.getMetadata().getName()),
                ((io.dbaoperator.api.backup.BackupRestore) restore).getSpec().target.database.name);
    }

    /** A run of its own: a staging refresh's (its restore id, Job and database carry the run's number). */
    public static Job logicalRestoreJob(HasMetadata restore, BackupPolicy policy,
            io.dbaoperator.api.common.S3Storage storage, String backupId, String source,
            BackupRestoreReconciler.MaskingPlan masking, String defaultImage, String restoreId, String jobName,
            String into) {
        BackupRestoreSpec spec = ((io.dbaoperator.api.backup.BackupRestore) restore).getSpec();
        BackupRestoreSpec.LogicalRestore l = spec.logical == null ? new BackupRestoreSpec.LogicalRestore()
                : spec.logical;
        BackupRestoreSpec.DatabaseTarget to = spec.target.database;
        List<String> command = new LogicalRestoreArgs(restore.getMetadata().getNamespace(),
                policy.getMetadata().getName(), restoreId, backupId, List.of(source), into,
                Boolean.TRUE.equals(to.replace), l.schemas, l.tables, l.jobs == null ? 1 : l.jobs, l.owner,
                Boolean.TRUE.equals(l.privileges), null, false).command();
        Job job = job(restore, jobName, labels("restore", RESTORE_LABEL,
                restore.getMetadata().getName()), policy, storage, command, spec.checks, null, null, defaultImage);
        var container = job.getSpec().getTemplate().getSpec().getContainers().get(0);
        container.setEnvFrom(AgentEnvironment.envFrom(to.databaseRef, policy.getSpec().encryption));
        container.getEnv().addAll(AgentEnvironment.databaseEnv(to.databaseRef));
        maskingEnv(job, masking);
        return job;
    }

    /**
     * A policy's restore test: the newest verified backup to its end, on scratch space, nothing kept or served. A
     * logical policy's dumps are restored into a scratch instance the Job starts ({@code logical-restore
     * --scratch}), the checks run in {@code database}.
     */
    public static Job restoreTestJob(BackupPolicy policy, String restoreId, String backupId, String database,
            String loginRole, String defaultImage) {
        var test = policy.getSpec().verification.restoreTest;
        if (policy.getSpec().method == BackupPolicySpec.Method.logical) {
            List<String> command = new LogicalRestoreArgs(policy.getMetadata().getNamespace(),
                    policy.getMetadata().getName(), restoreId, backupId, List.of(), null, false, List.of(), List.of(),
                    1, null, false, database, true).command();
            return job(policy, testJobName(policy.getMetadata().getName(), restoreId), labels("restore-test",
                    RESTORE_TEST_LABEL, policy.getMetadata().getName()), policy, policy.getSpec().storage, command,
                    test.checks, null, null, defaultImage);
        }
        List<String> command = new RestoreArgs(policy.getMetadata().getNamespace(), policy.getMetadata().getName(),
                restoreId, backupId, PGDATA, null, null, database, loginRole, true, false).command();
        return job(policy, testJobName(policy.getMetadata().getName(), restoreId), labels("restore-test",
                RESTORE_TEST_LABEL, policy.getMetadata().getName()), policy, policy.getSpec().storage, command,
                test.checks, new VolumeBuilder().withName("data").withNewEmptyDir().endEmptyDir().build(), null, defaultImage);
    }

    public static PersistentVolumeClaim claim(HasMetadata restore, BackupRestoreSpec.NewInstance instance) {
        return new PersistentVolumeClaimBuilder().withNewMetadata().withName(claimName(instance.name))
                .withNamespace(restore.getMetadata().getNamespace())
                .withLabels(labels("restored-instance", RESTORE_LABEL, restore.getMetadata().getName()))
                .addToOwnerReferences(owner(restore)).endMetadata()
                .withNewSpec().withAccessModes("ReadWriteOnce").withStorageClassName(instance.storage.storageClass)
                .withNewResources().addToRequests("storage", new Quantity(instance.storage.size)).endResources()
                .endSpec().build();
    }

    /** The instance's Secret, in the DatabaseRef format; {@code user} is known once the restore ran. */
    public static Secret secret(HasMetadata restore, String instance, String dbname, String user, String password) {
        String ns = restore.getMetadata().getNamespace();
        Map<String, String> data = new HashMap<>(Map.of("host", instance + "." + ns + ".svc", "port", "5432",
                "dbname", dbname, "password", password));
        if (user != null) {
            data.put("user", user);
        }
        return new SecretBuilder().withNewMetadata().withName(instance).withNamespace(ns)
                .withLabels(labels("restored-instance", RESTORE_LABEL, restore.getMetadata().getName()))
                .addToOwnerReferences(owner(restore)).endMetadata().withType("Opaque").withData(base64(data)).build();
    }

    /** Secret data as the API stores it (stringData would be merged by a real API server, not by every client). */
    public static Map<String, String> base64(Map<String, String> values) {
        Map<String, String> data = new HashMap<>();
        values.forEach((k, v) -> data.put(k, java.util.Base64.getEncoder().encodeToString(
                v.getBytes(java.nio.charset.StandardCharsets.UTF_8))));
        return data;
    }

    public static Service service(HasMetadata restore, String instance) {
        return new ServiceBuilder().withNewMetadata().withName(instance)
                .withNamespace(restore.getMetadata().getNamespace())
                .withLabels(labels("restored-instance", RESTORE_LABEL, restore.getMetadata().getName()))
                .addToOwnerReferences(owner(restore)).endMetadata()
                .withNewSpec().addToSelector("dbaoperator.io/instance", instance).addNewPort().withName("postgres")
                .withPort(5432).withNewTargetPort(5432).endPort().endSpec().build();
    }

    /** One PostgreSQL pod of {@code image} on the restored volume (PGDATA as the restore wrote it). */
    public static StatefulSet statefulSet(HasMetadata restore, BackupRestoreSpec.NewInstance instance,
            String image) {
        Map<String, String> podLabels = labels("restored-instance", "dbaoperator.io/instance", instance.name);
        return new StatefulSetBuilder().withNewMetadata().withName(instance.name)
                .withNamespace(restore.getMetadata().getNamespace())
                .withLabels(labels("restored-instance", RESTORE_LABEL, restore.getMetadata().getName()))
                .addToOwnerReferences(owner(restore)).endMetadata()
                .withNewSpec().withReplicas(1).withServiceName(instance.name)
                .withNewSelector().addToMatchLabels("dbaoperator.io/instance", instance.name).endSelector()
                .withNewTemplate().withNewMetadata().withLabels(podLabels).endMetadata()
                .withNewSpec().withNewSecurityContext().withRunAsUser(POSTGRES_UID).withRunAsGroup(POSTGRES_UID)
                .withFsGroup(POSTGRES_UID).withFsGroupChangePolicy(FS_GROUP_CHANGE).endSecurityContext()
                .addNewContainer().withName("postgres").withImage(image).withResources(instance.resources)
                // the server itself, not an image's entry point: the official image's would start it the same way
                // on an existing PGDATA, and the operator's own image (which has the server) starts the operator;
                // on the port its Service and probe name and the image's socket directory, whatever the source's
                // settings said (they named the source's port and paths), with the access the restore wrote
                // beside PGDATA
                .withCommand("postgres").withArgs("-c", "listen_addresses=*", "-c", "port=5432",
                        "-c", "unix_socket_directories=/var/run/postgresql",
                        "-c", "hba_file=" + MOUNT + "/" + AgentEnvironment.SERVED_HBA_FILE)
                .addNewEnv().withName("PGDATA").withValue(PGDATA).endEnv()
                .addNewPort().withName("postgres").withContainerPort(5432).endPort()
                .addNewVolumeMount().withName("data").withMountPath(MOUNT).endVolumeMount()
                .withNewReadinessProbe().withNewExec().withCommand("pg_isready", "-h", "127.0.0.1", "-p", "5432")
                .endExec().withPeriodSeconds(5).endReadinessProbe()
                .endContainer().endSpec().endTemplate()
                .addNewVolumeClaimTemplate().withNewMetadata().withName("data").endMetadata()
                .withNewSpec().withAccessModes("ReadWriteOnce").withStorageClassName(instance.storage.storageClass)
                .withNewResources().addToRequests("storage", new Quantity(instance.storage.size)).endResources()
                .endSpec().endVolumeClaimTemplate()
                .endSpec().build();
    }
}
