package io.dbaoperator.disposal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import io.dbaoperator.api.common.DatabaseRef;
import io.dbaoperator.api.common.SecretRef;
import io.dbaoperator.api.disposal.DisposalJob;
import io.dbaoperator.api.disposal.DisposalJobSpec;
import io.dbaoperator.api.disposal.DisposalJobStatus;
import io.dbaoperator.api.disposal.DisposalPhase;
import io.dbaoperator.fakes.FakeDatabases;
import io.dbaoperator.fakes.FakeReferences;
import io.dbaoperator.fakes.FakeSecrets;
import io.dbaoperator.fakes.RecordingEvents;
import io.dbaoperator.fakes.UnitPhaseMoves;
import io.dbaoperator.kube.MaintenanceWindows;
import io.dbaoperator.postgres.Databases;
import io.dbaoperator.problem.Problem;
import io.dbaoperator.problem.ProblemException;
import io.dbaoperator.problem.Reason;
import io.dbaoperator.status.ConditionType;
import io.dbaoperator.status.Conditions;
import io.dbaoperator.status.RecordingWriteAhead;
import io.dbaoperator.storage.StorageDefaults;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;

/**
 * The DisposalJob's workflow below the operator's runtime: what validation refuses, the problem-to-phase rule, a
 * lost connection, and a rules change noticed before the database is asked. Fake references, Secrets and databases.
 */
@ExtendWith(UnitPhaseMoves.class)
class DisposalWorkflowTest {

    private final RecordingEvents events = new RecordingEvents();

    private DisposalJobReconciler reconciler(FakeSecrets secrets, Databases databases) {
        FakeReferences refs = new FakeReferences().database("prod", FakeReferences.settings("prod"), false);
        return new DisposalJobReconciler(refs, secrets, null, databases, events, null,
                new StorageDefaults(Optional.empty(), Optional.empty(), Optional.empty(), "us-east-1", false,
                        Optional.empty(), Optional.empty()),
                new MaintenanceWindows(Optional.empty(), Optional.empty(), "UTC"), "5s");
    }

    private static DisposalJobSpec.Rule rule(String table, DisposalJobSpec.ColumnStrategy.Strategy strategy) {
        DisposalJobSpec.Rule r = new DisposalJobSpec.Rule();
        r.table = table;
        r.where = "created_at < now() - interval '7 years'";
        if (strategy == null) {
            r.action = DisposalJobSpec.Action.Delete;
        } else {
            r.action = DisposalJobSpec.Action.Anonymize;
            r.anonymize = new DisposalJobSpec.Anonymize();
            DisposalJobSpec.ColumnStrategy c = new DisposalJobSpec.ColumnStrategy();
            c.strategy = strategy;
            r.anonymize.columns = Map.of("email", c);
        }
        return r;
    }

    private static DisposalJob job(DisposalJobSpec.Rule... rules) {
        DisposalJob job = new DisposalJob();
        job.setMetadata(new ObjectMetaBuilder().withName("gdpr").withNamespace("shop").withUid("uid-2")
                .withGeneration(1L).build());
        DisposalJobSpec spec = new DisposalJobSpec();
        spec.database = new DatabaseRef();
        spec.database.secretRef = new SecretRef();
        spec.database.secretRef.name = "prod";
        spec.rules = List.of(rules);
        job.setSpec(spec);
        return job;
    }

    private static Problem refused(DisposalJobReconciler r, DisposalJob job) {
        try {
            r.validate(job, new DisposalJobStatus());
        } catch (ProblemException e) {
            return e.problem();
        }
        throw new AssertionError("validation passed");
    }

    @Test
    void validationRefusesTwoRulesOfOneNameAndAHashWithoutASalt() {
        DisposalJobReconciler r = reconciler(new FakeSecrets(), FakeDatabases.unused());
        Problem twice = refused(r, job(rule("orders", null), rule("Orders", null)));
        assertThat(twice.reason()).isEqualTo(Reason.InvalidSpec);
        assertThat(twice.message()).contains("two rules are named 'orders'");

        DisposalJob hashed = job(rule("customers", DisposalJobSpec.ColumnStrategy.Strategy.Hash));
        assertThat(refused(r, hashed).message()).contains("spec.saltSecretRef");
        hashed.getSpec().saltSecretRef = new SecretRef();
        hashed.getSpec().saltSecretRef.name = "salt";
        assertThat(refused(r, hashed).reason()).isEqualTo(Reason.SecretNotFound);
        assertThat(refused(reconciler(new FakeSecrets().secret("salt", Map.of("salt", "short")),
                FakeDatabases.unused()), hashed).reason()).isEqualTo(Reason.SecretKeyMissing);
        var valid = reconciler(new FakeSecrets().secret("salt", Map.of("salt", "sixteen-chars-or-more")),
                FakeDatabases.unused()).validate(hashed, new DisposalJobStatus());
        assertThat(valid.inputs().salt()).isEqualTo("sixteen-chars-or-more");
        assertThat(valid.summary()).doesNotContain("sixteen-chars-or-more");
    }

