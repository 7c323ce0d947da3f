package io.dbaoperator.tuning;

import java.sql.Connection;

import io.dbaoperator.api.tuning.QueryTuningRequest;
import io.dbaoperator.api.tuning.QueryTuningRequestStatus;
import io.dbaoperator.kube.MaintenanceWindows;
import io.dbaoperator.status.WriteAhead;

/**
 * One reconcile of a QueryTuningRequest, what every phase handler works on: the request, the status being decided,
 * its inputs, the production (and staging) connection, the maintenance window as it is now, and for
 * {@code spec.indexHygiene} what the review needs besides.
 */
record TuningRun(QueryTuningRequest request, QueryTuningRequestStatus st, QueryTuningRequestReconciler.Inputs in,
        WriteAhead log, Connection prod, Connection staging, MaintenanceWindows.State window,
        HygieneSteps.Scope scope) {

    /** The recommendation being applied and followed: the best one, ranked first. */
    QueryTuningRequestStatus.IndexRecommendation best() {
        return st.recommendations.get(0);
    }

    /**
     * The indexes to apply, in order: the selected ones (the best for one statement, the chosen set in workload
     * mode), else, in a status written before sets existed, the best one.
     */
    java.util.List<QueryTuningRequestStatus.IndexRecommendation> set() {
        var selected = st.recommendations.stream().filter(x -> Boolean.TRUE.equals(x.selected)).toList();
        return selected.isEmpty() ? java.util.List.of(best()) : selected;
    }
}
