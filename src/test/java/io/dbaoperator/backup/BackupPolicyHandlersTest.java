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
import io.dbaoperator.api.backup.BackupPolicyPhase;
import io.dbaoperator.api.backup.BackupPolicySpec;
import io.dbaoperator.api.backup.BackupPolicyStatus;
import io.dbaoperator.api.common.DatabaseRef;
import io.dbaoperator.api.common.S3Storage;
import io.dbaoperator.api.common.SecretRef;
import io.dbaoperator.audit.AuditEvent;
import io.dbaoperator.audit.AuditLog;
import io.dbaoperator.backup.catalog.BackupCatalog;
import io.dbaoperator.backup.catalog.BackupRecord;
import io.dbaoperator.fakes.FakeBucket;
import io.dbaoperator.fakes.FakeContext;
import io.dbaoperator.fakes.FakeOwned;
import io.dbaoperator.fakes.FakeReferences;
import io.dbaoperator.fakes.RecordingEvents;
import io.dbaoperator.fakes.UnitPhaseMoves;
import io.dbaoperator.kube.CronSchedule;
import io.dbaoperator.status.ConditionType;
import io.dbaoperator.status.Conditions;
import io.dbaoperator.status.PhaseMachine;
import io.dbaoperator.status.RecordingWriteAhead;
import io.dbaoperator.storage.S3Location;
import io.dbaoperator.storage.StorageDefaults;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.batch.v1.JobStatusBuilder;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;

/**
 * A BackupPolicy's handler alone, on an in-memory bucket and in-memory Jobs (no Quarkus, no cluster, no S3 server):
 * a due backup's id is stored before its Job exists, a recorded start is finished after a crash, Forbid skips while
 * one runs, and the catalog's survey keeps the newest backups and deletes the rest from the bucket.
 */
@ExtendWith(UnitPhaseMoves.class)
class BackupPolicyHandlersTest {

    private static final StorageDefaults NO_DEFAULTS = new StorageDefaults(Optional.empty(), Optional.empty(),
            Optional.empty(), "us-east-1", false, Optional.empty(), Optional.empty());
    private static final S3Location BUCKET = new S3Location("backups", "", null, "us-east-1", true, "key", "secret",
            null, null);

    private final FakeBucket bucket = new FakeBucket();
    private final FakeOwned<Job> backupJobs = new FakeOwned<>();
    private final FakeOwned<Job> restoreTestJobs = new FakeOwned<>();
    private final FakeOwned<Job> copyJobs = new FakeOwned<>();
    /** The offsite storage of spec.copies.offsite. */
    private final FakeBucket offsiteBucket = new FakeBucket();
    private static final S3Location OFFSITE = new S3Location("far-away", "copies", null, "eu-west-1", true, "key2",
            "secret2", null, null);
    private final RecordingEvents events = new RecordingEvents();
    /** The audit events the handler recorded: the action of each. */
    private final List<String> audited = new ArrayList<>();
    private final AuditLog audit = new AuditLog(false, null, events) {
        @Override
        public void record(HasMetadata resource, AuditEvent event) {
            audited.add(event.action());
        }
    };
    /** The archiver's slot: left on the server, and still streamed from (its pod stopping). */
    private boolean slotLeft;
    private boolean slotStreaming;
    /** What the handlers did to the archiver Deployment and the slot, with the status stored before each. */
    private final List<String> archiverDone = new ArrayList<>();
    private io.fabric8.kubernetes.api.model.apps.Deployment archiverDeployment;
    private boolean archiverUpToDate = true;
    private final ArchiverSteps.Archivers archivers = new ArchiverSteps.Archivers() {
        @Override
        public Optional<io.fabric8.kubernetes.api.model.apps.Deployment> current(BackupPolicy p,
                io.javaoperatorsdk.operator.api.reconciler.Context<BackupPolicy> c) {
            return Optional.ofNullable(archiverDeployment);
        }

        @Override
        public boolean upToDate(io.fabric8.kubernetes.api.model.apps.Deployment actual, BackupPolicy p,
                io.javaoperatorsdk.operator.api.reconciler.Context<BackupPolicy> c) {
            return archiverUpToDate;
        }

        @Override
        public boolean apply(BackupPolicy p, io.javaoperatorsdk.operator.api.reconciler.Context<BackupPolicy> c) {
            archiverDone.add("applied after " + log.persistedPhases.size() + " persist(s)");
            boolean created = archiverDeployment == null;
            archiverDeployment = WalArchiverDeployment.build(p, "img");
            archiverUpToDate = true;
            return created;
        }

        @Override
        public void remove(BackupPolicy p, io.javaoperatorsdk.operator.api.reconciler.Context<BackupPolicy> c) {
            archiverDone.add("removed after " + log.persistedPhases.size() + " persist(s)");
            archiverDeployment = null;
        }

        @Override
        public String problem(BackupPolicy p, io.fabric8.kubernetes.api.model.apps.Deployment d) {
            return "its pod is starting";
        }

        @Override
        public ReplicationSlots.Drop dropSlot(io.dbaoperator.postgres.ConnectionSettings db, String slot) {
            if (slotStreaming) {
                archiverDone.add("slot " + slot + " still streaming");
                return ReplicationSlots.Drop.ACTIVE;
            }
            archiverDone.add("slot " + slot + " dropped, the Deployment " + (archiverDeployment == null ? "gone"
                    : "still there"));
            slotLeft = false;
            return ReplicationSlots.Drop.DROPPED;
        }

        @Override
        public boolean slotExists(io.dbaoperator.postgres.ConnectionSettings db, String slot) {
            return slotLeft;
        }
    };
    /** The API server as far as the handlers read it: the pods of a Job that failed. */
    private final io.dbaoperator.fakes.FakeApiServer api = new io.dbaoperator.fakes.FakeApiServer();
    private final BackupPolicyReconciler reconciler = new BackupPolicyReconciler(new FakeReferences(), null,
            api.client(), bucket.stores(), events, new BackupMetrics(new SimpleMeterRegistry()), audit, NO_DEFAULTS,
            "dba-operator:test", archivers, java.time.InstantSource.system());

