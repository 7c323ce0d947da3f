package io.dbaoperator.contract;

import java.util.List;
import java.util.Set;

/**
 * {@code dba-agent logical-restore}: pg_restore of a logical backup's dumps, either into a new database on the
 * instance the Job's database Secret names (a BackupRestore), or into a private scratch instance the Job starts and
 * throws away (a logical policy's restore test). The checks travel in {@link AgentEnvironment#RESTORE_CHECKS}.
 *
 * @param sources the databases of the backup to restore (their dumps); empty: every dump of the backup
 * @param target the database restored into on the Secret's instance (one source only); null with {@code scratch}
 * @param replace whether an existing, non-empty target may be replaced (the approval named it)
 * @param schemas only these schemas (pg_restore --schema); empty: all
 * @param tables only these tables (pg_restore --table); empty: all
 * @param jobs pg_restore's parallel jobs; above 1 the dump is first downloaded to the Job's scratch volume
 * @param owner the role that owns what is restored (pg_restore --no-owner --role); null: the Secret's user
 * @param privileges whether the dump's GRANTs are restored (they name the source's roles)
 * @param checksDatabase the database the checks run in (with {@code scratch}; otherwise the target)
 * @param scratch a restore test: a private instance, nothing kept
 */
public record LogicalRestoreArgs(String namespace, String policy, String restoreId, String backupId,
        List<String> sources, String target, boolean replace, List<String> schemas, List<String> tables, int jobs,
        String owner, boolean privileges, String checksDatabase, boolean scratch) {

    public static final String COMMAND = "logical-restore";
    /**
     * What makes a database not empty, for the operator's plan and the agent's last look alike: tables, views,
     * sequences and the like outside the system schemas.
     */
    public static final String USER_RELATIONS = "select count(*) from pg_class c join pg_namespace n on n.oid = "
            + "c.relnamespace where n.nspname not in ('pg_catalog', 'information_schema') and n.nspname !~ '^pg_toast' "
            + "and c.relkind in ('r', 'p', 'v', 'm', 'S', 'f')";
    private static final Set<String> FLAGS = Set.of("--namespace", "--policy", "--restore-id", "--backup-id",
            "--sources", "--target", "--replace", "--schemas", "--tables", "--jobs", "--owner", "--privileges",
            "--checks-database", "--scratch");

    public LogicalRestoreArgs {
        sources = sources == null ? List.of() : List.copyOf(sources);
        schemas = schemas == null ? List.of() : List.copyOf(schemas);
        tables = tables == null ? List.of() : List.copyOf(tables);
        if (!scratch && (target == null || sources.size() != 1)) {
            throw new IllegalArgumentException("a restore into an instance names --target and exactly one source "
                    + "database in --sources");
        }
        if (scratch && target != null) {
            throw new IllegalArgumentException("--scratch restores each database under its own name: no --target");
        }
        if (jobs < 1) {
            throw new IllegalArgumentException("--jobs is at least 1");
        }
    }

    public static LogicalRestoreArgs parse(String[] args) {
        Flags f = Flags.parse(args, FLAGS);
        try {
            return new LogicalRestoreArgs(f.required("--namespace"), f.required("--policy"),
                    f.required("--restore-id"), f.required("--backup-id"), f.names("--sources"),
                    f.optional("--target", null), f.bool("--replace", false), f.names("--schemas"),
                    f.names("--tables"), Integer.parseInt(f.optional("--jobs", "1")), f.optional("--owner", null),
                    f.bool("--privileges", false), f.optional("--checks-database", null), f.bool("--scratch", false));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--jobs takes a whole number");
        }
    }

    /** The Job container's command. */
    public List<String> command() {
        return Flags.render(COMMAND, "--namespace", namespace, "--policy", policy, "--restore-id", restoreId,
                "--backup-id", backupId, "--sources", Flags.names(sources), "--target", target, "--replace", replace,
                "--schemas", Flags.names(schemas), "--tables", Flags.names(tables), "--jobs", jobs, "--owner", owner,
                "--privileges", privileges, "--checks-database", checksDatabase, "--scratch", scratch);
    }

    /** Where the dumps go, in words. */
    public String describeTarget() {
        return scratch ? "a scratch instance" : "database " + target;
    }
}
