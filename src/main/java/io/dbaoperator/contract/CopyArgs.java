package io.dbaoperator.contract;

import java.util.List;
import java.util.Set;

/**
 * {@code dba-agent copy}: one verified backup copied to the offsite storage the Job was given
 * ({@link AgentEnvironment#OFFSITE}), and/or its objects moved to an archive storage class in the primary bucket.
 *
 * @param offsite copy the backup to the offsite storage (read back and checked by SHA-256 there)
 * @param offsiteClass the storage class of the offsite objects; null: the store's default
 * @param archiveClass move the primary's objects to this storage class; null: leave them
 */
public record CopyArgs(String namespace, String policy, String backupId, boolean offsite, String offsiteClass,
        String archiveClass) {

    public static final String COMMAND = "copy";
    private static final Set<String> FLAGS = Set.of("--namespace", "--policy", "--backup-id", "--offsite",
            "--offsite-class", "--archive-class");

    public CopyArgs {
        if (!offsite && archiveClass == null) {
            throw new IllegalArgumentException("copy needs --offsite true, --archive-class, or both");
        }
    }

    public static CopyArgs parse(String[] args) {
        Flags f = Flags.parse(args, FLAGS);
        return new CopyArgs(f.required("--namespace"), f.required("--policy"), f.required("--backup-id"),
                f.bool("--offsite", false), f.optional("--offsite-class", null), f.optional("--archive-class", null));
    }

    /** The Job container's command. */
    public List<String> command() {
        return Flags.render(COMMAND, "--namespace", namespace, "--policy", policy, "--backup-id", backupId,
                "--offsite", offsite, "--offsite-class", offsiteClass, "--archive-class", archiveClass);
    }
}
