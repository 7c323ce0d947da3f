package io.dbaoperator.tuning;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.sql.SQLException;
import java.util.List;
import java.util.Optional;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import io.dbaoperator.api.common.DatabaseRef;
import io.dbaoperator.api.common.SecretRef;
import io.dbaoperator.api.tuning.QueryTuningRequest;
import io.dbaoperator.api.tuning.QueryTuningRequestSpec;
import io.dbaoperator.api.tuning.QueryTuningRequestStatus;
import io.dbaoperator.api.tuning.TuningPhase;
import io.dbaoperator.fakes.FakeDatabases;
import io.dbaoperator.fakes.FakeReferences;
import io.dbaoperator.fakes.UnitPhaseMoves;
import io.dbaoperator.kube.MaintenanceWindows;
import io.dbaoperator.problem.Problem;
import io.dbaoperator.problem.ProblemException;
import io.dbaoperator.problem.Reason;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;

/** The QueryTuningRequest's workflow below the operator's runtime: validation, and what a failure means where. */
@ExtendWith(UnitPhaseMoves.class)
class TuningWorkflowTest {

    private final QueryTuningRequestReconciler reconciler = new QueryTuningRequestReconciler(
            new FakeReferences().database("prod", FakeReferences.settings("prod"), false), null, null,
            FakeDatabases.unused(), new MaintenanceWindows(Optional.empty(), Optional.empty(), "UTC"), "1h");

    private static QueryTuningRequest request(String query, String... parameters) {
        QueryTuningRequest r = new QueryTuningRequest();
        r.setMetadata(new ObjectMetaBuilder().withName("slow-orders").withNamespace("shop").withUid("uid-3")
                .withGeneration(1L).build());
        QueryTuningRequestSpec spec = new QueryTuningRequestSpec();
        spec.database = new DatabaseRef();
        spec.database.secretRef = new SecretRef();
        spec.database.secretRef.name = "prod";
        spec.query = query;
        spec.parameters = parameters.length == 0 ? null : List.of(parameters);
        r.setSpec(spec);
        return r;
    }

    @Test
    void validationCountsTheQuerysPlaceholdersAgainstItsParameters() {
        assertThatThrownBy(() -> reconciler.validate(request("select * from orders where customer_id = $1 and "
                + "status = $2", "42"), new QueryTuningRequestStatus()))
                .isInstanceOfSatisfying(ProblemException.class, e -> {
                    assertThat(e.problem().reason()).isEqualTo(Reason.InvalidSpec);
                    assertThat(e.problem().message()).contains("up to $2", "1 parameter(s)");
                });
        var valid = reconciler.validate(request("select * from orders where customer_id = $1", "42"),
                new QueryTuningRequestStatus());
        assertThat(valid.inputs().timeoutMs()).isEqualTo(30_000);
        assertThat(valid.inputs().prod().dbname()).isEqualTo("prod");
    }

    @Test
    void aFailingQueryEndsTheRequestWhileAnalysingOnly() {
        QueryTuningRequest r = request("select * from ordrs");
        var in = reconciler.validate(r, new QueryTuningRequestStatus()).inputs();
        QueryTuningRequestStatus analyzing = new QueryTuningRequestStatus();
        analyzing.phase = TuningPhase.Analyzing;
        SQLException missing = new SQLException("relation \"ordrs\" does not exist", "42P01");
        assertThatThrownBy(() -> reconciler.databaseError(r, analyzing, in, missing))
                .isInstanceOfSatisfying(ProblemException.class, e -> {
                    assertThat(e.problem().reason()).isEqualTo(Reason.QueryFailed);
                    assertThat(e.problem().permanent()).isTrue();
                    assertThat(e.problem().message()).contains("42P01", "ordrs");
                });
        // the same error while an index is built is the database's, not the query's: retried
        QueryTuningRequestStatus applying = new QueryTuningRequestStatus();
        applying.phase = TuningPhase.Applying;
        assertThatThrownBy(() -> reconciler.databaseError(r, applying, in, missing))
                .isInstanceOfSatisfying(ProblemException.class,
                        e -> assertThat(e.problem().permanent()).isFalse());
    }

    @Test
    void aProblemDecidesThePhaseUntilAnalysisIsDone() {
        Problem down = Problem.transientFault(Reason.DatabaseUnreachable, "down");
        Problem wrong = Problem.invalid(Reason.QueryFailed, "no such table");
        assertThat(phaseAfter(null, down)).isEqualTo(TuningPhase.Pending);
        assertThat(phaseAfter(TuningPhase.Pending, wrong)).isEqualTo(TuningPhase.Failed);
        assertThat(phaseAfter(TuningPhase.Analyzing, wrong)).isEqualTo(TuningPhase.Failed);
        assertThat(phaseAfter(TuningPhase.Monitoring, wrong)).isEqualTo(TuningPhase.Monitoring);
        for (TuningPhase phase : TuningPhase.values()) {
            QueryTuningRequestStatus st = new QueryTuningRequestStatus();
            st.phase = phase;
            assertThat(reconciler.settled(request("select 1"), st)).as(phase.name()).isEqualTo(phase.terminal());
        }
    }

    private TuningPhase phaseAfter(TuningPhase phase, Problem problem) {
        QueryTuningRequestStatus st = new QueryTuningRequestStatus();
        st.phase = phase;
        reconciler.onProblem(request("select 1"), st, problem);
        return st.phase;
    }
}
