package io.dbaoperator.api.backup;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;

/** One base backup, as recorded in the catalog in object storage. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class BackupInfo {
    @JsonPropertyDescription("Backup id: a compact UTC timestamp, e.g. 20261121T020000Z.")
    public String backupId;
    @JsonPropertyDescription("physical (pg_basebackup) or logical (pg_dump, one <database>.dump object per database).")
    public String method;
    @JsonPropertyDescription("The databases a logical backup holds.")
    public java.util.List<String> databases;
    @JsonPropertyDescription("When the backup started (RFC 3339).")
    public String startedAt;
    @JsonPropertyDescription("When the backup finished (RFC 3339).")
    public String completedAt;
    @JsonPropertyDescription("Duration in seconds.")
    public Long durationSeconds;
    @JsonPropertyDescription("Size of the database files backed up, in bytes.")
    public Long sizeBytes;
    @JsonPropertyDescription("sizeBytes in human units (powers of 1024), e.g. 1.5 GiB.")
    public String size;
    @JsonPropertyDescription("Bytes stored in object storage (after compression).")
    public Long storedBytes;
    @JsonPropertyDescription("WAL position where the backup starts.")
    public String beginLSN;
    @JsonPropertyDescription("WAL position where the backup ends; recovery can stop no earlier.")
    public String endLSN;
    @JsonPropertyDescription("s3:// URL of the backup's folder.")
    public String location;
    @JsonPropertyDescription("True only when the object read back matched its SHA-256 and the check named in "
            + "verifiedWith passed.")
    public Boolean verified;
    @JsonPropertyDescription("How the backup was checked after its SHA-256: pg_verifybackup (every file against the "
            + "backup's manifest, and its WAL) for backups compressed by the agent or not at all; checksums+pg_waldump "
            + "(every WAL record from the backup's start to its end parsed) for server-compressed backups, which "
            + "PostgreSQL 15 streams without a manifest.")
    public String verifiedWith;
    @JsonPropertyDescription("Client-side encryption of the backup's objects and the key id it needs, e.g. "
            + "'AES-256-GCM key k1'; absent when not encrypted.")
    public String encryption;
    @JsonPropertyDescription("running, uploaded, verified or failed.")
    public String state;
    @JsonPropertyDescription("Why the backup failed, when it did.")
    public String error;
    @JsonPropertyDescription("The retention rules that keep this backup: newest verified, pinned, in progress, "
            + "keepLast, maxAge, or a calendar bucket such as 'monthly 2026-11' or 'weekly 2026-W49'.")
    public java.util.List<String> keptBy;
    @JsonPropertyDescription("When retention removes this backup at the earliest (later backups arriving on "
            + "schedule); absent while a rule with no end in time keeps it (newest verified, pinned, in progress, "
            + "keepLast).")
    public String earliestRemoval;
    @JsonPropertyDescription("Storage class of the backup's objects in the primary bucket once moved to the archive "
            + "tier (spec.copies.archive); absent while in the bucket's default class.")
    public String storageClass;
    @JsonPropertyDescription("When the backup was copied to the offsite storage and checked there (RFC 3339); "
            + "absent until then.")
    public String offsiteCopiedAt;
}
