package io.dbaoperator.agent;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import io.dbaoperator.backup.catalog.BackupCatalog;
import io.dbaoperator.backup.catalog.BackupRecord;
import io.dbaoperator.contract.AgentEnvironment;
import io.dbaoperator.contract.BackupArgs;
import io.dbaoperator.postgres.ConnectionSettings;
import io.dbaoperator.postgres.PostgresConnector;
import io.dbaoperator.postgres.PostgresTools;
import io.dbaoperator.problem.ProblemException;
import io.dbaoperator.problem.Reason;
import io.dbaoperator.storage.MultipartUpload;
import io.dbaoperator.storage.S3Clients;
import io.dbaoperator.backup.catalog.ClientEncryption;
import io.dbaoperator.storage.S3Location;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * {@code dba-agent backup}: pg_basebackup (tar, checkpoint fast, WAL fetched into the backup, SHA-256 manifest,
 * the chosen compression) streamed from its stdout straight into an S3 multipart upload, then verified
 * ({@link BackupVerifier}), with backup.json written at each stage so the operator can tell a running, verified or
 * failed backup apart. A failed backup leaves no base object behind (the multipart upload is aborted) and its
 * backup.json says why.
 */
final class BackupCommand {

    private static final Pattern START = Pattern.compile("write-ahead log start point: ([0-9A-F]+/[0-9A-F]+) on timeline (\\d+)");
    private static final Pattern END = Pattern.compile("write-ahead log end point: ([0-9A-F]+/[0-9A-F]+)");

    private BackupCommand() {
    }

    static int run(BackupArgs o, Map<String, String> env, PrintStream out) throws IOException, InterruptedException {
        ConnectionSettings db = AgentEnvironment.database(env);
        S3Location storage = storage(env);
        try (S3Client s3 = S3Clients.create(storage)) {
            BackupCatalog catalog = new BackupCatalog(s3, storage, o.namespace(), o.policy());
            Instant started = Instant.now();
            BackupRecord record = begin(catalog, o.namespace(), o.policy(), o.backupId(), started,
                    o.abortUploadsOlderThanSeconds(), out);
            record.compression = o.algorithm();
            record.compressionLocation = o.location();
            record.encryption = encryption(env);
            try {
                identify(db, record);
                catalog.write(record);
                stream(o, db, env, s3, storage, catalog, record);
                record.state = BackupRecord.State.uploaded;
                record.timings.backupAndUploadSeconds = seconds(started);
                catalog.write(record);
                if (o.verify()) {
                    Instant verifyStart = Instant.now();
                    BackupVerifier.verify(s3, storage, catalog, record, env);
                    record.timings.verifySeconds = seconds(verifyStart);
                }
                record.completedAt = Instant.now().toString();
                record.durationSeconds = seconds(started);
                record.storedBytes = record.objects.stream().mapToLong(x -> x.size).sum();
                if (o.verify()) {
                    applyVerification(record, "pg_verifybackup failed: ");
                }
                catalog.write(record);
                out.println("{\"backupId\":\"" + record.backupId + "\",\"state\":\"" + record.state + "\",\"sizeBytes\":"
                        + record.sizeBytes + ",\"storedBytes\":" + record.storedBytes + "}");
                return record.state == BackupRecord.State.failed ? 1 : 0;
            } catch (ProblemException e) {
                fail(catalog, record, started, e.problem().reason().name(), e.problem().message());
                throw e;
            } catch (IOException | RuntimeException e) {
                fail(catalog, record, started, "BackupFailed", e.getMessage());
                throw e;
            }
        }
    }

    /** Verifies a stored backup again (a scheduled check, or after suspicion of tampering) and records the result. */
    static int reverify(BackupArgs o, Map<String, String> env, PrintStream out) throws IOException, InterruptedException {
        S3Location storage = storage(env);
        try (S3Client s3 = S3Clients.create(storage)) {
            BackupCatalog catalog = new BackupCatalog(s3, storage, o.namespace(), o.policy());
            BackupRecord record = catalog.read(o.backupId());
            if (record == null || record.objects.isEmpty()) {
                throw new IllegalArgumentException("no stored backup " + o.backupId() + " in " + catalog.url(o.backupId()));
            }
            record.objects.removeIf(x -> BackupCatalog.MANIFEST.equals(x.name));
            BackupVerifier.verify(s3, storage, catalog, record, env);
            applyVerification(record, "pg_verifybackup failed: ");
            catalog.write(record);
            out.println("{\"backupId\":\"" + record.backupId + "\",\"state\":\"" + record.state + "\"}");
            return record.state == BackupRecord.State.verified ? 0 : 1;
        }
    }

