package io.dbaoperator.backup;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Optional;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import io.dbaoperator.api.backup.BackupPolicy;
import io.dbaoperator.api.backup.BackupPolicySpec;
import io.dbaoperator.api.backup.BackupRestore;
import io.dbaoperator.api.backup.BackupRestoreSpec;
import io.dbaoperator.api.backup.BackupRestoreStatus;
import io.dbaoperator.api.backup.RestorePhase;
import io.dbaoperator.api.common.DatabaseRef;
import io.dbaoperator.api.common.LocalRef;
import io.dbaoperator.api.common.S3Storage;
import io.dbaoperator.api.common.SecretRef;
import io.dbaoperator.backup.catalog.BackupCatalog;
import io.dbaoperator.backup.catalog.BackupRecord;
import io.dbaoperator.backup.catalog.RestoreRecord;
import io.dbaoperator.fakes.Approver;
import io.dbaoperator.fakes.FakeBucket;
import io.dbaoperator.fakes.FakeOwned;
import io.dbaoperator.fakes.FakeReferences;
import io.dbaoperator.fakes.FakeSecrets;
import io.dbaoperator.fakes.UnitPhaseMoves;
import io.dbaoperator.problem.Reason;
import io.dbaoperator.status.ConditionType;
import io.dbaoperator.status.Conditions;
import io.dbaoperator.status.PhaseMachine;
import io.dbaoperator.status.RecordingWriteAhead;
import io.dbaoperator.status.StatusPatcher;
import io.dbaoperator.storage.S3Location;
import io.dbaoperator.storage.StorageDefaults;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.javaoperatorsdk.operator.processing.event.source.EventSource;
import io.javaoperatorsdk.operator.api.reconciler.EventSourceContext;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.fabric8.kubernetes.api.model.apps.StatefulSetBuilder;
import io.fabric8.kubernetes.api.model.apps.StatefulSet;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.batch.v1.JobConditionBuilder;
import io.fabric8.kubernetes.api.model.batch.v1.JobStatusBuilder;

/**
 * A BackupRestore's handlers alone, on an in-memory bucket and in-memory Jobs (no Quarkus, no cluster, no S3
 * server): the plan a person approves, nothing made before the approval is stored, and the Job's outcome read
 * with the agent's record into Starting (with the image of the backup's major version) or Failed (cleaned up).
 * Starting's Service and StatefulSet are dependent resources and are left to the operator tier.
 */
@ExtendWith(UnitPhaseMoves.class)
class BackupRestoreHandlersTest {

    private static final StorageDefaults NO_DEFAULTS = new StorageDefaults(Optional.empty(), Optional.empty(),
            Optional.empty(), "us-east-1", false, Optional.empty(), Optional.empty());
    private static final S3Location BUCKET = new S3Location("backups", "", null, "us-east-1", true, "key", "secret",
            null, null);

    /** What the handlers asked of the restored instance's Secret, volume and Job, in order. */
    private final List<String> made = new ArrayList<>();
    private final FakeBucket bucket = new FakeBucket();
    private final FakeOwned<Job> jobs = new FakeOwned<>();
    /** The API server as far as the handlers read it (a failed Job's pods). */
    private final io.dbaoperator.fakes.FakeApiServer api = new io.dbaoperator.fakes.FakeApiServer();
    private final BackupRestoreReconciler reconciler = new BackupRestoreReconciler(new FakeReferences(),
            new FakeSecrets(), null, api.client(), bucket.stores(), null, NO_DEFAULTS, "dba-operator:test",
            RestoredServing.DEFAULT_INSTANCE_IMAGE, new RestoredInstance(null) {
                @Override
                void create(BackupRestore restore, String database, Job job, io.dbaoperator.kube.Owned<Job> owned) {
                    made.add("Secret, volume and Job " + job.getMetadata().getName());
                    owned.create(job);
                }

                @Override
                void completeSecret(BackupRestore restore, String superuser) {
                    made.add("Secret user " + superuser);
                }

                @Override
                List<String> waitingReasons(String ns, String instance) {
                    return podWaiting;
                }

                @Override
                void remove(BackupRestore restore, String job) {
                    made.add("removed Job " + job + ", volume and Secret");
                }
            }, new RestoredServing.Serving() {
                @Override
                public RestoredServing.Served serve(BackupRestore r, Context<BackupRestore> context) {
                    made.add("served " + RestoredServing.image(r) + " with phase " + log.persistedPhases
                            .get(log.persistedPhases.size() - 1) + " stored");
                    return new RestoredServing.Served(served, service);
                }

                @Override
                public List<EventSource<?, BackupRestore>> eventSources(EventSourceContext<BackupRestore> c) {
                    return List.of();
                }
            }, LogicalRestoreHandlersTest.unreachable());
    /** The restored instance's StatefulSet as its informer holds it, and why its pod's containers wait. */
    private StatefulSet served;
    /** Its Service as the API server shows it; null when someone deleted it. */
    private io.fabric8.kubernetes.api.model.Service service = new io.fabric8.kubernetes.api.model.ServiceBuilder()
            .withNewMetadata().withName("shop-restored").endMetadata().build();
    private List<String> podWaiting = List.of();
    private final BackupRestore restore = restore();
    private final BackupRestoreStatus st = new BackupRestoreStatus();
    private final BackupCatalog catalog = new BackupCatalog(bucket.stores().open(BUCKET), BUCKET, "shop", "nightly");
    private final Instant now = Instant.now().truncatedTo(ChronoUnit.SECONDS);
    private String backupId;
    private RecordingWriteAhead log;

