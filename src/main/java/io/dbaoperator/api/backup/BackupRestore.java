package io.dbaoperator.api.backup;

import io.fabric8.crd.generator.annotation.AdditionalPrinterColumn;
import io.fabric8.kubernetes.api.model.Namespaced;
import io.fabric8.kubernetes.client.CustomResource;
import io.fabric8.kubernetes.model.annotation.Categories;
import io.fabric8.kubernetes.model.annotation.Group;
import io.fabric8.kubernetes.model.annotation.ShortNames;
import io.fabric8.kubernetes.model.annotation.Version;

/** A human-approved restore of a backup (to a point in time) into a new instance, then checks. */
@Group("dbaoperator.io")
@Version("v1alpha1")
@ShortNames("bkr")
@Categories("dba")
@AdditionalPrinterColumn(name = "Phase", jsonPath = ".status.phase")
@AdditionalPrinterColumn(name = "Approval", jsonPath = ".status.approvalRequest.step")
@AdditionalPrinterColumn(name = "Backup", jsonPath = ".status.plan.backupId")
@AdditionalPrinterColumn(name = "Size", jsonPath = ".status.plan.backupSize", priority = 1)
@AdditionalPrinterColumn(name = "Age", jsonPath = ".metadata.creationTimestamp", type = AdditionalPrinterColumn.Type.DATE)
public class BackupRestore extends CustomResource<BackupRestoreSpec, BackupRestoreStatus> implements Namespaced {

    @Override
    protected BackupRestoreStatus initStatus() {
        return new BackupRestoreStatus();
    }
}