    @Test
    void aProblemDecidesThePhaseBeforeDisposingOnly() {
        DisposalJobReconciler r = reconciler(new FakeSecrets(), FakeDatabases.unused());
        Problem down = Problem.transientFault(Reason.DatabaseUnreachable, "down");
        Problem gone = Problem.invalid(Reason.SecretNotFound, "gone");
        assertThat(phaseAfter(r, null, down)).isEqualTo(DisposalPhase.Pending);
        assertThat(phaseAfter(r, DisposalPhase.Pending, gone)).isEqualTo(DisposalPhase.Failed);
        assertThat(phaseAfter(r, DisposalPhase.Counting, down)).isEqualTo(DisposalPhase.Pending);
        assertThat(phaseAfter(r, DisposalPhase.Failed, down)).isEqualTo(DisposalPhase.Pending);
        assertThat(phaseAfter(r, DisposalPhase.Disposing, gone)).isEqualTo(DisposalPhase.Disposing);
    }

    private static DisposalPhase phaseAfter(DisposalJobReconciler r, DisposalPhase phase, Problem problem) {
        DisposalJobStatus st = new DisposalJobStatus();
        st.phase = phase;
        r.onProblem(job(rule("orders", null)), st, problem);
        return st.phase;
    }

    @Test
    void aJobRestsWhenRejectedOrCompletedWithNothingToRunAgain() {
        DisposalJobReconciler r = reconciler(new FakeSecrets(), FakeDatabases.unused());
        DisposalJob job = job(rule("orders", null));
        DisposalJobStatus st = new DisposalJobStatus();
        st.phase = DisposalPhase.Rejected;
        assertThat(r.settled(job, st)).isTrue();
        st.phase = DisposalPhase.Completed;
        st.rulesDigest = DisposalJobReconciler.rulesDigest(job.getSpec());
        assertThat(r.settled(job, st)).isTrue();
        st.rulesDigest = "sha256:the-rules-before";
        assertThat(r.settled(job, st)).as("the rules changed: count them again").isFalse();
        st.phase = DisposalPhase.Scheduled;
        st.rulesDigest = DisposalJobReconciler.rulesDigest(job.getSpec());
        assertThat(r.settled(job, st)).as("a scheduled job waits for its next run").isFalse();
    }

    @Test
    void aLostConnectionResumesAfterTheLastCommittedBatch() {
        DisposalJob job = job(rule("orders", null));
        DisposalJobReconciler r = reconciler(new FakeSecrets(), FakeDatabases.unused());
        var in = r.validate(job, new DisposalJobStatus()).inputs();
        DisposalJobStatus st = new DisposalJobStatus();
        st.phase = DisposalPhase.Disposing;
        Duration again = r.databaseError(job, st, in, new SQLException("terminating connection", "57P01"));
        assertThat(again).isEqualTo(Duration.ofSeconds(3));
        assertThat(st.phase).isEqualTo(DisposalPhase.Disposing);
        assertThat(st.message).contains("in phase Disposing", "resumes after its last committed batch");
        assertThat(Conditions.find(st.conditions, ConditionType.Ready))
                .hasValueSatisfying(c -> assertThat(c.reason).isEqualTo(Reason.DatabaseUnreachable.name()));
        assertThatThrownBy(() -> r.databaseError(job, st, in, new SQLException("no such table", "42P01")))
                .isInstanceOf(ProblemException.class);
    }

    @Test
    void changedRulesAreCountedAgainWhereverTheRunWas() {
        for (DisposalPhase phase : new DisposalPhase[] {DisposalPhase.AwaitingApproval, DisposalPhase.Disposing,
                DisposalPhase.Vacuuming, DisposalPhase.Reporting, DisposalPhase.Completed}) {
            DisposalJob job = job(rule("orders", null));
            DisposalJobReconciler r = reconciler(new FakeSecrets(), FakeDatabases.down());
            var in = r.validate(job, new DisposalJobStatus()).inputs();
            DisposalJobStatus st = new DisposalJobStatus();
            st.phase = phase;
            st.rulesDigest = "sha256:the-rules-approved-before";
            events.events.clear();
            // the database is down, so counting cannot start; the decision to count again is already made
            assertThatThrownBy(() -> r.advance(job, st, in, new RecordingWriteAhead(job, st).log, null))
                    .isInstanceOfSatisfying(ProblemException.class,
                            e -> assertThat(e.problem().reason()).isEqualTo(Reason.DatabaseUnreachable));
            assertThat(st.phase).as("from " + phase).isEqualTo(DisposalPhase.Counting);
            assertThat(events.events).as("from " + phase).singleElement().asString().contains("RulesChanged");
        }
    }
}
