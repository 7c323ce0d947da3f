package io.dbaoperator.migration;

import io.dbaoperator.api.backup.BackupPolicy;
import io.dbaoperator.api.migration.DatabaseMigration;
import io.dbaoperator.api.migration.DatabaseMigrationSpec;
import io.dbaoperator.api.migration.DatabaseMigrationStatus;
import io.dbaoperator.api.migration.MigrationPhase;
import io.dbaoperator.kube.ReferenceChecks;
import io.dbaoperator.status.StatusPatcher;
import io.dbaoperator.status.ValidationRunner;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.ControllerConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.Reconciler;
import io.javaoperatorsdk.operator.api.reconciler.UpdateControl;

/**
 * Reconciles DatabaseMigration. This version validates the migration's references (databases answer, the backup
 * policy and cutover Deployment exist); planning and the expand/backfill/contract phases land with the
 * DatabaseMigration issue. Nothing is executed against the database yet.
 */
@ControllerConfiguration(name = "databasemigration", generationAwareEventProcessing = false)
public class DatabaseMigrationReconciler implements Reconciler<DatabaseMigration> {

    private final ReferenceChecks checks;
    private final ValidationRunner runner;

    public DatabaseMigrationReconciler(ReferenceChecks checks, ValidationRunner runner) {
        this.checks = checks;
        this.runner = runner;
    }

    @Override
    public UpdateControl<DatabaseMigration> reconcile(DatabaseMigration migration, Context<DatabaseMigration> context) {
        DatabaseMigrationSpec spec = migration.getSpec();
        String ns = migration.getMetadata().getNamespace();
        DatabaseMigrationStatus desired = StatusPatcher.copy(migration.getStatus(), DatabaseMigrationStatus.class);
        if (isFinal(desired.phase)) {
            return UpdateControl.noUpdate();
        }
        return runner.run(migration, desired, () -> {
            var db = checks.database(ns, spec.database, "spec.database");
            String summary = "database " + db.describe();
            if (spec.stagingDatabase != null) {
                summary += ", staging " + checks.database(ns, spec.stagingDatabase, "spec.stagingDatabase").describe();
            }
            if (spec.preMigrationBackup != null) {
                checks.exists(ns, BackupPolicy.class, spec.preMigrationBackup.backupPolicyRef.name,
                        "spec.preMigrationBackup.backupPolicyRef");
            }
            if (spec.cutover != null && spec.cutover.deploymentRef != null) {
                checks.exists(ns, Deployment.class, spec.cutover.deploymentRef.name, "spec.cutover.deploymentRef");
            }
            return summary + " answer" + (spec.stagingDatabase != null ? "" : "s");
        }, (status, summary) -> {
            status.phase = MigrationPhase.Pending;
            status.message = "validated: " + summary;
        }, (status, problem) -> status.phase = problem.permanent() ? MigrationPhase.Failed : MigrationPhase.Pending);
    }

    static boolean isFinal(MigrationPhase phase) {
        return phase == MigrationPhase.Completed || phase == MigrationPhase.RolledBack
                || phase == MigrationPhase.Rejected;
    }
}
