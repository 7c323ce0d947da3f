package io.dbaoperator.backup;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;

import org.junit.jupiter.api.Test;

import io.dbaoperator.api.backup.BackupPolicy;
import io.dbaoperator.api.backup.BackupPolicySpec;
import io.dbaoperator.api.common.DatabaseRef;
import io.dbaoperator.api.common.JobTemplate;
import io.dbaoperator.storage.S3SettingsTest;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.client.utils.Serialization;

class BackupJobsTest {

    static BackupPolicy policy() {
        BackupPolicy p = new BackupPolicy();
        p.getMetadata().setName("app-nightly");
        p.getMetadata().setNamespace("shop");
        p.getMetadata().setUid("uid-1");
        p.setSpec(new BackupPolicySpec());
        p.getSpec().database = new DatabaseRef("app-db-replication");
        p.getSpec().schedule = "0 2 * * *";
        p.getSpec().storage = S3SettingsTest.storage(); // as a user writes it: building a Job contacts nothing
        return p;
    }

    @Test
    void theJobFollowsTheConventions() {
        Job job = BackupJobs.build(policy(), "20261121T020000Z", "registry/dba-operator:1");
        assertThat(job.getMetadata().getName()).isEqualTo("app-nightly-20261121t020000z");
        assertThat(job.getMetadata().getOwnerReferences()).singleElement().satisfies(o -> {
            assertThat(o.getKind()).isEqualTo("BackupPolicy");
            assertThat(o.getUid()).isEqualTo("uid-1");
            assertThat(o.getController()).isTrue();
        });
        assertThat(job.getMetadata().getLabels()).containsEntry(BackupJobs.POLICY_LABEL, "app-nightly")
                .containsEntry(BackupJobs.BACKUP_ID_LABEL, "20261121T020000Z");
        assertThat(job.getMetadata().getAnnotations()).containsKey(BackupJobs.SPEC_HASH);
        assertThat(job.getSpec().getBackoffLimit()).isZero();
        assertThat(job.getSpec().getActiveDeadlineSeconds()).isEqualTo(6 * 3600L);
        assertThat(job.getSpec().getTtlSecondsAfterFinished()).isEqualTo(86400);
        var pod = job.getSpec().getTemplate().getSpec();
        assertThat(pod.getRestartPolicy()).isEqualTo("Never");
        var c = pod.getContainers().get(0);
        assertThat(c.getImage()).isEqualTo("registry/dba-operator:1");
        assertThat(c.getCommand()).containsSequence("dba-agent", "backup", "--namespace", "shop", "--policy",
                "app-nightly", "--backup-id", "20261121T020000Z", "--compression", "gzip");
        assertThat(c.getEnvFrom()).singleElement().satisfies(e -> assertThat(e.getSecretRef().getName())
                .isEqualTo("app-db-replication"));
        assertThat(Serialization.asYaml(job)).doesNotContain(io.dbaoperator.harness.TestS3.SECRET_ACCESS_KEY)
                .contains("secretKeyRef");
    }

    @Test
    void templateOverridesAndLongNames() {
        BackupPolicy p = policy();
        p.getMetadata().setName("a-very-long-policy-name-that-goes-on-and-on-and-on-forever");
        p.getSpec().jobTemplate = new JobTemplate();
        p.getSpec().jobTemplate.image = "custom:2";
        p.getSpec().jobTemplate.backoffLimit = 2;
        p.getSpec().jobTemplate.serviceAccountName = "backup-sa";
        Job job = BackupJobs.build(p, "20261121T020000Z", "default:1");
        assertThat(job.getMetadata().getName()).hasSizeLessThanOrEqualTo(63).endsWith("-20261121t020000z");
        assertThat(job.getSpec().getBackoffLimit()).isEqualTo(2);
        assertThat(job.getSpec().getTemplate().getSpec().getServiceAccountName()).isEqualTo("backup-sa");
        assertThat(job.getSpec().getTemplate().getSpec().getContainers().get(0).getImage()).isEqualTo("custom:2");
    }

    @Test
    void theAgentHasRequestsAndAMemoryLimitUnlessTheTemplateNamesItsOwn() {
        var c = BackupJobs.build(policy(), "20261121T020000Z", "img:1").getSpec().getTemplate().getSpec()
                .getContainers().get(0);
        assertThat(c.getResources().getRequests()).containsKeys("cpu", "memory");
        assertThat(c.getResources().getLimits().get("memory")).hasToString("512Mi");
        BackupPolicy p = policy();
        p.getSpec().jobTemplate = new JobTemplate();
        p.getSpec().jobTemplate.resources = new io.fabric8.kubernetes.api.model.ResourceRequirementsBuilder()
                .addToLimits("memory", new io.fabric8.kubernetes.api.model.Quantity("2Gi")).build();
        var own = BackupJobs.build(p, "20261121T020000Z", "img:1").getSpec().getTemplate().getSpec().getContainers()
                .get(0).getResources();
        assertThat(own.getLimits()).containsOnlyKeys("memory");
        assertThat(own.getLimits().get("memory")).hasToString("2Gi");
        assertThat(own.getRequests()).as("exactly the template's: nothing merged in").isNullOrEmpty();
    }

