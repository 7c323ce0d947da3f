package io.dbaoperator.backup;

import io.dbaoperator.api.backup.BackupPolicySpec;
import io.dbaoperator.problem.Problem;
import io.dbaoperator.problem.Reason;

/**
 * Logical backups (method: logical): pg_dump in custom format per database, run by the agent's
 * {@code logical-backup} command in the policy's backup Jobs, kept in the same catalog and by the same retention as
 * base backups. What such a policy cannot ask for is refused here, before anything runs.
 */
final class LogicalBackups {

    private LogicalBackups() {
    }

    /** What a logical policy cannot ask for (yet, or ever), refused before anything runs. */
    static void refuseWhatTheyCannotDo(BackupPolicySpec spec) {
        if (BackupPolicyReconciler.archivingEnabled(spec)) {
            throw Problem.invalid(Reason.InvalidSpec, "spec.walArchiving.enabled needs method: physical: archived WAL "
                    + "replays onto a base backup, not onto a pg_dump; keep a physical policy for point-in-time "
                    + "recovery beside this one").exception();
        }
        var c = spec.compression;
        if (c.algorithm == BackupPolicySpec.Compression.Algorithm.lz4
                || c.algorithm == BackupPolicySpec.Compression.Algorithm.zstd
                || c.location == BackupPolicySpec.Compression.Location.server) {
            throw Problem.invalid(Reason.InvalidSpec, "a logical backup is compressed by pg_dump with gzip (PostgreSQL "
                    + "15's pg_dump has no lz4 or zstd, and nothing to compress on the server): use compression "
                    + "algorithm gzip or none, location client").exception();
        }
    }
}
