package io.dbaoperator.backup.catalog;

import java.util.ArrayList;
import java.util.List;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;

/**
 * backup.json: what the agent writes next to each backup, and the only way the operator learns a backup's outcome
 * (a Job never writes the custom resource). Layout:
 * {@code s3://<bucket>/<prefix>/<namespace>/<policy>/base/<backupId>/{base.tar[.gz|.lz4|.zst], backup_manifest,
 * backup.json}}; a logical backup holds {@code <database>.dump} (pg_dump's custom format) per database, and
 * {@code globals.sql} when roles were dumped, beside its backup.json.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonIgnoreProperties(ignoreUnknown = true)
public class BackupRecord {

    /** Where a backup is in its life. */
    public enum State {
        /** pg_basebackup and the upload run. */
        running,
        /** Uploaded; verification runs. */
        uploaded,
        /** Uploaded and verified (SHA-256 of every object, pg_verifybackup). */
        verified,
        /** Something failed; {@link BackupRecord#error} says what. Never counted as a good backup. */
        failed
    }

    public int formatVersion = 1;
    public String backupId;
    public String namespace;
    public String policy;
    public State state;
    /** logical (pg_dump, an object per database) or null for a physical base backup, as before this field. */
    public String method;
    /** The databases a logical backup dumped. */
    public List<String> databases;
    public String error;
    public String errorReason;

    public String startedAt;
    public String completedAt;
    public Double durationSeconds;

    public String startLsn;
    public String endLsn;
    public String startWalFile;
    public String endWalFile;
    public Integer timeline;
    public String systemIdentifier;
    public String serverVersion;

    public String compression;
    /** Client-side encryption of the stored objects ("AES-256-GCM key k1"), absent when none. */
    public String encryption;
    public String compressionLocation;
    /** Bytes of the uncompressed tar stream (the database files, WAL and manifest). */
    public Long sizeBytes;
    /** Bytes stored in object storage, all objects. */
    public Long storedBytes;

    /**
     * The storage class the objects were moved to (spec.copies.archive), written once every object shows it; null
     * in the bucket's default class. backup.json itself stays in the default class: the operator reads it often.
     */
    public String storageClass;
    public String archivedAt;
    /** In the primary's record: the offsite copy, written once the copy's own record exists and was checked. */
    public OffsiteCopy offsite;
    /** In an offsite copy's record: where it was copied from, and when. */
    public String copiedFrom;
    public String copiedAt;

    public List<StoredObject> objects = new ArrayList<>();
    public Verification verification;
    public Timings timings = new Timings();

    /** One object of the backup. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    @JsonIgnoreProperties(ignoreUnknown = true)
    public static class StoredObject {
        public String name;
        public String key;
        public long size;
        public String sha256;

        public StoredObject() {
        }

        public StoredObject(String name, String key, long size, String sha256) {
            this.name = name;
            this.key = key;
            this.size = size;
            this.sha256 = sha256;
        }
    }

    /** Where a backup's offsite copy is. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    @JsonIgnoreProperties(ignoreUnknown = true)
    public static class OffsiteCopy {
        /** s3:// URL of the copy's folder. */
        public String url;
        public String copiedAt;
        public String storageClass;
    }

    /** What verification found. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    @JsonIgnoreProperties(ignoreUnknown = true)
    public static class Verification {
        /** pg_verifybackup, or checksums+pg_waldump when the backup has no manifest (server-side compression). */
        public String method;
        public boolean checksumsMatch;
        public boolean pgVerifybackupPassed;
        public String pgVerifybackupOutput;
        public String verifiedAt;

        /** Whether the backup counts as verified (for a logical backup: pgVerifybackup* hold pg_restore --list's). */
        public boolean passed() {
            return checksumsMatch && pgVerifybackupPassed;
        }
    }

    /** Seconds spent in each stage. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    @JsonIgnoreProperties(ignoreUnknown = true)
    public static class Timings {
        public Double backupAndUploadSeconds;
        public Double verifySeconds;
    }
}
