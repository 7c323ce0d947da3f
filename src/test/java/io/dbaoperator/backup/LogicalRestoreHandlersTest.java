package io.dbaoperator.backup;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

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
import io.dbaoperator.contract.LogicalBackupArgs;
import io.dbaoperator.fakes.Approver;
import io.dbaoperator.fakes.FakeBucket;
import io.dbaoperator.fakes.FakeOwned;
import io.dbaoperator.fakes.FakeReferences;
import io.dbaoperator.fakes.FakeSecrets;
import io.dbaoperator.fakes.UnitPhaseMoves;
import io.dbaoperator.postgres.ConnectionSettings;
import io.dbaoperator.problem.ProblemException;
import io.dbaoperator.problem.Reason;
import io.dbaoperator.status.ConditionType;
import io.dbaoperator.status.Conditions;
import io.dbaoperator.status.PhaseMachine;
import io.dbaoperator.status.RecordingWriteAhead;
import io.dbaoperator.status.StatusPatcher;
import io.dbaoperator.storage.S3Location;
import io.dbaoperator.storage.StorageDefaults;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.batch.v1.JobConditionBuilder;
import io.fabric8.kubernetes.api.model.batch.v1.JobStatusBuilder;

/**
 * A logical BackupRestore's handlers alone, on an in-memory bucket and Jobs and an answering target instance (no
 * Quarkus, cluster, S3 or PostgreSQL): the plan names the dump and the target as it is now; a target that is not
 * empty is refused unless its replacement is asked for, and then the approval names what it holds; nothing is made
 * before the approval is stored; Ready only when the target holds the tables the agent restored.
 */
@ExtendWith(UnitPhaseMoves.class)
class LogicalRestoreHandlersTest {

    private static final StorageDefaults NO_DEFAULTS = new StorageDefaults(Optional.empty(), Optional.empty(),
            Optional.empty(), "us-east-1", false, Optional.empty(), Optional.empty());
    private static final S3Location BUCKET = new S3Location("backups", "", null, "us-east-1", true, "key", "secret",
            null, null);
    private static final ConnectionSettings STAGING = new ConnectionSettings("staging.db:5432", "postgres",
            "restorer", "not-a-real-password", null, null);

    /** A target the handlers must not need: reading it fails the test. */
    static LogicalRestores.Target unreachable() {
        return new LogicalRestores.Target() {
            @Override
            public LogicalRestores.TargetState inspect(ConnectionSettings instance, String name) {
                throw new AssertionError("a physical restore read a logical restore's target");
            }

            @Override
            public List<String> missing(ConnectionSettings instance, String name, List<String> tables) {
                throw new AssertionError("a physical restore read a logical restore's target");
            }
        };
    }

    /** The target database as the instance shows it, and the tables it holds. */
    private LogicalRestores.TargetState state = new LogicalRestores.TargetState(false, 0, 0);
    private List<String> present = new ArrayList<>();
    private final List<String> reads = new ArrayList<>();
    private final FakeBucket bucket = new FakeBucket();
    private final FakeOwned<Job> jobs = new FakeOwned<>();
    /** The API server as far as the handlers read it: the pods of a Job that failed. */
    private final io.dbaoperator.fakes.FakeApiServer api = new io.dbaoperator.fakes.FakeApiServer();
    private final BackupRestoreReconciler reconciler = new BackupRestoreReconciler(new FakeReferences(),
            new FakeSecrets(), null, api.client(), bucket.stores(), null, NO_DEFAULTS, "dba-operator:test",
            RestoredServing.DEFAULT_INSTANCE_IMAGE, new RestoredInstance(null) {
                @Override
                void create(BackupRestore restore, String database, Job job, io.dbaoperator.kube.Owned<Job> owned) {
                    throw new AssertionError("a logical restore made an instance's Secret and volume");
                }
            }, null, new LogicalRestores.Target() {
                @Override
                public LogicalRestores.TargetState inspect(ConnectionSettings instance, String name) {
                    reads.add("inspect " + name + " as " + instance.user());
                    return states.getOrDefault(name, state);
                }

                @Override
                public List<String> missing(ConnectionSettings instance, String name, List<String> tables) {
                    reads.add("tables of " + name);
                    return tables.stream().filter(t -> !present.contains(t)).toList();
                }

                @Override
                public void comment(ConnectionSettings instance, String name, String comment) {
                    reads.add("comment on " + name + ": " + comment);
                }

                @Override
                public void drop(ConnectionSettings instance, String name) {
                    reads.add("drop " + name);
                    states.remove(name);
                }
            });
    /** Databases the instance holds by name, where they differ from {@link #state}. */
    private final java.util.Map<String, LogicalRestores.TargetState> states = new java.util.HashMap<>();
    /** What validation handed the handlers (a test of a refresh gives its masking and schedule). */
    private BackupRestoreReconciler.Inputs inputs = new BackupRestoreReconciler.Inputs(policy(), BUCKET, "prod",
            "prod", STAGING);
    private final BackupRestore restore = restore();
    private final BackupRestoreStatus st = new BackupRestoreStatus();
    private final BackupCatalog catalog = new BackupCatalog(bucket.stores().open(BUCKET), BUCKET, "shop", "dumps");
    private final Instant now = Instant.now().truncatedTo(ChronoUnit.SECONDS);
    private String backupId;
    private RecordingWriteAhead log;

