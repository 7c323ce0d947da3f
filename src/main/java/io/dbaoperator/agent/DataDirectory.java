package io.dbaoperator.agent;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Map;

import io.dbaoperator.backup.catalog.BackupCatalog;
import io.dbaoperator.backup.catalog.BackupRecord;
import io.dbaoperator.backup.catalog.RestoreRecord;
import io.dbaoperator.problem.Problem;
import io.dbaoperator.problem.Reason;
import io.dbaoperator.storage.RangedObjectInputStream;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * A physical restore's data directory: refused unless empty (a restore never writes over data), filled from the
 * base backup streamed out of the bucket (ranged reads, retried; decrypted and decompressed on the way; its
 * SHA-256 and size checked against the catalog, and a backup_label required), then prepared for recovery.
 */
final class DataDirectory {

    private DataDirectory() {
    }

    static void requireEmpty(Path dataDir) throws IOException {
        if (Files.isDirectory(dataDir)) {
            try (var entries = Files.list(dataDir)) {
                if (entries.findAny().isPresent()) {
                    throw Problem.invalid(Reason.RestoreTargetNotEmpty, "the data directory " + dataDir + " is not "
                            + "empty: a restore never writes over existing data").exception();
                }
            }
        }
    }

    /** Streams the base object into the data directory, checking its SHA-256 and size against the catalog. */
    static void download(S3Client s3, String bucket, BackupCatalog catalog, BackupRecord backup, Path dataDir,
            RestoreRecord record, Map<String, String> env) throws IOException {
        BackupRecord.StoredObject base = backup.objects.get(0);
        Files.createDirectories(dataDir);
        record.bytesTotal = base.size;
        record.bytesDownloaded = 0L;
        MessageDigest sha256;
        try {
            sha256 = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        long[] lastReport = { System.currentTimeMillis() };
        InputStream ranged = new java.io.FilterInputStream(new RangedObjectInputStream(s3, bucket, base.key, base.size,
                8 << 20, 3)) {
            @Override
            public int read() throws IOException {
                byte[] one = new byte[1];
                int n = read(one, 0, 1);
                return n < 0 ? -1 : one[0] & 0xff;
            }

            @Override
            public int read(byte[] b, int off, int len) throws IOException {
                int n = in.read(b, off, len);
                if (n > 0) {
                    record.bytesDownloaded += n;
                    if (System.currentTimeMillis() - lastReport[0] > 5000) {
                        lastReport[0] = System.currentTimeMillis();
                        catalog.writeRestore(record);
                    }
                }
                return n;
            }
        };
        try (DigestInputStream digested = new DigestInputStream(ranged, sha256);
                InputStream tar = BackupVerifier.decoded(BackupCommand.plaintext(digested, backup, env, base.key),
                        backup.compression)) {
            BackupVerifier.unpack(tar, dataDir);
            tar.transferTo(OutputStream.nullOutputStream());
            digested.transferTo(OutputStream.nullOutputStream()); // the tar's zero padding after its end
        } catch (IOException e) {
            if (record.bytesDownloaded < base.size && e.getMessage() != null && e.getMessage().startsWith("short read")) {
                throw e;
            }
            throw Problem.invalid(Reason.BackupCorrupted, "the base backup " + base.key + " cannot be unpacked ("
                    + e.getMessage() + "): the stored object is damaged").exception();
        }
        String digest = HexFormat.of().formatHex(sha256.digest());
        if (record.bytesDownloaded != base.size || !digest.equals(base.sha256)) {
            throw Problem.invalid(Reason.BackupCorrupted, "the base backup " + base.key + " does not match the "
                    + "catalog: SHA-256 " + digest + " over " + record.bytesDownloaded + " bytes, the catalog says "
                    + base.sha256 + " over " + base.size + " bytes; the stored object is damaged").exception();
        }
        if (!Files.isRegularFile(dataDir.resolve("backup_label"))) {
            throw Problem.invalid(Reason.BackupCorrupted, "the base backup has no backup_label: not a pg_basebackup "
                    + "tar").exception();
        }
    }

    /** What pg_basebackup leaves out or a restore must not carry over, and the recovery signal. */
    static void prepare(Path dataDir) throws IOException {
        Files.createDirectories(dataDir.resolve("pg_wal"));
        Files.deleteIfExists(dataDir.resolve("postmaster.pid"));
        Files.deleteIfExists(dataDir.resolve("standby.signal"));
        Files.writeString(dataDir.resolve("recovery.signal"), "", StandardCharsets.UTF_8);
        dataDir.toFile().setReadable(false, false);
        dataDir.toFile().setReadable(true, true);
        dataDir.toFile().setWritable(false, false);
        dataDir.toFile().setWritable(true, true);
        dataDir.toFile().setExecutable(false, false);
        dataDir.toFile().setExecutable(true, true);
    }
}
