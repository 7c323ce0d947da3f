package io.dbaoperator.api.backup;

import io.fabric8.crd.generator.annotation.AdditionalPrinterColumn;
import io.fabric8.kubernetes.api.model.Namespaced;
import io.fabric8.kubernetes.client.CustomResource;
import io.fabric8.kubernetes.model.annotation.Categories;
import io.fabric8.kubernetes.model.annotation.Group;
import io.fabric8.kubernetes.model.annotation.ShortNames;
import io.fabric8.kubernetes.model.annotation.Version;

/** Scheduled, verified pg_basebackup backups to S3, with retention and WAL archiving for point-in-time recovery. */
@Group("dbaoperator.io")
@Version("v1alpha1")
@ShortNames("bkp")
@Categories("dba")
@AdditionalPrinterColumn(name = "Phase", jsonPath = ".status.phase")
@AdditionalPrinterColumn(name = "Schedule", jsonPath = ".spec.schedule")
@AdditionalPrinterColumn(name = "Last Backup", jsonPath = ".status.lastBackup.completedAt", type = AdditionalPrinterColumn.Type.DATE)
@AdditionalPrinterColumn(name = "Size", jsonPath = ".status.lastBackup.size", priority = 1)
@AdditionalPrinterColumn(name = "Age", jsonPath = ".metadata.creationTimestamp", type = AdditionalPrinterColumn.Type.DATE)
public class BackupPolicy extends CustomResource<BackupPolicySpec, BackupPolicyStatus> implements Namespaced {

    @Override
    protected BackupPolicyStatus initStatus() {
        return new BackupPolicyStatus();
    }
}
