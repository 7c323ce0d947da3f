package io.dbaoperator.backup;

import java.time.Instant;
import java.util.List;
import java.util.Optional;

import io.dbaoperator.api.backup.BackupPolicy;
import io.dbaoperator.api.backup.BackupPolicyStatus;
import io.dbaoperator.backup.catalog.BackupRecord;
import io.dbaoperator.kube.EventRecorder;
import io.dbaoperator.postgres.ConnectionSettings;
import io.dbaoperator.problem.Reason;
import io.dbaoperator.status.ConditionType;
import io.dbaoperator.status.Conditions;
import io.dbaoperator.status.Step;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.dependent.ReconcileResult;

/**
 * A policy's WAL archiver, as its handlers see it: {@link #keep} decides whether the archiver Deployment must be
 * made, changed or removed (and the replication slot of a removed one dropped) and returns that as an act, so the
 * machine stores the policy's status before anything changes in the cluster or the database; {@link #report} turns
 * what the Deployment and the archiver's heartbeat show into the WalArchiving condition and the recovery window.
 */
final class ArchiverSteps {

    /** The archiver Deployment and the replication slot of one policy: the JOSDK dependent and JDBC in the operator. */
    interface Archivers {
        Optional<Deployment> current(BackupPolicy policy, Context<BackupPolicy> context);

        /** Whether the Deployment is the one the spec asks for (its spec hash). */
        boolean upToDate(Deployment actual, BackupPolicy policy, Context<BackupPolicy> context);

        /** Creates or updates it; true when it was created. */
        boolean apply(BackupPolicy policy, Context<BackupPolicy> context);

        void remove(BackupPolicy policy, Context<BackupPolicy> context);

        /** Why it is not archiving (its pods' state), or null when it runs. */
        String problem(BackupPolicy policy, Deployment deployment);

        /** Drops the slot unless something still streams from it (an archiver's pod that is stopping). */
        ReplicationSlots.Drop dropSlot(ConnectionSettings db, String slot);

        /** Whether the slot exists (false when the server cannot be asked: looked at again later). */
        boolean slotExists(ConnectionSettings db, String slot);
    }

    /** The operator's: the dependent resource, the pods it reads through the client, the slot over JDBC. */
    static Archivers of(WalArchiver archiver, KubernetesClient client) {
        return new Archivers() {
            @Override
            public Optional<Deployment> current(BackupPolicy policy, Context<BackupPolicy> context) {
                return archiver.getSecondaryResource(policy, context);
            }

            @Override
            public boolean upToDate(Deployment actual, BackupPolicy policy, Context<BackupPolicy> context) {
                return archiver.match(actual, policy, context).matched();
            }

            @Override
            public boolean apply(BackupPolicy policy, Context<BackupPolicy> context) {
                return archiver.reconcile(policy, context).getSingleOperation() == ReconcileResult.Operation.CREATED;
            }

            @Override
            public void remove(BackupPolicy policy, Context<BackupPolicy> context) {
                archiver.delete(policy, context);
            }

            @Override
            public String problem(BackupPolicy policy, Deployment deployment) {
                return WalArchiverDeployment.problem(client, policy.getMetadata().getNamespace(), deployment);
            }

            @Override
            public ReplicationSlots.Drop dropSlot(ConnectionSettings db, String slot) {
                return ReplicationSlots.drop(db, slot);
            }

            @Override
            public boolean slotExists(ConnectionSettings db, String slot) {
                return ReplicationSlots.exists(db, slot);
            }
        };
    }

    private final Archivers archivers;
    private final EventRecorder events;
    private final BackupMetrics metrics;

    ArchiverSteps(Archivers archivers, EventRecorder events, BackupMetrics metrics) {
        this.archivers = archivers;
        this.events = events;
        this.metrics = metrics;
    }

    /** The slot dropped, or looked at again in a few seconds while its archiver's pod still streams as it stops. */
    private Step dropped(BackupPolicy policy, ConnectionSettings db, String slot) {
        ReplicationSlots.Drop d = archivers.dropSlot(db, slot);
        if (d == ReplicationSlots.Drop.DROPPED) {
            events.normal(policy, "ReplicationSlotDropped", "WAL archiving disabled: replication slot " + slot
                    + " dropped");
        }
        return d == ReplicationSlots.Drop.ACTIVE ? Step.rest(java.time.Duration.ofSeconds(3)) : Step.next();
    }

