package io.dbaoperator.status;

import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

import org.jboss.logging.Logger;

import io.dbaoperator.api.common.Condition;
import io.dbaoperator.api.common.OperatorStatus;
import io.dbaoperator.problem.Problem;
import io.dbaoperator.problem.ProblemException;
import io.dbaoperator.problem.Reason;
import io.fabric8.kubernetes.client.CustomResource;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.UpdateControl;
import jakarta.enterprise.context.ApplicationScoped;

/**
 * Runs a kind's {@link Workflow} and records it: condition Validated with an actionable reason, the phase the kind
 * chooses, one Event per transition, and a requeue that never storms: invalid input is looked at again every 5 minutes (a
 * missing Secret may be created later; a spec change triggers at once anyway), transient faults back off from 15
 * seconds to 10 minutes.
 */
@ApplicationScoped
public class WorkflowRunner {

    private static final Logger LOG = Logger.getLogger(WorkflowRunner.class);
    static final Duration INVALID_RECHECK = Duration.ofMinutes(5);
    /** A conflict is normal: look again soon (the change that caused it usually triggers a reconcile first). */
    static final Duration CONFLICT_RETRY = Duration.ofMillis(250);

    private final StatusWriter writer;

    public WorkflowRunner(StatusWriter writer) {
        this.writer = writer;
    }

    /**
     * One reconcile of {@code resource}: unless the workflow is {@link Workflow#settled settled}, validates, advances
     * and writes the status the steps decided (starting from {@code desired}, a copy of the stored status). A 409
     * from any status write (a person's patch, another client's metadata write, a stale cache) ends the reconcile
     * with nothing more done and a prompt retry that decides again from fresh state: one short log line, not a
     * stack trace.
     */
    public <R extends CustomResource<?, S>, S extends OperatorStatus, I> UpdateControl<R> run(R resource,
            Context<R> context, S desired, Workflow<R, S, I> flow) {
        if (flow.settled(resource, desired)) {
            return UpdateControl.noUpdate();
        }
        WriteAhead log = new WriteAhead(writer, resource, desired);
        try {
            return decide(resource, context, desired, flow, log);
        } catch (KubernetesClientException e) {
            if (e.getCode() == 404 && e.getStatus() != null && e.getStatus().getDetails() != null
                    && resource.getMetadata().getName().equals(e.getStatus().getDetails().getName())) {
                LOG.debugf("%s %s/%s was deleted while it was being reconciled", resource.getKind(),
                        resource.getMetadata().getNamespace(), resource.getMetadata().getName());
                return UpdateControl.noUpdate();
            }
            if (e.getCode() != 409) {
                throw e;
            }
            LOG.infof("%s %s/%s changed while it was being reconciled (409 Conflict, %d decision(s) persisted "
                    + "before); deciding again on fresh state", resource.getKind(),
                    resource.getMetadata().getNamespace(), resource.getMetadata().getName(), log.persisted());
            return UpdateControl.<R>noUpdate().rescheduleAfter(CONFLICT_RETRY);
        }
    }

    /**
     * Validated False for {@code problem}, judged against {@code before} (what was stored), not against a True this
     * reconcile set before the problem was found: the same problem again changes nothing, so writes nothing.
     */
    private static List<Condition> notValidated(List<Condition> conditions,
            Optional<Condition> before, Problem problem, long generation, Instant now) {
        return Conditions.set(Conditions.restore(conditions, ConditionType.Validated, before),
                ConditionType.Validated, false, problem.reason(), problem.message(), generation, now);
    }

    private <R extends CustomResource<?, S>, S extends OperatorStatus, I> UpdateControl<R> decide(R resource,
            Context<R> context, S desired, Workflow<R, S, I> flow, WriteAhead log) {
        writer.auditRecordedDecisions(resource);
        long generation = resource.getMetadata().getGeneration() == null ? 0 : resource.getMetadata().getGeneration();
        Instant now = Instant.now();
        Problem problem;
        Duration requeue = null;
        // what Validated said before this reconcile: a problem found after validation passed (a rule refused while
        // planning) is judged against it, not against the True this reconcile set a moment before; else every
        // reconcile would move lastTransitionTime, write status, and so trigger the next reconcile, for ever
        Optional<Condition> validatedBefore = Conditions.find(desired.conditions, ConditionType.Validated);
        try {
            Workflow.Validated<I> valid = flow.validate(resource, desired);
            desired.conditions = Conditions.set(desired.conditions, ConditionType.Validated, true, Reason.Validated,
                    valid.summary(), generation, now);
            try {
                requeue = flow.advance(resource, desired, valid.inputs(), log, context);
            } catch (SQLException e) {
                requeue = flow.databaseError(resource, desired, valid.inputs(), e);
            }
            problem = null;
        } catch (ProblemException e) {
            problem = e.problem();
            desired.conditions = notValidated(desired.conditions, validatedBefore, problem, generation, now);
            desired.message = problem.message();
            flow.onProblem(resource, desired, problem);
        } catch (KubernetesClientException e) {
            if (e.getCode() == 409) {
                throw e; // our own status write raced a change: decide again on fresh state
            }
            problem = Problem.transientFault(Reason.InternalError, "the Kubernetes API answered HTTP " + e.getCode()
                    + " while validating; retrying");
            LOG.debugf(e, "validation of %s/%s hit the API server", resource.getMetadata().getNamespace(),
                    resource.getMetadata().getName());
            desired.conditions = notValidated(desired.conditions, validatedBefore, problem, generation, now);
            flow.onProblem(resource, desired, problem);
        } catch (RuntimeException e) {
            // a bug or an unexpected answer: say so in status instead of retrying silently
            LOG.errorf(e, "reconcile of %s/%s failed", resource.getMetadata().getNamespace(),
                    resource.getMetadata().getName());
            problem = Problem.transientFault(Reason.InternalError, "unexpected " + e.getClass().getSimpleName()
                    + " while reconciling (see the operator log); retrying with backoff");
            desired.conditions = notValidated(desired.conditions, validatedBefore, problem, generation, now);
            flow.onProblem(resource, desired, problem);
        }
        writer.write(log.observed(), desired, log.pendingDecisions());
        UpdateControl<R> control = UpdateControl.noUpdate();
        if (problem == null) {
            return requeue == null ? control : control.rescheduleAfter(requeue);
        }
        return control.rescheduleAfter(problem.permanent() ? INVALID_RECHECK
                : StatusWriter.backoff(desired, ConditionType.Validated, now));
    }
}
