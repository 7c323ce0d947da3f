package io.dbaoperator.api.disposal;

import io.fabric8.crd.generator.annotation.AdditionalPrinterColumn;
import io.fabric8.kubernetes.api.model.Namespaced;
import io.fabric8.kubernetes.client.CustomResource;
import io.fabric8.kubernetes.model.annotation.Categories;
import io.fabric8.kubernetes.model.annotation.Group;
import io.fabric8.kubernetes.model.annotation.ShortNames;
import io.fabric8.kubernetes.model.annotation.Version;

/** Delete or anonymize data past its retention, in batches, with a report. */
@Group("dbaoperator.io")
@Version("v1alpha1")
@ShortNames("dsp")
@Categories("dba")
@AdditionalPrinterColumn(name = "Phase", jsonPath = ".status.phase")
@AdditionalPrinterColumn(name = "Approval", jsonPath = ".status.approvalRequest.step")
@AdditionalPrinterColumn(name = "Rows", jsonPath = ".status.rowsAffected", type = AdditionalPrinterColumn.Type.INTEGER)
@AdditionalPrinterColumn(name = "Next Window", jsonPath = ".status.waitingForWindow", priority = 1)
@AdditionalPrinterColumn(name = "Age", jsonPath = ".metadata.creationTimestamp", type = AdditionalPrinterColumn.Type.DATE)
public class DisposalJob extends CustomResource<DisposalJobSpec, DisposalJobStatus> implements Namespaced {

    @Override
    protected DisposalJobStatus initStatus() {
        return new DisposalJobStatus();
    }
}
