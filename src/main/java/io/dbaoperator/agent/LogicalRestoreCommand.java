package io.dbaoperator.agent;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;

import io.dbaoperator.backup.catalog.BackupCatalog;
import io.dbaoperator.backup.catalog.BackupRecord;
import io.dbaoperator.backup.catalog.RestoreRecord;
import io.dbaoperator.contract.AgentEnvironment;
import io.dbaoperator.contract.LogicalRestoreArgs;
import io.dbaoperator.postgres.PostgresTools;
import io.dbaoperator.problem.Problem;
import io.dbaoperator.problem.ProblemException;
import io.dbaoperator.problem.Reason;
import io.dbaoperator.storage.S3Clients;
import io.dbaoperator.storage.S3Location;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.GetObjectRequest;

/**
 * {@code dba-agent logical-restore}: a logical backup's dump, read from the bucket through its SHA-256, written by
 * {@code pg_restore} into a database, then proven: the tables it holds are read back, and each check must return
 * true in a read-only transaction. Progress goes to {@code restores/<restoreId>.json}, as a physical restore's does.
 * <p>
 * Into an instance (a BackupRestore): the dump is restored into a database this run creates, named
 * {@code <target>_dba_restore_<id>}, which only at the end, restored and checked, takes the target's name; a target
 * that exists is renamed away in the same transaction and then dropped (only when it was empty, or the approval
 * named its replacement). So a failed or killed restore never leaves a half-restored database under the target's
 * name, a failure drops the database it created, and an existing database is touched only after everything
 * succeeded. Objects are owned by {@code --owner} (or the Secret's user) and GRANTs are left out unless asked for:
 * the dump names the source's roles, which another instance may not have.
 * <p>
 * On scratch (a logical policy's restore test): the Job starts a private PostgreSQL in its scratch volume
 * ({@link ScratchInstance}), restores every dump of the backup under its own name, runs the checks, and keeps
 * nothing.
 */
final class LogicalRestoreCommand {

    static final String METHOD = "logical";
    /** How long the final rename waits for sessions on the target to end. */
    static final Duration SWAP_PATIENCE = Duration.ofMinutes(2);
    /** How many restored tables the record lists by name. */
    static final int LISTED_TABLES = 500;

    private LogicalRestoreCommand() {
    }