    @org.junit.jupiter.api.AfterEach
    void stopApi() {
        api.close();
    }
    private final BackupPolicy policy = policy();
    private final BackupPolicyStatus st = new BackupPolicyStatus();
    private final Instant now = Instant.now().truncatedTo(ChronoUnit.SECONDS);
    private RecordingWriteAhead log;

    private BackupPolicy policy() {
        BackupPolicy p = new BackupPolicy();
        p.setMetadata(new ObjectMetaBuilder().withName("nightly").withNamespace("shop").withUid("uid-4")
                .withGeneration(1L).withCreationTimestamp(Instant.now().minus(Duration.ofHours(3)).toString())
                .build());
        BackupPolicySpec spec = new BackupPolicySpec();
        spec.database = new DatabaseRef();
        spec.database.secretRef = new SecretRef();
        spec.database.secretRef.name = "prod";
        spec.schedule = "0 * * * *";
        spec.storage = new S3Storage();
        spec.storage.bucket = "backups";
        spec.storage.credentials = new S3Storage.S3Credentials(); // as validation resolves it
        spec.storage.credentials.secretRef = new SecretRef();
        spec.storage.credentials.secretRef.name = "s3";
        p.setSpec(spec);
        return p;
    }

    /** Drives the policy's machine once, as a reconcile does after validation. */
    private Duration reconcile() throws SQLException {
        log = log == null ? new RecordingWriteAhead(policy, st) : log;
        BackupPolicyReconciler.Inputs in = new BackupPolicyReconciler.Inputs(CronSchedule.parse("spec.schedule",
                policy.getSpec().schedule, "UTC"), BUCKET, FakeReferences.settings("prod"), OFFSITE, null);
        return reconciler.machine.drive(new Tending(policy, st, in, FakeContext.empty(), now,
                backupJobs, restoreTestJobs, new BackupCatalog(bucket.stores().open(BUCKET), BUCKET, "shop",
                        "nightly"), copyJobs, () -> offsite()), log.log);
    }

    private BackupCatalog offsite() {
        return new BackupCatalog(offsiteBucket.stores().open(OFFSITE), OFFSITE, "shop", "nightly");
    }

    private BackupCatalog primary() {
        return new BackupCatalog(bucket.stores().open(BUCKET), BUCKET, "shop", "nightly");
    }

