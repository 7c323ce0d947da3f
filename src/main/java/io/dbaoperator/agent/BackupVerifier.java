package io.dbaoperator.agent;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import java.util.zip.GZIPInputStream;

import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.commons.compress.compressors.lz4.FramedLZ4CompressorInputStream;
import org.apache.commons.compress.compressors.zstandard.ZstdCompressorInputStream;
import org.apache.commons.io.input.CountingInputStream;

import io.dbaoperator.backup.catalog.BackupCatalog;
import io.dbaoperator.backup.catalog.BackupRecord;
import io.dbaoperator.postgres.PostgresTools;
import io.dbaoperator.storage.S3Location;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.GetObjectRequest;
import software.amazon.awssdk.services.s3.model.PutObjectRequest;

/**
 * Proves a stored backup good: reads the object back from S3 computing its SHA-256 (which must equal the one taken
 * at upload), unpacks it into a scratch directory as it reads, stores its backup_manifest as an object of its own,
 * and runs pg_verifybackup on the unpacked backup (every file against the manifest's SHA-256, and the WAL parsed).
 * PostgreSQL 15's pg_verifybackup reads only plain directories, so this step, unlike the backup itself, needs
 * scratch space of the database's size; it is deleted afterwards.
 */
final class BackupVerifier {

    private BackupVerifier() {
    }

    static void verify(S3Client s3, S3Location storage, BackupCatalog catalog, BackupRecord record,
            Map<String, String> env) throws IOException, InterruptedException {
        BackupRecord.Verification v = new BackupRecord.Verification();
        record.verification = v;
        BackupRecord.StoredObject base = record.objects.get(0);
        Path dir = Files.createTempDirectory("dba-verify-" + record.backupId);
        try {
            MessageDigest sha256 = MessageDigest.getInstance("SHA-256");
            long stored;
            try (InputStream raw = s3.getObject(GetObjectRequest.builder().bucket(storage.bucket()).key(base.key)
                    .build());
                    CountingInputStream counted = new CountingInputStream(new DigestInputStream(raw, sha256))) {
                try {
                    CountingInputStream tarBytes = new CountingInputStream(decompress(new BufferedInputStream(counted,
                            1 << 16), record.compression));
                    unpack(tarBytes, dir);
                    tarBytes.transferTo(OutputStream.nullOutputStream());
                    record.sizeBytes = tarBytes.getByteCount();
                } catch (IOException | RuntimeException unreadable) {
                    v.pgVerifybackupOutput = "the stored object cannot be unpacked: " + unreadable.getMessage();
                }
                counted.transferTo(OutputStream.nullOutputStream());
                stored = counted.getByteCount();
            }
            v.checksumsMatch = stored == base.size && HexFormat.of().formatHex(sha256.digest()).equals(base.sha256);
            Path manifest = dir.resolve(BackupCatalog.MANIFEST);
            if (Files.isRegularFile(manifest)) {
                byte[] bytes = Files.readAllBytes(manifest);
                String key = catalog.key(record.backupId, BackupCatalog.MANIFEST);
                s3.putObject(PutObjectRequest.builder().bucket(storage.bucket()).key(key).build(),
                        RequestBody.fromBytes(bytes));
                record.objects.add(new BackupRecord.StoredObject(BackupCatalog.MANIFEST, key, bytes.length,
                        HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes))));
            }
            if (v.pgVerifybackupOutput == null) {
                if (Files.isRegularFile(manifest)) {
                    runPgVerifybackup(dir, env, v);
                } else {
                    checkWal(dir, record, env, v);
                }
            }
            v.verifiedAt = Instant.now().toString();
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        } finally {
            deleteRecursively(dir);
        }
    }

    private static void runPgVerifybackup(Path dir, Map<String, String> env, BackupRecord.Verification v)
            throws IOException, InterruptedException {
        v.method = "pg_verifybackup";
        Process p = new ProcessBuilder(PostgresTools.binary("pg_verifybackup", env).toString(), "--quiet",
                dir.toString()).redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        boolean done = p.waitFor(6, TimeUnit.HOURS);
        v.pgVerifybackupPassed = done && p.exitValue() == 0;
        v.pgVerifybackupOutput = v.pgVerifybackupPassed ? "backup successfully verified"
                : BackupCommand.lastLines(output.replace(dir.toString(), "<backup>"), 5);
    }

    /**
     * Without a manifest (server-side compression), what pg_verifybackup would do for the WAL: pg_waldump reads
     * every record from the backup's start to its end point in the WAL the backup carries.
     */
    private static void checkWal(Path dir, BackupRecord record, Map<String, String> env, BackupRecord.Verification v)
            throws IOException, InterruptedException {
        v.method = "checksums+pg_waldump";
        if (record.startLsn == null || record.endLsn == null) {
            v.pgVerifybackupOutput = "no WAL range recorded for the backup";
            return;
        }
        Process p = new ProcessBuilder(PostgresTools.binary("pg_waldump", env).toString(), "--quiet", "--path",
                dir.resolve("pg_wal").toString(), "--timeline", String.valueOf(record.timeline), "--start",
                record.startLsn, "--end", record.endLsn).redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        boolean done = p.waitFor(1, TimeUnit.HOURS);
        v.pgVerifybackupPassed = done && p.exitValue() == 0 && Files.isRegularFile(dir.resolve("global/pg_control"));
        v.pgVerifybackupOutput = v.pgVerifybackupPassed ? "WAL from " + record.startLsn + " to " + record.endLsn
                + " parses; no manifest (server-side compression), files checked by SHA-256 of the stored object"
                : BackupCommand.lastLines(output.replace(dir.toString(), "<backup>"), 5);
    }

    static InputStream decompress(InputStream in, String algorithm) throws IOException {
        return switch (algorithm == null ? "none" : algorithm) {
            case "gzip" -> new GZIPInputStream(in, 1 << 16);
            case "lz4" -> new FramedLZ4CompressorInputStream(in, true);
            case "zstd" -> new ZstdCompressorInputStream(in);
            default -> in;
        };
    }

    /** Unpacks a tar stream; refuses entries that would land outside {@code dir}. */
    static void unpack(InputStream in, Path dir) throws IOException {
        TarArchiveInputStream tar = new TarArchiveInputStream(in);
        TarArchiveEntry entry;
        while ((entry = tar.getNextEntry()) != null) {
            Path target = dir.resolve(entry.getName()).normalize();
            if (!target.startsWith(dir)) {
                throw new IOException("tar entry outside the backup: " + entry.getName());
            }
            if (entry.isDirectory()) {
                Files.createDirectories(target);
            } else if (entry.isSymbolicLink()) {
                // tablespace links: pg_verifybackup follows pg_tblspc; a single-tablespace backup has none
                continue;
            } else {
                Files.createDirectories(target.getParent());
                try (OutputStream out = Files.newOutputStream(target)) {
                    tar.transferTo(out);
                }
            }
        }
    }

    private static void deleteRecursively(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(dir)) {
            walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }
}
