package io.dbaoperator.agent;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
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
import io.dbaoperator.contract.LogicalBackupArgs;
import io.dbaoperator.postgres.ConnectionSettings;
import io.dbaoperator.postgres.PostgresTools;
import io.dbaoperator.problem.ProblemException;
import io.dbaoperator.storage.S3Clients;
import io.dbaoperator.storage.S3Location;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.GetObjectRequest;

/**
 * {@code dba-agent logical-backup}: for each database, {@code pg_dump --format custom} streamed from its stdout
 * straight into an S3 multipart upload (no copy on local disk), with the same SHA-256 and backup.json discipline as
 * a base backup; optionally the roles and tablespaces ({@code pg_dumpall --globals-only --no-role-passwords}: no
 * password hash leaves the database). Verified by reading each dump back through its SHA-256 into
 * {@code pg_restore --list}, which must read the whole archive's table of contents. A failed backup leaves no
 * object of its own behind (an unfinished upload is aborted) and its backup.json says why.
 */
final class LogicalBackupCommand {

    static final String METHOD = "logical";
    static final String VERIFIED_WITH = "checksums+pg_restore --list";

    private LogicalBackupCommand() {
    }

    static int run(LogicalBackupArgs o, Map<String, String> env, PrintStream out)
            throws IOException, InterruptedException {
        ConnectionSettings db = AgentEnvironment.database(env);
        S3Location storage = BackupCommand.storage(env);
        List<String> databases = o.databases().isEmpty() ? List.of(db.dbname()) : o.databases();
        try (S3Client s3 = S3Clients.create(storage)) {
            BackupCatalog catalog = new BackupCatalog(s3, storage, o.namespace(), o.policy());
            Instant started = Instant.now();
            BackupRecord record = BackupCommand.begin(catalog, o.namespace(), o.policy(), o.backupId(), started,
                    o.abortUploadsOlderThanSeconds(), out);
            record.method = METHOD;
            record.databases = databases;
            record.compression = o.level() != null && o.level() == 0 ? "none" : "gzip";
            record.encryption = BackupCommand.encryption(env);
            try {
                BackupCommand.identify(db, record);
                catalog.write(record);
                for (String database : databases) {
                    List<String> command = new ArrayList<>(List.of(PostgresTools.binary("pg_dump", env).toString()));
                    command.addAll(BackupCommand.connectionOptions(db));
                    command.addAll(List.of("--format", "custom", "--dbname", database));
                    if (o.level() != null) {
                        command.add("--compress=" + o.level());
                    }
                    o.schemas().forEach(s -> command.addAll(List.of("--schema", s)));
                    o.tables().forEach(t -> command.addAll(List.of("--table", t)));
                    BackupCommand.streamInto(command, db, s3, storage, catalog, record,
                            LogicalBackupArgs.objectName(database), AgentEnvironment.keyring(env));
                }
                if (o.globals()) {
                    List<String> command = new ArrayList<>(List.of(PostgresTools.binary("pg_dumpall", env)
                            .toString()));
                    command.addAll(BackupCommand.connectionOptions(db));
                    command.addAll(List.of("--globals-only", "--no-role-passwords", "--database", db.dbname()));
                    BackupCommand.streamInto(command, db, s3, storage, catalog, record, LogicalBackupArgs.GLOBALS,
                            AgentEnvironment.keyring(env));
                }
                record.storedBytes = record.objects.stream().mapToLong(x -> x.size).sum();
                record.state = BackupRecord.State.uploaded;
                record.timings.backupAndUploadSeconds = BackupCommand.seconds(started);
                catalog.write(record);
                if (o.verify()) {
                    Instant verifyStart = Instant.now();
                    verify(s3, storage, record, env);
                    record.timings.verifySeconds = BackupCommand.seconds(verifyStart);
                    BackupCommand.applyVerification(record, "pg_restore --list could not read a dump: ");
                }
                record.completedAt = Instant.now().toString();
                record.durationSeconds = BackupCommand.seconds(started);
                catalog.write(record);
                out.println("{\"backupId\":\"" + record.backupId + "\",\"method\":\"logical\",\"state\":\""
                        + record.state + "\",\"storedBytes\":" + record.storedBytes + "}");
                return record.state == BackupRecord.State.failed ? 1 : 0;
            } catch (ProblemException e) {
                BackupCommand.fail(catalog, record, started, e.problem().reason().name(), e.problem().message());
                throw e;
            } catch (IOException | RuntimeException e) {
                BackupCommand.fail(catalog, record, started, "BackupFailed", e.getMessage());
                throw e;
            }
        }
    }