    /** spec.copies with an offsite storage copying at once, kept by {@code keepLast} and a day. */
    private void copiesOffsite(int keepLast) {
        policy.getSpec().copies = new BackupPolicySpec.Copies();
        policy.getSpec().copies.offsite = new BackupPolicySpec.Offsite();
        policy.getSpec().copies.offsite.storage = new S3Storage();
        policy.getSpec().copies.offsite.storage.bucket = "far-away";
        policy.getSpec().copies.offsite.storage.prefix = "copies";
        policy.getSpec().copies.offsite.storage.credentials = new S3Storage.S3Credentials();
        policy.getSpec().copies.offsite.storage.credentials.secretRef = new SecretRef();
        policy.getSpec().copies.offsite.storage.credentials.secretRef.name = "s3-far-away";
        policy.getSpec().copies.offsite.retention.keepLast = keepLast;
        policy.getSpec().copies.offsite.retention.maxAge = "1d";
    }

    /** What a copy Job leaves: the copy's record offsite, and the primary's record naming it. */
    private void copiedOffsite(String backupId) {
        BackupRecord r = primary().read(backupId);
        BackupRecord copy = BackupCatalog.copyOf(r);
        copy.copiedFrom = primary().url(backupId);
        copy.copiedAt = now.toString();
        offsite().write(copy);
        offsiteBucket.put(offsite().key(backupId, "base.tar.gz"), "data of " + backupId);
        r.offsite = new BackupRecord.OffsiteCopy();
        r.offsite.url = offsite().url(backupId);
        r.offsite.copiedAt = now.toString();
        primary().write(r);
    }

    private static Job ended(Job job, boolean failed) {
        job.setStatus(new JobStatusBuilder().addNewCondition().withType(failed ? "Failed" : "Complete")
                .withStatus("True").withReason(failed ? "BackoffLimitExceeded" : null).endCondition().build());
        return job;
    }

    @Test
    void aVerifiedBackupsOffsiteCopyIsStoredAsDecidedBeforeItsJobIsCreated() throws SQLException {
        copiesOffsite(3);
        st.lastScheduleTime = now.toString();
        String id = backupInBucket(Duration.ofHours(2));
        log = new RecordingWriteAhead(policy, st);
        List<String> atPersist = new ArrayList<>();
        log.onPersist = () -> atPersist.add((st.copying == null ? "nothing" : "copy of " + st.copying.backupId)
                + " stored with " + copyJobs.created.size() + " Job(s)");
        reconcile();
        assertThat(atPersist).first().isEqualTo("copy of " + id + " stored with 0 Job(s)");
        assertThat(copyJobs.created).containsExactly(CopyJobs.jobName("nightly", id));
        var container = copyJobs.objects.get(0).getSpec().getTemplate().getSpec().getContainers().get(0);
        assertThat(container.getCommand()).containsSubsequence("copy", "--backup-id", id, "--offsite", "true")
                .doesNotContain("--archive-class");
        assertThat(container.getEnv()).extracting(e -> e.getName()).contains("DBA_S3_BUCKET",
                "DBA_OFFSITE_S3_BUCKET", "DBA_OFFSITE_S3_ACCESS_KEY_ID");
        assertThat(container.getEnv()).filteredOn(e -> e.getName().equals("DBA_OFFSITE_S3_SECRET_ACCESS_KEY"))
                .singleElement().satisfies(e -> assertThat(e.getValueFrom().getSecretKeyRef().getName())
                        .isEqualTo("s3-far-away"));
        assertThat(st.copying.offsite).isTrue();

        copyJobs.created.clear();
        reconcile();
        assertThat(copyJobs.created).as("one copy at a time: its Job runs").isEmpty();
        assertThat(st.copying.backupId).isEqualTo(id);
    }