    @Test
    void anOomKilledAgentIsReportedWithItsLimitNotWithItsLastLogLine() {
        var pod = new io.fabric8.kubernetes.api.model.PodBuilder().withNewMetadata().withName("app-nightly-x-abc")
                .endMetadata().withNewSpec().addNewContainer().withName("backup").withNewResources()
                .addToLimits("memory", new io.fabric8.kubernetes.api.model.Quantity("32Mi")).endResources()
                .endContainer().endSpec().withNewStatus().addNewContainerStatus().withName("backup").withNewState()
                .withNewTerminated().withReason("OOMKilled").withExitCode(137).withMessage("streaming base backup")
                .endTerminated().endState().endContainerStatus().endStatus().build();
        assertThat(AgentJobs.oomKilled(java.util.List.of(pod))).hasValue("OOMKilled: container backup of pod "
                + "app-nightly-x-abc went over its memory limit (32Mi); raise "
                + "spec.jobTemplate.resources.limits.memory");
        pod.getStatus().getContainerStatuses().get(0).getState().getTerminated().setReason("Error");
        assertThat(AgentJobs.oomKilled(java.util.List.of(pod))).isEmpty();
    }

    @Test
    void aLogicalPolicysJobRunsTheLogicalBackupWithItsDatabasesAsJson() {
        BackupPolicy p = policy();
        p.getSpec().method = BackupPolicySpec.Method.logical;
        p.getSpec().logical = new BackupPolicySpec.Logical();
        p.getSpec().logical.databases = List.of("app", "odd,name");
        p.getSpec().logical.schemas = List.of("public");
        p.getSpec().logical.globals = true;
        p.getSpec().compression.algorithm = BackupPolicySpec.Compression.Algorithm.none;
        List<String> command = BackupJobs.build(p, "20261121T020000Z", "img:1").getSpec().getTemplate().getSpec()
                .getContainers().get(0).getCommand();
        assertThat(command).startsWith("dba-agent", "logical-backup");
        assertThat(command).containsSequence("--databases", "[\"app\",\"odd,name\"]")
                .containsSequence("--schemas", "[\"public\"]").containsSequence("--globals", "true")
                .containsSequence("--level", "0").doesNotContain("--tables");
        // what the agent reads back is what was meant
        var args = io.dbaoperator.contract.LogicalBackupArgs.parse(command.subList(1, command.size())
                .toArray(String[]::new));
        assertThat(args.databases()).containsExactly("app", "odd,name");
        assertThat(args.level()).isZero();
        assertThat(io.dbaoperator.contract.LogicalBackupArgs.objectName("a/b")).isEqualTo("a%2Fb.dump");
    }

    @Test
    void whatALogicalPolicyCannotAskForIsRefusedBeforeAnythingRuns() {
        BackupPolicySpec spec = policy().getSpec();
        spec.method = BackupPolicySpec.Method.logical;
        LogicalBackups.refuseWhatTheyCannotDo(spec); // gzip on the client: fine
        spec.walArchiving.enabled = true;
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> LogicalBackups.refuseWhatTheyCannotDo(spec))
                .hasMessageContaining("spec.walArchiving.enabled needs method: physical");
        spec.walArchiving.enabled = false;
        spec.compression.algorithm = BackupPolicySpec.Compression.Algorithm.zstd;
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> LogicalBackups.refuseWhatTheyCannotDo(spec))
                .hasMessageContaining("gzip or none");
    }

    @Test
    void anEncryptedPolicysJobsGetTheKeysByReferenceAndOnlyTheWritersTheCurrentKeyId() {
        BackupPolicy p = policy();
        p.getSpec().encryption = new BackupPolicySpec.Encryption();
        p.getSpec().encryption.secretRef = new io.dbaoperator.api.common.SecretRef("backup-keys");
        p.getSpec().encryption.keyId = "k2";
        var backup = BackupJobs.build(p, "20261121T020000Z", "img").getSpec().getTemplate().getSpec()
                .getContainers().get(0);
        assertThat(backup.getEnvFrom()).extracting(e -> e.getSecretRef().getName() + " " + e.getPrefix())
                .containsExactly("app-db-replication DBA_DB_", "backup-keys DBA_ENC_KEY_");
        assertThat(backup.getEnv()).extracting(e -> e.getName() + "=" + e.getValue())
                .contains("DBA_ENC_CURRENT=k2", "DBA_ENC_SECRET=backup-keys");
        var archiver = WalArchiverDeployment.build(p, "img").getSpec().getTemplate().getSpec().getContainers()
                .get(0);
        assertThat(archiver.getEnvFrom()).extracting(e -> e.getSecretRef().getName()).contains("backup-keys");
        assertThat(archiver.getEnv()).extracting(e -> e.getName()).contains("DBA_ENC_CURRENT");
        var restoreTest = RestoreJobs.restoreTestJob(withRestoreTest(p), "test-1", "20261121T020000Z", "app", "app",
                "img").getSpec().getTemplate().getSpec().getContainers().get(0);
        assertThat(restoreTest.getEnvFrom()).extracting(e -> e.getSecretRef().getName() + " " + e.getPrefix())
                .containsExactly("backup-keys DBA_ENC_KEY_");
        assertThat(restoreTest.getEnv()).extracting(e -> e.getName()).contains("DBA_ENC_SECRET")
                .doesNotContain("DBA_ENC_CURRENT");
    }

    static BackupPolicy withRestoreTest(BackupPolicy p) {
        p.getSpec().verification.restoreTest = new BackupPolicySpec.RestoreTest();
        p.getSpec().verification.restoreTest.schedule = "0 5 * * 0";
        return p;
    }
}
