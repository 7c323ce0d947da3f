package io.dbaoperator.contract;

import java.util.List;
import java.util.Set;

/**
 * {@code dba-agent backup} (and {@code verify}, which verifies a stored backup again with the same arguments): what
 * to back up and how. The operator renders it into a Job's command; the agent parses it back.
 *
 * @param algorithm none, gzip, lz4 or zstd
 * @param location client or server (where pg_basebackup compresses)
 * @param level the compression level, or null for the algorithm's default
 * @param verify whether the agent runs pg_verifybackup and pg_waldump on the stored backup
 * @param abortUploadsOlderThanSeconds incomplete multipart uploads older than this are an earlier backup's
 */
public record BackupArgs(String namespace, String policy, String backupId, String algorithm, String location,
        Integer level, boolean verify, long abortUploadsOlderThanSeconds) {

    public static final String COMMAND = "backup";
    public static final String VERIFY_COMMAND = "verify";
    private static final Set<String> FLAGS = Set.of("--namespace", "--policy", "--backup-id", "--compression",
            "--compression-location", "--level", "--verify", "--abort-uploads-older-than");

    public static BackupArgs parse(String[] args) {
        Flags f = Flags.parse(args, FLAGS);
        try {
            return new BackupArgs(f.required("--namespace"), f.required("--policy"), f.required("--backup-id"),
                    f.optional("--compression", "none"), f.optional("--compression-location", "client"),
                    f.has("--level") ? Integer.valueOf(f.required("--level")) : null, f.bool("--verify", true),
                    Long.parseLong(f.optional("--abort-uploads-older-than", "86400")));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--level and --abort-uploads-older-than take whole numbers");
        }
    }

    /** The Job container's command. */
    public List<String> command() {
        return Flags.render(COMMAND, "--namespace", namespace, "--policy", policy, "--backup-id", backupId,
                "--compression", algorithm, "--compression-location", location, "--verify", verify,
                "--abort-uploads-older-than", abortUploadsOlderThanSeconds, "--level", level);
    }

    /** The base backup's object name, by compression. */
    public String objectName() {
        return switch (algorithm) {
            case "gzip" -> "base.tar.gz";
            case "lz4" -> "base.tar.lz4";
            case "zstd" -> "base.tar.zst";
            default -> "base.tar";
        };
    }
}