    /** What the catalog records of the encryption new objects get ("AES-256-GCM key k1"), or null for none. */
    static String encryption(Map<String, String> env) {
        ClientEncryption.Keyring keys = AgentEnvironment.keyring(env);
        return keys == null ? null : ClientEncryption.ALGORITHM + " key " + keys.current();
    }

    /**
     * A stored object of {@code record} as its plaintext: decrypted with the Job's keys when the record says it was
     * encrypted; a Job without keys for an encrypted backup is told why, never handed ciphertext.
     */
    static InputStream plaintext(InputStream stored, BackupRecord record, Map<String, String> env, String object)
            throws IOException {
        if (record.encryption == null) {
            return stored;
        }
        ClientEncryption.Keyring keys = AgentEnvironment.keyring(env);
        if (keys == null) {
            throw io.dbaoperator.problem.Problem.invalid(io.dbaoperator.problem.Reason.EncryptionKeyMissing, "backup "
                    + record.backupId + " is encrypted (" + record.encryption + "), and this Job has no keys: the "
                    + "policy's spec.encryption names the Secret that holds them").exception();
        }
        return keys.decrypt(stored, object);
    }

    /** The Job's S3 location; a Job without one is a bad invocation. */
    static S3Location storage(Map<String, String> env) {
        S3Location storage = AgentEnvironment.s3(env);
        if (storage == null) {
            throw new IllegalArgumentException("the Job has no S3 location (DBA_S3_BUCKET)");
        }
        return storage;
    }

    /** A running backup's first record, after aborting the multipart uploads an earlier backup left. */
    static BackupRecord begin(BackupCatalog catalog, String namespace, String policy, String backupId,
            Instant started, long abortUploadsOlderThanSeconds, PrintStream out) {
        BackupRecord record = new BackupRecord();
        record.backupId = backupId;
        record.namespace = namespace;
        record.policy = policy;
        record.state = BackupRecord.State.running;
        record.startedAt = started.toString();
        List<String> stale = catalog.abortIncompleteUploads(started.minusSeconds(abortUploadsOlderThanSeconds));
        if (!stale.isEmpty()) {
            out.println("aborted " + stale.size() + " incomplete upload(s) an earlier backup left: " + stale);
        }
        return record;
    }

    /**
     * A verified backup, or a failed one saying which check failed; from the verification just run.
     * {@code checkFailed} leads the structural check's output (pg_verifybackup's, pg_restore --list's).
     */
    static void applyVerification(BackupRecord record, String checkFailed) {
        boolean good = record.verification.passed();
        record.state = good ? BackupRecord.State.verified : BackupRecord.State.failed;
        record.errorReason = good ? null : Reason.VerificationFailed.name();
        record.error = good ? null : !record.verification.checksumsMatch
                ? "the stored objects do not match the SHA-256 recorded at upload"
                : checkFailed + record.verification.pgVerifybackupOutput;
    }

    static void fail(BackupCatalog catalog, BackupRecord record, Instant started, String reason, String error) {
        record.state = BackupRecord.State.failed;
        record.errorReason = reason;
        record.error = error;
        record.completedAt = Instant.now().toString();
        record.durationSeconds = seconds(started);
        try {
            catalog.write(record);
        } catch (RuntimeException e) {
            // S3 itself may be what failed; the Job's exit code still tells the operator
        }
    }

    /** System identifier and server version, from an ordinary connection as the same role. */
    static void identify(ConnectionSettings db, BackupRecord record) {
        try (Connection c = PostgresConnector.open(db, "dba-operator-backup");
                ResultSet rs = c.createStatement().executeQuery(
                        "select system_identifier::text, current_setting('server_version') from pg_control_system()")) {
            rs.next();
            record.systemIdentifier = rs.getString(1);
            record.serverVersion = rs.getString(2);
        } catch (SQLException e) {
            throw PostgresConnector.classify(e, db).exception();
        }
    }