    static int run(LogicalRestoreArgs o, Map<String, String> env, PrintStream out)
            throws IOException, InterruptedException {
        S3Location storage = BackupCommand.storage(env);
        List<String> checks = RestoreCommand.checks(env);
        List<io.dbaoperator.masking.Masker.Rule> masking = o.scratch() ? null : MaskingStep.rules(env);
        Instant t0 = Instant.now();
        RestoreRecord record = new RestoreRecord();
        record.restoreId = o.restoreId();
        record.backupId = o.backupId();
        record.method = METHOD;
        record.target = o.describeTarget();
        record.startedAt = t0.toString();
        Path scratch = Files.createTempDirectory("dba-logical-restore-");
        ScratchInstance instance = null;
        Psql psql = null;
        String maintenance = null;
        String created = null;
        try (S3Client s3 = S3Clients.create(storage)) {
            BackupCatalog catalog = new BackupCatalog(s3, storage, o.namespace(), o.policy());
            try {
                BackupRecord backup = verifiedDump(catalog, o.backupId());
                List<String> sources = o.sources().isEmpty() ? backup.databases : o.sources();
                List<BackupRecord.StoredObject> dumps = new ArrayList<>();
                for (String source : sources) {
                    dumps.add(dumpOf(backup, source));
                }
                if (o.scratch()) {
                    instance = ScratchInstance.start(env, scratch);
                    psql = instance.psql();
                    maintenance = "postgres";
                } else {
                    var db = AgentEnvironment.database(env);
                    psql = Psql.tcp(env, db);
                    maintenance = db.dbname();
                }
                record.bytesTotal = dumps.stream().mapToLong(d -> d.size).sum();
                record.bytesDownloaded = 0L;
                record.state = RestoreRecord.State.restoring;
                String into = null;
                for (int i = 0; i < sources.size(); i++) {
                    into = o.scratch() ? sources.get(i) : temporaryName(o.target(), o.restoreId());
                    if (!o.scratch()) {
                        requireRestorable(psql, maintenance, o);
                        // a run of this restore that was killed left it: it is this restore's, by its name
                        psql.query(maintenance, "drop database if exists :\"into\" with (force)", Map.of("into", into));
                    }
                    psql.query(maintenance, "create database :\"into\" template template0"
                            + (o.owner() == null ? "" : " owner :\"owner\""), o.owner() == null
                                    ? Map.of("into", into) : Map.of("into", into, "owner", o.owner()));
                    created = o.scratch() ? null : into;
                    if (masking != null) {
                        // a copy to be masked is nobody's until it is: only its owner may connect meanwhile
                        psql.query(maintenance, "revoke connect on database :\"into\" from public", Map.of("into", into));
                    }
                    record.database = into;
                    catalog.writeRestore(record);
                    restore(s3, storage.bucket(), backup, dumps.get(i), psql, into, o, env, scratch, record);
                    out.println("restore " + o.restoreId() + ": " + dumps.get(i).name + " restored into " + into
                            + " (SHA-256 matches)");
                }
                record.timings.downloadSeconds = BackupCommand.seconds(t0);

                Instant t1 = Instant.now();
                String checked = o.scratch() ? (o.checksDatabase() != null && sources.contains(o.checksDatabase())
                        ? o.checksDatabase() : sources.get(0)) : into;
                List<String> tables = tables(psql, checked);
                record.tableCount = tables.size();
                record.tables = tables.subList(0, Math.min(LISTED_TABLES, tables.size()));
                if (masking != null) {
                    record.progressNote = "masking " + masking.size() + " table(s), then the PII discovery";
                    catalog.writeRestore(record);
                    record.masking = MaskingStep.run(env, masking, into, record);
                    record.progressNote = null;
                    out.println("restore " + o.restoreId() + ": masked " + record.masking.tables.size() + " table(s); "
                            + record.masking.originalsChecked + " sampled original value(s) checked, none left");
                }
                record.state = RestoreRecord.State.verifying;
                catalog.writeRestore(record);
                for (String check : checks) {
                    record.checks.add(RestoreCommand.check(psql, checked, check));
                }
                record.timings.verifySeconds = BackupCommand.seconds(t1);
                List<RestoreRecord.Check> failed = record.checks.stream().filter(c -> !c.passed).toList();
                if (!failed.isEmpty()) {
                    throw Problem.invalid(Reason.RestoreCheckFailed, failed.size() + " check(s) failed on the "
                            + "restored database: " + failed.get(0).check + ": " + failed.get(0).message).exception();
                }
                if (!o.scratch()) {
                    if (masking != null) {
                        psql.query(maintenance, "grant connect on database :\"into\" to public", Map.of("into", into));
                    }
                    takeTheTargetsName(psql, maintenance, into, o, record);
                    created = null;
                    record.database = o.target();
                }
                record.state = RestoreRecord.State.succeeded;
                record.completedAt = Instant.now().toString();
                record.timings.totalSeconds = BackupCommand.seconds(t0);
                catalog.writeRestore(record);
                out.println("restore " + o.restoreId() + ": " + record.tableCount + " table(s) in "
                        + (o.scratch() ? checked + " on scratch" : o.target()) + "; " + record.checks.size()
                        + " check(s) passed in " + record.timings.totalSeconds + " s");
                return 0;
            } catch (IOException | RuntimeException e) {
                record.state = RestoreRecord.State.failed;
                record.errorReason = e instanceof ProblemException p ? p.problem().reason().name()
                        : Reason.RestoreFailed.name();
                record.error = e instanceof ProblemException p ? p.problem().message() : String.valueOf(e.getMessage());
                record.completedAt = Instant.now().toString();
                record.timings.totalSeconds = BackupCommand.seconds(t0);
                if (created != null) {
                    // the database this run created, never the target: a failed restore leaves nothing behind
                    try {
                        psql.query(maintenance, "drop database if exists :\"into\" with (force)",
                                Map.of("into", created));
                        record.error += " (database " + created + ", which this restore created, was dropped)";
                    } catch (IOException dropFailed) {
                        record.error += " (database " + created + ", which this restore created, could not be "
                                + "dropped: " + dropFailed.getMessage() + ")";
                    }
                }
                catalog.writeRestore(record);
                throw e;
            }
        } finally {
            if (instance != null) {
                instance.stop();
            }
            BackupVerifier.deleteRecursively(scratch);
        }
    }