    @Test
    void aCopyCountsOnlyOnTheCatalogsEvidenceAndAFailedOneIsNotRetriedWhileItsJobIsThere() throws SQLException {
        copiesOffsite(3);
        st.lastScheduleTime = now.toString();
        String id = backupInBucket(Duration.ofHours(2));
        reconcile();
        Job job = copyJobs.objects.get(0);
        job.getMetadata().getLabels().put(BackupJobs.BACKUP_ID_LABEL, id);
        ended(job, false); // "Complete", and the catalog shows no copy
        reconcile();
        assertThat(st.lastCopy.succeeded).isFalse();
        assertThat(st.lastCopy.message).contains("the catalog shows no offsite copy");
        assertThat(st.copying).isNull();
        assertThat(events.events).anySatisfy(e -> assertThat(e).contains("CopyFailed", id));
        assertThat(copyJobs.created).as("not tried again while its Job is there").hasSize(1);
        assertThat(st.backups).singleElement().satisfies(b -> assertThat(b.keptBy).contains("newest verified"));

        // the Job expired; the next one copies, and the evidence is there
        copyJobs.objects.clear();
        reconcile();
        assertThat(copyJobs.created).hasSize(2);
        copyJobs.objects.get(0).getMetadata().getLabels().put(BackupJobs.BACKUP_ID_LABEL, id);
        ended(copyJobs.objects.get(0), false);
        copiedOffsite(id);
        reconcile();
        assertThat(st.lastCopy.succeeded).isTrue();
        assertThat(st.lastCopy.message).contains("copied to s3://far-away/copies/shop/nightly/base/" + id);
        assertThat(events.events).anySatisfy(e -> assertThat(e).contains("BackupCopied", id));
        assertThat(st.backups.get(0).offsiteCopiedAt).isEqualTo(now.toString());
        assertThat(st.offsite.backups).extracting(b -> b.backupId).containsExactly(id);
        assertThat(st.offsite.location).isEqualTo("s3://far-away/copies/shop/nightly/base/");
    }

    @Test
    void aCopyWhoseJobExpiredUnseenCountsOnItsEvidenceAndIsNotMadeAgain() throws SQLException {
        copiesOffsite(3);
        st.lastScheduleTime = now.toString();
        String id = backupInBucket(Duration.ofHours(2));
        reconcile();
        assertThat(copyJobs.created).hasSize(1);
        copiedOffsite(id);
        copyJobs.objects.clear(); // it ran, and its TTL removed it while the operator was away
        reconcile();
        assertThat(copyJobs.created).as("not made again: the catalog shows the copy").hasSize(1);
        assertThat(st.copying).isNull();
        assertThat(st.lastCopy.succeeded).isTrue();
    }

    @Test
    void retentionKeepsABackupHereUntilItsOffsiteCopyExists() throws SQLException {
        copiesOffsite(3);
        policy.getSpec().retention.keepLast = 1;
        policy.getSpec().retention.maxAge = "1d";
        st.lastScheduleTime = now.toString();
        String oldest = backupInBucket(Duration.ofDays(3));
        String newest = backupInBucket(Duration.ofDays(2));
        copiedOffsite(newest);
        copyJobs.objects.add(ended(running(CopyJobs.jobName("nightly", oldest)), true)); // a failed copy, still there
        copyJobs.objects.get(0).getMetadata().getLabels().put(BackupJobs.BACKUP_ID_LABEL, oldest);
        reconcile();
        assertThat(bucket.objects.keySet()).as("no rule but the pending copy keeps it").anyMatch(k -> k.contains(
                oldest + "/base.tar.gz"));
        assertThat(st.backups).filteredOn(b -> b.backupId.equals(oldest)).singleElement()
                .satisfies(b -> assertThat(b.keptBy).containsExactly(CopyPlanner.AWAITING_OFFSITE));

        copiedOffsite(oldest);
        reconcile();
        assertThat(bucket.objects.keySet()).as("copied: retention removes it here").noneMatch(k -> k.contains(oldest));
        assertThat(offsite().read(oldest)).as("the offsite copy stays (offsite keepLast 3)").isNotNull();
    }

    @Test
    void theOffsiteRetentionRemovesTheCopiesItsRulesDoNotKeepOnlyOnceThatIsStored() throws SQLException {
        copiesOffsite(1);
        st.lastScheduleTime = now.toString();
        String oldest = backupInBucket(Duration.ofDays(3));
        String newest = backupInBucket(Duration.ofDays(2));
        copiedOffsite(oldest);
        copiedOffsite(newest);
        log = new RecordingWriteAhead(policy, st);
        List<String> atPersist = new ArrayList<>();
        log.onPersist = () -> atPersist.add((st.offsite == null || st.offsite.lastPrune == null ? "nothing"
                : st.offsite.lastPrune.removed) + " decided, " + offsiteBucket.objects.keySet().stream()
                        .filter(k -> k.contains(oldest)).count() + " offsite object(s) of it");
        reconcile();
        assertThat(atPersist).first().isEqualTo("[" + oldest + "] decided, 2 offsite object(s) of it");
        assertThat(offsiteBucket.objects.keySet()).noneMatch(k -> k.contains(oldest))
                .anyMatch(k -> k.contains(newest + "/backup.json"));
        assertThat(bucket.objects.keySet()).as("the primary's retention is its own (keepLast 7)")
                .anyMatch(k -> k.contains(oldest + "/base.tar.gz"));
        assertThat(st.offsite.lastPrune.prunedAt).isNotNull();
        assertThat(audited).contains("retention");
        assertThat(events.events).anySatisfy(e -> assertThat(e).contains("OffsiteCopiesPruned", oldest));
    }

