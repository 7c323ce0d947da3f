package io.dbaoperator.tuning;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

import io.dbaoperator.api.tuning.QueryTuningRequest;
import io.dbaoperator.api.tuning.QueryTuningRequestSpec;
import io.dbaoperator.api.tuning.QueryTuningRequestStatus;
import io.dbaoperator.api.tuning.TuningPhase;
import io.dbaoperator.kube.ReferenceChecks;
import io.dbaoperator.status.Problem;
import io.dbaoperator.status.Reason;
import io.dbaoperator.status.StatusPatcher;
import io.dbaoperator.status.ValidationRunner;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.ControllerConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.Reconciler;
import io.javaoperatorsdk.operator.api.reconciler.UpdateControl;

/**
 * Reconciles QueryTuningRequest. This version validates the request (databases answer, the query's placeholders
 * match its parameters); analysis, costing and apply land with the QueryTuningRequest issue.
 */
@ControllerConfiguration(name = "querytuningrequest", generationAwareEventProcessing = false)
public class QueryTuningRequestReconciler implements Reconciler<QueryTuningRequest> {

    private static final Pattern PLACEHOLDER = Pattern.compile("\\$([0-9]+)");

    private final ReferenceChecks checks;
    private final ValidationRunner runner;

    public QueryTuningRequestReconciler(ReferenceChecks checks, ValidationRunner runner) {
        this.checks = checks;
        this.runner = runner;
    }

    @Override
    public UpdateControl<QueryTuningRequest> reconcile(QueryTuningRequest request, Context<QueryTuningRequest> context) {
        QueryTuningRequestSpec spec = request.getSpec();
        String ns = request.getMetadata().getNamespace();
        QueryTuningRequestStatus desired = StatusPatcher.copy(request.getStatus(), QueryTuningRequestStatus.class);
        if (desired.phase == TuningPhase.Completed || desired.phase == TuningPhase.Rejected) {
            return UpdateControl.noUpdate();
        }
        return runner.run(request, desired, () -> {
            if (spec.query != null) {
                int needed = highestPlaceholder(spec.query);
                int given = spec.parameters == null ? 0 : spec.parameters.size();
                if (needed != given) {
                    throw Problem.invalid(Reason.InvalidSpec, "spec.query uses placeholders up to $" + needed + " but "
                            + given + " parameter(s) are given in spec.parameters").exception();
                }
            }
            String summary = "database " + checks.database(ns, spec.database, "spec.database").describe();
            if (spec.stagingDatabase != null) {
                summary += ", staging " + checks.database(ns, spec.stagingDatabase, "spec.stagingDatabase").describe();
            }
            return summary + " answer" + (spec.stagingDatabase != null ? "" : "s");
        }, (status, summary) -> {
            status.phase = TuningPhase.Pending;
            status.message = "validated: " + summary;
        }, (status, problem) -> status.phase = problem.permanent() ? TuningPhase.Failed : TuningPhase.Pending);
    }

    static int highestPlaceholder(String sql) {
        int max = 0;
        Matcher m = PLACEHOLDER.matcher(sql);
        while (m.find()) {
            max = Math.max(max, Integer.parseInt(m.group(1)));
        }
        return max;
    }
}
