package io.dbaoperator.api.maintenance;

import io.fabric8.crd.generator.annotation.AdditionalPrinterColumn;
import io.fabric8.kubernetes.api.model.Namespaced;
import io.fabric8.kubernetes.client.CustomResource;
import io.fabric8.kubernetes.model.annotation.Categories;
import io.fabric8.kubernetes.model.annotation.Group;
import io.fabric8.kubernetes.model.annotation.ShortNames;
import io.fabric8.kubernetes.model.annotation.Version;

/**
 * Routine maintenance of one database: VACUUM (and FREEZE), ANALYZE, REINDEX CONCURRENTLY and pg_repack where the
 * evidence shows the need, inside maintenance windows, planned in status before anything runs.
 */
@Group("dbaoperator.io")
@Version("v1alpha1")
@ShortNames("mnt")
@Categories("dba")
@AdditionalPrinterColumn(name = "Phase", jsonPath = ".status.phase")
@AdditionalPrinterColumn(name = "Approval", jsonPath = ".status.approvalRequest.step")
@AdditionalPrinterColumn(name = "Done", jsonPath = ".status.progress")
@AdditionalPrinterColumn(name = "Next Run", jsonPath = ".status.nextRunAt", priority = 1)
@AdditionalPrinterColumn(name = "Next Window", jsonPath = ".status.waitingForWindow", priority = 1)
@AdditionalPrinterColumn(name = "Age", jsonPath = ".metadata.creationTimestamp", type = AdditionalPrinterColumn.Type.DATE)
public class DatabaseMaintenance extends CustomResource<DatabaseMaintenanceSpec, DatabaseMaintenanceStatus>
        implements Namespaced {

    @Override
    protected DatabaseMaintenanceStatus initStatus() {
        return new DatabaseMaintenanceStatus();
    }
}
