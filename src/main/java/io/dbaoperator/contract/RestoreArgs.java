package io.dbaoperator.contract;

import java.util.List;
import java.util.Set;

/**
 * {@code dba-agent restore}: which backup to restore into which data directory, to what target, and what to prove
 * on it. The checks travel in {@link AgentEnvironment#RESTORE_CHECKS}, a new superuser password in
 * {@link AgentEnvironment#RESTORE_PASSWORD}.
 *
 * @param targetTime an RFC 3339 time to recover to, or null; excludes {@code targetLsn}
 * @param targetLsn an LSN to recover to, or null
 * @param database the database the checks run in
 * @param loginRole a role that must exist in the restored cluster (it is given the password)
 * @param amcheck whether pg_amcheck runs on every database
 * @param keep false for a restore test: the data directory is removed at the end
 */
public record RestoreArgs(String namespace, String policy, String restoreId, String backupId, String dataDir,
        String targetTime, String targetLsn, String database, String loginRole, boolean amcheck, boolean keep) {

    public static final String COMMAND = "restore";
    private static final Set<String> FLAGS = Set.of("--namespace", "--policy", "--restore-id", "--backup-id",
            "--data-dir", "--target-time", "--target-lsn", "--database", "--login-role", "--amcheck", "--keep");

    public RestoreArgs {
        if (targetTime != null && targetLsn != null) {
            throw new IllegalArgumentException("--target-time and --target-lsn exclude each other");
        }
    }

    public static RestoreArgs parse(String[] args) {
        Flags f = Flags.parse(args, FLAGS);
        return new RestoreArgs(f.required("--namespace"), f.required("--policy"), f.required("--restore-id"),
                f.required("--backup-id"), f.required("--data-dir"), f.optional("--target-time", null),
                f.optional("--target-lsn", null), f.optional("--database", "postgres"),
                f.optional("--login-role", "postgres"), f.bool("--amcheck", true), f.bool("--keep", true));
    }

    /** The Job container's command. */
    public List<String> command() {
        return Flags.render(COMMAND, "--namespace", namespace, "--policy", policy, "--restore-id", restoreId,
                "--backup-id", backupId, "--data-dir", dataDir, "--database", database, "--login-role", loginRole,
                "--amcheck", amcheck, "--keep", keep, "--target-time", targetTime, "--target-lsn", targetLsn);
    }

    /** The recovery target in words. */
    public String describeTarget() {
        return targetTime != null ? "time " + targetTime : targetLsn != null ? "lsn " + targetLsn : "end of backup";
    }
}
