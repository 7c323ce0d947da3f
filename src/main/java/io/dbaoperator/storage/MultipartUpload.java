package io.dbaoperator.storage;

import java.io.IOException;
import java.io.InputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.AbortMultipartUploadRequest;
import software.amazon.awssdk.services.s3.model.CompleteMultipartUploadRequest;
import software.amazon.awssdk.services.s3.model.CompletedMultipartUpload;
import software.amazon.awssdk.services.s3.model.CompletedPart;
import software.amazon.awssdk.services.s3.model.CreateMultipartUploadRequest;
import software.amazon.awssdk.services.s3.model.ServerSideEncryption;
import software.amazon.awssdk.services.s3.model.UploadPartRequest;

/**
 * Streams an InputStream of unknown length into one S3 object with a multipart upload: no temporary file, memory
 * bounded by two part buffers whatever the size (one part is read while the previous one uploads). The upload is
 * completed only by {@link #complete()}, after the producer said the stream is whole; anything else aborts it, so an
 * incomplete object never appears.
 */
public final class MultipartUpload implements AutoCloseable {

    /** 16 MiB: over S3's 5 MiB minimum, and 10,000 parts reach 156 GiB. */
    public static final int DEFAULT_PART_SIZE = 16 * 1024 * 1024;

    private final S3Client s3;
    private final S3Location location;
    private final String key;
    private final String uploadId;
    private final int partSize;
    private final List<CompletedPart> parts = new ArrayList<>();
    private final ExecutorService uploader = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "s3-part-upload");
        t.setDaemon(true);
        return t;
    });
    private final MessageDigest sha256;
    private long size;
    private String digest;
    private boolean finished;

    public MultipartUpload(S3Client s3, S3Location location, String key, int partSize) {
        this(s3, location, key, partSize, null);
    }

    /** An upload whose object is stored in {@code storageClass} (S3's name, e.g. STANDARD_IA); null: the default. */
    public MultipartUpload(S3Client s3, S3Location location, String key, int partSize, String storageClass) {
        this.s3 = s3;
        this.location = location;
        this.key = key;
        this.partSize = partSize;
        var request = CreateMultipartUploadRequest.builder().bucket(location.bucket()).key(key);
        if (location.serverSideEncryption() != null) {
            request.serverSideEncryption(ServerSideEncryption.fromValue(location.serverSideEncryption()));
            if (location.kmsKeyId() != null) {
                request.ssekmsKeyId(location.kmsKeyId());
            }
        }
        if (storageClass != null) {
            request.storageClass(storageClass);
        }
        this.uploadId = s3.createMultipartUpload(request.build()).uploadId();
        try {
            this.sha256 = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Reads {@code in} to its end, uploading full parts as they fill. Does not complete the upload. */
    public void transfer(InputStream in) throws IOException {
        byte[][] buffers = { new byte[partSize], new byte[partSize] };
        int current = 0;
        Future<?> inFlight = null;
        int partNumber = parts.size() + 1;
        while (true) {
            byte[] buf = buffers[current];
            int filled = in.readNBytes(buf, 0, partSize);
            if (filled == 0 && partNumber > 1) {
                break;
            }
            sha256.update(buf, 0, filled);
            size += filled;
            waitFor(inFlight);
            final int number = partNumber++;
            final int length = filled;
            inFlight = uploader.submit(() -> uploadPart(number, buf, length));
            current = 1 - current;
            if (filled < partSize) {
                break;
            }
        }
        waitFor(inFlight);
    }

    private void uploadPart(int number, byte[] buf, int length) {
        String etag = s3.uploadPart(UploadPartRequest.builder().bucket(location.bucket()).key(key).uploadId(uploadId)
                .partNumber(number).contentLength((long) length).build(),
                // streamed from the part buffer itself: fromBytes would copy it, a third 16 MiB on the heap
                RequestBody.fromContentProvider(() -> new java.io.ByteArrayInputStream(buf, 0, length), length,
                        "application/octet-stream")).eTag();
        synchronized (parts) {
            parts.add(CompletedPart.builder().partNumber(number).eTag(etag).build());
        }
    }

    private static void waitFor(Future<?> f) throws IOException {
        if (f == null) {
            return;
        }
        try {
            f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while uploading", e);
        } catch (ExecutionException e) {
            throw new IOException("part upload failed: " + e.getCause().getMessage(), e.getCause());
        }
    }

    /** Makes the object visible. Call only when the stream is known to be whole. */
    public void complete() {
        List<CompletedPart> sorted;
        synchronized (parts) {
            sorted = parts.stream().sorted(java.util.Comparator.comparingInt(CompletedPart::partNumber)).toList();
        }
        s3.completeMultipartUpload(CompleteMultipartUploadRequest.builder().bucket(location.bucket()).key(key)
                .uploadId(uploadId).multipartUpload(CompletedMultipartUpload.builder().parts(sorted).build()).build());
        finished = true;
    }

    public long size() {
        return size;
    }

    /** SHA-256 (hex) of everything transferred; final once the stream has been read to its end. */
    public synchronized String sha256() {
        if (digest == null) {
            digest = HexFormat.of().formatHex(sha256.digest());
        }
        return digest;
    }

    public String key() {
        return key;
    }

    /** Aborts unless completed: the parts are deleted and no object appears. */
    @Override
    public void close() {
        uploader.shutdownNow();
        if (!finished) {
            try {
                s3.abortMultipartUpload(AbortMultipartUploadRequest.builder().bucket(location.bucket()).key(key)
                        .uploadId(uploadId).build());
            } catch (RuntimeException e) {
                // best effort; a bucket lifecycle rule for incomplete uploads is the backstop
            }
        }
    }
}
