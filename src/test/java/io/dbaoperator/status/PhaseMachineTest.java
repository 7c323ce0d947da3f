package io.dbaoperator.status;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

import io.dbaoperator.api.common.OperatorStatus;
import io.dbaoperator.api.disposal.DisposalJob;
import io.dbaoperator.api.disposal.DisposalJobStatus;
import io.dbaoperator.api.disposal.DisposalPhase;
import io.dbaoperator.api.common.Phase;
import io.dbaoperator.audit.AuditEvent;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.CustomResource;
import io.fabric8.kubernetes.client.KubernetesClientException;

/**
 * The dispatcher's two rules, which every kind relies on instead of persisting by itself: an act's effect runs only
 * after the status that decided it is stored, and an acting phase's handler runs only once its phase is stored.
 * Uses DisposalJob's table as a plain example; what is written is recorded, not sent.
 */
class PhaseMachineTest {

    /** What happened, in order: "persist PHASE", and what handlers and effects did. */
    private final List<String> trace = new ArrayList<>();
    private boolean conflict;

    private final DisposalJob job = job(DisposalPhase.AwaitingApproval);
    private final DisposalJobStatus st = StatusPatcher.copy(job.getStatus(), DisposalJobStatus.class);

    private static DisposalJob job(DisposalPhase stored) {
        DisposalJob job = new DisposalJob();
        job.setMetadata(new ObjectMetaBuilder().withName("gdpr").withNamespace("shop").withGeneration(1L).build());
        job.setStatus(new DisposalJobStatus());
        job.getStatus().phase = stored;
        return job;
    }

    private WriteAhead log() {
        StatusWriter writer = new StatusWriter(null, null, null, null) {
            @Override
            public <R extends CustomResource<?, ? extends OperatorStatus>> R write(R observed, OperatorStatus status,
                    List<AuditEvent> auditEvents) {
                if (conflict) {
                    throw new KubernetesClientException("the object has been modified", 409, null);
                }
                trace.add("persist " + status.phase());
                return observed;
            }
        };
        return new WriteAhead(writer, job, st);
    }

    private PhaseMachine.Builder<DisposalPhase, DisposalJobStatus> builder() {
        return PhaseMachine.of(DisposalPhase.class, DisposalPhase.Pending, s -> s.phase);
    }

    @Test
    void anActingPhaseEnteredInThisReconcileIsStoredBeforeItsHandlerRuns() throws SQLException {
        PhaseMachine<DisposalPhase, DisposalJobStatus> m = builder()
                .decides(DisposalPhase.AwaitingApproval, s -> {
                    trace.add("approved");
                    s.phase = Phase.move(s.phase, DisposalPhase.Disposing);
                    return Step.next();
                })
                .acts(DisposalPhase.Disposing, s -> {
                    trace.add("first batch");
                    return Step.rest(Duration.ofSeconds(1));
                }).build();
        assertThat(m.drive(st, log())).isEqualTo(Duration.ofSeconds(1));
        assertThat(trace).containsExactly("approved", "persist Disposing", "first batch");
    }

    @Test
    void anActingPhaseAlreadyStoredIsNotWrittenAgainBeforeItsHandler() throws SQLException {
        DisposalJob stored = job(DisposalPhase.Disposing);
        st.phase = DisposalPhase.Disposing;
        PhaseMachine<DisposalPhase, DisposalJobStatus> m = builder()
                .acts(DisposalPhase.Disposing, s -> {
                    trace.add("next batch");
                    return Step.onEvent();
                }).build();
        StatusWriter writer = new StatusWriter(null, null, null, null) {
            @Override
            public <R extends CustomResource<?, ? extends OperatorStatus>> R write(R observed, OperatorStatus status,
                    List<AuditEvent> auditEvents) {
                trace.add("persist " + status.phase());
                return observed;
            }
        };
        assertThat(m.drive(st, new WriteAhead(writer, stored, st))).isNull();
        assertThat(trace).containsExactly("next batch");
    }

