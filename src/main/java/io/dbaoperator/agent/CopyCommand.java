package io.dbaoperator.agent;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;

import io.dbaoperator.backup.catalog.BackupCatalog;
import io.dbaoperator.backup.catalog.BackupRecord;
import io.dbaoperator.contract.AgentEnvironment;
import io.dbaoperator.contract.CopyArgs;
import io.dbaoperator.problem.Problem;
import io.dbaoperator.problem.Reason;
import io.dbaoperator.storage.MultipartUpload;
import io.dbaoperator.storage.RangedObjectInputStream;
import io.dbaoperator.storage.S3Clients;
import io.dbaoperator.storage.S3Location;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.CompletedPart;
import software.amazon.awssdk.services.s3.model.GetObjectRequest;
import software.amazon.awssdk.services.s3.model.MetadataDirective;
import software.amazon.awssdk.services.s3.model.ServerSideEncryption;

/**
 * {@code dba-agent copy}: one verified backup copied to the offsite storage and/or moved to an archive storage class.
 * <p>
 * <b>Offsite.</b> Each object is read from the primary bucket (ranged reads, retried) and streamed into a multipart
 * upload offsite, its SHA-256 taken on the way: bytes that differ from the catalog's SHA-256 are not kept (the
 * primary copy is damaged, and that is the error). The uploaded object is then read back from the offsite storage
 * and its SHA-256 compared again: what counts is what the second store holds, not what was sent. Only then is the
 * copy's backup.json written offsite (with that storage's keys, where the copy came from and when), and last the
 * primary's backup.json gains {@code offsite}: a copy is listed only once it is whole and checked. Encrypted backups
 * are copied as stored: the same keys read both copies.
 * <p>
 * <b>Archive.</b> Each object is copied onto itself in the new storage class (CopyObject; UploadPartCopy above 5 GiB,
 * S3's limit for a single copy): no byte leaves the store. A HEAD then shows the class and the size on every object
 * before the record says {@code storageClass}. backup.json itself stays in the default class. The offsite copy, when
 * both are asked for, is made first: a frozen class could not be read for it.
 */
final class CopyCommand {

    /** S3's limit for one CopyObject; above it, a multipart copy. */
    static final long SINGLE_COPY_LIMIT = 5L * 1024 * 1024 * 1024;

    private CopyCommand() {
    }

    static int run(CopyArgs args, Map<String, String> env, PrintStream out) throws IOException {
        return run(args, env, out, SINGLE_COPY_LIMIT, 512L * 1024 * 1024);
    }

    /** With the single-copy limit and the multipart copy's part size given (a test crosses the limit cheaply). */
    static int run(CopyArgs args, Map<String, String> env, PrintStream out, long singleCopyLimit, long copyPartSize)
            throws IOException {
        S3Location primary = BackupCommand.storage(env);
        try (S3Client s3 = S3Clients.create(primary)) {
            BackupCatalog catalog = new BackupCatalog(s3, primary, args.namespace(), args.policy());
            BackupRecord record = catalog.read(args.backupId());
            if (record == null) {
                throw Problem.invalid(Reason.BackupNotFound, "backup " + args.backupId() + " is not in the catalog at "
                        + catalog.baseUrl()).exception();
            }
            if (record.state != BackupRecord.State.verified) {
                throw Problem.invalid(Reason.BackupNotFound, "backup " + args.backupId() + " is " + record.state
                        + ": only a verified backup is copied").exception();
            }
            if (args.offsite()) {
                S3Location offsite = AgentEnvironment.offsite(env);
                if (offsite == null) {
                    throw new IllegalArgumentException("--offsite true, and the Job was given no offsite storage ("
                            + AgentEnvironment.OFFSITE + "S3_*)");
                }
                try (S3Client o = S3Clients.create(offsite)) {
                    copyOffsite(s3, catalog, record, o, new BackupCatalog(o, offsite, args.namespace(),
                            args.policy()), args.offsiteClass(), out);
                }
            }
            if (args.archiveClass() != null) {
                archive(s3, catalog, record, args.archiveClass(), singleCopyLimit, copyPartSize, out);
            }
        }
        return 0;
    }

    private static void copyOffsite(S3Client s3, BackupCatalog catalog, BackupRecord record, S3Client o,
            BackupCatalog there, String storageClass, PrintStream out) throws IOException {
        String id = record.backupId;
        BackupRecord copy = BackupCatalog.copyOf(record);
        copy.objects = new ArrayList<>();
        long copied = 0;
        for (BackupRecord.StoredObject object : record.objects) {
            String key = there.key(id, object.name);
            // parts large enough that 10,000 of them hold the object
            int partSize = (int) Math.max(MultipartUpload.DEFAULT_PART_SIZE, Math.min(Integer.MAX_VALUE - 8,
                    object.size / 9_000 + 1));
            try (MultipartUpload upload = new MultipartUpload(o, there.location(), key, partSize, storageClass);
                    InputStream in = new RangedObjectInputStream(s3, catalog.location().bucket(), object.key,
                            object.size, 8 << 20, 3)) {
                upload.transfer(in);
                if (upload.size() != object.size || !upload.sha256().equals(object.sha256)) {
                    throw Problem.invalid(Reason.BackupCorrupted, "object " + object.name + " of backup " + id
                            + " in the primary bucket does not match its catalog record (" + upload.size()
                            + " bytes, SHA-256 " + upload.sha256() + "; recorded " + object.size + " bytes, "
                            + object.sha256 + "): not copied").exception();
                }
                upload.complete();
            }
            String readBack = sha256(o, there.location().bucket(), key);
            if (!object.sha256.equals(readBack)) {
                o.deleteObject(b -> b.bucket(there.location().bucket()).key(key));
                throw Problem.invalid(Reason.CopyFailed, "object " + object.name + " of backup " + id + " read back "
                        + "from the offsite storage has SHA-256 " + readBack + ", not " + object.sha256
                        + ": the copy was deleted").exception();
            }
            copy.objects.add(new BackupRecord.StoredObject(object.name, key, object.size, readBack));
            copied += object.size;
            out.println("{\"copied\":\"" + object.name + "\",\"bytes\":" + object.size + ",\"sha256\":\"" + readBack
                    + "\"}");
        }
        String now = Instant.now().toString();
        copy.storageClass = storageClass;
        copy.archivedAt = null;
        copy.offsite = null;
        copy.copiedFrom = catalog.url(id);
        copy.copiedAt = now;
        there.write(copy);
        record.offsite = new BackupRecord.OffsiteCopy();
        record.offsite.url = there.url(id);
        record.offsite.copiedAt = now;
        record.offsite.storageClass = storageClass;
        catalog.write(record);
        out.println("{\"offsite\":\"" + there.url(id) + "\",\"objects\":" + copy.objects.size() + ",\"bytes\":"
                + copied + "}");
    }

