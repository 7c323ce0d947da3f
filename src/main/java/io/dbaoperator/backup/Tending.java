package io.dbaoperator.backup;

import java.time.Instant;
import java.util.List;
import java.util.function.Supplier;

import io.dbaoperator.api.backup.BackupPolicy;
import io.dbaoperator.api.backup.BackupPolicyStatus;
import io.dbaoperator.backup.BackupPolicyReconciler.Inputs;
import io.dbaoperator.backup.catalog.BackupCatalog;
import io.dbaoperator.backup.catalog.BackupRecord;
import io.dbaoperator.kube.Owned;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.javaoperatorsdk.operator.api.reconciler.Context;

/**
 * One reconcile of a BackupPolicy: what its duties work on, with its catalog open for the reconcile and the backups
 * in it read once (read again after retention deleted some or a copy changed them); the offsite catalog is opened
 * only when a duty reads it.
 */
final class Tending {
    private final BackupPolicy policy;
    private final BackupPolicyStatus status;
    private final Inputs in;
    private final Context<BackupPolicy> context;
    private final Instant now;
    private final Owned<Job> backupJobs;
    private final Owned<Job> restoreTestJobs;
    private final BackupCatalog catalog;
    private final Owned<Job> copyJobs;
    private final Supplier<BackupCatalog> offsiteOpener;
    private BackupCatalog offsite;
    private List<BackupRecord> records;
    private RetentionPass.Result retained;

    Tending(BackupPolicy policy, BackupPolicyStatus status, Inputs in, Context<BackupPolicy> context, Instant now,
            Owned<Job> backupJobs, Owned<Job> restoreTestJobs, BackupCatalog catalog, Owned<Job> copyJobs,
            Supplier<BackupCatalog> offsite) {
        this.policy = policy;
        this.status = status;
        this.in = in;
        this.context = context;
        this.now = now;
        this.backupJobs = backupJobs;
        this.restoreTestJobs = restoreTestJobs;
        this.catalog = catalog;
        this.copyJobs = copyJobs;
        this.offsiteOpener = offsite;
    }

    BackupPolicy policy() {
        return policy;
    }

    BackupPolicyStatus status() {
        return status;
    }

    Inputs in() {
        return in;
    }

    Context<BackupPolicy> context() {
        return context;
    }

    Instant now() {
        return now;
    }

    Owned<Job> backupJobs() {
        return backupJobs;
    }

    Owned<Job> restoreTestJobs() {
        return restoreTestJobs;
    }

    Owned<Job> copyJobs() {
        return copyJobs;
    }

    BackupCatalog catalog() {
        return catalog;
    }

    /** The offsite storage's catalog (spec.copies.offsite), opened on first use. */
    BackupCatalog offsite() {
        if (offsite == null) {
            offsite = offsiteOpener.get();
        }
        return offsite;
    }

    /** Every backup of the policy, newest first. */
    List<BackupRecord> records() {
        if (records == null) {
            records = catalog.list();
        }
        return records;
    }

    /** Retention's verdicts on {@link #records()} now, computed once per reading of the catalog. */
    RetentionPass.Result retained() {
        if (retained == null) {
            retained = RetentionPass.verdicts(policy.getSpec(), records(), now);
        }
        return retained;
    }

    void forgetRecords() {
        records = null;
        retained = null;
    }
}
