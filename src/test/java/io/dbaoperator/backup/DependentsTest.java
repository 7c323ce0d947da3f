package io.dbaoperator.backup;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

import io.dbaoperator.api.backup.BackupPolicy;
import io.dbaoperator.api.backup.BackupRestore;
import io.dbaoperator.api.backup.BackupRestoreSpec;
import io.dbaoperator.api.backup.BackupRestoreStatus;
import io.dbaoperator.api.common.JobTemplate;
import io.fabric8.kubernetes.api.model.apps.Deployment;

/** What the dependent resources decide without a cluster: when the archiver is changed, what a restore serves. */
class DependentsTest {

    @Test
    void theArchiverIsChangedExactlyWhenWhatItRunsChanges() {
        WalArchiver archiver = new WalArchiver("registry/dba-operator:1");
        BackupPolicy policy = BackupJobsTest.policy();
        Deployment desired = WalArchiverDeployment.build(policy, "registry/dba-operator:1");
        // as read back from the API server: defaults filled in, the operator's labels, another client's annotation
        Deployment actual = WalArchiverDeployment.build(policy, "registry/dba-operator:1");
        actual.getSpec().setRevisionHistoryLimit(10);
        actual.getSpec().getTemplate().getSpec().setDnsPolicy("ClusterFirst");
        actual.getMetadata().getAnnotations().put("deployment.kubernetes.io/revision", "1");
        assertThat(archiver.match(actual, desired, policy, null).matched()).as("server defaults are no change")
                .isTrue();

        policy.getSpec().jobTemplate = new JobTemplate();
        policy.getSpec().jobTemplate.image = "registry/dba-operator:2";
        Deployment upgraded = WalArchiverDeployment.build(policy, "registry/dba-operator:1");
        assertThat(archiver.match(actual, upgraded, policy, null).matched()).as("a new image is").isFalse();
        actual.getMetadata().setAnnotations(null);
        assertThat(archiver.match(actual, desired, policy, null).matched()).as("no hash: made by hand").isFalse();
    }

    @Test
    void aRestoredInstanceRunsTheImageStoredWithStarting() {
        BackupRestore restore = new BackupRestore();
        restore.getMetadata().setName("yesterday");
        restore.getMetadata().setNamespace("shop");
        restore.getMetadata().setUid("uid-9");
        restore.setSpec(new BackupRestoreSpec());
        restore.getSpec().target = new BackupRestoreSpec.RestoreTarget();
        restore.getSpec().target.newInstance = new BackupRestoreSpec.NewInstance();
        restore.getSpec().target.newInstance.name = "shop-restored";
        restore.getSpec().target.newInstance.storage = new BackupRestoreSpec.Storage();
        restore.getSpec().target.newInstance.storage.size = "1Gi";
        assertThat(RestoredServing.image(restore)).as("before any image was stored").isEqualTo("postgres:15");
        var ni = restore.getSpec().target.newInstance;
        assertThat(RestoredServing.image(ni, "16", "mirror.internal/postgres:{major}")).as("the operator's default")
                .isEqualTo("mirror.internal/postgres:16");
        assertThat(RestoredServing.image(ni, null, "localhost/dba-operator:dev"))
                .isEqualTo("localhost/dba-operator:dev");
        restore.getSpec().target.newInstance.image = "registry/postgres:16-custom";
        assertThat(RestoredServing.image(restore)).isEqualTo("registry/postgres:16-custom");
        restore.setStatus(new BackupRestoreStatus());
        restore.getStatus().instance = new BackupRestoreStatus.Instance();
        restore.getStatus().instance.image = "postgres:17";
        assertThat(RestoredServing.image(restore)).as("the stored decision wins").isEqualTo("postgres:17");

        var sts = new RestoredServing.Server().desired(restore, null);
        assertThat(sts.getSpec().getTemplate().getSpec().getContainers().get(0).getImage()).isEqualTo("postgres:17");
        var postgres = sts.getSpec().getTemplate().getSpec().getContainers().get(0);
        assertThat(postgres.getCommand()).as("the server, in either image").containsExactly("postgres");
        assertThat(postgres.getArgs()).containsSequence("-c", "listen_addresses=*").contains("port=5432",
                "hba_file=/var/lib/postgresql/data/served-pg_hba.conf");
        assertThat(sts.getSpec().getTemplate().getSpec().getSecurityContext().getFsGroupChangePolicy())
                .isEqualTo("OnRootMismatch");
        assertThat(sts.getMetadata().getOwnerReferences()).singleElement()
                .satisfies(o -> assertThat(o.getUid()).isEqualTo("uid-9"));
        assertThat(sts.getMetadata().getAnnotations()).as("JOSDK annotates what it creates").isNotNull();
        assertThat(new RestoredServing.Address().desired(restore, null).getSpec().getSelector())
                .containsEntry("dbaoperator.io/instance", "shop-restored");
    }
}