    @Test
    void aBackupOldEnoughMovesToTheArchiveClassAndAFrozenClassWaitsForItsOffsiteCopy() throws SQLException {
        copiesOffsite(3);
        policy.getSpec().copies.offsite.afterDays = 5;
        policy.getSpec().copies.archive = new BackupPolicySpec.Archive();
        policy.getSpec().copies.archive.afterDays = 2;
        policy.getSpec().copies.archive.storageClass = BackupPolicySpec.StorageClass.GLACIER_IR;
        st.lastScheduleTime = now.toString();
        String id = backupInBucket(Duration.ofDays(3));
        reconcile();
        assertThat(copyJobs.objects.get(0).getSpec().getTemplate().getSpec().getContainers().get(0).getCommand())
                .containsSubsequence("--offsite", "false", "--archive-class", "GLACIER_IR");
        assertThat(st.copying.archiveClass).isEqualTo("GLACIER_IR");
        assertThat(st.copying.offsite).isFalse();

        assertThat(CopyPlanner.invalid(policy.getSpec().copies)).isNull();
        policy.getSpec().copies.archive.storageClass = BackupPolicySpec.StorageClass.DEEP_ARCHIVE;
        assertThat(CopyPlanner.invalid(policy.getSpec().copies)).contains("cannot be read for its offsite copy");
        BackupRecord r = primary().read(id);
        assertThat(CopyPlanner.next(policy.getSpec().copies, List.of(r), java.util.Set.of(), now))
                .as("DEEP_ARCHIVE before the offsite copy (due in 2 days) would freeze what it must read").isNull();
        policy.getSpec().copies.offsite.afterDays = 1;
        assertThat(CopyPlanner.next(policy.getSpec().copies, List.of(r), java.util.Set.of(), now))
                .isEqualTo(new CopyPlanner.Due(id, true, "DEEP_ARCHIVE"));
    }

    private static Job running(String name) {
        Job job = new Job();
        job.setMetadata(new ObjectMetaBuilder().withName(name).withNamespace("shop")
                .addToLabels(BackupJobs.POLICY_LABEL, "nightly").build());
        job.setStatus(new JobStatusBuilder().withActive(1).build());
        return job;
    }

    /** A verified backup taken {@code age} ago; returns its id. */
    private String backupInBucket(Duration age) {
        Instant completed = now.minus(age);
        String backupId = BackupJobs.BACKUP_ID.format(completed.minusSeconds(60));
        BackupRecord r = new BackupRecord();
        r.backupId = backupId;
        r.namespace = "shop";
        r.policy = "nightly";
        r.state = BackupRecord.State.verified;
        r.startedAt = completed.minusSeconds(60).toString();
        r.completedAt = completed.toString();
        r.sizeBytes = 1024L;
        r.storedBytes = 512L;
        r.verification = new BackupRecord.Verification();
        r.verification.checksumsMatch = true;
        r.verification.pgVerifybackupPassed = true;
        r.verification.verifiedAt = completed.toString();
        BackupCatalog catalog = new BackupCatalog(bucket.stores().open(BUCKET), BUCKET, "shop", "nightly");
        catalog.write(r);
        bucket.put(catalog.key(backupId, "base.tar.gz"), "data of " + backupId);
        return backupId;
    }

    @Test
    void onePolicyHandlerTendsEveryPhaseAndNoPhaseIsTerminal() {
        PhaseMachine<BackupPolicyPhase, Tending> m = reconciler.machine;
        assertThat(m.handled()).isEqualTo(EnumSet.allOf(BackupPolicyPhase.class));
        assertThat(m.acting()).as("starting a backup is an act inside the handler, not a phase").isEmpty();
    }