    private static void stream(BackupArgs o, ConnectionSettings db, Map<String, String> env, S3Client s3,
            S3Location storage, BackupCatalog catalog, BackupRecord record) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of(PostgresTools.binary("pg_basebackup", env).toString()));
        command.addAll(connectionOptions(db));
        command.addAll(List.of("--pgdata", "-", "--format", "tar", "--wal-method", "fetch", "--checkpoint", "fast",
                "--verbose", "--label", "dba-operator " + o.backupId()));
        if (!"none".equals(o.algorithm())) {
            command.add("--compress=" + o.location() + "-" + o.algorithm() + (o.level() == null ? "" : ":" + o.level()));
        }
        if (!"none".equals(o.algorithm()) && "server".equals(o.location())) {
            // PostgreSQL 15 cannot add the manifest to a server-compressed tar on stdout; such backups are
            // verified by checksums and a WAL check instead (BackupVerifier)
            command.add("--no-manifest");
        } else {
            command.addAll(List.of("--manifest-checksums", "SHA256"));
        }
        String log = streamInto(command, db, s3, storage, catalog, record, o.objectName(),
                AgentEnvironment.keyring(env));
        Matcher start = START.matcher(log);
        Matcher end = END.matcher(log);
        if (start.find()) {
            record.startLsn = start.group(1);
            record.timeline = Integer.parseInt(start.group(2));
            record.startWalFile = PostgresTools.walFileName(record.timeline, record.startLsn);
        }
        if (end.find() && record.timeline != null) {
            record.endLsn = end.group(1);
            record.endWalFile = PostgresTools.walFileName(record.timeline, record.endLsn);
        }
    }

    /** libpq's connection options for a client program: the first host and port and the role, never a prompt. */
    static List<String> connectionOptions(ConnectionSettings db) {
        String[] hostPort = PostgresTools.firstHostAndPort(db);
        return List.of("--host", hostPort[0], "--port", hostPort[1], "--username", db.user(), "--no-password");
    }

    /**
     * Runs a client program (the password through its environment only) and streams its stdout straight into one
     * object of the backup, recorded with its size and SHA-256 once complete; a non-zero exit aborts the upload and
     * fails with the program's last words. Returns what it wrote to stderr (bounded).
     */
    static String streamInto(List<String> command, ConnectionSettings db, S3Client s3, S3Location storage,
            BackupCatalog catalog, BackupRecord record, String object, ClientEncryption.Keyring keys)
            throws IOException, InterruptedException {
        String program = java.nio.file.Path.of(command.get(0)).getFileName().toString();
        ProcessBuilder pb = new ProcessBuilder(command);
        PostgresTools.clientEnvironment(pb, db, "dba-operator-backup");
        Process p = pb.start();
        ByteArrayOutputStream stderr = new ByteArrayOutputStream();
        Thread errReader = new Thread(() -> copyBounded(p.getErrorStream(), stderr), program + "-stderr");
        errReader.start();
        String key = catalog.key(record.backupId, object);
        try (MultipartUpload upload = new MultipartUpload(s3, storage, key, MultipartUpload.DEFAULT_PART_SIZE)) {
            // encrypted on the way, when the policy says so: what is stored (and its SHA-256) is the ciphertext
            upload.transfer(keys == null ? p.getInputStream() : keys.encrypt(p.getInputStream()));
            int rc = p.waitFor();
            errReader.join();
            String log = stderr.toString(StandardCharsets.UTF_8);
            if (rc != 0) {
                throw new IOException(program + " exited with " + rc + ": " + lastLines(log, 5));
            }
            upload.complete();
            record.objects.add(new BackupRecord.StoredObject(object, key, upload.size(), upload.sha256()));
            return log;
        } finally {
            if (p.isAlive()) {
                p.destroyForcibly();
            }
        }
    }

    static void copyBounded(InputStream in, ByteArrayOutputStream out) {
        byte[] buf = new byte[8192];
        try {
            int n;
            while ((n = in.read(buf)) > 0) {
                synchronized (out) {
                    if (out.size() < 256 * 1024) {
                        out.write(buf, 0, n);
                    }
                }
            }
        } catch (IOException e) {
            // the process ended
        }
    }

    static String lastLines(String text, int n) {
        String[] lines = text.strip().split("\n");
        return String.join(" | ", java.util.Arrays.copyOfRange(lines, Math.max(0, lines.length - n), lines.length));
    }

    static double seconds(Instant since) {
        return Duration.between(since, Instant.now()).toMillis() / 1000.0;
    }

}
