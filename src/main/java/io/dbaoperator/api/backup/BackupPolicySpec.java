package io.dbaoperator.api.backup;

import java.util.List;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;

import io.dbaoperator.api.common.JobTemplate;
import io.dbaoperator.api.common.DatabaseRef;
import io.dbaoperator.api.common.Patterns;
import io.dbaoperator.api.common.S3Storage;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.Size;
import io.fabric8.generator.annotation.ValidationRule;

/** How and when a database is backed up. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class BackupPolicySpec {

    @Required
    @JsonPropertyDescription("The database to back up. For physical backups the Secret's role needs the REPLICATION "
            + "attribute (pg_basebackup and pg_receivewal use the replication protocol); for logical ones, read access "
            + "to what is dumped.")
    public DatabaseRef database;

    @Default("physical")
    @JsonPropertyDescription("physical: pg_basebackup of the whole cluster (point-in-time recovery with WAL archiving, "
            + "restored by BackupRestore); logical: pg_dump in custom format of each database in spec.logical, a file "
            + "a DBA restores with pg_restore into any PostgreSQL of the same or a later major version.")
    public Method method = Method.physical;

    @JsonPropertyDescription("What a logical backup dumps (method: logical).")
    public Logical logical;

    @Required
    @Size(min = 9)
    @ValidationRule(value = Patterns.CRON_RULE, message = Patterns.CRON_MESSAGE)
    @JsonPropertyDescription("When to take a backup, in cron syntax (minute hour day-of-month month day-of-week), "
            + "e.g. \"0 2 * * *\" for 02:00 every day.")
    public String schedule;

    @Default("UTC")
    @JsonPropertyDescription("IANA time zone the schedule is read in, e.g. Europe/Paris.")
    public String timeZone = "UTC";

    @Default("false")
    @JsonPropertyDescription("Stop scheduling new backups (running ones finish; WAL archiving goes on).")
    public Boolean suspend = false;

    @Default("Forbid")
    @JsonPropertyDescription("What to do when a backup is due while one still runs: Forbid (skip it), Allow, or Replace.")
    public ConcurrencyPolicy concurrencyPolicy = ConcurrencyPolicy.Forbid;

    @JsonPropertyDescription("Where backups and archived WAL are stored: s3://<bucket>/<prefix>/<namespace>/<policy>/. "
            + "When omitted, the operator's default storage (Helm value storage.default), with its credentials Secret "
            + "looked up in this namespace; a policy that names a storage uses exactly that one.")
    public S3Storage storage;

    @Default("{}")
    @JsonPropertyDescription("Compression of the base backup.")
    public Compression compression = new Compression();

    @Default("{}")
    @JsonPropertyDescription("Which backups are kept: a backup is kept if any rule keeps it (keepLast, maxAge, the "
            + "calendar rules keepDaily/keepWeekly/keepMonthly/keepYearly, pinned); the newest verified backup is never "
            + "deleted, and an unverified backup never keeps a calendar bucket.")
    public Retention retention = new Retention();

    @Default("{}")
    @JsonPropertyDescription("How backups are proven good.")
    public Verification verification = new Verification();

    @Default("{}")
    @JsonPropertyDescription("Continuous WAL archiving with pg_receivewal, for point-in-time recovery.")
    public WalArchiving walArchiving = new WalArchiving();

    @JsonPropertyDescription("Client-side encryption (AES-256-GCM) of everything the agent stores: base backups, "
            + "dumps, archived WAL. The objects are unreadable without the key, whatever the bucket's own encryption.")
    public Encryption encryption;

    @JsonPropertyDescription("Copies kept beyond the bucket's: an archive storage class after N days, and an offsite "
            + "copy in a second storage with its own retention.")
    public Copies copies;

    @JsonPropertyDescription("Overrides for the backup Jobs (image, resources, nodeSelector, tolerations, serviceAccountName).")
    public JobTemplate jobTemplate;

    /** Where a backup goes once taken: an archive class in the same bucket, a copy in another storage. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static class Copies {
        @JsonPropertyDescription("Move a verified backup's objects to a cheaper storage class once it is this many "
                + "days old (an S3 copy onto itself with the new class: no byte leaves the store).")
        public Archive archive;

        @JsonPropertyDescription("Copy every verified backup to a second storage (another bucket, endpoint, region or "
                + "provider), checked by SHA-256 after the copy and kept by its own retention. A restore falls back "
                + "to it when the primary copy is gone or frozen in an archive class. Archived WAL is not copied: a "
                + "restore from the offsite copy reaches the end of its backup.")
        public Offsite offsite;
    }

    /** The archive tier. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static class Archive {
        @Required
        @Min(1)
        @Max(36600)
        @JsonPropertyDescription("Days after a backup completed before its objects move to storageClass. Archive "
                + "classes bill a minimum duration (GLACIER_IR 90 days, DEEP_ARCHIVE 180): move only what retention "
                + "keeps that long.")
        public Integer afterDays;

        @Required
        @JsonPropertyDescription("STANDARD_IA, ONEZONE_IA, INTELLIGENT_TIERING and GLACIER_IR stay readable at once; "
                + "GLACIER and DEEP_ARCHIVE must be thawed (restore-object) before a restore can read them, which "
                + "takes hours: a restore says so, and uses the offsite copy instead when there is one.")
        public StorageClass storageClass;
    }

    /** The offsite copy. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static class Offsite {
        @Required
        @JsonPropertyDescription("The second storage, in the same form as spec.storage. Objects go under "
                + "<prefix>/<namespace>/<policy>/base/<backupId>/, as in the primary bucket.")
        public io.dbaoperator.api.common.S3Storage storage;

        @Default("0")
        @Min(0)
        @Max(36600)
        @JsonPropertyDescription("Days after a backup completed before it is copied; 0: as soon as it is verified. "
                + "Retention in the primary bucket keeps a verified backup until its copy exists.")
        public Integer afterDays = 0;

        @JsonPropertyDescription("Storage class of the copied objects, one readable at once (STANDARD, STANDARD_IA, "
                + "ONEZONE_IA, INTELLIGENT_TIERING, GLACIER_IR): every copy is read back and its SHA-256 checked. "
                + "The store's default when empty.")
        @Pattern("^(STANDARD|STANDARD_IA|ONEZONE_IA|INTELLIGENT_TIERING|GLACIER_IR)$")
        public String storageClass;

        @Default("{}")
        @JsonPropertyDescription("Which copies the offsite storage keeps, with the same rules as spec.retention "
                + "(keepLast, maxAge, keepDaily/Weekly/Monthly/Yearly, pinned), read in spec.timeZone; e.g. "
                + "keepMonthly: 12 and keepYearly: 7 for a year of monthly copies.")
        public Retention retention = new Retention();
    }

    /** S3 storage classes an archived backup can move to. */
    public enum StorageClass {
        STANDARD_IA, ONEZONE_IA, INTELLIGENT_TIERING, GLACIER_IR, GLACIER, DEEP_ARCHIVE;

        /** Whether a GET needs a restore-object (thaw) first. */
        public boolean frozen() {
            return this == GLACIER || this == DEEP_ARCHIVE;
        }
    }

    /** Client-side encryption. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static class Encryption {
        @Required
        @JsonPropertyDescription("The Secret holding the keys: each data key is a key id, each value 32 random bytes "
                + "in base64 (openssl rand -base64 32). Keep every key that older backups were stored with: a backup "
                + "names its key id, and is readable only while that key is here.")
        public io.dbaoperator.api.common.SecretRef secretRef;

        @Required
        @Pattern("^[A-Za-z_][A-Za-z0-9_]{0,62}$")
        @JsonPropertyDescription("The key new backups and WAL are encrypted with. Rotate by adding a key to the "
                + "Secret and naming it here; old backups stay readable with their own key.")
        public String keyId;
    }

    /** Backup methods. */
    public enum Method {
        physical, logical
    }

    /** What a logical backup dumps. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static class Logical {
        @JsonPropertyDescription("The databases to dump, one object each (<database>.dump); default: the database the "
                + "Secret names.")
        public List<String> databases;

        @JsonPropertyDescription("Only these schemas (pg_dump --schema), in each database; default: all.")
        public List<String> schemas;

        @JsonPropertyDescription("Only these tables (pg_dump --table; schema-qualified names or patterns); default: "
                + "all.")
        public List<String> tables;

        @Default("false")
        @JsonPropertyDescription("Also dump roles and tablespaces (pg_dumpall --globals-only --no-role-passwords: "
                + "no password hash is stored) as globals.sql.")
        public Boolean globals = false;
    }

    /** Concurrency policies, as in CronJob. */
    public enum ConcurrencyPolicy {
        Forbid, Allow, Replace
    }

    /** Compression settings. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static class Compression {
        @Default("gzip")
        @JsonPropertyDescription("none, gzip, lz4 or zstd.")
        public Algorithm algorithm = Algorithm.gzip;

        @Default("client")
        @JsonPropertyDescription("client: the agent compresses; server: PostgreSQL compresses before sending "
                + "(less network, more load on the database server).")
        public Location location = Location.client;

        @Min(1)
        @Max(22)
        @JsonPropertyDescription("Compression level; the algorithm's default when empty.")
        public Integer level;

        /** Algorithms pg_basebackup supports. */
        public enum Algorithm {
            none, gzip, lz4, zstd
        }

        /** Where compression happens. */
        public enum Location {
            client, server
        }
    }

    /** Retention settings. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static class Retention {
        @Default("7")
        @Min(1)
        @JsonPropertyDescription("Keep at least this many of the newest verified backups.")
        public Integer keepLast = 7;

        @Default("30d")
        @Pattern(Patterns.DURATION)
        @JsonPropertyDescription("Keep every backup taken less than this long ago, e.g. 30d; older ones go unless "
                + "another rule keeps them.")
        public String maxAge = "30d";

        @JsonPropertyDescription("Backup ids never deleted by retention.")
        public List<String> pinned;

        @Pattern(Patterns.DURATION)
        @JsonPropertyDescription("Point-in-time recovery stays possible to any moment of this window, e.g. 7d: "
                + "archived WAL is kept back to the start of the newest kept verified backup that completed before "
                + "the window began, and no further (older backups stay restorable to their own end). Default: "
                + "maxAge.")
        public String recoveryWindow;

        @Min(0)
        @Max(3660)
        @JsonPropertyDescription("Calendar retention: keep the newest verified backup of each of the N newest days "
                + "(in spec.timeZone) that have one. Unset or 0: no daily rule.")
        public Integer keepDaily;

        @Min(0)
        @Max(520)
        @JsonPropertyDescription("Keep the newest verified backup of each of the N newest ISO weeks (Monday to Sunday, "
                + "in spec.timeZone) that have one.")
        public Integer keepWeekly;

        @Min(0)
        @Max(1200)
        @JsonPropertyDescription("Keep the newest verified backup of each of the N newest calendar months (in "
                + "spec.timeZone) that have one.")
        public Integer keepMonthly;

        @Min(0)
        @Max(100)
        @JsonPropertyDescription("Keep the newest verified backup of each of the N newest calendar years (in "
                + "spec.timeZone) that have one.")
        public Integer keepYearly;
    }

    /** Verification settings. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static class Verification {
        @Default("true")
        @JsonPropertyDescription("Read every uploaded object back, check its SHA-256 and run pg_verifybackup.")
        public Boolean verifyChecksums = true;

        @JsonPropertyDescription("Scheduled test restores of the newest backup into scratch storage.")
        public RestoreTest restoreTest;
    }

    /** A scheduled restore test. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static class RestoreTest {
        @Required
        @ValidationRule(value = Patterns.CRON_RULE, message = Patterns.CRON_MESSAGE)
        @JsonPropertyDescription("When to run the restore test, in cron syntax.")
        public String schedule;

        @JsonPropertyDescription("SQL queries that must return true on the restored database.")
        public List<String> checks;
    }

    /** WAL archiving settings. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static class WalArchiving {
        @Default("false")
        @JsonPropertyDescription("Run pg_receivewal continuously on a replication slot and ship finished segments to S3.")
        public Boolean enabled = false;

        @Pattern(Patterns.NAME)
        @JsonPropertyDescription("Replication slot name; dba_operator_<policy> when empty.")
        public String slotName;
    }
}
