package io.dbaoperator.backup;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Optional;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import io.dbaoperator.api.backup.BackupPolicy;
import io.dbaoperator.api.backup.BackupPolicyPhase;
import io.dbaoperator.api.backup.BackupPolicySpec;
import io.dbaoperator.api.backup.BackupPolicyStatus;
import io.dbaoperator.api.backup.BackupRestore;
import io.dbaoperator.api.backup.BackupRestoreSpec;
import io.dbaoperator.api.backup.BackupRestoreStatus;
import io.dbaoperator.api.backup.RestorePhase;
import io.dbaoperator.api.common.DatabaseRef;
import io.dbaoperator.api.common.LocalRef;
import io.dbaoperator.api.common.S3Storage;
import io.dbaoperator.api.common.SecretRef;
import io.dbaoperator.fakes.FakeObjectStores;
import io.dbaoperator.fakes.FakeReferences;
import io.dbaoperator.fakes.FakeSecrets;
import io.dbaoperator.fakes.UnitPhaseMoves;
import io.dbaoperator.problem.Problem;
import io.dbaoperator.problem.ProblemException;
import io.dbaoperator.problem.Reason;
import io.dbaoperator.status.RecordingWriteAhead;
import io.dbaoperator.storage.ObjectStores;
import io.dbaoperator.storage.StorageDefaults;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;

/**
 * The BackupPolicy's and the BackupRestore's workflows below the operator's runtime: what validation refuses, and
 * the phase a problem leaves each in. Fake references and Secrets; no cluster, database or bucket.
 */
@ExtendWith(UnitPhaseMoves.class)
class BackupWorkflowTest {

    private static final StorageDefaults NO_DEFAULTS = new StorageDefaults(Optional.empty(), Optional.empty(),
            Optional.empty(), "us-east-1", false, Optional.empty(), Optional.empty());

    private static BackupPolicy policy(String schedule) {
        BackupPolicy p = new BackupPolicy();
        p.setMetadata(new ObjectMetaBuilder().withName("nightly").withNamespace("shop").withUid("uid-4")
                .withGeneration(1L).withCreationTimestamp("2026-11-01T00:00:00Z").build());
        BackupPolicySpec spec = new BackupPolicySpec();
        spec.database = new DatabaseRef();
        spec.database.secretRef = new SecretRef();
        spec.database.secretRef.name = "prod";
        spec.schedule = schedule;
        spec.storage = new S3Storage();
        spec.storage.bucket = "backups";
        p.setSpec(spec);
        return p;
    }

    private static BackupPolicyReconciler policyReconciler(boolean replication) {
        return new BackupPolicyReconciler(new FakeReferences().database("prod", FakeReferences.settings("prod"),
                replication), null, null, FakeObjectStores.unused(), null, null, null, NO_DEFAULTS,
                "dba-operator:test", java.time.InstantSource.system());
    }

    @Test
    void aPolicyNeedsAScheduleThatParsesAndARoleThatMayReplicate() {
        assertThatThrownBy(() -> policyReconciler(true).validate(policy("every night"), new BackupPolicyStatus()))
                .isInstanceOfSatisfying(ProblemException.class, e -> {
                    assertThat(e.problem().reason()).isEqualTo(Reason.InvalidSchedule);
                    assertThat(e.problem().message()).contains("spec.schedule", "every night");
                });
        assertThatThrownBy(() -> policyReconciler(false).validate(policy("0 2 * * *"), new BackupPolicyStatus()))
                .isInstanceOfSatisfying(ProblemException.class, e -> {
                    assertThat(e.problem().reason()).isEqualTo(Reason.MissingPrivilege);
                    assertThat(e.problem().message()).contains("ALTER ROLE prod REPLICATION");
                });
        var valid = policyReconciler(true).validate(policy("0 2 * * *"), new BackupPolicyStatus());
        assertThat(valid.inputs().storage().bucket()).isEqualTo("backups");
        assertThat(valid.summary()).contains("s3://backups/", "answer");
    }

    @Test
    void aPolicysProblemDegradesAnActivePolicyAndFailsAnInvalidOne() {
        BackupPolicyReconciler r = policyReconciler(true);
        Problem down = Problem.transientFault(Reason.DatabaseUnreachable, "down");
        Problem invalid = Problem.invalid(Reason.SecretNotFound, "gone");
        assertThat(policyPhaseAfter(r, BackupPolicyPhase.Active, down)).isEqualTo(BackupPolicyPhase.Degraded);
        assertThat(policyPhaseAfter(r, BackupPolicyPhase.Degraded, invalid)).isEqualTo(BackupPolicyPhase.Failed);
        assertThat(policyPhaseAfter(r, BackupPolicyPhase.Suspended, invalid)).isEqualTo(BackupPolicyPhase.Failed);
        assertThat(policyPhaseAfter(r, BackupPolicyPhase.Suspended, down)).isEqualTo(BackupPolicyPhase.Pending);
        assertThat(policyPhaseAfter(r, BackupPolicyPhase.Failed, down)).isEqualTo(BackupPolicyPhase.Pending);
        assertThat(policyPhaseAfter(r, null, invalid)).isEqualTo(BackupPolicyPhase.Failed);
        for (BackupPolicyPhase phase : BackupPolicyPhase.values()) {
            BackupPolicyStatus st = new BackupPolicyStatus();
            st.phase = phase;
            assertThat(r.settled(policy("0 2 * * *"), st)).as("a policy never rests: " + phase).isFalse();
        }
    }

