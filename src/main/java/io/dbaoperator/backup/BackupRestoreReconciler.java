package io.dbaoperator.backup;

import java.time.Duration;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.List;
import java.util.Set;

import org.eclipse.microprofile.config.inject.ConfigProperty;

import io.dbaoperator.api.backup.BackupPolicy;
import io.dbaoperator.api.backup.BackupRestore;
import io.dbaoperator.api.backup.BackupRestoreSpec;
import io.dbaoperator.api.backup.BackupRestoreStatus;
import io.dbaoperator.api.backup.RestorePhase;
import io.dbaoperator.api.common.Phase;
import io.dbaoperator.backup.catalog.BackupCatalog;
import io.dbaoperator.kube.EventRecorder;
import io.dbaoperator.kube.Owned;
import io.dbaoperator.kube.OwnedObjects;
import io.dbaoperator.references.ReferenceChecks;
import io.dbaoperator.kube.SecretReader;
import io.dbaoperator.postgres.ConnectionSettings;
import io.dbaoperator.problem.Problem;
import io.dbaoperator.problem.ProblemException;
import io.dbaoperator.problem.Reason;
import io.dbaoperator.status.StatusPatcher;
import io.dbaoperator.status.Workflow;
import io.dbaoperator.status.WorkflowRunner;
import io.dbaoperator.status.WriteAhead;
import io.dbaoperator.storage.ObjectStores;
import io.dbaoperator.storage.S3Clients;
import io.dbaoperator.storage.S3Location;
import io.dbaoperator.storage.StorageDefaults;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.javaoperatorsdk.operator.api.config.informer.InformerEventSourceConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.ControllerConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.EventSourceContext;
import io.javaoperatorsdk.operator.api.reconciler.Reconciler;
import io.javaoperatorsdk.operator.api.reconciler.UpdateControl;
import io.javaoperatorsdk.operator.processing.event.ResourceID;
import io.javaoperatorsdk.operator.processing.event.source.EventSource;
import io.javaoperatorsdk.operator.processing.event.source.informer.InformerEventSource;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * Reconciles BackupRestore. A restore is always a person's decision: the operator plans it from the policy's catalog,
 * shows the plan, and waits for approval of step {@code restore}; then one Job restores, and status follows it
 * through the catalog record the Job writes. This class validates (the policy, its bucket, the target, the keys of
 * an encrypted policy) and picks the phases by the policy's method: {@link PhysicalRestores} for a base backup (a
 * new instance served by a StatefulSet, Service and Secret), {@link LogicalRestores} for a dump (a database on an
 * existing instance). Everything created is owned by the BackupRestore: deleting it deletes a restored instance.
 */
