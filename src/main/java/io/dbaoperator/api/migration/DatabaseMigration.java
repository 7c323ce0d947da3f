package io.dbaoperator.api.migration;

import io.fabric8.crd.generator.annotation.AdditionalPrinterColumn;
import io.fabric8.kubernetes.api.model.Namespaced;
import io.fabric8.kubernetes.client.CustomResource;
import io.fabric8.kubernetes.model.annotation.Categories;
import io.fabric8.kubernetes.model.annotation.Group;
import io.fabric8.kubernetes.model.annotation.ShortNames;
import io.fabric8.kubernetes.model.annotation.Version;

/** One zero-downtime schema change, run as expand, backfill, cutover and contract, with a rollback. */
@Group("dbaoperator.io")
@Version("v1alpha1")
@ShortNames("dbm")
@Categories("dba")
@AdditionalPrinterColumn(name = "Phase", jsonPath = ".status.phase")
@AdditionalPrinterColumn(name = "Approval", jsonPath = ".status.approvalRequest.step")
@AdditionalPrinterColumn(name = "Backfill", jsonPath = ".status.backfill.percent", type = AdditionalPrinterColumn.Type.STRING)
@AdditionalPrinterColumn(name = "Next Window", jsonPath = ".status.waitingForWindow", priority = 1)
@AdditionalPrinterColumn(name = "Age", jsonPath = ".metadata.creationTimestamp", type = AdditionalPrinterColumn.Type.DATE)
public class DatabaseMigration extends CustomResource<DatabaseMigrationSpec, DatabaseMigrationStatus>
        implements Namespaced {

    @Override
    protected DatabaseMigrationStatus initStatus() {
        return new DatabaseMigrationStatus();
    }
}
