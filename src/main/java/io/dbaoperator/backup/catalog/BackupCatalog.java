package io.dbaoperator.backup.catalog;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;

import io.dbaoperator.storage.S3Location;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.GetObjectRequest;
import software.amazon.awssdk.services.s3.model.ListObjectsV2Request;
import software.amazon.awssdk.services.s3.model.NoSuchKeyException;
import software.amazon.awssdk.services.s3.model.PutObjectRequest;
import software.amazon.awssdk.services.s3.model.S3Object;

/** The catalog of a policy's backups in object storage: one backup.json per backup. */
public final class BackupCatalog {

    public static final String RECORD = "backup.json";
    public static final String MANIFEST = "backup_manifest";
    static final ObjectMapper JSON = JsonMapper.builder().serializationInclusion(JsonInclude.Include.NON_NULL)
            .enable(SerializationFeature.INDENT_OUTPUT).build();

    private final S3Client s3;
    private final S3Location location;
    private final String namespace;
    private final String policy;

    public BackupCatalog(S3Client s3, S3Location location, String namespace, String policy) {
        this.s3 = s3;
        this.location = location;
        this.namespace = namespace;
        this.policy = policy;
    }

    /** The bucket and prefix this catalog reads. */
    public S3Location location() {
        return location;
    }

    /** A deep copy of a record (as written to and read from backup.json). */
    public static BackupRecord copyOf(BackupRecord record) {
        try {
            return JSON.readValue(JSON.writeValueAsBytes(record), BackupRecord.class);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * What a HEAD of one object shows: whether it is there, its size and storage class (null: the store's default,
     * which S3 does not name), and for an object in GLACIER or DEEP_ARCHIVE whether a thaw (restore-object) has
     * finished, so that it can be read now.
     */
    public record ObjectState(String key, boolean exists, long size, String storageClass, boolean thawed) {
        /** There, but not readable until thawed. */
        public boolean frozen() {
            return exists && ("GLACIER".equals(storageClass) || "DEEP_ARCHIVE".equals(storageClass)) && !thawed;
        }
    }

    public ObjectState head(String key) {
        try {
            var h = s3.headObject(software.amazon.awssdk.services.s3.model.HeadObjectRequest.builder()
                    .bucket(location.bucket()).key(key).build());
            String restore = h.restore();
            return new ObjectState(key, true, h.contentLength() == null ? 0 : h.contentLength(),
                    h.storageClassAsString(), restore != null && restore.contains("ongoing-request=\"false\""));
        } catch (software.amazon.awssdk.services.s3.model.S3Exception e) {
            // NoSuchKeyException, or a bare 404 (a HEAD has no body to name the error)
            if (e instanceof NoSuchKeyException || e.statusCode() == 404) {
                return new ObjectState(key, false, 0, null, false);
            }
            throw e;
        }
    }

    /**
     * Whether a backup can be read from this storage now: the objects its record names that are gone (or shorter
     * than recorded), and those frozen in an archive class. One HEAD per object.
     */
    public record Availability(List<String> missing, List<ObjectState> frozen) {
        public boolean readable() {
            return missing.isEmpty() && frozen.isEmpty();
        }
    }

    public Availability availability(BackupRecord record) {
        List<String> missing = new ArrayList<>();
        List<ObjectState> frozen = new ArrayList<>();
        for (BackupRecord.StoredObject o : record.objects) {
            ObjectState state = head(o.key);
            if (!state.exists() || state.size() != o.size) {
                missing.add(o.name);
            } else if (state.frozen()) {
                frozen.add(state);
            }
        }
        return new Availability(missing, frozen);
    }

    /** The key of an object of a backup. */
    public String key(String backupId, String object) {
        return location.key(namespace + "/" + policy + "/base/" + backupId + "/" + object);
    }

    /** Where the policy's backups are: s3://bucket/prefix/namespace/policy/base/ */
    public String baseUrl() {
        return "s3://" + location.bucket() + "/" + location.key(namespace + "/" + policy + "/base/");
    }

    public String url(String backupId) {
        return "s3://" + location.bucket() + "/" + key(backupId, "");
    }

    public void write(BackupRecord record) {
        try {
            s3.putObject(PutObjectRequest.builder().bucket(location.bucket()).key(key(record.backupId, RECORD))
                    .contentType("application/json").build(), RequestBody.fromBytes(JSON.writeValueAsBytes(record)));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The record of one backup, or null when there is none. */
    public BackupRecord read(String backupId) {
        try {
            return JSON.readValue(s3.getObjectAsBytes(GetObjectRequest.builder().bucket(location.bucket())
                    .key(key(backupId, RECORD)).build()).asByteArray(), BackupRecord.class);
        } catch (NoSuchKeyException e) {
            return null;
        } catch (IOException e) {
            throw new UncheckedIOException("backup.json of " + backupId + " is not valid JSON", e);
        }
    }

    /**
     * Removes one backup: its backup.json first, so the catalog never lists a backup whose data is going, then
     * every object under its folder. Returns the bytes freed.
     */
    public long delete(String backupId) {
        s3.deleteObject(software.amazon.awssdk.services.s3.model.DeleteObjectRequest.builder().bucket(location.bucket())
                .key(key(backupId, RECORD)).build());
        long freed = 0;
        for (S3Object o : s3.listObjectsV2Paginator(ListObjectsV2Request.builder().bucket(location.bucket())
                .prefix(key(backupId, "")).build()).contents()) {
            s3.deleteObject(software.amazon.awssdk.services.s3.model.DeleteObjectRequest.builder()
                    .bucket(location.bucket()).key(o.key()).build());
            freed += o.size();
        }
        return freed;
    }

    /** The WAL archiver's heartbeat (wal/archiver.json), or null. */
    public WalArchiverStatus walArchiver() {
        try {
            return JSON.readValue(s3.getObjectAsBytes(GetObjectRequest.builder().bucket(location.bucket())
                    .key(location.key(namespace + "/" + policy + "/wal/archiver.json")).build()).asByteArray(),
                    WalArchiverStatus.class);
        } catch (NoSuchKeyException e) {
            return null;
        } catch (IOException e) {
            throw new UncheckedIOException("wal/archiver.json is not valid JSON", e);
        }
    }

    /**
     * Multipart uploads under the policy's backups that were started before {@code cutoff} and never completed
     * (a backup whose S3 went away mid-upload could not abort its own): aborted, so their parts stop costing
     * storage. Returns their keys.
     */
    public List<String> abortIncompleteUploads(java.time.Instant cutoff) {
        String prefix = location.key(namespace + "/" + policy + "/base/");
        List<String> aborted = new ArrayList<>();
        var listing = s3.listMultipartUploads(software.amazon.awssdk.services.s3.model.ListMultipartUploadsRequest
                .builder().bucket(location.bucket()).prefix(prefix).build());
        for (var u : listing.uploads()) {
            if (u.initiated() == null || u.initiated().isBefore(cutoff)) {
                s3.abortMultipartUpload(software.amazon.awssdk.services.s3.model.AbortMultipartUploadRequest.builder()
                        .bucket(location.bucket()).key(u.key()).uploadId(u.uploadId()).build());
                aborted.add(u.key());
            }
        }
        return aborted;
    }

    /** The key of a restore's record. */
    public String restoreKey(String restoreId) {
        return location.key(namespace + "/" + policy + "/restores/" + restoreId + ".json");
    }

    public void writeRestore(RestoreRecord record) {
        try {
            s3.putObject(PutObjectRequest.builder().bucket(location.bucket()).key(restoreKey(record.restoreId))
                    .contentType("application/json").build(), RequestBody.fromBytes(JSON.writeValueAsBytes(record)));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A restore's record, or null when its Job has not written one yet. */
    public RestoreRecord readRestore(String restoreId) {
        try {
            return JSON.readValue(s3.getObjectAsBytes(GetObjectRequest.builder().bucket(location.bucket())
                    .key(restoreKey(restoreId)).build()).asByteArray(), RestoreRecord.class);
        } catch (NoSuchKeyException e) {
            return null;
        } catch (IOException e) {
            throw new UncheckedIOException("restore record " + restoreId + " is not valid JSON", e);
        }
    }

    /** One archived WAL file: its name (segment or .history, with the compression suffix) and when it was stored. */
    public record WalObject(String name, String key, long size, java.time.Instant storedAt) {
        /** The 24-hex segment name, without suffix; null for a .history file. */
        public String segment() {
            return name.matches("[0-9A-F]{24}.*") ? name.substring(0, 24) : null;
        }
    }

    /** The archived WAL files (segments and timeline history), in name order. */
    public List<WalObject> walObjects() {
        String prefix = location.key(namespace + "/" + policy + "/wal/");
        return s3.listObjectsV2Paginator(ListObjectsV2Request.builder().bucket(location.bucket()).prefix(prefix)
                .build()).contents().stream()
                .filter(o -> o.key().substring(prefix.length()).matches("[0-9A-F]{24}(\\.gz|\\.lz4|\\.zst)?|[0-9A-F]{8}\\.history"))
                .map(o -> new WalObject(o.key().substring(prefix.length()), o.key(), o.size(), o.lastModified()))
                .sorted(Comparator.comparing(WalObject::name)).toList();
    }

    /**
     * The archived WAL segments that come before {@code cutoff} (a segment name): those with a lower segment number
     * on a timeline no later than the cutoff's, as pg_archivecleanup decides, in name order. Timeline history files
     * are never among them (they are small, and a restore following a timeline needs them). The listing stops at the
     * first name at or past the cutoff, so this costs one request more than there are thousands to remove.
     */
    public List<WalObject> walSegmentsBefore(String cutoff) {
        String prefix = location.key(namespace + "/" + policy + "/wal/");
        List<WalObject> before = new ArrayList<>();
        for (S3Object o : s3.listObjectsV2Paginator(ListObjectsV2Request.builder().bucket(location.bucket())
                .prefix(prefix).build()).contents()) {
            String name = o.key().substring(prefix.length());
            if (name.compareTo(cutoff) >= 0) {
                break;
            }
            if (name.matches("[0-9A-F]{24}(\\.gz|\\.lz4|\\.zst)?")
                    && name.substring(8, 24).compareTo(cutoff.substring(8, 24)) < 0) {
                before.add(new WalObject(name, o.key(), o.size(), o.lastModified()));
            }
        }
        return before;
    }

    /** Deletes archived WAL files, a thousand keys a request; returns the bytes freed. */
    public long deleteWal(List<WalObject> files) {
        long freed = 0;
        for (int i = 0; i < files.size(); i += 1000) {
            List<WalObject> batch = files.subList(i, Math.min(files.size(), i + 1000));
            s3.deleteObjects(software.amazon.awssdk.services.s3.model.DeleteObjectsRequest.builder()
                    .bucket(location.bucket()).delete(d -> d.quiet(true).objects(batch.stream()
                            .map(w -> software.amazon.awssdk.services.s3.model.ObjectIdentifier.builder()
                                    .key(w.key()).build()).toList())).build());
            freed += batch.stream().mapToLong(WalObject::size).sum();
        }
        return freed;
    }

    /** Keys of the archived WAL segments, in WAL order. */
    public List<String> walSegments() {
        String prefix = location.key(namespace + "/" + policy + "/wal/");
        return s3.listObjectsV2Paginator(ListObjectsV2Request.builder().bucket(location.bucket()).prefix(prefix)
                .build()).contents().stream().map(S3Object::key)
                .filter(k -> k.substring(prefix.length()).matches("[0-9A-F]{24}.*")).sorted().toList();
    }

    /** Every backup of the policy, newest first. */
    public List<BackupRecord> list() {
        String prefix = location.key(namespace + "/" + policy + "/base/");
        List<BackupRecord> records = new ArrayList<>();
        for (S3Object o : s3.listObjectsV2Paginator(ListObjectsV2Request.builder().bucket(location.bucket())
                .prefix(prefix).build()).contents()) {
            if (o.key().endsWith("/" + RECORD)) {
                String id = o.key().substring(prefix.length(), o.key().length() - RECORD.length() - 1);
                BackupRecord r = read(id);
                if (r != null) {
                    records.add(r);
                }
            }
        }
        records.sort(Comparator.comparing((BackupRecord r) -> r.backupId).reversed());
        return records;
    }
}
