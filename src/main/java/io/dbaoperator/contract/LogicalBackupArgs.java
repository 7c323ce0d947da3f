package io.dbaoperator.contract;

import java.util.List;
import java.util.Set;


/**
 * {@code dba-agent logical-backup}: pg_dump in custom format, one object per database, streamed into the policy's
 * bucket. Lists of names travel as JSON arrays, so a name may hold any character.
 *
 * @param databases the databases to dump; empty: the one the Job's connection names
 * @param schemas only these schemas (pg_dump --schema), in every database; empty: all
 * @param tables only these tables (pg_dump --table, patterns as pg_dump reads them); empty: all
 * @param globals whether roles and tablespaces are dumped too (pg_dumpall --globals-only --no-role-passwords)
 * @param level pg_dump's gzip level (0: uncompressed), or null for pg_dump's default
 * @param verify whether each object is read back (SHA-256) through pg_restore --list
 * @param abortUploadsOlderThanSeconds incomplete multipart uploads older than this are an earlier backup's
 */
public record LogicalBackupArgs(String namespace, String policy, String backupId, List<String> databases,
        List<String> schemas, List<String> tables, boolean globals, Integer level, boolean verify,
        long abortUploadsOlderThanSeconds) {

    public static final String COMMAND = "logical-backup";
    /** The roles and tablespaces object. */
    public static final String GLOBALS = "globals.sql";
    private static final Set<String> FLAGS = Set.of("--namespace", "--policy", "--backup-id", "--databases",
            "--schemas", "--tables", "--globals", "--level", "--verify", "--abort-uploads-older-than");

    public LogicalBackupArgs {
        databases = databases == null ? List.of() : List.copyOf(databases);
        schemas = schemas == null ? List.of() : List.copyOf(schemas);
        tables = tables == null ? List.of() : List.copyOf(tables);
    }

    public static LogicalBackupArgs parse(String[] args) {
        Flags f = Flags.parse(args, FLAGS);
        try {
            return new LogicalBackupArgs(f.required("--namespace"), f.required("--policy"), f.required("--backup-id"),
                    f.names("--databases"), f.names("--schemas"), f.names("--tables"), f.bool("--globals", false),
                    f.has("--level") ? Integer.valueOf(f.required("--level")) : null, f.bool("--verify", true),
                    Long.parseLong(f.optional("--abort-uploads-older-than", "86400")));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--level and --abort-uploads-older-than take whole numbers");
        }
    }

    /** The Job container's command. */
    public List<String> command() {
        return Flags.render(COMMAND, "--namespace", namespace, "--policy", policy, "--backup-id", backupId,
                "--databases", Flags.names(databases), "--schemas", Flags.names(schemas), "--tables",
                Flags.names(tables),
                "--globals", globals, "--level", level, "--verify", verify, "--abort-uploads-older-than",
                abortUploadsOlderThanSeconds);
    }

    /** The object a database's dump is stored as: its name, URL-encoded (a name may hold a slash), then .dump. */
    public static String objectName(String database) {
        return java.net.URLEncoder.encode(database, java.nio.charset.StandardCharsets.UTF_8) + ".dump";
    }
}
