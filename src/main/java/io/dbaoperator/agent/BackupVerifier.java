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
 * at upload), unpacks it into a scratch directory, stores its backup_manifest as an object of its own,
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
            // Read the object back at full speed into scratch space first: a consumer slowed by decompression and
            // disk writes gets its connection closed by S3 servers (seen with S3Mock at 170 MB), which would look
            // like corruption. One retry when the read comes back short.
            Path copy = Files.createTempFile(dir.getParent(), "dba-verify-" + record.backupId, ".object");
            String digest = null;
            long stored = -1;
            try {
                for (int attempt = 0; attempt < 2 && stored != base.size; attempt++) {
                    MessageDigest sha256 = MessageDigest.getInstance("SHA-256");
                    try (InputStream raw = s3.getObject(GetObjectRequest.builder().bucket(storage.bucket())
                            .key(base.key).build());
                            DigestInputStream in = new DigestInputStream(raw, sha256)) {
                        stored = Files.copy(in, copy, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
                    } catch (IOException | RuntimeException e) {
                        stored = -1;
                    }
                    digest = HexFormat.of().formatHex(sha256.digest());
                }
                if (stored == base.size) {
                    try (CountingInputStream tarBytes = new CountingInputStream(decoded(BackupCommand.plaintext(
                            Files.newInputStream(copy), record, env, base.key), record.compression))) {
                        unpack(tarBytes, dir);
                        tarBytes.transferTo(OutputStream.nullOutputStream());
                        record.sizeBytes = tarBytes.getByteCount();
                    } catch (IOException | RuntimeException unreadable) {
                        v.pgVerifybackupOutput = "the stored object cannot be unpacked: " + unreadable.getMessage();
                    }
                } else {
                    v.pgVerifybackupOutput = "the stored object could not be read back whole (" + Math.max(stored, 0)
                            + " of " + base.size + " bytes)";
                }
            } finally {
                Files.deleteIfExists(copy);
            }
            v.checksumsMatch = stored == base.size && base.sha256.equals(digest);
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

    /** A stored object in a file, decoded. */
    static InputStream decoded(Path copy, String compression) throws IOException {
        return decoded(Files.newInputStream(copy), compression);
    }

    /**
     * A stored object's bytes, decoded. lz4 goes through the lz4 program when it is installed (the operator's image
     * has it): commons-compress's pure-Java lz4 decoder ran at ~1.5 MB/s in bench/backup, and lz4-java cannot read
     * PostgreSQL's linked-block frames. The program is fed by a thread of its own; a failure to feed it surfaces as
     * a truncated stream, which the tar reader reports.
     */
    static InputStream decoded(InputStream stored, String compression) throws IOException {
        String algorithm = compression == null ? "none" : compression;
        if ("lz4".equals(algorithm)) {
            Path program = lz4Program();
            if (program != null) {
                Process p = new ProcessBuilder(program.toString(), "-dc")
                        .redirectError(ProcessBuilder.Redirect.DISCARD).start();
                Thread feed = new Thread(() -> {
                    try (InputStream in = stored; OutputStream out = p.getOutputStream()) {
                        in.transferTo(out);
                    } catch (IOException e) {
                        p.destroy();
                    }
                }, "lz4-feed");
                feed.setDaemon(true);
                feed.start();
                return new BufferedInputStream(p.getInputStream(), 1 << 16) {
                    @Override
                    public void close() throws IOException {
                        super.close();
                        p.destroy();
                    }
                };
            }
        }
        InputStream file = new BufferedInputStream(stored, 1 << 16);
        return switch (algorithm) {
            case "gzip" -> new GZIPInputStream(file, 1 << 16);
            case "lz4" -> new FramedLZ4CompressorInputStream(file, true);
            case "zstd" -> new ZstdCompressorInputStream(file);
            default -> file;
        };
    }

    private static Path lz4Program() {
        for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin:/bin").split(":")) {
            Path lz4 = Path.of(dir, "lz4");
            if (Files.isExecutable(lz4)) {
                return lz4;
            }
        }
        return null;
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

    static void deleteRecursively(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(dir)) {
            walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }
}