    @org.junit.jupiter.api.AfterEach
    void stopApi() {
        api.close();
    }

    private static BackupRestore restore() {
        BackupRestore r = new BackupRestore();
        r.setMetadata(new ObjectMetaBuilder().withName("yesterday").withNamespace("shop").withUid("uid-5-restore")
                .withGeneration(1L).build());
        BackupRestoreSpec spec = new BackupRestoreSpec();
        spec.backupPolicyRef = new LocalRef();
        spec.backupPolicyRef.name = "nightly";
        spec.target = new BackupRestoreSpec.RestoreTarget();
        spec.target.newInstance = new BackupRestoreSpec.NewInstance();
        spec.target.newInstance.name = "shop-restored";
        r.setSpec(spec);
        return r;
    }

    private static BackupPolicy policy() {
        BackupPolicy p = new BackupPolicy();
        p.setMetadata(new ObjectMetaBuilder().withName("nightly").withNamespace("shop").withUid("uid-4").build());
        BackupPolicySpec spec = new BackupPolicySpec();
        spec.database = new DatabaseRef();
        spec.database.secretRef = new SecretRef();
        spec.database.secretRef.name = "prod";
        spec.schedule = "0 * * * *";
        spec.storage = new S3Storage();
        spec.storage.bucket = "backups";
        spec.storage.credentials = new S3Storage.S3Credentials();
        spec.storage.credentials.secretRef = new SecretRef();
        spec.storage.credentials.secretRef.name = "s3";
        p.setSpec(spec);
        return p;
    }

    /** A verified backup of PostgreSQL 16.4, taken an hour ago, in the policy's catalog. */
    private void verifiedBackup() {
        BackupRecord r = new BackupRecord();
        r.backupId = backupId = BackupJobs.BACKUP_ID.format(now.minus(Duration.ofHours(1)));
        r.namespace = "shop";
        r.policy = "nightly";
        r.state = BackupRecord.State.verified;
        r.startedAt = now.minus(Duration.ofHours(1)).toString();
        r.completedAt = now.minus(Duration.ofMinutes(59)).toString();
        r.startLsn = "0/2000028";
        r.endLsn = "0/2000100";
        r.startWalFile = "000000010000000000000002";
        r.endWalFile = "000000010000000000000002";
        r.timeline = 1;
        r.serverVersion = "16.4";
        r.sizeBytes = 1024L;
        r.verification = new BackupRecord.Verification();
        r.verification.checksumsMatch = true;
        r.verification.pgVerifybackupPassed = true;
        catalog.write(r);
    }

    private Duration reconcile() throws SQLException {
        log = log == null ? new RecordingWriteAhead(restore, st) : log;
        Duration requeue = reconciler.physical.machine.drive(new BackupRestoreReconciler.Restoring(restore, st,
                new BackupRestoreReconciler.Inputs(policy(), BUCKET, "shop", "shop", null), log.log, null, catalog, jobs),
                log.log);
        // the reconcile's final write: the next one observes the status as decided
        restore.setStatus(StatusPatcher.copy(st, BackupRestoreStatus.class));
        return requeue;
    }

    private void restoreRecord(RestoreRecord.State state, String error, String errorReason) {
        RestoreRecord r = new RestoreRecord();
        r.restoreId = RestoreJobs.restoreId(restore);
        r.backupId = backupId;
        r.state = state;
        r.error = error;
        r.errorReason = errorReason;
        r.recoveredLsn = "0/2000100";
        r.timeline = 2;
        r.superuser = "postgres";
        catalog.writeRestore(r);
    }