    private static BackupRestore restore() {
        BackupRestore r = new BackupRestore();
        r.setMetadata(new ObjectMetaBuilder().withName("orders-copy").withNamespace("shop").withUid("uid-7-restore")
                .withGeneration(1L).build());
        BackupRestoreSpec spec = new BackupRestoreSpec();
        spec.backupPolicyRef = new LocalRef("dumps");
        spec.target = new BackupRestoreSpec.RestoreTarget();
        spec.target.database = new BackupRestoreSpec.DatabaseTarget();
        spec.target.database.databaseRef = new DatabaseRef("staging");
        spec.target.database.name = "orders_copy";
        spec.checks = List.of("select count(*) > 0 from orders");
        r.setSpec(spec);
        return r;
    }

    private static BackupPolicy policy() {
        BackupPolicy p = new BackupPolicy();
        p.setMetadata(new ObjectMetaBuilder().withName("dumps").withNamespace("shop").withUid("uid-6").build());
        BackupPolicySpec spec = new BackupPolicySpec();
        spec.method = BackupPolicySpec.Method.logical;
        spec.database = new DatabaseRef("prod");
        spec.schedule = "0 * * * *";
        spec.storage = new S3Storage();
        spec.storage.bucket = "backups";
        spec.storage.credentials = new S3Storage.S3Credentials();
        spec.storage.credentials.secretRef = new SecretRef("s3");
        p.setSpec(spec);
        return p;
    }

    /** A verified logical backup of {@code databases}, taken an hour ago. */
    private void verifiedDump(String... databases) {
        BackupRecord r = new BackupRecord();
        r.backupId = backupId = BackupJobs.BACKUP_ID.format(now.minus(Duration.ofHours(1)));
        r.namespace = "shop";
        r.policy = "dumps";
        r.method = "logical";
        r.databases = List.of(databases);
        r.state = BackupRecord.State.verified;
        r.startedAt = now.minus(Duration.ofHours(1)).toString();
        r.completedAt = now.minus(Duration.ofMinutes(59)).toString();
        r.serverVersion = "15.18";
        for (String db : databases) {
            BackupRecord.StoredObject o = new BackupRecord.StoredObject();
            o.name = LogicalBackupArgs.objectName(db);
            o.key = catalog.key(r.backupId, o.name);
            o.size = 4096L;
            o.sha256 = "0".repeat(64);
            r.objects.add(o);
            bucket.objects.put(o.key, new byte[4096]); // the dump itself: a plan HEADs it before anyone is asked
        }
        catalog.write(r);
    }

    private Duration reconcile() throws SQLException {
        log = log == null ? new RecordingWriteAhead(restore, st) : log;
        Duration requeue = reconciler.logical.machine.drive(new BackupRestoreReconciler.Restoring(restore, st,
                inputs, log.log, null, catalog,
                jobs), log.log);
        restore.setStatus(StatusPatcher.copy(st, BackupRestoreStatus.class));
        return requeue;
    }

    private void agentRecord(RestoreRecord.State state, String error, String errorReason, List<String> tables) {
        RestoreRecord r = new RestoreRecord();
        r.restoreId = st.restoreId != null ? st.restoreId : RestoreJobs.restoreId(restore);
        r.backupId = backupId;
        r.method = "logical";
        r.state = state;
        r.error = error;
        r.errorReason = errorReason;
        r.database = "orders_copy";
        r.tables = tables;
        r.tableCount = tables.size();
        r.replacedExisting = false;
        r.checks.add(new RestoreRecord.Check("select count(*) > 0 from orders", state != RestoreRecord.State.failed,
                null));
        catalog.writeRestore(r);
    }

