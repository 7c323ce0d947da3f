package io.dbaoperator.api.backup;

import java.util.List;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;

import io.dbaoperator.api.common.LocalRef;
import io.dbaoperator.api.common.Patterns;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.Size;
import io.fabric8.generator.annotation.ValidationRule;
import io.fabric8.kubernetes.api.model.ResourceRequirements;

/** What to restore, to which point, and where. Immutable: a different restore is a new resource. */
@JsonInclude(JsonInclude.Include.NON_NULL)
@ValidationRule(value = "self == oldSelf", message = "a restore's spec is immutable once created; create a new BackupRestore instead")
@ValidationRule(value = "!(has(self.targetTime) && has(self.targetLSN))", message = "set targetTime or targetLSN, not both")
@ValidationRule(value = "!has(self.refresh) || (has(self.masking) && has(self.target.database))", message = "a "
        + "staging refresh (spec.refresh) restores a logical backup into spec.target.database, masked: set "
        + "spec.masking")
public class BackupRestoreSpec {

    @Required
    @JsonPropertyDescription("The BackupPolicy whose backups and archived WAL are restored.")
    public LocalRef backupPolicyRef;

    @Pattern("^[0-9]{8}T[0-9]{6}Z$")
    @JsonPropertyDescription("Backup to restore; by default the newest verified backup that can reach the target.")
    public String backupId;

    @JsonPropertyDescription("Recover up to this time (RFC 3339). Without targetTime or targetLSN, recovery stops at "
            + "the end of the backup. Physical backups only: a dump restores to the moment it was taken.")
    public String targetTime;

    @Pattern(Patterns.LSN)
    @JsonPropertyDescription("Recover up to this WAL position, e.g. 0/16B3748.")
    public String targetLSN;

    @Required
    @JsonPropertyDescription("Where the restored database goes. A restore never overwrites an existing instance.")
    public RestoreTarget target;

    @JsonPropertyDescription("SQL queries that must each return true on the restored database, e.g. "
            + "\"select count(*) > 0 from orders\".")
    public List<String> checks;

    @Default("true")
    @JsonPropertyDescription("Run pg_amcheck on the restored instance (heap and B-tree consistency). Physical "
            + "restores only: a logical restore writes every page and index anew through pg_restore.")
    public Boolean amcheck = true;

    @JsonPropertyDescription("How a logical backup (a BackupPolicy with method: logical) is restored: which of its "
            + "databases, which schemas and tables, owner, privileges and parallel jobs.")
    public LogicalRestore logical;

    @JsonPropertyDescription("Mask the restored copy before it is served: personal data replaced by the rules, "
            + "checked against a sample of the originals, and the copy scanned for columns that still look personal. "
            + "A logical copy takes the target's name only once masked and checked; a physical one is masked in the "
            + "restore Job (the policy's database; every other database is dropped) before its instance starts.")
    public Masking masking;

    @JsonPropertyDescription("Keep a masked staging copy fresh (logical backups, with spec.masking): once approved, "
            + "each refresh restores the newest verified backup into a new database <target.database.name>_r<N>, "
            + "masks and checks it, and only then points the staging Secret at it and drops the previous copy "
            + "(blue/green). A refresh that fails leaves the previous copy serving and says why. Later refreshes run "
            + "under the same approval while the resolved rules are unchanged; a change of them asks again.")
    public Refresh refresh;