    /** Approved and stored as Restoring, with its Job made (the state after the approving reconcile). */
    private Job approvedAndStarted() throws SQLException {
        verifiedBackup();
        reconcile();
        Approver.approve(st, "oncall");
        reconcile();
        assertThat(jobs.objects).hasSize(1);
        return jobs.objects.get(0);
    }

    private static void ended(Job job, String type) {
        job.setStatus(new JobStatusBuilder().withConditions(new JobConditionBuilder().withType(type)
                .withStatus("True").build()).withSucceeded("Complete".equals(type) ? 1 : 0)
                .withFailed("Failed".equals(type) ? 1 : 0).build());
    }

    @Test
    void everyPhaseThatIsNotTerminalHasAHandlerAndTheOnesThatMakeObjectsAct() {
        PhaseMachine<RestorePhase, BackupRestoreReconciler.Restoring> m = reconciler.physical.machine;
        EnumSet<RestorePhase> open = EnumSet.noneOf(RestorePhase.class);
        for (RestorePhase p : RestorePhase.values()) {
            if (!p.terminal()) {
                open.add(p);
            }
        }
        // a staging refresh's phases are a logical restore's only (LogicalRestoreHandlersTest)
        open.removeAll(EnumSet.of(RestorePhase.Swapping, RestorePhase.Waiting));
        assertThat(m.handled()).isEqualTo(open);
        assertThat(m.acting()).containsExactlyInAnyOrder(RestorePhase.Restoring, RestorePhase.Starting);
    }

    @Test
    void thePlanWaitsForAPersonAndARejectedRestoreMakesNothing() throws SQLException {
        verifiedBackup();
        assertThat(reconcile()).isEqualTo(Duration.ofMinutes(1));
        assertThat(st.phase).isEqualTo(RestorePhase.AwaitingApproval);
        assertThat(st.plan.backupId).isEqualTo(backupId);
        assertThat(st.approvalRequest.reason).contains("restore backup " + backupId, "shop-restored");
        assertThat(made).isEmpty();

        Approver.reject(st, "oncall");
        reconcile();
        assertThat(st.phase).isEqualTo(RestorePhase.Rejected);
        assertThat(st.message).contains("rejected by oncall", "nothing was restored");
        assertThat(made).isEmpty();
        assertThat(jobs.objects).isEmpty();
    }

    @Test
    void aSpecChangeVoidsTheApprovalGivenBeforeItAndNothingIsMade() throws SQLException {
        verifiedBackup();
        reconcile();
        assertThat(st.approvalRequest.generation).isEqualTo(1L);
        st.approved = true; // given for generation 1...
        st.approvedByUser = "oncall";
        restore.getSpec().target.newInstance.name = "prod-main"; // ...then the spec changes (where CEL would let it)
        restore.getMetadata().setGeneration(2L);
        reconcile();
        assertThat(st.phase).isEqualTo(RestorePhase.AwaitingApproval);
        assertThat(st.approvalRequest.generation).isEqualTo(2L);
        assertThat(st.approvalRequest.reason).contains("prod-main");
        assertThat(io.dbaoperator.status.Conditions.find(st.conditions, io.dbaoperator.status.ConditionType.Approved))
                .get().satisfies(c -> assertThat(c.reason).isEqualTo("ApprovalVoided"));
        assertThat(made).isEmpty();
        assertThat(jobs.objects).isEmpty();
    }

    @Test
    void theApprovalIsStoredBeforeTheRestoresObjectsAreMade() throws SQLException {
        verifiedBackup();
        reconcile();
        Approver.approve(st, "oncall");
        List<String> atPersist = new ArrayList<>();
        log.onPersist = () -> atPersist.add(st.phase + " with " + made.size() + " object(s) made");
        reconcile();
        assertThat(atPersist).containsExactly("Restoring with 0 object(s) made");
        assertThat(made).containsExactly("Secret, volume and Job " + RestoreJobs.jobName("yesterday"));
        assertThat(jobs.objects).singleElement().satisfies(j -> assertThat(j.getMetadata().getAnnotations())
                .containsEntry(BackupRestoreReconciler.APPROVAL_ANNOTATION, st.restoredUnder));
        assertThat(st.restoredUnder).contains("oncall");
        assertThat(st.phase).isEqualTo(RestorePhase.Restoring);
    }

    @Test
    void aSucceededRestoreStartsWithTheImageOfTheBackupsMajorVersion() throws SQLException {
        restoredAndStarting();
        assertThat(st.phase).isEqualTo(RestorePhase.Starting);
        assertThat(st.instance.image).isEqualTo("postgres:16");
        assertThat(st.recovered.lsn).isEqualTo("0/2000100");
        assertThat(made).last().isEqualTo("Secret user postgres");
        assertThat(log.executed).singleElement().satisfies(e -> assertThat(e.outcome()).isEqualTo("succeeded"));
    }