@ControllerConfiguration(name = "backuprestore", generationAwareEventProcessing = false)
public class BackupRestoreReconciler implements Reconciler<BackupRestore>,
        Workflow<BackupRestore, BackupRestoreStatus, BackupRestoreReconciler.Inputs> {

    static final String SHORT_NAME = "bkr";
    static final String STEP = "restore";
    /** On the restore Job: the approval it runs under. */
    static final String APPROVAL_ANNOTATION = "dbaoperator.io/approval";
    /** The event source of the restore Jobs. */
    static final String JOBS = "restore-jobs";
    /** How often Starting looks at the pod (its readiness probe runs every 5 s; the StatefulSet's change wakes it). */
    static final Duration SERVING_POLL = Duration.ofSeconds(2);

    private final ReferenceChecks checks;
    private final SecretReader secrets;
    private final WorkflowRunner runner;
    private final ObjectStores stores;
    private final KubernetesClient client;
    private final RestoredServing.Serving serving;
    private final StorageDefaults storageDefaults;
    /** The phases of a base backup's restore (into a new instance). */
    final PhysicalRestores physical;
    /** The phases of a logical backup's restore (into a database on an existing instance). */
    final LogicalRestores logical;

    @jakarta.inject.Inject
    public BackupRestoreReconciler(ReferenceChecks checks, SecretReader secrets, WorkflowRunner runner,
            KubernetesClient client, ObjectStores stores, EventRecorder events, StorageDefaults storageDefaults,
            io.dbaoperator.postgres.Databases databases,
            @ConfigProperty(name = "dba.agent.image") String agentImage,
            @ConfigProperty(name = "dba.restore.instance-image") String instanceImage) {
        this(checks, secrets, runner, client, stores, events, storageDefaults, agentImage, instanceImage,
                new RestoredInstance(client), RestoredServing.dependents(), LogicalRestores.postgres(databases));
    }

    /**
     * With the restored instance's Secret, volume and Job made by {@code instances}, its Service and StatefulSet
     * by {@code serving}, and a logical restore's target read by {@code target} (a test records or answers them).
     */
    BackupRestoreReconciler(ReferenceChecks checks, SecretReader secrets, WorkflowRunner runner,
            KubernetesClient client, ObjectStores stores, EventRecorder events, StorageDefaults storageDefaults,
            String agentImage, String instanceImage, RestoredInstance instances, RestoredServing.Serving serving,
            LogicalRestores.Target target) {
        this.logical = new LogicalRestores(target, client, agentImage);
        this.physical = new PhysicalRestores(client, agentImage, instanceImage, instances, serving);
        this.stores = stores;
        this.checks = checks;
        this.storageDefaults = storageDefaults;
        this.secrets = secrets;
        this.runner = runner;
        this.client = client;
        this.serving = serving;
    }

    @Override
    public List<EventSource<?, BackupRestore>> prepareEventSources(EventSourceContext<BackupRestore> context) {
        var jobs = InformerEventSourceConfiguration.from(Job.class, BackupRestore.class)
                .withName(JOBS).withLabelSelector(RestoreJobs.RESTORE_LABEL)
                .withSecondaryToPrimaryMapper(job -> Set.of(new ResourceID(
                        job.getMetadata().getLabels().get(RestoreJobs.RESTORE_LABEL), job.getMetadata().getNamespace())))
                .build();
        List<EventSource<?, BackupRestore>> sources = new java.util.ArrayList<>();
        sources.add(new InformerEventSource<>(jobs, context));
        sources.addAll(serving.eventSources(context));
        return sources;
    }

    /**
     * {@code target}: a logical restore's instance (its Secret read), null for a physical one; {@code keyIds}: the
     * keys the policy's encryption Secret holds, null when the policy does not encrypt.
     */
    record Inputs(BackupPolicy policy, S3Location storage, String database, String loginRole,
            ConnectionSettings target, Set<String> keyIds, S3Location offsite, String offsiteProblem,
            MaskingPlan masking, io.dbaoperator.kube.CronSchedule refreshSchedule) {

        Inputs(BackupPolicy policy, S3Location storage, String database, String loginRole, ConnectionSettings target,
                Set<String> keyIds, S3Location offsite, String offsiteProblem, MaskingPlan masking) {
            this(policy, storage, database, loginRole, target, keyIds, offsite, offsiteProblem, masking, null);
        }

        Inputs(BackupPolicy policy, S3Location storage, String database, String loginRole, ConnectionSettings target,
                Set<String> keyIds, S3Location offsite, String offsiteProblem) {
            this(policy, storage, database, loginRole, target, keyIds, offsite, offsiteProblem, null);
        }

        Inputs(BackupPolicy policy, S3Location storage, String database, String loginRole, ConnectionSettings target) {
            this(policy, storage, database, loginRole, target, null);
        }

        Inputs(BackupPolicy policy, S3Location storage, String database, String loginRole, ConnectionSettings target,
                Set<String> keyIds) {
            this(policy, storage, database, loginRole, target, keyIds, null, null);
        }

        /**
         * A backup stored encrypted needs its key in the Secret now: refused before anyone approves a restore that
         * could not read it (and nothing is deleted for it).
         */
        void requireKeyFor(io.dbaoperator.backup.catalog.BackupRecord backup) {
            if (backup.encryption == null) {
                return;
            }
            String keyId = backup.encryption.substring(backup.encryption.lastIndexOf(' ') + 1);
            if (keyIds == null || !keyIds.contains(keyId)) {
                throw Problem.invalid(Reason.EncryptionKeyMissing, "backup " + backup.backupId + " was stored "
                        + "encrypted with key " + keyId + (keyIds == null ? ", and the policy no longer names an "
                                + "encryption Secret (spec.encryption)" : ", which Secret "
                                        + (policy.getSpec().encryption == null ? "(spec.encryption)"
                                                : policy.getSpec().encryption.secretRef.name)
                                        + " no longer holds (it holds "
                                        + new java.util.TreeSet<>(keyIds) + ")") + ": put the key back to restore "
                        + "it; nothing was deleted").exception();
            }
        }
        boolean logical() {
            return target != null;
        }
    }

    @Override
    public UpdateControl<BackupRestore> reconcile(BackupRestore restore, Context<BackupRestore> context) {
        return runner.run(restore, context, StatusPatcher.copy(restore.getStatus(), BackupRestoreStatus.class), this);
    }

    @Override
    public Validated<Inputs> validate(BackupRestore restore, BackupRestoreStatus status) {
        BackupRestoreSpec spec = restore.getSpec();
        String ns = restore.getMetadata().getNamespace();
        BackupPolicy policy = checks.exists(ns, BackupPolicy.class, spec.backupPolicyRef.name,
                "spec.backupPolicyRef");
        ConnectionSettings target = null;
        if (policy.getSpec().method == io.dbaoperator.api.backup.BackupPolicySpec.Method.logical) {
            if (spec.target.database != null) {
                target = secrets.connection(ns, spec.target.database.databaseRef, "spec.target.database.databaseRef");
            }
            LogicalRestores.validate(spec, policy, target);
        } else if (spec.target.newInstance == null || spec.logical != null) {
            throw Problem.invalid(Reason.InvalidSpec, "BackupPolicy " + spec.backupPolicyRef.name + " takes base "
                    + "backups (pg_basebackup): they restore into a new instance, spec.target.newInstance; "
                    + "spec.target.database and spec.logical are for a logical policy's dumps").exception();
        }
        if (spec.targetTime != null) {
            try {
                OffsetDateTime.parse(spec.targetTime);
            } catch (DateTimeParseException e) {
                throw Problem.invalid(Reason.InvalidSpec, "spec.targetTime '" + spec.targetTime
                        + "' is not an RFC 3339 time such as 2026-11-21T09:30:00Z").exception();
            }
        }
        if (target == null && (status.phase == null || status.phase == RestorePhase.Pending
                || status.phase == RestorePhase.AwaitingApproval)) {
            String instance = spec.target.newInstance.name;
            notTaken(restore, client.apps().statefulSets().inNamespace(ns).withName(instance).get(), "StatefulSet");
            notTaken(restore, client.persistentVolumeClaims().inNamespace(ns)
                    .withName(RestoreJobs.claimName(instance)).get(), "PersistentVolumeClaim");
            notTaken(restore, client.secrets().inNamespace(ns).withName(instance).get(), "Secret");
        }
        // the restore Job reads the policy's spec.storage: resolved on this copy, as the policy's reconciler does
        policy.getSpec().storage = storageDefaults.resolve(policy.getSpec().storage, "the policy's spec.storage");
        S3Location storage = checks.storage(ns, policy.getSpec().storage, "the policy's spec.storage");
        // The source database need not answer (restoring is for when it does not): its Secret only names the
        // database the checks run in and a role that exists in the restored cluster.
        String database = "postgres";
        String loginRole = "postgres";
        try {
            ConnectionSettings db = secrets.connection(ns, policy.getSpec().database, "the policy's spec.database");
            database = db.dbname();
            loginRole = db.user();
        } catch (ProblemException unreadable) {
            // defaults: the restored cluster's postgres database and role
        }
        var keys = checks.encryption(ns, policy.getSpec().encryption, false);
        // the offsite copy (the policy's spec.copies.offsite), read when the primary's is gone or frozen; a restore
        // from the primary goes on without it
        S3Location offsite = null;
        String offsiteProblem = null;
        var copies = policy.getSpec().copies;
        if (copies != null && copies.offsite != null) {
            try {
                offsite = checks.storage(ns, copies.offsite.storage, "the policy's spec.copies.offsite.storage");
            } catch (ProblemException e) {
                offsiteProblem = e.problem().message();
            }
        }
        boolean planning = status.phase == null || status.phase == RestorePhase.Pending
                || status.phase == RestorePhase.AwaitingApproval;
        MaskingPlan masking = spec.masking == null ? null : masking(restore, target, policy, planning);
        io.dbaoperator.kube.CronSchedule refresh = null;
        if (spec.refresh != null) {
            if (target == null) {
                throw Problem.invalid(Reason.InvalidSpec, "spec.refresh keeps a masked staging database fresh from "
                        + "a logical policy's dumps; BackupPolicy " + policy.getMetadata().getName() + " takes base "
                        + "backups").exception();
            }
            refresh = StagingRefreshes.validate(restore, client);
        }
        return new Validated<>(new Inputs(policy, storage, database, loginRole, target,
                keys == null ? null : keys.keys().keySet(), offsite, offsiteProblem, masking, refresh), "BackupPolicy "
                + policy.getMetadata().getName() + " and its bucket answer; " + (target != null ? "the target "
                        + "instance's Secret " + spec.target.database.databaseRef.secretRef.name + " is readable"
                        : "instance name " + instance(spec) + " is free"));
    }

    /** A masked restore's rules resolved (inline and a DisposalJob's), and where its key is. */
    record MaskingPlan(List<io.dbaoperator.masking.Masker.Rule> rules, String keySecret, String keyKey,
            String unmaskedColumns) {
    }

    /**
     * The masking rules resolved and refused before anyone approves when they cannot run: at least one rule, the key a Hash or Fake needs,
     * and, while planning and when the policy's database answers, each table, column and strategy checked against
     * its catalog (the backup's schema), read only. Unresolvable rules (a DisposalJob gone, the key's Secret
     * unreadable) stop the restore where it is: it never runs unmasked.
     */
    private MaskingPlan masking(BackupRestore restore, ConnectionSettings target, BackupPolicy policy,
            boolean planning) {
        BackupRestoreSpec.Masking m = restore.getSpec().masking;
        String ns = restore.getMetadata().getNamespace();
        List<io.dbaoperator.masking.Masker.Rule> rules = new java.util.ArrayList<>();
        if (m.rules != null) {
            m.rules.forEach(r -> rules.add(new io.dbaoperator.masking.Masker.Rule(r.table, r.columns)));
        }
        String keySecret = m.keySecretRef == null ? null : m.keySecretRef.name;
        String keyKey = "key";
        if (m.disposalJobRef != null) {
            var job = checks.exists(ns, io.dbaoperator.api.disposal.DisposalJob.class, m.disposalJobRef.name,
                    "spec.masking.disposalJobRef");
            for (var rule : job.getSpec().rules) {
                if (rule.anonymize != null && rule.anonymize.columns != null) {
                    rules.add(new io.dbaoperator.masking.Masker.Rule(rule.table, rule.anonymize.columns));
                }
            }
            if (keySecret == null && job.getSpec().saltSecretRef != null) {
                keySecret = job.getSpec().saltSecretRef.name;
                keyKey = "salt";
            }
        }
        if (rules.isEmpty()) {
            throw Problem.invalid(Reason.InvalidSpec, "spec.masking has no rule: name tables and columns in "
                    + "spec.masking.rules, or a DisposalJob with anonymize rules in spec.masking.disposalJobRef")
                    .exception();
        }
        boolean keyed = rules.stream().flatMap(r -> r.columns().values().stream()).anyMatch(c -> c.strategy
                == io.dbaoperator.api.disposal.DisposalJobSpec.ColumnStrategy.Strategy.Hash
                || c.strategy == io.dbaoperator.api.disposal.DisposalJobSpec.ColumnStrategy.Strategy.Fake);
        if (keyed) {
            if (keySecret == null) {
                throw Problem.invalid(Reason.InvalidSpec, "masking rules use Hash or Fake, which are keyed: set "
                        + "spec.masking.keySecretRef to a Secret with key 'key'").exception();
            }
            String key = secrets.read(ns, keySecret, "spec.masking.keySecretRef").get(keyKey);
            if (key == null || key.length() < 16) {
                throw Problem.invalid(Reason.SecretKeyMissing, "Secret " + keySecret + " needs key '" + keyKey
                        + "' with at least 16 characters: the masking key").exception();
            }
        }
        ConnectionSettings source = null;
        try {
            // before the approval only: once approved the Job checks them on the copy, and a later change of
            // production's schema is no reason to stop a restore under way
            source = planning ? secrets.connection(ns, policy.getSpec().database, "the policy's spec.database") : null;
        } catch (ProblemException unreadable) {
            source = null; // the agent checks the rules on the copy again
        }
        if (source != null) {
            try (java.sql.Connection c = io.dbaoperator.postgres.PostgresConnector.open(source,
                    "dba-operator-masking-plan")) {
                io.dbaoperator.masking.Masker.plan(c, rules, "spec.masking.rules");
            } catch (java.sql.SQLException | ProblemException e) {
                if (e instanceof ProblemException p && p.problem().reason() == Reason.InvalidSpec) {
                    throw p;
                }
                // the source does not answer (restoring is for when it does not): the agent checks on the copy
            }
        }
        return new MaskingPlan(rules, keySecret, keyKey, m.unmaskedColumns == null ? "Refuse"
                : m.unmaskedColumns.name());
    }

    @Override
    public void onProblem(BackupRestore restore, BackupRestoreStatus st, Problem problem) {
        if (st.phase == null || st.phase == RestorePhase.Pending || st.phase == RestorePhase.AwaitingApproval) {
            st.phase = Phase.move(st.phase, problem.permanent() ? RestorePhase.Failed : RestorePhase.Pending);
        }
    }

    private static String instance(BackupRestoreSpec spec) {
        return spec.target.newInstance.name;
    }

    /** A restore never takes over what someone else owns. */
    private static void notTaken(BackupRestore restore, HasMetadata existing, String kind) {
        notTaken(restore, existing, kind, "a restore never overwrites an instance; choose another "
                + "target.newInstance.name");
    }

    /** {@code existing} (null: none) is this restore's, or the restore is refused with {@code remedy}. */
    static void notTaken(BackupRestore restore, HasMetadata existing, String kind, String remedy) {
        if (existing != null && existing.getMetadata().getOwnerReferences().stream()
                .noneMatch(o -> restore.getMetadata().getUid().equals(o.getUid()))) {
            throw Problem.invalid(Reason.InvalidSpec, kind + " " + existing.getMetadata().getName() + " already "
                    + "exists and is not this restore's: " + remedy).exception();
        }
    }

    /**
     * One reconcile of a restore: what the handlers work on. {@code catalog} is the copy the stored plan reads (the
     * primary's until a plan chose the offsite copy); {@code sources} is where a plan chooses among them.
     */
    record Restoring(BackupRestore restore, BackupRestoreStatus st, Inputs in, WriteAhead log,
            Context<BackupRestore> context, BackupCatalog catalog, Owned<Job> jobs, RestoreSources sources) {
        /** The policy's bucket only. */
        Restoring(BackupRestore restore, BackupRestoreStatus st, Inputs in, WriteAhead log,
                Context<BackupRestore> context, BackupCatalog catalog, Owned<Job> jobs) {
            this(restore, st, in, log, context, catalog, jobs, new RestoreSources(new RestoreSources.Source(
                    RestoreSources.PRIMARY, catalog, in.policy().getSpec().storage), null, null));
        }
    }

    @Override
    public Duration advance(BackupRestore restore, BackupRestoreStatus st, Inputs in, WriteAhead log,
            Context<BackupRestore> context) throws java.sql.SQLException {
        String policyName = in.policy().getMetadata().getName();
        String ns = restore.getMetadata().getNamespace();
        try (S3Client s3 = stores.open(in.storage());
                S3Client far = in.offsite() == null ? null : stores.open(in.offsite())) {
            BackupCatalog catalog = new BackupCatalog(s3, in.storage(), ns, policyName);
            RestoreSources sources = new RestoreSources(new RestoreSources.Source(RestoreSources.PRIMARY, catalog,
                    in.policy().getSpec().storage), far == null ? null : new RestoreSources.Source(
                            RestoreSources.OFFSITE, new BackupCatalog(far, in.offsite(), ns, policyName),
                            in.policy().getSpec().copies.offsite.storage), in.offsiteProblem());
            // from the informer, with the Job this controller created recorded in it: never "deleted" by a lag
            Restoring r = new Restoring(restore, st, in, log, context, sources.of(st).catalog(),
                    OwnedObjects.of(context, Job.class, JOBS), sources);
            return in.logical() ? logical.machine.drive(r, log) : physical.machine.drive(r, log);
        } catch (SdkClientException e) {
            // the bucket answered validation a moment ago and stopped answering: say so, and try again
            throw S3Clients.unreachable(in.storage(), e).exception();
        }
    }

    /** Condition Ready of a restore, for the resource's generation: both machines report through it. */
    static void ready(BackupRestore restore, BackupRestoreStatus st, boolean ok, Reason reason, String message) {
        st.conditions = io.dbaoperator.status.Conditions.set(st.conditions, io.dbaoperator.status.ConditionType.Ready,
                ok, reason, message, generation(restore), java.time.Instant.now());
    }

    static long generation(BackupRestore r) {
        return r.getMetadata().getGeneration() == null ? 0 : r.getMetadata().getGeneration();
    }
}
