package io.dbaoperator.contract;

/**
 * How a staging refresh's copy says what it holds, to whoever connects: the comment on its database (COMMENT ON
 * DATABASE), written before the staging Secret points at it, e.g. {@code dba-operator staging copy: backup
 * 20261206T031500Z taken 2026-12-06T03:15:42Z, masked, restored by BackupRestore shop/app-staging run 7}. A
 * DatabaseMigration's rehearsal reads it to record the age of the data its timings were measured on.
 */
public final class StagingCopies {

    public static final String COMMENT_PREFIX = "dba-operator staging copy: ";

    private StagingCopies() {
    }

    public static String comment(String backupId, String backupTime, String namespace, String restore, int run) {
        return COMMENT_PREFIX + "backup " + backupId + " taken " + backupTime + ", masked, restored by BackupRestore "
                + namespace + "/" + restore + " run " + run;
    }
}