    private static void ended(Job job, String type) {
        job.setStatus(new JobStatusBuilder().withConditions(new JobConditionBuilder().withType(type)
                .withStatus("True").build()).withSucceeded("Complete".equals(type) ? 1 : 0)
                .withFailed("Failed".equals(type) ? 1 : 0).build());
    }

    private Job approvedAndStarted() throws SQLException {
        verifiedDump("orders");
        reconcile();
        Approver.approve(st, "oncall");
        reconcile();
        assertThat(jobs.objects).hasSize(1);
        return jobs.objects.get(0);
    }

    @Test
    void everyPhaseALogicalRestorePassesHasAHandlerAndOnlyRestoringAndSwappingAct() {
        PhaseMachine<RestorePhase, BackupRestoreReconciler.Restoring> m = reconciler.logical.machine;
        assertThat(m.handled()).isEqualTo(EnumSet.of(RestorePhase.Pending, RestorePhase.AwaitingApproval,
                RestorePhase.Restoring, RestorePhase.Verifying, RestorePhase.Swapping, RestorePhase.Waiting));
        assertThat(m.acting()).containsExactlyInAnyOrder(RestorePhase.Restoring, RestorePhase.Swapping);
    }

    @Test
    void thePlanNamesTheDumpAndANewDatabaseAndWaitsForAPerson() throws SQLException {
        verifiedDump("orders");
        assertThat(reconcile()).isEqualTo(Duration.ofMinutes(1));
        assertThat(st.phase).isEqualTo(RestorePhase.AwaitingApproval);
        assertThat(st.plan.backupId).isEqualTo(backupId);
        assertThat(st.plan.sourceDatabase).isEqualTo("orders");
        assertThat(st.plan.target).isEqualTo("new database orders_copy on staging.db:5432");
        assertThat(st.plan.replaces).isNull();
        assertThat(st.approvalRequest.reason).isEqualTo("restore logical backup " + backupId
                + " (database orders) into new database orders_copy on staging.db:5432");
        assertThat(reads).containsExactly("inspect orders_copy as restorer");
        assertThat(jobs.objects).isEmpty();
    }

    @Test
    void aTargetThatIsNotEmptyIsRefusedUnlessItsReplacementIsAskedAndThenTheApprovalNamesWhatItHolds()
            throws SQLException {
        verifiedDump("orders");
        state = new LogicalRestores.TargetState(true, 3, 8L << 20);
        assertThatThrownBy(this::reconcile).isInstanceOfSatisfying(ProblemException.class, e -> {
            assertThat(e.problem().reason()).isEqualTo(Reason.RestoreTargetNotEmpty);
            assertThat(e.problem().message()).contains("database orders_copy on staging.db:5432 exists and holds "
                    + "3 relation(s), 8.0 MiB", "spec.target.database.replace");
        });
        assertThat(jobs.objects).isEmpty();

        restore.getSpec().target.database.replace = true;
        reconcile();
        assertThat(st.phase).isEqualTo(RestorePhase.AwaitingApproval);
        assertThat(st.plan.replaces).isEqualTo("3 relation(s), 8.0 MiB");
        assertThat(st.approvalRequest.reason).contains("into database orders_copy on staging.db:5432, replacing what "
                + "it holds now (3 relation(s), 8.0 MiB)");

        state = new LogicalRestores.TargetState(true, 3, 9L << 20); // in use: it grew, and holds the same relations
        reconcile();
        assertThat(st.plan.replaces).isEqualTo("3 relation(s), 9.0 MiB");
        Approver.approve(st, "oncall");
        List<String> atPersist = new ArrayList<>();
        log.onPersist = () -> atPersist.add(st.phase + " with " + jobs.objects.size() + " Job(s)");
        reconcile();
        assertThat(atPersist).first().isEqualTo("Restoring with 0 Job(s)");
        Job job = jobs.objects.get(0);
        assertThat(job.getMetadata().getAnnotations()).containsEntry(BackupRestoreReconciler.APPROVAL_ANNOTATION,
                st.restoredUnder);
        var container = job.getSpec().getTemplate().getSpec().getContainers().get(0);
        assertThat(container.getCommand()).containsSubsequence("logical-restore", "--target", "orders_copy",
                "--replace", "true");
        assertThat(container.getEnvFrom()).singleElement().satisfies(e -> assertThat(e.getSecretRef().getName())
                .isEqualTo("staging"));
        assertThat(job.getSpec().getTemplate().getSpec().getVolumes()).extracting(v -> v.getName())
                .containsExactly("scratch");
    }

