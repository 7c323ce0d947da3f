package io.dbaoperator.contract;

import java.util.List;
import java.util.Set;

/**
 * {@code dba-agent wal-archive}: the policy whose WAL the archiver streams, its replication slot, and the local
 * spool directory segments wait in until they are stored.
 */
public record WalArchiveArgs(String namespace, String policy, String slot, String spool) {

    public static final String COMMAND = "wal-archive";
    private static final Set<String> FLAGS = Set.of("--namespace", "--policy", "--slot", "--spool");

    public static WalArchiveArgs parse(String[] args) {
        Flags f = Flags.parse(args, FLAGS);
        return new WalArchiveArgs(f.required("--namespace"), f.required("--policy"), f.required("--slot"),
                f.optional("--spool", System.getProperty("java.io.tmpdir") + "/wal-spool"));
    }

    /** The Deployment container's command. */
    public List<String> command() {
        return Flags.render(COMMAND, "--namespace", namespace, "--policy", policy, "--slot", slot, "--spool", spool);
    }
}