    @Test
    void aFailedRestoreEndsFailedWithTheAgentsReasonAndRemovesWhatItMade() throws SQLException {
        Job job = approvedAndStarted();
        restoreRecord(RestoreRecord.State.failed, "WAL segment 000000010000000000000003 is missing from the archive",
                Reason.WalGap.name());
        ended(job, "Failed");
        reconcile();
        assertThat(st.phase).isEqualTo(RestorePhase.Failed);
        assertThat(st.message).contains("WAL segment 000000010000000000000003 is missing", "nothing is served");
        assertThat(Conditions.find(st.conditions, ConditionType.Ready)).hasValueSatisfying(
                c -> assertThat(c.reason).isEqualTo(Reason.WalGap.name()));
        assertThat(made).last().isEqualTo("removed Job " + job.getMetadata().getName() + ", volume and Secret");
    }

    @Test
    void aJobDeletedBeforeItsRecordSaysSoAndFails() throws SQLException {
        approvedAndStarted();
        jobs.objects.clear();
        reconcile();
        assertThat(st.phase).isEqualTo(RestorePhase.Failed);
        assertThat(st.message).contains("was deleted");
    }

    @Test
    void startingServesTheInstanceOnlyOnceStoredAndIsReadyWhenItsPodIs() throws SQLException {
        restoredAndStarting();
        assertThat(st.phase).isEqualTo(RestorePhase.Starting);
        assertThat(made).noneMatch(x -> x.startsWith("served"));

        served = new StatefulSetBuilder().withNewMetadata().withName("shop-restored").endMetadata()
                .withNewStatus().withReplicas(1).withReadyReplicas(0).endStatus().build();
        podWaiting = List.of("ImagePullBackOff");
        assertThat(reconcile()).isEqualTo(BackupRestoreReconciler.SERVING_POLL);
        assertThat(made).last().isEqualTo("served postgres:16 with phase Starting stored");
        assertThat(st.phase).isEqualTo(RestorePhase.Starting);
        assertThat(st.progress).isEqualTo("waiting for pod shop-restored-0 to accept connections (ImagePullBackOff)");
        assertThat(Conditions.find(st.conditions, ConditionType.Ready)).hasValueSatisfying(c -> {
            assertThat(c.status).isEqualTo("False");
            assertThat(c.reason).isEqualTo(Reason.InstanceStarting.name());
        });

        served.getStatus().setReadyReplicas(1);
        assertThat(reconcile()).isNull();
        assertThat(st.phase).isEqualTo(RestorePhase.Ready);
        assertThat(st.progress).isNull();
        assertThat(st.message).contains("served by StatefulSet and Service shop-restored",
                "credentials in Secret shop-restored");
        assertThat(Conditions.find(st.conditions, ConditionType.Ready)).hasValueSatisfying(c -> {
            assertThat(c.status).isEqualTo("True");
            assertThat(c.reason).isEqualTo(Reason.RestoreSucceeded.name());
        });
    }

    @Test
    void aStatefulSetDeletedWhileStartingIsSaidAndNotReady() throws SQLException {
        restoredAndStarting();
        served = null;
        assertThat(reconcile()).isEqualTo(BackupRestoreReconciler.SERVING_POLL);
        assertThat(st.phase).isEqualTo(RestorePhase.Starting);
        assertThat(st.progress).contains("StatefulSet shop-restored is missing");
    }

    @Test
    void aReadyPodWithoutItsServiceIsNotReady() throws SQLException {
        restoredAndStarting();
        served = new StatefulSetBuilder().withNewMetadata().withName("shop-restored").endMetadata()
                .withNewStatus().withReplicas(1).withReadyReplicas(1).endStatus().build();
        service = null;
        assertThat(reconcile()).isEqualTo(BackupRestoreReconciler.SERVING_POLL);
        assertThat(st.phase).isEqualTo(RestorePhase.Starting);
        assertThat(st.progress).contains("Service shop-restored is not there");
        assertThat(Conditions.find(st.conditions, ConditionType.Ready)).hasValueSatisfying(c -> assertThat(c.status)
                .isEqualTo("False"));
    }

    /** The restore Job succeeded, its record says so, and one reconcile took the restore to Starting. */
    private void restoredAndStarting() throws SQLException {
        Job job = approvedAndStarted();
        restoreRecord(RestoreRecord.State.succeeded, null, null);
        ended(job, "Complete");
        reconcile();
    }
}