    @Test
    void aSpecChangedAfterTheApprovalOrATargetThatFilledUpMeanwhileVoidsIt() throws SQLException {
        verifiedDump("orders");
        restore.getSpec().target.database.replace = true;
        reconcile();
        Approver.approve(st, "oncall");
        state = new LogicalRestores.TargetState(true, 1, 1L << 20); // someone created a table meanwhile
        reconcile();
        assertThat(st.phase).as("the plan the person approved named no replacement").isEqualTo(
                RestorePhase.AwaitingApproval);
        assertThat(st.approvalRequest.reason).contains("replacing what it holds now (1 relation(s), 1.0 MiB)");
        assertThat(jobs.objects).isEmpty();
    }

    /** A refresh's validated inputs: its masking rules as resolved ({@code columns} of customers) and schedule. */
    private BackupRestoreReconciler.Inputs refreshInputs(String... columns) {
        java.util.Map<String, io.dbaoperator.api.disposal.DisposalJobSpec.ColumnStrategy> masked =
                new java.util.LinkedHashMap<>();
        for (String c : columns) {
            var strategy = new io.dbaoperator.api.disposal.DisposalJobSpec.ColumnStrategy();
            strategy.strategy = io.dbaoperator.api.disposal.DisposalJobSpec.ColumnStrategy.Strategy.Fake;
            masked.put(c, strategy);
        }
        return new BackupRestoreReconciler.Inputs(policy(), BUCKET, "prod", "prod", STAGING, null, null, null,
                new BackupRestoreReconciler.MaskingPlan(List.of(new io.dbaoperator.masking.Masker.Rule("customers",
                        masked)), "mask-key", "key", "Refuse"),
                io.dbaoperator.kube.CronSchedule.parse("spec.refresh.schedule", "0 3 * * 6", "UTC"));
    }

    /** The refresh's run {@code run} restored by its Job, its copy on the instance. */
    private void runRestored(int run) throws SQLException {
        assertThat(st.phase).isEqualTo(RestorePhase.Restoring);
        Job job = jobs.objects.stream().filter(j -> j.getMetadata().getName().equals("orders-copy-r" + run
                + "-restore")).findFirst().orElseThrow();
        agentRecord(RestoreRecord.State.succeeded, null, null, List.of("public.orders"));
        ended(job, "Complete");
        present = List.of("public.orders");
        states.put("orders_copy_r" + run, new LogicalRestores.TargetState(true, 1, 1L << 20));
        reconcile();
    }

    private String stagingDbname() {
        var secret = api.client().secrets().inNamespace("shop").withName("app-staging").get();
        return secret == null ? null : new String(java.util.Base64.getDecoder().decode(secret.getData().get("dbname")),
                java.nio.charset.StandardCharsets.UTF_8);
    }

