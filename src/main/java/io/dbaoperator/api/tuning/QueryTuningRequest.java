package io.dbaoperator.api.tuning;

import io.fabric8.crd.generator.annotation.AdditionalPrinterColumn;
import io.fabric8.kubernetes.api.model.Namespaced;
import io.fabric8.kubernetes.client.CustomResource;
import io.fabric8.kubernetes.model.annotation.Categories;
import io.fabric8.kubernetes.model.annotation.Group;
import io.fabric8.kubernetes.model.annotation.ShortNames;
import io.fabric8.kubernetes.model.annotation.Version;

/** Analyse a slow query (or the top N), recommend and test an index, apply it after approval, follow its use. */
@Group("dbaoperator.io")
@Version("v1alpha1")
@ShortNames("qtr")
@Categories("dba")
@AdditionalPrinterColumn(name = "Phase", jsonPath = ".status.phase")
@AdditionalPrinterColumn(name = "Approval", jsonPath = ".status.approvalRequest.step")
@AdditionalPrinterColumn(name = "Improvement %", jsonPath = ".status.bestImprovementPercent", type = AdditionalPrinterColumn.Type.NUMBER)
@AdditionalPrinterColumn(name = "Next Window", jsonPath = ".status.waitingForWindow", priority = 1)
@AdditionalPrinterColumn(name = "Age", jsonPath = ".metadata.creationTimestamp", type = AdditionalPrinterColumn.Type.DATE)
public class QueryTuningRequest extends CustomResource<QueryTuningRequestSpec, QueryTuningRequestStatus>
        implements Namespaced {

    @Override
    protected QueryTuningRequestStatus initStatus() {
        return new QueryTuningRequestStatus();
    }
}