    /**
     * Reads every object back computing its SHA-256, which must equal the upload's; each dump is read by
     * {@code pg_restore --list} at the same time, which fails on a truncated or damaged archive.
     */
    static void verify(S3Client s3, S3Location storage, BackupRecord record, Map<String, String> env)
            throws IOException, InterruptedException {
        BackupRecord.Verification v = new BackupRecord.Verification();
        record.verification = v;
        v.method = VERIFIED_WITH;
        v.checksumsMatch = true;
        v.pgVerifybackupPassed = true;
        StringBuilder summary = new StringBuilder();
        for (BackupRecord.StoredObject o : record.objects) {
            boolean dump = !LogicalBackupArgs.GLOBALS.equals(o.name);
            MessageDigest sha = sha256();
            Process list = null;
            ByteArrayOutputStream toc = new ByteArrayOutputStream();
            ByteArrayOutputStream err = new ByteArrayOutputStream();
            Thread tocReader = null;
            Thread errReader = null;
            if (dump) {
                list = new ProcessBuilder(PostgresTools.binary("pg_restore", env).toString(), "--list").start();
                Process started = list;
                tocReader = new Thread(() -> BackupCommand.copyBounded(started.getInputStream(), toc), "toc");
                errReader = new Thread(() -> BackupCommand.copyBounded(started.getErrorStream(), err), "toc-err");
                tocReader.start();
                errReader.start();
            }
            try (InputStream in = new DigestInputStream(s3.getObject(GetObjectRequest.builder()
                    .bucket(storage.bucket()).key(o.key).build()), sha)) {
                OutputStream sink = list == null ? OutputStream.nullOutputStream() : list.getOutputStream();
                try (sink) {
                    BackupCommand.plaintext(in, record, env, o.key).transferTo(sink);
                } catch (io.dbaoperator.problem.ProblemException e) {
                    // not decryptable (a damaged object, a wrong key): the digest below and pg_restore say so
                    summary.append(o.name).append(": ").append(e.problem().message()).append("; ");
                    v.pgVerifybackupPassed = false;
                    in.transferTo(OutputStream.nullOutputStream());
                } catch (IOException e) {
                    // pg_restore stopped reading (a damaged archive): the digest is finished below, and its exit
                    // code says why
                    in.transferTo(OutputStream.nullOutputStream());
                }
            }
            String digest = HexFormat.of().formatHex(sha.digest());
            if (!digest.equals(o.sha256)) {
                v.checksumsMatch = false;
                summary.append(o.name).append(": SHA-256 ").append(digest).append(" != ").append(o.sha256)
                        .append("; ");
            }
            if (list != null) {
                int rc = list.waitFor();
                tocReader.join();
                errReader.join();
                long entries = toc.toString(StandardCharsets.UTF_8).lines()
                        .filter(l -> !l.isBlank() && !l.startsWith(";")).count();
                if (rc != 0) {
                    v.pgVerifybackupPassed = false;
                    summary.append(o.name).append(": pg_restore --list exited with ").append(rc).append(": ")
                            .append(BackupCommand.lastLines(err.toString(StandardCharsets.UTF_8), 3)).append("; ");
                } else {
                    summary.append(o.name).append(": ").append(entries).append(" TOC entries; ");
                }
            }
        }
        v.pgVerifybackupOutput = summary.toString().strip();
        v.verifiedAt = Instant.now().toString();
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