    @Test
    void aStagingRefreshPointsItsSecretAtACopyOnlyOnceRestored_DropsThePreviousOne_AndAsksAgainWhenItsRulesChange()
            throws SQLException {
        api.client().secrets().inNamespace("shop").resource(new io.fabric8.kubernetes.api.model.SecretBuilder()
                .withNewMetadata().withName("staging").withNamespace("shop").endMetadata().withData(java.util.Map.of(
                        "host", "c3RhZ2luZy5kYg==", "dbname", "cG9zdGdyZXM=", "user", "cmVzdG9yZXI=")).build())
                .create();
        restore.getSpec().masking = new BackupRestoreSpec.Masking();
        restore.getSpec().refresh = new BackupRestoreSpec.Refresh();
        restore.getSpec().refresh.schedule = "0 3 * * 6";
        restore.getSpec().refresh.stagingSecretRef = new LocalRef("app-staging");
        inputs = refreshInputs("email");
        verifiedDump("orders");
        reconcile();
        assertThat(st.phase).isEqualTo(RestorePhase.AwaitingApproval);
        assertThat(st.approvalRequest.reason).contains("refresh the masked staging copy", "into new database "
                + "orders_copy_r1", "masked first by 1 rule(s) over 1 column(s)");
        Approver.approve(st, "oncall");
        reconcile();
        assertThat(st.staging.runDatabase).isEqualTo("orders_copy_r1");
        assertThat(st.restoreId).endsWith("-r1");
        assertThat(stagingDbname()).as("no Secret before a masked copy is there").isNull();

        runRestored(1);
        assertThat(st.phase).isEqualTo(RestorePhase.Waiting);
        assertThat(stagingDbname()).isEqualTo("orders_copy_r1");
        assertThat(reads).anySatisfy(r -> assertThat(r).startsWith("comment on orders_copy_r1: dba-operator staging "
                + "copy: backup " + backupId));
        assertThat(st.staging.serving).isEqualTo("orders_copy_r1");
        assertThat(java.time.ZonedDateTime.parse(st.staging.nextRefreshTime).getDayOfWeek())
                .isEqualTo(java.time.DayOfWeek.SATURDAY);
        assertThat(Conditions.find(st.conditions, ConditionType.Ready)).hasValueSatisfying(c -> assertThat(c.status)
                .isEqualTo("True"));

        // a refresh asked for, with a rule more than the approval covered: it asks again, r1 serving meanwhile
        inputs = refreshInputs("email", "full_name");
        restore.getMetadata().setAnnotations(new java.util.HashMap<>(java.util.Map.of(
                StagingRefreshes.REFRESH_NOW, "1")));
        reconcile();
        assertThat(st.phase).isEqualTo(RestorePhase.AwaitingApproval);
        assertThat(st.message).contains("orders_copy_r1 still serves");
        assertThat(jobs.objects).hasSize(1);
        Approver.approve(st, "oncall");
        reconcile();
        assertThat(jobs.objects).hasSize(2);
        runRestored(2);
        assertThat(st.phase).isEqualTo(RestorePhase.Waiting);
        assertThat(stagingDbname()).isEqualTo("orders_copy_r2");
        assertThat(reads).contains("drop orders_copy_r1");
        assertThat(st.staging.last.message).contains("the previous copy orders_copy_r1 was dropped");
        assertThat(st.approvals).hasSize(2);
    }

    @Test
    void aBackupOfSeveralDatabasesNeedsTheSourceNamed() throws SQLException {
        verifiedDump("orders", "billing");
        assertThatThrownBy(this::reconcile).isInstanceOfSatisfying(ProblemException.class, e -> assertThat(
                e.problem().message()).contains("holds dumps of [orders, billing]", "spec.logical.sourceDatabase"));
        restore.getSpec().logical = new BackupRestoreSpec.LogicalRestore();
        restore.getSpec().logical.sourceDatabase = "billing";
        reconcile();
        assertThat(st.plan.sourceDatabase).isEqualTo("billing");
    }

    @Test
    void readyOnlyWhenTheTargetHoldsTheTablesTheAgentRestored() throws SQLException {
        Job job = approvedAndStarted();
        agentRecord(RestoreRecord.State.verifying, null, null, List.of("public.orders", "public.notes"));
        reconcile();
        assertThat(st.phase).isEqualTo(RestorePhase.Verifying);
        assertThat(st.progress).isEqualTo("restored 2 table(s); running the checks");

        agentRecord(RestoreRecord.State.succeeded, null, null, List.of("public.orders", "public.notes"));
        ended(job, "Complete");
        present = List.of("public.orders", "public.notes");
        reconcile();
        assertThat(st.phase).isEqualTo(RestorePhase.Ready);
        assertThat(st.database.name).isEqualTo("orders_copy");
        assertThat(st.database.instance).isEqualTo("restorer@staging.db:5432");
        assertThat(st.database.tables).isEqualTo(2);
        assertThat(st.database.replaced).isFalse();
        assertThat(st.checkResults).singleElement().satisfies(c -> assertThat(c.passed).isTrue());
        assertThat(Conditions.find(st.conditions, ConditionType.Ready)).hasValueSatisfying(c -> {
            assertThat(c.status).isEqualTo("True");
            assertThat(c.message).contains("2 table(s) there, 1 check(s) passed");
        });
        assertThat(log.executed).singleElement().satisfies(e -> assertThat(e.outcome()).isEqualTo("succeeded"));
    }

    @Test
    void aJobThatSaysRestoredWhileTheTargetLacksItsTablesIsNotReady() throws SQLException {
        Job job = approvedAndStarted();
        agentRecord(RestoreRecord.State.succeeded, null, null, List.of("public.orders", "public.notes"));
        ended(job, "Complete");
        present = List.of("public.orders");
        reconcile();
        assertThat(st.phase).isEqualTo(RestorePhase.Failed);
        assertThat(st.message).contains("the database lacks 1 of them (public.notes)");
    }