    /** A scheduled staging refresh. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static class Refresh {
        @Required
        @ValidationRule(value = Patterns.CRON_RULE, message = Patterns.CRON_MESSAGE)
        @JsonPropertyDescription("Refresh on this cron schedule, e.g. \"0 3 * * 6\" (Saturdays 03:00). A refresh "
                + "can also be asked for: kubectl annotate bkr NAME dbaoperator.io/refresh-now=$(date +%s) "
                + "--overwrite.")
        public String schedule;

        @Default("UTC")
        @JsonPropertyDescription("IANA time zone the schedule is read in.")
        public String timeZone = "UTC";

        @Required
        @JsonPropertyDescription("The Secret (DatabaseRef format: host, port, dbname, user, password, sslmode) the "
                + "operator writes and owns, pointing at the copy being served: what stagingDatabase fields of "
                + "migrations and tuning requests name. Its annotations say which backup the copy holds, when that "
                + "backup was taken and the copy's size. It must not exist yet, or be this restore's.")
        public LocalRef stagingSecretRef;
    }

    /** Restore target. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    @ValidationRule(value = "has(self.newInstance) != has(self.database)", message = "set target.newInstance (a "
            + "physical backup) or target.database (a logical backup), exactly one")
    public static class RestoreTarget {
        @JsonPropertyDescription("A new PostgreSQL instance served by a StatefulSet, Service and Secret of this name: "
                + "where a physical backup restores.")
        public NewInstance newInstance;

        @JsonPropertyDescription("A new database on an existing instance: where a logical backup (pg_dump) restores.")
        public DatabaseTarget database;
    }

    /** A database on an existing instance. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static class DatabaseTarget {
        @Required
        @JsonPropertyDescription("The instance: a Secret in the DatabaseRef format whose role may create databases "
                + "(CREATEDB) and, with logical.owner, is a member of that role. Its own database is where the "
                + "restore connects to create the new one; it cannot be the target.")
        public io.dbaoperator.api.common.DatabaseRef databaseRef;

        @Required
        @Size(min = 1, max = 63)
        @JsonPropertyDescription("The database restored into. A new one is created; the dump is restored into a "
                + "temporary database that takes this name only once restored and checked.")
        public String name;

        @Default("false")
        @JsonPropertyDescription("Replace the database of this name if it exists and is not empty (it is dropped "
                + "once the restored copy has taken its name). A destructive step: the plan and the approval name "
                + "what it holds. Without it, a target that is not empty is refused untouched.")
        public Boolean replace = false;
    }

    /** A masked restore. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static class Masking {
        @JsonPropertyDescription("Tables and their columns to mask, each with the disposal engine's strategies: Null, "
                + "Hash (keyed SHA-256), Redact, Fake (type-aware, keyed: the same value gives the same output in "
                + "every table and every restore with the same key) or Partial.")
        public List<MaskingRule> rules;

        @JsonPropertyDescription("A DisposalJob in this namespace whose anonymize rules (tables and columns) apply as "
                + "well; its saltSecretRef is the key when keySecretRef is not set.")
        public io.dbaoperator.api.common.LocalRef disposalJobRef;

        @JsonPropertyDescription("A Secret with key 'key' (at least 16 characters): the key of Hash and Fake. Keep it "
                + "for the next refresh to give the same values.")
        public io.dbaoperator.api.common.SecretRef keySecretRef;

        @Default("Refuse")
        @JsonPropertyDescription("What a column of the masked copy that looks personal (by name or by its sampled "
                + "values) and no rule masks does: Refuse (the copy is dropped, never served) or Warn (served, and "
                + "status lists it).")
        public Unmasked unmaskedColumns = Unmasked.Refuse;

        /** What an uncovered personal column does. */
        public enum Unmasked {
            Refuse, Warn
        }
    }

    /** One table's masked columns. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static class MaskingRule {
        @Required
        @Pattern(io.dbaoperator.api.common.Patterns.QUALIFIED_NAME)
        @JsonPropertyDescription("The table, schema-qualified or in public.")
        public String table;

        @Required
        @JsonPropertyDescription("Column name -> strategy.")
        public java.util.Map<String, io.dbaoperator.api.disposal.DisposalJobSpec.ColumnStrategy> columns;
    }

    /** How a dump is restored. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static class LogicalRestore {
        @JsonPropertyDescription("The database of the backup to restore (a backup holds one dump per database); "
                + "required when it holds more than one.")
        public String sourceDatabase;

        @JsonPropertyDescription("Only these schemas (pg_restore --schema).")
        public List<String> schemas;

        @JsonPropertyDescription("Only these tables (pg_restore --table: a table's name and data, not its indexes "
                + "or constraints; pair with schemas to choose among tables of the same name).")
        public List<String> tables;

        @Default("1")
        @io.fabric8.generator.annotation.Min(1)
        @io.fabric8.generator.annotation.Max(16)
        @JsonPropertyDescription("pg_restore's parallel jobs. Above 1 the dump is first downloaded to the Job's "
                + "scratch volume (parallel restore needs a file it can seek in); 1 streams it from the bucket.")
        public Integer jobs = 1;

        @JsonPropertyDescription("The role that owns everything restored (pg_restore --no-owner --role); by default "
                + "the role of the target's Secret. The dump's owners name the source's roles, which the target "
                + "instance may not have.")
        public String owner;

        @Default("false")
        @JsonPropertyDescription("Restore the dump's GRANTs too. Off by default: they name the source's roles.")
        public Boolean privileges = false;
    }

    /** A new instance. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static class NewInstance {
        @Required
        @Size(min = 1, max = 52)
        @Pattern("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
        @JsonPropertyDescription("Name of the new instance (StatefulSet, Service and Secret).")
        public String name;

        @Default("{}")
        @JsonPropertyDescription("Volume for the restored data.")
        public Storage storage = new Storage();

        @JsonPropertyDescription("PostgreSQL image of the new instance; the same major version as the backup.")
        public String image;

        @JsonPropertyDescription("CPU and memory for the new instance.")
        public ResourceRequirements resources;
    }

    /** Volume settings. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static class Storage {
        @Default("10Gi")
        @Pattern("^[0-9]+(Mi|Gi|Ti)$")
        @JsonPropertyDescription("Size of the data volume; at least the backup's size plus the WAL replayed.")
        public String size = "10Gi";

        @JsonPropertyDescription("StorageClass of the data volume; the cluster default when empty.")
        public String storageClass;
    }
}
