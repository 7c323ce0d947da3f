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
}