    private static BackupRecord verifiedDump(BackupCatalog catalog, String backupId) {
        BackupRecord backup = catalog.read(backupId);
        if (backup == null || backup.state != BackupRecord.State.verified) {
            throw Problem.invalid(Reason.BackupNotFound, backup == null ? "backup " + backupId
                    + " is not in the catalog at " + catalog.url(backupId)
                    : "backup " + backupId + " is " + backup.state + ", not verified").exception();
        }
        if (!METHOD.equals(backup.method)) {
            throw Problem.invalid(Reason.InvalidSpec, "backup " + backupId + " is a base backup, not a pg_dump: "
                    + "it restores into a new instance (dba-agent restore)").exception();
        }
        return backup;
    }

    private static BackupRecord.StoredObject dumpOf(BackupRecord backup, String database) {
        String name = io.dbaoperator.contract.LogicalBackupArgs.objectName(database);
        return backup.objects.stream().filter(x -> name.equals(x.name)).findFirst().orElseThrow(() -> Problem
                .invalid(Reason.BackupNotFound, "backup " + backup.backupId + " holds dumps of " + backup.databases
                        + ", not of database " + database).exception());
    }

    /**
     * The target may be missing, empty, or (only when the approval named its replacement) hold data; checked here
     * again, right before anything is written, because the plan that was approved saw it some time ago.
     */
    static void requireRestorable(Psql psql, String maintenance, LogicalRestoreArgs o)
            throws IOException, InterruptedException {
        String exists = psql.query(maintenance, "select count(*) from pg_database where datname = :'target'",
                Map.of("target", o.target())).trim();
        if ("0".equals(exists) || o.replace()) {
            return;
        }
        int relations = Integer.parseInt(psql.query(o.target(), LogicalRestoreArgs.USER_RELATIONS).trim());
        if (relations > 0) {
            throw Problem.invalid(Reason.RestoreTargetNotEmpty, "database " + o.target() + " holds " + relations
                    + " relation(s): a restore never writes into a database that is not empty unless its "
                    + "replacement was approved (spec.target.database.replace); nothing was changed").exception();
        }
    }

    /** {@code <target>_dba_restore_<the restore id's last 8 characters>}, within PostgreSQL's 63 bytes. */
    static String temporaryName(String target, String restoreId) {
        String suffix = "_dba_restore_" + restoreId.substring(Math.max(0, restoreId.length() - 8));
        String base = target;
        while (base.getBytes(StandardCharsets.UTF_8).length + suffix.length() > 63) {
            base = base.substring(0, base.offsetByCodePoints(base.length(), -1));
        }
        return base + suffix;
    }

