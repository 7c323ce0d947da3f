package io.dbaoperator.storage;

import java.io.IOException;
import java.io.InputStream;

import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.GetObjectRequest;

/**
 * Reads an S3 object as a sequence of ranged GETs, each read whole into a buffer of {@code chunkSize} bytes before
 * the consumer sees it. A slow consumer (decompressing, writing a data directory) then never holds a connection open
 * long enough for the server to drop it, a dropped or failed GET costs one chunk (retried), and memory stays at one
 * chunk whatever the object's size.
 */
public final class RangedObjectInputStream extends InputStream {

    private final S3Client s3;
    private final String bucket;
    private final String key;
    private final long size;
    private final int chunkSize;
    private final int attempts;
    private byte[] chunk = new byte[0];
    private int pos;
    private long nextOffset;

    public RangedObjectInputStream(S3Client s3, String bucket, String key, long size, int chunkSize, int attempts) {
        this.s3 = s3;
        this.bucket = bucket;
        this.key = key;
        this.size = size;
        this.chunkSize = chunkSize;
        this.attempts = attempts;
    }

    @Override
    public int read() throws IOException {
        if (!fill()) {
            return -1;
        }
        return chunk[pos++] & 0xff;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
        if (len == 0) {
            return 0;
        }
        if (!fill()) {
            return -1;
        }
        int n = Math.min(len, chunk.length - pos);
        System.arraycopy(chunk, pos, b, off, n);
        pos += n;
        return n;
    }

    private boolean fill() throws IOException {
        if (pos < chunk.length) {
            return true;
        }
        if (nextOffset >= size) {
            return false;
        }
        long end = Math.min(size, nextOffset + chunkSize) - 1;
        IOException last = null;
        for (int attempt = 1; attempt <= attempts; attempt++) {
            try {
                byte[] bytes = s3.getObjectAsBytes(GetObjectRequest.builder().bucket(bucket).key(key)
                        .range("bytes=" + nextOffset + "-" + end).build()).asByteArray();
                if (bytes.length != end - nextOffset + 1) {
                    throw new IOException("short read of " + key + " at " + nextOffset + ": " + bytes.length
                            + " bytes of " + (end - nextOffset + 1));
                }
                chunk = bytes;
                pos = 0;
                nextOffset = end + 1;
                return true;
            } catch (IOException e) {
                last = e;
            } catch (RuntimeException e) {
                last = new IOException(e.getMessage(), e);
            }
            try {
                Thread.sleep(500L * attempt);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted", e);
            }
        }
        throw last;
    }
}
