package io.dbaoperator.status;

import java.sql.SQLException;
import java.time.Duration;

import io.dbaoperator.api.common.OperatorStatus;
import io.dbaoperator.api.common.Phase;
import io.dbaoperator.problem.Problem;
import io.dbaoperator.problem.Reason;
import io.fabric8.kubernetes.client.CustomResource;
import io.javaoperatorsdk.operator.api.reconciler.Context;

/**
 * One kind's reconcile, in the shape every controller shares; {@link WorkflowRunner#run} calls the steps in order
 * and writes what they decided.
 * <ol>
 * <li>{@link #settled}: nothing is left to do for this resource (a terminal phase), so nothing is read or written.
 * <li>{@link #validate}: read and check what the spec names (Secrets, databases, buckets, other resources) and parse
 * it into the kind's inputs; a {@link io.dbaoperator.problem.ProblemException} says what is wrong. No side effect.
 * <li>{@link #advance}: the kind's {@link PhaseMachine} calls one handler per phase. A handler decides (pure
 * planners over what it read) and returns a {@link Step}: rest, go on to the next phase, or act. The machine, never
 * a handler, stores the decided status before an act's effect runs and before an acting phase's handler runs; it
 * returns when to look again.
 * <li>{@link #onProblem}: the phase a problem of validation or of the work puts the resource in.
 * </ol>
 * Status is then written once, as a JSON Patch pinned to the resourceVersion the reconcile decided on.
 *
 * @param <I> what validation resolved for the work: connection settings, parsed schedules, buckets
 */
public interface Workflow<R extends CustomResource<?, S>, S extends OperatorStatus, I> {

    /**
     * True when the resource is at rest (its status is the copy being decided): the reconcile does nothing. By
     * default, when its phase is terminal in the kind's table; a kind that rests elsewhere too says so.
     */
    default boolean settled(R resource, S status) {
        return status.phase() instanceof Phase<?> phase && phase.terminal();
    }

    /** Checks the spec's references and resolves the inputs; throws a ProblemException for what is wrong. */
    Validated<I> validate(R resource, S status);

    /**
     * Moves the workflow on from {@code status.phase}. An SQLException is given to {@link #databaseError}.
     *
     * @param context the reconcile's JOSDK context: the objects the kind made (its Jobs, Deployments,
     *        StatefulSets) are read from its informers through it, and its dependent resources reconciled with it
     * @return when to look again, or null for only when something changes
     */
    Duration advance(R resource, S status, I inputs, WriteAhead log, Context<R> context) throws SQLException;

    /**
     * What an SQLException out of {@link #advance} means: throw the ProblemException it classifies as, or return
     * when to look again when the kind resumes on its own (say, after a lost connection). Kinds that hold a database
     * connection classify against its settings; this default, for those that hold none, says only the SQLSTATE.
     */
    default Duration databaseError(R resource, S status, I inputs, SQLException e) {
        throw Problem.transientFault(Reason.DatabaseError, "PostgreSQL error (SQLSTATE " + e.getSQLState() + ")")
                .exception();
    }

    /** Sets the phase a problem leaves the resource in (the condition and message are already set). */
    void onProblem(R resource, S status, Problem problem);

    /** What validation resolved, with the one-line summary the Validated condition shows. */
    record Validated<I>(I inputs, String summary) {
    }
}