    /**
     * The dump from the bucket into pg_restore, its SHA-256 checked against the catalog. One job reads it from
     * stdin (nothing on local disk); parallel jobs need a file they can seek in, so it is downloaded into the Job's
     * scratch volume first.
     */
    private static void restore(S3Client s3, String bucket, BackupRecord backup, BackupRecord.StoredObject dump,
            Psql psql, String into,
            LogicalRestoreArgs o, Map<String, String> env, Path scratch, RestoreRecord record)
            throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of(PostgresTools.binary("pg_restore", env).toString()));
        command.addAll(psql.connectionOptions());
        command.addAll(List.of("--dbname", Psql.dbname(into), "--no-owner", "--exit-on-error"));
        if (!o.privileges()) {
            command.add("--no-privileges");
        }
        if (o.owner() != null) {
            command.add("--role=" + o.owner());
        }
        o.schemas().forEach(s -> command.addAll(List.of("--schema", s)));
        o.tables().forEach(t -> command.addAll(List.of("--table", t)));
        MessageDigest sha = sha256();
        Path file = null;
        if (o.jobs() > 1) {
            file = scratch.resolve("dump");
            try (InputStream in = new DigestInputStream(s3.getObject(GetObjectRequest.builder().bucket(bucket)
                    .key(dump.key).build()), sha)) {
                Files.copy(BackupCommand.plaintext(in, backup, env, dump.key), file);
                in.transferTo(OutputStream.nullOutputStream());
            }
            record.bytesDownloaded += dump.size;
            requireDigest(dump, sha);
            command.addAll(List.of("--jobs", String.valueOf(o.jobs()), file.toString()));
        }
        ProcessBuilder pb = new ProcessBuilder(command);
        psql.environment(pb);
        pb.environment().put("PGAPPNAME", "dba-operator-restore");
        Process p = pb.start();
        ByteArrayOutputStream stderr = new ByteArrayOutputStream();
        Thread errReader = new Thread(() -> BackupCommand.copyBounded(p.getErrorStream(), stderr), "pg_restore-err");
        errReader.start();
        p.getInputStream().close();
        try {
            if (file == null) {
                try (InputStream in = new DigestInputStream(s3.getObject(GetObjectRequest.builder().bucket(bucket)
                        .key(dump.key).build()), sha); OutputStream stdin = p.getOutputStream()) {
                    try {
                        BackupCommand.plaintext(in, backup, env, dump.key).transferTo(stdin);
                        record.bytesDownloaded += dump.size;
                    } catch (IOException stopped) {
                        // pg_restore stopped reading: its exit code and last words say why
                        in.transferTo(OutputStream.nullOutputStream());
                    }
                }
            } else {
                p.getOutputStream().close();
            }
            int rc = p.waitFor();
            errReader.join();
            if (file == null) {
                requireDigest(dump, sha);
            }
            if (rc != 0) {
                throw Problem.invalid(Reason.RestoreFailed, "pg_restore of " + dump.name + " into " + into
                        + " exited with " + rc + ": " + BackupCommand.lastLines(stderr.toString(StandardCharsets.UTF_8),
                                3)).exception();
            }
        } finally {
            if (p.isAlive()) {
                p.destroyForcibly().waitFor();
            }
            if (file != null) {
                Files.deleteIfExists(file);
            }
        }
    }

    private static void requireDigest(BackupRecord.StoredObject dump, MessageDigest sha) {
        String digest = HexFormat.of().formatHex(sha.digest());
        if (!digest.equals(dump.sha256)) {
            throw Problem.invalid(Reason.BackupCorrupted, "the dump " + dump.key + " does not match the catalog: "
                    + "SHA-256 " + digest + ", the catalog says " + dump.sha256 + "; the stored object is damaged")
                    .exception();
        }
    }

    /** The tables (ordinary and partitioned) outside the system schemas, as schema.table, quoted where needed. */
    static List<String> tables(Psql psql, String database) throws IOException, InterruptedException {
        return psql.query(database, "select format('%I.%I', n.nspname, c.relname) from pg_class c join pg_namespace n "
                + "on n.oid = c.relnamespace where c.relkind in ('r', 'p') and n.nspname not in ('pg_catalog', "
                + "'information_schema') and n.nspname !~ '^pg_toast' order by 1", Map.of()).lines()
                .filter(l -> !l.isBlank()).toList();
    }

    /**
     * The restored database takes the target's name: when the target exists, it is renamed away and the restored
     * one renamed to it in one transaction, then the old one is dropped. A rename waits for no one: sessions on the
     * target refuse it, so it is tried again for {@link #SWAP_PATIENCE}, and then the restore fails, saying how many
     * sessions held it, with the target untouched.
     */
    private static void takeTheTargetsName(Psql psql, String maintenance, String into, LogicalRestoreArgs o,
            RestoreRecord record) throws IOException, InterruptedException {
        String old = temporaryName(o.target(), o.restoreId()).replace("_dba_restore_", "_dba_replaced_");
        Map<String, String> names = Map.of("target", o.target(), "into", into, "old", old);
        long deadline = System.nanoTime() + SWAP_PATIENCE.toNanos();
        while (true) {
            boolean exists = !"0".equals(psql.query(maintenance,
                    "select count(*) from pg_database where datname = :'target'", names).trim());
            if (exists && !o.replace()) {
                requireRestorable(psql, maintenance, o); // emptied meanwhile, or not: refused, untouched
            }
            try {
                psql.query(maintenance, exists ? "begin; alter database :\"target\" rename to :\"old\"; "
                        + "alter database :\"into\" rename to :\"target\"; commit" : "alter database :\"into\" "
                                + "rename to :\"target\"", names);
                record.replacedExisting = exists;
                if (exists) {
                    try {
                        psql.query(maintenance, "drop database :\"old\"", names);
                    } catch (IOException dropFailed) {
                        // restored and named: the restore succeeded; what is left is said, not hidden
                        record.warning = "the replaced database, renamed " + old + ", could not be dropped ("
                                + dropFailed.getMessage() + "): drop it by hand";
                    }
                }
                return;
            } catch (IOException e) {
                if (!String.valueOf(e.getMessage()).contains("is being accessed by other users")
                        || System.nanoTime() > deadline) {
                    String sessions = psql.query(maintenance, "select count(*) from pg_stat_activity where datname "
                            + "= :'target'", names).trim();
                    throw Problem.invalid(Reason.RestoreFailed, "the restored database could not take the name "
                            + o.target() + " (" + e.getMessage() + "; " + sessions + " session(s) on it); "
                            + o.target() + " is unchanged").exception();
                }
                Thread.sleep(2000);
            }
        }
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