    /**
     * The Deployment as the spec says: made or changed when archiving is on; removed, then its slot dropped (a slot
     * nobody reads makes the server keep WAL until its disk is full) when it is off. Null when nothing is to change.
     */
    Step keep(Tending t) {
        BackupPolicy policy = t.policy();
        BackupPolicyStatus status = t.status();
        String deployment = WalArchiverDeployment.name(policy.getMetadata().getName());
        Deployment existing = archivers.current(policy, t.context()).orElse(null);
        if (!BackupPolicyReconciler.archivingEnabled(policy.getSpec())) {
            boolean reported = Conditions.find(status.conditions, ConditionType.WalArchiving).isPresent();
            String slot = WalArchiverDeployment.slot(policy);
            if (existing == null && !reported) {
                // a slot an archiver still streamed from as it was removed (its pod stopping) was left: it is
                // dropped once free, or the server keeps WAL for it until its disk is full
                if (policy.getSpec().method == io.dbaoperator.api.backup.BackupPolicySpec.Method.logical
                        || !archivers.slotExists(t.in().database(), slot)) {
                    return null;
                }
                return Step.act(() -> dropped(policy, t.in().database(), slot));
            }
            // decided first: the condition goes, and the slot is dropped once (the Deployment gone before it)
            status.conditions = Conditions.remove(status.conditions, ConditionType.WalArchiving);
            status.recoveryWindow = null;
            return Step.act(() -> {
                if (existing != null) {
                    archivers.remove(policy, t.context());
                    events.normal(policy, "WalArchivingStopped", "WAL archiving disabled: Deployment " + deployment
                            + " removed");
                }
                return dropped(policy, t.in().database(), slot);
            });
        }
        if (existing != null && archivers.upToDate(existing, policy, t.context())) {
            return null;
        }
        return Step.act(() -> {
            if (archivers.apply(policy, t.context())) {
                events.normal(policy, "WalArchivingStarted", "WAL archiver Deployment " + deployment + " created "
                        + "on slot " + WalArchiverDeployment.slot(policy));
            }
            return Step.next();
        });
    }

    /** The WalArchiving condition, the recovery window and the archiving metrics, from what the archiver shows. */
    void report(Tending t, List<BackupRecord> records, String walKeptFrom, Instant now) {
        BackupPolicy policy = t.policy();
        BackupPolicyStatus status = t.status();
        if (!BackupPolicyReconciler.archivingEnabled(policy.getSpec())) {
            return;
        }
        String ns = policy.getMetadata().getNamespace();
        Deployment existing = archivers.current(policy, t.context()).orElse(null);
        var heartbeat = t.catalog().walArchiver();
        WalArchivingStatus.apply(status, archivers.problem(policy, existing), heartbeat, records, walKeptFrom,
                policy.getMetadata().getGeneration(), now);
        Long lag = status.recoveryWindow == null ? null : status.recoveryWindow.archivingLagSeconds;
        metrics.walArchiving(ns, policy.getMetadata().getName(), Conditions.isTrue(status.conditions,
                ConditionType.WalArchiving), lag, lag == null || heartbeat == null
                        || heartbeat.lastArchivedSegment == null ? null
                                : ReplicationSlots.unarchivedBytes(t.in().database(), heartbeat.lastArchivedSegment));
    }

    /**
     * When the policy cannot be validated (its Secret changed, the database is unreachable), the archiver may be
     * failing for the same reason: what the Deployment shows is still reported, so the condition never stays True
     * on an archiver that stopped.
     */
    static void whileInvalid(BackupPolicy policy, BackupPolicyStatus status, KubernetesClient client) {
        if (!BackupPolicyReconciler.archivingEnabled(policy.getSpec())) {
            return;
        }
        String ns = policy.getMetadata().getNamespace();
        var d = client.apps().deployments().inNamespace(ns).withName(WalArchiverDeployment.name(
                policy.getMetadata().getName())).get();
        String problem = d == null ? null : WalArchiverDeployment.problem(client, ns, d);
        if (problem != null) {
            status.conditions = Conditions.set(status.conditions, ConditionType.WalArchiving, false,
                    Reason.WalArchiverNotRunning, "the WAL archiver is not running: " + problem,
                    policy.getMetadata().getGeneration(), Instant.now());
        }
    }
}