    @Test
    void aFailedRestoreEndsFailedWithTheAgentsReason() throws SQLException {
        Job job = approvedAndStarted();
        agentRecord(RestoreRecord.State.failed, "1 check(s) failed on the restored database: select count(*) > 0 "
                + "from orders: returned f, not true (database orders_copy_dba_restore_restore, which this restore "
                + "created, was dropped)", Reason.RestoreCheckFailed.name(), List.of());
        ended(job, "Failed");
        reconcile();
        assertThat(st.phase).isEqualTo(RestorePhase.Failed);
        assertThat(st.message).contains("returned f, not true", "orders_copy is as it was");
        assertThat(Conditions.find(st.conditions, ConditionType.Ready)).hasValueSatisfying(
                c -> assertThat(c.reason).isEqualTo(Reason.RestoreCheckFailed.name()));
        assertThat(reads).as("no evidence read for a failure").noneMatch(r -> r.startsWith("tables of"));
    }

    @Test
    void aBackupWhoseKeyTheSecretNoLongerHoldsIsRefusedBeforeAnyoneIsAsked() throws SQLException {
        verifiedDump("orders");
        BackupRecord b = catalog.read(backupId);
        b.encryption = "AES-256-GCM key k1";
        catalog.write(b);
        BackupRestoreReconciler.Inputs onlyNewKey = new BackupRestoreReconciler.Inputs(policy(), BUCKET, "prod", "prod",
                STAGING, java.util.Set.of("k2"));
        assertThatThrownBy(() -> onlyNewKey.requireKeyFor(b)).isInstanceOfSatisfying(ProblemException.class, e -> {
            assertThat(e.problem().reason()).isEqualTo(Reason.EncryptionKeyMissing);
            assertThat(e.problem().message()).contains("encrypted with key k1", "spec.encryption");
        });
        assertThatThrownBy(this::reconcile).as("the policy's Secret is not there: no keys at all")
                .isInstanceOfSatisfying(ProblemException.class, e -> assertThat(e.problem().reason())
                        .isEqualTo(Reason.EncryptionKeyMissing));
        assertThat(st.approvalRequest).isNull();
        assertThat(jobs.objects).isEmpty();
        new BackupRestoreReconciler.Inputs(policy(), BUCKET, "prod", "prod", STAGING, java.util.Set.of("k1", "k2"))
                .requireKeyFor(b);
    }

    @org.junit.jupiter.api.AfterEach
    void stopApi() {
        api.close();
    }

    @Test
    void aJobKilledForItsMemoryBeforeItWroteARecordIsSaidWithTheLimitToRaise() throws SQLException {
        Job job = approvedAndStarted();
        api.client().pods().inNamespace("shop").resource(new io.fabric8.kubernetes.api.model.PodBuilder()
                .withNewMetadata().withName(job.getMetadata().getName() + "-x7k2p").withNamespace("shop")
                .addToLabels("job-name", job.getMetadata().getName()).endMetadata()
                .withNewSpec().addNewContainer().withName("restore").withNewResources()
                .addToLimits("memory", new io.fabric8.kubernetes.api.model.Quantity("256Mi")).endResources()
                .endContainer().endSpec()
                .withNewStatus().addNewContainerStatus().withName("restore").withNewState().withNewTerminated()
                .withReason("OOMKilled").withExitCode(137).endTerminated().endState().endContainerStatus()
                .endStatus().build()).create();
        ended(job, "Failed");
        reconcile();
        assertThat(st.phase).isEqualTo(RestorePhase.Failed);
        assertThat(st.message).contains("OOMKilled: container restore of pod " + job.getMetadata().getName()
                + "-x7k2p went over its memory limit (256Mi); raise spec.jobTemplate.resources.limits.memory");
    }

    @Test
    void aRestoreFinishedBeforeItsFirstLookGoesFromRestoringStraightToReady() throws SQLException {
        Job job = approvedAndStarted();
        assertThat(st.phase).isEqualTo(RestorePhase.Restoring);
        agentRecord(RestoreRecord.State.succeeded, null, null, List.of("public.orders"));
        ended(job, "Complete");
        present = List.of("public.orders");
        reconcile();
        assertThat(st.phase).as("Verifying was never seen: a dump of one small table restores in seconds")
                .isEqualTo(RestorePhase.Ready);
        assertThat(st.database.tables).isEqualTo(1);
    }
}