    @Test
    void aDueBackupsIdIsStoredBeforeItsJobIsCreated() throws SQLException {
        log = new RecordingWriteAhead(policy, st);
        List<String> atPersist = new ArrayList<>();
        log.onPersist = () -> atPersist.add("starting " + st.startingBackupId + " with " + backupJobs.created.size()
                + " Job(s) created");
        reconcile();
        assertThat(backupJobs.created).singleElement().asString().startsWith("nightly-");
        String id = backupJobs.objects.get(0).getMetadata().getLabels().get(BackupJobs.BACKUP_ID_LABEL);
        assertThat(atPersist).containsExactly("starting " + id + " with 0 Job(s) created");
        assertThat(backupJobs.created).containsExactly(BackupJobs.jobName("nightly", id));
        assertThat(st.startingBackupId).as("cleared once its Job exists").isNull();
        assertThat(st.lastScheduleTime).isNotNull();
        assertThat(st.nextScheduleTime).isNotNull();
    }

    @Test
    void aStartRecordedBeforeACrashGetsItsJobAndNoSecondBackupStarts() throws SQLException {
        st.startingBackupId = "20261204T030000Z";
        st.lastScheduleTime = now.toString(); // the slot it consumed: nothing else is due
        log = new RecordingWriteAhead(policy, st);
        List<String> atPersist = new ArrayList<>();
        log.onPersist = () -> atPersist.add(st.startingBackupId + " stored with " + backupJobs.created.size()
                + " Job(s) made");
        reconcile();
        assertThat(backupJobs.created).containsExactly(BackupJobs.jobName("nightly", "20261204T030000Z"));
        assertThat(st.startingBackupId).isNull();
        assertThat(atPersist).as("creating the Job is an act: the recorded start is stored (again) first")
                .containsExactly("20261204T030000Z stored with 0 Job(s) made");
    }

    @Test
    void forbidSkipsADueBackupWhileOneRunsAndSaysSo() throws SQLException {
        backupJobs.objects.add(running("nightly-20261204t020000z"));
        reconcile();
        assertThat(backupJobs.created).isEmpty();
        assertThat(events.events).anySatisfy(e -> assertThat(e).contains("BackupSkipped"));
        assertThat(log.persistedPhases).isEmpty();
    }

    @Test
    void theSurveyReportsTheNewestBackupAndDeletesThoseRetentionNoLongerKeeps() throws SQLException {
        policy.getSpec().retention.keepLast = 2;
        policy.getSpec().retention.maxAge = "1d";
        st.lastScheduleTime = now.toString();
        String oldest = backupInBucket(Duration.ofDays(3));
        String middle = backupInBucket(Duration.ofDays(2));
        String newest = backupInBucket(Duration.ofDays(1));
        Duration requeue = reconcile();
        assertThat(requeue).isPositive();
        assertThat(backupJobs.created).isEmpty();
        assertThat(st.lastBackup.backupId).isEqualTo(newest);
        assertThat(st.phase).isEqualTo(BackupPolicyPhase.Active);
        assertThat(bucket.objects.keySet()).as("both objects of the oldest are gone, the two newest kept")
                .noneMatch(k -> k.contains(oldest)).anyMatch(k -> k.contains(middle + "/base.tar.gz"))
                .anyMatch(k -> k.contains(newest + "/backup.json"));
        assertThat(st.lastPrune.removed).containsExactly(oldest);
        assertThat(events.events).anySatisfy(e -> assertThat(e).contains("BackupsPruned", oldest));
        assertThat(audited).containsExactly("retention");
    }

    @Test
    void retentionDeletesOnlyOnceWhatGoesIsStored() throws SQLException {
        policy.getSpec().retention.keepLast = 1;
        policy.getSpec().retention.maxAge = "1d";
        st.lastScheduleTime = now.toString();
        String oldest = backupInBucket(Duration.ofDays(3));
        backupInBucket(Duration.ofDays(1));
        log = new RecordingWriteAhead(policy, st);
        List<String> atPersist = new ArrayList<>();
        log.onPersist = () -> atPersist.add((st.lastPrune == null ? "nothing" : st.lastPrune.removed) + " decided, "
                + bucket.objects.keySet().stream().filter(k -> k.contains(oldest)).count() + " of its objects there");
        reconcile();
        assertThat(atPersist).first().isEqualTo("[" + oldest + "] decided, 2 of its objects there");
        assertThat(bucket.objects.keySet()).noneMatch(k -> k.contains(oldest));
        assertThat(st.lastPrune.decidedAt).isNotNull();
        assertThat(st.lastPrune.prunedAt).as("done, once the objects are gone").isNotNull();
        assertThat(st.lastPrune.freedBytes).isPositive();
        assertThat(audited).containsExactly("retention");
    }