    @Test
    void anEffectRunsAfterItsDecisionIsStoredAndItsStepIsWhatHappensNext() throws SQLException {
        PhaseMachine<DisposalPhase, DisposalJobStatus> m = builder()
                .decides(DisposalPhase.AwaitingApproval, s -> {
                    s.message = "decided";
                    return Step.act(() -> {
                        trace.add("effect saw a stored decision: " + trace.contains("persist AwaitingApproval"));
                        return Step.rest(Duration.ofMinutes(2));
                    });
                }).build();
        assertThat(m.drive(st, log())).isEqualTo(Duration.ofMinutes(2));
        assertThat(trace).containsExactly("persist AwaitingApproval", "effect saw a stored decision: true");
    }

    @Test
    void aConflictOnTheWriteLeavesWithTheEffectNotRun() {
        conflict = true;
        PhaseMachine<DisposalPhase, DisposalJobStatus> m = builder()
                .decides(DisposalPhase.AwaitingApproval, s -> {
                    s.phase = Phase.move(s.phase, DisposalPhase.Disposing);
                    return Step.next();
                })
                .acts(DisposalPhase.Disposing, s -> Step.act(() -> {
                    trace.add("deleted rows");
                    return Step.onEvent();
                })).build();
        assertThatThrownBy(() -> m.drive(st, log())).isInstanceOfSatisfying(KubernetesClientException.class,
                e -> assertThat(e.getCode()).isEqualTo(409));
        assertThat(trace).isEmpty();

        st.phase = DisposalPhase.AwaitingApproval; // the decision above was not stored; decide again from the start
        PhaseMachine<DisposalPhase, DisposalJobStatus> act = builder()
                .decides(DisposalPhase.AwaitingApproval, s -> Step.act(() -> {
                    trace.add("deleted rows");
                    return Step.onEvent();
                })).build();
        assertThatThrownBy(() -> act.drive(st, log())).isInstanceOf(KubernetesClientException.class);
        assertThat(trace).isEmpty();
    }

    @Test
    void aGuardDecidesBeforeEveryHandlerAndAPhaseWithoutOneRests() throws SQLException {
        PhaseMachine<DisposalPhase, DisposalJobStatus> m = builder()
                .guard(s -> {
                    trace.add("guard " + s.phase);
                    if (s.phase == DisposalPhase.AwaitingApproval) {
                        s.phase = Phase.move(s.phase, DisposalPhase.Rejected);
                        return Step.next();
                    }
                    return null;
                })
                .decides(DisposalPhase.AwaitingApproval, s -> {
                    trace.add("never");
                    return Step.onEvent();
                }).build();
        assertThat(m.drive(st, log())).isNull();
        assertThat(trace).containsExactly("guard AwaitingApproval", "guard Rejected");
        assertThat(st.phase).isEqualTo(DisposalPhase.Rejected);
    }

    @Test
    void handlersThatNeverRestStopAfterABoundedNumberOfStepsAndLookAgainSoon() throws SQLException {
        int[] calls = {0};
        PhaseMachine<DisposalPhase, DisposalJobStatus> m = builder()
                .decides(DisposalPhase.AwaitingApproval, s -> {
                    calls[0]++;
                    return Step.next();
                }).build();
        assertThat(m.drive(st, log())).isEqualTo(PhaseMachine.TOO_MANY_STEPS_RETRY);
        assertThat(calls[0]).isEqualTo(PhaseMachine.MAX_STEPS);
    }

    @Test
    void aTerminalPhaseCannotHaveAHandlerNorAPhaseTwo() {
        assertThatThrownBy(() -> builder().decides(DisposalPhase.Rejected, s -> Step.onEvent()).build())
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("terminal phase Rejected");
        assertThatThrownBy(() -> builder().decides(DisposalPhase.Counting, s -> Step.onEvent())
                .acts(DisposalPhase.Counting, s -> Step.onEvent())).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("two handlers for phase Counting");
    }
}
