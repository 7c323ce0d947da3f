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
public class BackupRestoreSpec {

    @Required
    @JsonPropertyDescription("The BackupPolicy whose backups and archived WAL are restored.")
    public LocalRef backupPolicyRef;

    @Pattern("^[0-9]{8}T[0-9]{6}Z$")
    @JsonPropertyDescription("Backup to restore; by default the newest verified backup that can reach the target.")
    public String backupId;

    @JsonPropertyDescription("Recover up to this time (RFC 3339). Without targetTime or targetLSN, recovery stops at "
            + "the end of the backup.")
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
    @JsonPropertyDescription("Run pg_amcheck on the restored database (heap and B-tree consistency).")
    public Boolean amcheck = true;

    /** Restore target. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static class RestoreTarget {
        @Required
        @JsonPropertyDescription("A new PostgreSQL instance served by a StatefulSet, Service and Secret of this name.")
        public NewInstance newInstance;
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