    @Test
    void replaceDeletesTheRunningBackupOnlyOnceTheNewOneIsStored() throws SQLException {
        policy.getSpec().concurrencyPolicy = BackupPolicySpec.ConcurrencyPolicy.Replace;
        backupJobs.objects.add(running("nightly-20261204t020000z"));
        log = new RecordingWriteAhead(policy, st);
        List<String> atPersist = new ArrayList<>();
        log.onPersist = () -> atPersist.add(st.startingBackupId + " stored, " + backupJobs.deleted.size()
                + " deleted");
        reconcile();
        assertThat(atPersist.get(0)).matches("\\d{8}T\\d{6}Z stored, 0 deleted");
        assertThat(backupJobs.deleted).containsExactly("nightly-20261204t020000z");
        assertThat(backupJobs.created).hasSize(1);
    }

    @Test
    void theArchiverIsMadeAndRemovedOnlyAsActsAndItsSlotDroppedAfterItsDeploymentIsGone() throws SQLException {
        st.lastScheduleTime = now.toString();
        policy.getSpec().walArchiving.enabled = true;
        log = new RecordingWriteAhead(policy, st);
        reconcile();
        assertThat(archiverDone).containsExactly("applied after 1 persist(s)");
        assertThat(log.persistedPhases).as("a status stored before an act is whole: it has its phase (kubectl get "
                + "showed none, found by SandboxWalkthroughIT)").isNotEmpty().doesNotContain("null");
        assertThat(events.events).anySatisfy(e -> assertThat(e.toString()).contains("WalArchivingStarted"));
        assertThat(Conditions.find(st.conditions, ConditionType.WalArchiving)).hasValueSatisfying(c -> assertThat(
                c.message).contains("its pod is starting"));

        archiverDone.clear();
        reconcile();
        assertThat(archiverDone).as("up to date: nothing to do").isEmpty();

        policy.getSpec().walArchiving.enabled = false;
        int before = log.persistedPhases.size();
        // the archiver's pod still streams as it stops: the slot is active when the Deployment is removed
        slotStreaming = true;
        slotLeft = true;
        assertThat(reconcile()).as("looked at again shortly").isEqualTo(Duration.ofSeconds(3));
        String slot = WalArchiverDeployment.slot(policy);
        assertThat(archiverDone).containsExactly("removed after " + (before + 1) + " persist(s)",
                "slot " + slot + " still streaming");
        assertThat(Conditions.find(st.conditions, ConditionType.WalArchiving)).isEmpty();
        archiverDone.clear();
        slotStreaming = false;
        reconcile();
        assertThat(archiverDone).as("dropped once its archiver stopped").containsExactly("slot " + slot
                + " dropped, the Deployment gone");
        archiverDone.clear();
        reconcile();
        assertThat(archiverDone).as("the slot is dropped once").isEmpty();
    }

    @Test
    void aBackupJobThatFailedBeforeItsRecordIsSaidWithTheAgentsLastWordsFromItsPod() throws SQLException {
        st.lastScheduleTime = now.toString();
        Job failed = running("nightly-20261204t020000z");
        failed.getMetadata().getLabels().put(BackupJobs.BACKUP_ID_LABEL, "20261204T020000Z");
        failed.setStatus(new JobStatusBuilder().withFailed(1).addNewCondition().withType("Failed").withStatus("True")
                .withReason("BackoffLimitExceeded").endCondition().build());
        backupJobs.objects.add(failed);
        api.client().pods().inNamespace("shop").resource(new io.fabric8.kubernetes.api.model.PodBuilder()
                .withNewMetadata().withName("nightly-20261204t020000z-q9z4d").withNamespace("shop")
                .addToLabels("job-name", "nightly-20261204t020000z").endMetadata()
                .withNewStatus().addNewContainerStatus().withName("backup").withNewState().withNewTerminated()
                .withExitCode(1).withMessage("connecting\n" + new io.dbaoperator.contract.AgentFailure(
                        "AuthenticationFailed", "password authentication failed for user \"app\"").line())
                .endTerminated().endState().endContainerStatus().endStatus().build()).create();
        reconcile();
        assertThat(Conditions.find(st.conditions, ConditionType.LastBackupSucceeded)).hasValueSatisfying(c -> {
            assertThat(c.status).isEqualTo("False");
            assertThat(c.message).contains("backup Job nightly-20261204t020000z failed (BackoffLimitExceeded: "
                    + "AuthenticationFailed: password authentication failed for user \"app\")");
        });
    }
}