    private static BackupPolicyPhase policyPhaseAfter(BackupPolicyReconciler r, BackupPolicyPhase phase,
            Problem problem) {
        BackupPolicyStatus st = new BackupPolicyStatus();
        st.phase = phase;
        r.onProblem(policy("0 2 * * *"), st, problem);
        return st.phase;
    }

    private static BackupRestore restore(String targetTime) {
        BackupRestore r = new BackupRestore();
        r.setMetadata(new ObjectMetaBuilder().withName("yesterday").withNamespace("shop").withUid("uid-5")
                .withGeneration(1L).build());
        BackupRestoreSpec spec = new BackupRestoreSpec();
        spec.backupPolicyRef = new LocalRef();
        spec.backupPolicyRef.name = "nightly";
        spec.targetTime = targetTime;
        spec.target = new BackupRestoreSpec.RestoreTarget();
        spec.target.newInstance = new BackupRestoreSpec.NewInstance();
        spec.target.newInstance.name = "shop-restored";
        r.setSpec(spec);
        return r;
    }

    private static BackupRestoreReconciler restoreReconciler(FakeReferences refs) {
        return restoreReconciler(refs, FakeObjectStores.unused());
    }

    private static BackupRestoreReconciler restoreReconciler(FakeReferences refs, ObjectStores stores) {
        return new BackupRestoreReconciler(refs, new FakeSecrets(), null, null, stores, null, NO_DEFAULTS,
                io.dbaoperator.fakes.FakeDatabases.unused(), "dba-operator:test", "postgres:{major}");
    }

    @Test
    void aBucketThatStopsAnsweringAfterValidationIsSaidAsSuchAndTheRestoreWaits() {
        BackupRestore restore = restore(null);
        BackupPolicy nightly = policy("0 2 * * *");
        FakeReferences refs = new FakeReferences().object(nightly);
        BackupRestoreReconciler r = restoreReconciler(refs, FakeObjectStores.down());
        BackupRestoreStatus st = new BackupRestoreStatus();
        st.phase = RestorePhase.AwaitingApproval;
        var in = new BackupRestoreReconciler.Inputs(nightly, refs.storage("shop", nightly.getSpec().storage,
                "the policy's spec.storage"), "postgres", "postgres", null);
        // before: an SdkClientException, which the runner could only call an InternalError ("see the log")
        ProblemException thrown = org.junit.jupiter.api.Assertions.assertThrows(ProblemException.class,
                () -> r.advance(restore, st, in, new RecordingWriteAhead(restore, st).log,
                        io.dbaoperator.fakes.FakeContext.empty()));
        assertThat(thrown.problem().reason()).isEqualTo(Reason.StorageUnreachable);
        assertThat(thrown.problem().permanent()).isFalse();
        assertThat(thrown.problem().message()).contains("cannot reach S3").doesNotContain("secret");
        r.onProblem(restore, st, thrown.problem());
        assertThat(st.phase).isEqualTo(RestorePhase.Pending);
        assertThat(st.job).isNull();
    }

    @Test
    void aRestoreNeedsItsPolicyAndATargetTimeInRfc3339() {
        assertThatThrownBy(() -> restoreReconciler(new FakeReferences()).validate(restore(null),
                new BackupRestoreStatus())).isInstanceOfSatisfying(ProblemException.class,
                        e -> assertThat(e.problem().reason()).isEqualTo(Reason.ReferenceNotFound));
        FakeReferences refs = new FakeReferences().object(policy("0 2 * * *"));
        // validated before anything is created: a restore to a time said in another form is refused, never guessed
        BackupRestoreStatus waiting = new BackupRestoreStatus();
        waiting.phase = RestorePhase.Restoring;
        assertThatThrownBy(() -> restoreReconciler(refs).validate(restore("2026-11-21 09:30"), waiting))
                .isInstanceOfSatisfying(ProblemException.class, e -> {
                    assertThat(e.problem().reason()).isEqualTo(Reason.InvalidSpec);
                    assertThat(e.problem().message()).contains("spec.targetTime", "RFC 3339");
                });
    }

    @Test
    void aRestoresProblemDecidesItsPhaseOnlyBeforeItStarts() {
        BackupRestoreReconciler r = restoreReconciler(new FakeReferences());
        Problem down = Problem.transientFault(Reason.StorageUnreachable, "bucket down");
        Problem invalid = Problem.invalid(Reason.InvalidSpec, "bad");
        assertThat(restorePhaseAfter(r, null, down)).isEqualTo(RestorePhase.Pending);
        assertThat(restorePhaseAfter(r, RestorePhase.Pending, invalid)).isEqualTo(RestorePhase.Failed);
        assertThat(restorePhaseAfter(r, RestorePhase.AwaitingApproval, down)).isEqualTo(RestorePhase.Pending);
        assertThat(restorePhaseAfter(r, RestorePhase.Restoring, invalid)).isEqualTo(RestorePhase.Restoring);
        for (RestorePhase phase : RestorePhase.values()) {
            BackupRestoreStatus st = new BackupRestoreStatus();
            st.phase = phase;
            assertThat(r.settled(restore(null), st)).as(phase.name()).isEqualTo(phase.terminal());
        }
    }

    private static RestorePhase restorePhaseAfter(BackupRestoreReconciler r, RestorePhase phase, Problem problem) {
        BackupRestoreStatus st = new BackupRestoreStatus();
        st.phase = phase;
        r.onProblem(restore(null), st, problem);
        return st.phase;
    }
}