    private static void archive(S3Client s3, BackupCatalog catalog, BackupRecord record, String storageClass,
            long singleCopyLimit, long partSize, PrintStream out) {
        S3Location at = catalog.location();
        for (BackupRecord.StoredObject object : record.objects) {
            BackupCatalog.ObjectState before = catalog.head(object.key);
            if (!before.exists() || before.size() != object.size) {
                throw Problem.invalid(Reason.BackupCorrupted, "object " + object.name + " of backup "
                        + record.backupId + " is " + (before.exists() ? before.size() + " bytes, not " + object.size
                                : "gone") + ": not moved to " + storageClass).exception();
            }
            if (!storageClass.equals(before.storageClass())) {
                if (object.size <= singleCopyLimit) {
                    var request = software.amazon.awssdk.services.s3.model.CopyObjectRequest.builder()
                            .sourceBucket(at.bucket()).sourceKey(object.key).destinationBucket(at.bucket())
                            .destinationKey(object.key).storageClass(storageClass)
                            .metadataDirective(MetadataDirective.COPY);
                    if (at.serverSideEncryption() != null) {
                        request.serverSideEncryption(ServerSideEncryption.fromValue(at.serverSideEncryption()));
                        if (at.kmsKeyId() != null) {
                            request.ssekmsKeyId(at.kmsKeyId());
                        }
                    }
                    s3.copyObject(request.build());
                } else {
                    multipartCopy(s3, at, object, storageClass, partSize);
                }
            }
            BackupCatalog.ObjectState after = catalog.head(object.key);
            if (!after.exists() || after.size() != object.size || !storageClass.equals(after.storageClass())) {
                throw Problem.invalid(Reason.CopyFailed, "object " + object.name + " of backup " + record.backupId
                        + " shows storage class " + after.storageClass() + " and " + after.size() + " bytes after "
                        + "its copy to " + storageClass + " (recorded " + object.size + " bytes)").exception();
            }
            out.println("{\"archived\":\"" + object.name + "\",\"storageClass\":\"" + storageClass + "\"}");
        }
        record.storageClass = storageClass;
        record.archivedAt = Instant.now().toString();
        catalog.write(record);
    }

    /** UploadPartCopy of ranges onto the same key in the new class; aborted unless every part was copied. */
    private static void multipartCopy(S3Client s3, S3Location at, BackupRecord.StoredObject object,
            String storageClass, long partSize) {
        var create = software.amazon.awssdk.services.s3.model.CreateMultipartUploadRequest.builder()
                .bucket(at.bucket()).key(object.key).storageClass(storageClass);
        if (at.serverSideEncryption() != null) {
            create.serverSideEncryption(ServerSideEncryption.fromValue(at.serverSideEncryption()));
            if (at.kmsKeyId() != null) {
                create.ssekmsKeyId(at.kmsKeyId());
            }
        }
        String uploadId = s3.createMultipartUpload(create.build()).uploadId();
        boolean done = false;
        try {
            long size = Math.max(partSize, object.size / 9_000 + 1);
            List<CompletedPart> parts = new ArrayList<>();
            for (long offset = 0; offset < object.size; offset += size) {
                int part = parts.size() + 1;
                String range = "bytes=" + offset + "-" + (Math.min(object.size, offset + size) - 1);
                var r = s3.uploadPartCopy(b -> b.sourceBucket(at.bucket()).sourceKey(object.key)
                        .destinationBucket(at.bucket()).destinationKey(object.key).uploadId(uploadId)
                        .partNumber(part).copySourceRange(range));
                parts.add(CompletedPart.builder().partNumber(part).eTag(r.copyPartResult().eTag()).build());
            }
            s3.completeMultipartUpload(b -> b.bucket(at.bucket()).key(object.key).uploadId(uploadId)
                    .multipartUpload(m -> m.parts(parts)));
            done = true;
        } finally {
            if (!done) {
                s3.abortMultipartUpload(b -> b.bucket(at.bucket()).key(object.key).uploadId(uploadId));
            }
        }
    }

    /** SHA-256 of an object as its store returns it now. */
    static String sha256(S3Client s3, String bucket, String key) throws IOException {
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            try (InputStream in = new DigestInputStream(s3.getObject(GetObjectRequest.builder().bucket(bucket)
                    .key(key).build()), sha)) {
                in.transferTo(OutputStream.nullOutputStream());
            }
            return HexFormat.of().formatHex(sha.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
