package io.dbaoperator.agent;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.json.JsonMapper;

import io.dbaoperator.contract.AgentEnvironment;
import io.dbaoperator.contract.RestoreArgs;
import io.dbaoperator.backup.catalog.BackupCatalog;
import io.dbaoperator.backup.catalog.BackupRecord;
import io.dbaoperator.backup.catalog.RestoreRecord;
import io.dbaoperator.postgres.PostgresTools;
import io.dbaoperator.problem.Problem;
import io.dbaoperator.problem.Reason;
import io.dbaoperator.storage.S3Clients;
import io.dbaoperator.storage.S3Location;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * {@code dba-agent restore}: restores a base backup and archived WAL into a data directory, proves the result, and
 * leaves it shut down cleanly. The base backup streams from S3 in ranged reads (its SHA-256 checked against the
 * catalog as it goes) straight into the data directory; PostgreSQL then starts on it with recovery.signal, a
 * restore_command served by {@link WalSpool}, the recovery target and promote-at-target, listening on a private
 * Unix socket only. Once promoted: the recovered point (LSN, last replayed transaction, timeline), pg_amcheck on
 * every database, and the checks (each must return true, in a read-only transaction). Every stage is written to
 * {@code restores/<restoreId>.json}, which is how the operator follows it.
 * <p>
 * Arguments ({@link RestoreArgs}): {@code --namespace N --policy P --restore-id R --backup-id B --data-dir D [--target-time T |
 * --target-lsn L] [--database DB] [--login-role ROLE] [--amcheck true|false] [--keep true|false]}; the checks come
 * as a JSON array in {@code DBA_RESTORE_CHECKS}, a new password for the restored superuser (optional) in
 * {@code DBA_RESTORE_PASSWORD}. With {@code --keep false} (a restore test) the data directory is removed at the end.
 */
final class RestoreCommand {

    /** pg_hba of the restore run: nothing but the agent on the private socket. */
    private static final String HBA = "local all all trust\n";
    /**
     * Written beside the data directory of a kept restore ({@link AgentEnvironment#SERVED_HBA_FILE}): who may
     * connect to the instance that serves it (RestoreJobs starts it with this file as hba_file and listen_addresses
     * '*'). The backup's own pg_hba.conf stays in the data directory, unused: it named the source's hosts, not the
     * Pods and Service of the new instance. Passwords only (SCRAM) over TCP; the server's own user over the local
     * socket.
     */
    static final String SERVED_HBA = """
            # dba-operator: access to a restored instance (its Secret holds the login); see docs/restore.md
            local all all peer
            host all all 0.0.0.0/0 scram-sha-256
            host all all ::/0 scram-sha-256
            """;
    static final Duration RECOVERY_PATIENCE = Duration.ofHours(6);
    /** A masked restore's extra line: the masking engine's own role over the pod's loopback, by password. */
    static final String MASKING_HBA = "host all all 127.0.0.1/32 scram-sha-256\n";

    private RestoreCommand() {
    }

    static int run(RestoreArgs o, Map<String, String> env, PrintStream out) throws IOException, InterruptedException {
        S3Location storage = AgentEnvironment.s3(env);
        if (storage == null) {
            throw new IllegalArgumentException("the Job has no S3 location (DBA_S3_BUCKET)");
        }
        List<String> checks = checks(env);
        // a masked restore: the copy is masked by the agent before the instance that serves it ever starts
        List<io.dbaoperator.masking.Masker.Rule> masking = o.keep() ? MaskingStep.rules(env) : null;
        Instant t0 = Instant.now();
        RestoreRecord record = new RestoreRecord();
        record.restoreId = o.restoreId();
        record.backupId = o.backupId();
        record.target = o.describeTarget();
        record.startedAt = t0.toString();
        Path scratch = Files.createTempDirectory("dba-restore-");
        Path socket = socketDirectory(scratch);
        ServerUser user = new ServerUser(env);
        boolean wroteData = false;
        boolean succeeded = false;
        try (S3Client s3 = S3Clients.create(storage)) {
            BackupCatalog catalog = new BackupCatalog(s3, storage, o.namespace(), o.policy());
            try {
                BackupRecord backup = catalog.read(o.backupId());
                if (backup == null || backup.state != BackupRecord.State.verified) {
                    throw Problem.invalid(Reason.BackupNotFound, backup == null ? "backup " + o.backupId()
                            + " is not in the catalog at " + catalog.url(o.backupId())
                            : "backup " + o.backupId() + " is " + backup.state + ", not verified").exception();
                }
                record.state = RestoreRecord.State.downloading;
                catalog.writeRestore(record);
                DataDirectory.requireEmpty(Paths.get(o.dataDir()));
                wroteData = true;
                DataDirectory.download(s3, storage.bucket(), catalog, backup, Paths.get(o.dataDir()), record, env);
                record.timings.downloadSeconds = seconds(t0);
                out.println("restore " + o.restoreId() + ": backup " + backup.backupId + " unpacked ("
                        + record.bytesDownloaded + " bytes, SHA-256 matches)");

                Instant t1 = Instant.now();
                record.state = RestoreRecord.State.recovering;
                catalog.writeRestore(record);
                Path spoolDir = Files.createDirectories(scratch.resolve("wal-spool"));
                Path hba = scratch.resolve("pg_hba.conf");
                Files.writeString(hba, masking == null ? HBA : HBA + MASKING_HBA, StandardCharsets.UTF_8);
                WalSpool spool = new WalSpool(s3, storage.bucket(), catalog, spoolDir, 3, user,
                        AgentEnvironment.keyring(env));
                Path script = spool.script();
                DataDirectory.prepare(Paths.get(o.dataDir()));
                user.own(scratch);
                user.own(socket);
                user.own(Paths.get(o.dataDir()));
                Path serverLog = scratch.resolve("postgres.log");
                List<String> command = postgresCommand(o, env, script, socket, hba);
                if (masking != null) {
                    // the masking engine speaks JDBC: the pod's own loopback, a password only this run knows
                    command.addAll(List.of("-c", "listen_addresses=127.0.0.1"));
                }
                Process server = user.start(command, serverLog);
                try {
                    Psql psql = new Psql(env, socket, o.loginRole());
                    awaitPromotion(server, spool, psql, serverLog, record, catalog);
                    record.timings.recoverySeconds = seconds(t1);
                    recoveredPoint(psql, record);
                    out.println("restore " + o.restoreId() + ": recovered to " + record.recoveredLsn + " ("
                            + (record.recoveredTime == null ? "no transaction replayed" : record.recoveredTime)
                            + ") on timeline " + record.timeline + ", " + spool.fetched() + " WAL file(s) fetched");

                    Instant t2 = Instant.now();
                    record.state = RestoreRecord.State.verifying;
                    catalog.writeRestore(record);
                    record.superuser = psql.query("postgres", "select rolname from pg_roles where oid = 10").trim();
                    Psql admin = psql.as(record.superuser);
                    if (o.amcheck()) {
                        record.checks.add(amcheck(env, socket, record.superuser));
                    }
                    for (String check : checks) {
                        record.checks.add(check(admin, o.database(), check));
                    }
                    if (masking != null && record.checks.stream().allMatch(c -> c.passed)) {
                        record.progressNote = "masking " + masking.size() + " table(s), then the PII discovery";
                        catalog.writeRestore(record);
                        record.masking = PhysicalMasking.run(admin, env, masking, o.database(), record);
                        record.progressNote = null;
                        out.println("restore " + o.restoreId() + ": masked " + record.masking.tables.size()
                                + " table(s) of database " + o.database() + "; " + record.masking.originalsChecked
                                + " sampled original value(s) checked, none left; dropped "
                                + record.masking.droppedDatabases);
                    }
                    String password = env.get(AgentEnvironment.RESTORE_PASSWORD);
                    if (password != null && !password.isEmpty()) {
                        // SCRAM whatever the source's password_encryption: the served pg_hba accepts only SCRAM
                        admin.run("postgres", "SET log_statement = 'none';\nSET password_encryption = "
                                + "'scram-sha-256';\nALTER ROLE \""
                                + record.superuser.replace("\"", "\"\"") + "\" PASSWORD '"
                                + password.replace("'", "''") + "';\n");
                    }
                    record.timings.verifySeconds = seconds(t2);
                } finally {
                    stop(user, server, Paths.get(o.dataDir()), env);
                }
                List<RestoreRecord.Check> failed = record.checks.stream().filter(c -> !c.passed).toList();
                if (!failed.isEmpty()) {
                    throw Problem.invalid(Reason.RestoreCheckFailed, failed.size() + " check(s) failed on the "
                            + "restored database: " + failed.get(0).check + ": " + failed.get(0).message).exception();
                }
                if (masking != null) {
                    // WAL of the recovery holds production's pages as they were: only the segment of the shutdown
                    // checkpoint stays (a clean shutdown needs nothing before it), recycled segments included
                    PhysicalMasking.removeOldWal(Paths.get(o.dataDir()), env);
                }
                if (o.keep()) {
                    Files.writeString(Paths.get(o.dataDir()).resolveSibling(AgentEnvironment.SERVED_HBA_FILE),
                            SERVED_HBA, StandardCharsets.UTF_8);
                }
                record.state = RestoreRecord.State.succeeded;
                record.completedAt = Instant.now().toString();
                record.timings.totalSeconds = seconds(t0);
                catalog.writeRestore(record);
                succeeded = true;
                out.println("restore " + o.restoreId() + ": verified; " + record.checks.size() + " check(s) passed in "
                        + record.timings.totalSeconds + " s");
                return 0;
            } catch (IOException | RuntimeException e) {
                record.state = RestoreRecord.State.failed;
                record.errorReason = e instanceof io.dbaoperator.problem.ProblemException p ? p.problem().reason().name()
                        : Reason.RestoreFailed.name();
                record.error = e instanceof io.dbaoperator.problem.ProblemException p ? p.problem().message()
                        : String.valueOf(e.getMessage());
                record.completedAt = Instant.now().toString();
                record.timings.totalSeconds = seconds(t0);
                catalog.writeRestore(record);
                throw e;
            }
        } finally {
            BackupVerifier.deleteRecursively(scratch);
            BackupVerifier.deleteRecursively(socket);
            if (wroteData && (!o.keep() || !succeeded)) {
                // a restore test keeps nothing; a failed restore leaves no half-restored directory behind
                BackupVerifier.deleteRecursively(Paths.get(o.dataDir()));
            }
        }
    }

    /** The checks the Job was given: a JSON array of SQL statements in {@link AgentEnvironment#RESTORE_CHECKS}. */
    static List<String> checks(Map<String, String> env) throws IOException {
        return env.get(AgentEnvironment.RESTORE_CHECKS) == null ? List.of()
                : JsonMapper.builder().build().readValue(env.get(AgentEnvironment.RESTORE_CHECKS),
                        new TypeReference<>() {
                        });
    }

    private static double seconds(Instant since) {
        return Math.round(Duration.between(since, Instant.now()).toMillis() / 100.0) / 10.0;
    }

    /**
     * The server's private socket directory. A Unix socket path holds at most 107 bytes, so under a deep temporary
     * directory (a long TMPDIR or emptyDir path) the socket gets a short directory of its own below /tmp: without
     * it the server refuses to start ("could not create any Unix-domain sockets").
     */
    static Path socketDirectory(Path scratch) throws IOException {
        Path inScratch = scratch.resolve("socket");
        if (inScratch.toString().length() + "/.s.PGSQL.5432.lock".length() <= 107) {
            return Files.createDirectories(inScratch);
        }
        return Files.createTempDirectory(Path.of("/tmp"), "dba-pg-");
    }

    /**
     * The server of the restore: the backup's own configuration, overridden on the command line (highest priority,
     * and nothing written into the data directory) for recovery and for privacy: no TCP listener, our pg_hba, no
     * archiving of the restored instance's WAL into anyone's archive; and for the Job's memory limit: 128 MB of
     * shared buffers and no huge pages, whatever the source used.
     */
    static List<String> postgresCommand(RestoreArgs o, Map<String, String> env, Path script, Path socket, Path hba) {
        List<String> c = new ArrayList<>(List.of(PostgresTools.binary("postgres", env).toString(), "-D",
                Paths.get(o.dataDir()).toString(),
                "-c", "listen_addresses=", "-c", "port=5432", "-c", "unix_socket_directories=" + socket,
                "-c", "hba_file=" + hba, "-c", "archive_mode=off", "-c", "hot_standby=off",
                "-c", "logging_collector=off", "-c", "log_min_messages=warning",
                // memory the Job's limit can hold, whatever the source was sized for (recovery needs little)
                "-c", "shared_buffers=128MB", "-c", "huge_pages=off",
                "-c", "restore_command=" + script + " %f %p", "-c", "recovery_target_action=promote"));
        if (o.targetTime() != null) {
            c.addAll(List.of("-c", "recovery_target_time=" + postgresTime(o.targetTime())));
        } else if (o.targetLsn() != null) {
            c.addAll(List.of("-c", "recovery_target_lsn=" + o.targetLsn()));
        } else {
            c.addAll(List.of("-c", "recovery_target=immediate"));
        }
        return c;
    }

    /**
     * An RFC 3339 time as PostgreSQL's timestamptz input takes it: at most microseconds (PostgreSQL refuses
     * nanoseconds), in UTC. Truncating cannot let a later commit in: commit times have microsecond resolution.
     */
    static String postgresTime(String rfc3339) {
        java.time.Instant t = java.time.OffsetDateTime.parse(rfc3339).toInstant()
                .truncatedTo(java.time.temporal.ChronoUnit.MICROS);
        return java.time.format.DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss.SSSSSS").withZone(
                java.time.ZoneOffset.UTC).format(t) + "+00";
    }

    private static void awaitPromotion(Process server, WalSpool spool, Psql psql, Path serverLog,
            RestoreRecord record, BackupCatalog catalog) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + RECOVERY_PATIENCE.toNanos();
        long lastCheck = 0;
        long lastReport = System.currentTimeMillis();
        while (System.nanoTime() < deadline) {
            spool.serve();
            if (!server.isAlive()) {
                String log = Files.exists(serverLog) ? Files.readString(serverLog, StandardCharsets.UTF_8) : "";
                System.out.println("PostgreSQL's log of the recovery (last lines):\n" + BackupCommand.lastLines(log, 30)
                        .replace(" | ", "\n"));
                // the first FATAL or PANIC says why; the lines after it are the shutdown that follows
                String why = log.lines().filter(l -> l.contains("FATAL:") || l.contains("PANIC:")).findFirst()
                        .map(l -> l.replaceFirst("^.*?(FATAL|PANIC):\\s*", "$1: "))
                        .orElse(BackupCommand.lastLines(log, 3));
                throw Problem.invalid(log.contains("recovery ended before configured recovery target was reached")
                        ? Reason.TargetNotReached : Reason.RestoreFailed,
                        "PostgreSQL stopped during recovery: " + why
                                + (log.contains("recovery ended before configured recovery target was reached")
                                        ? " (the archive ends before the target: no transaction after it has been "
                                                + "archived yet; wait for the archiver or choose an earlier target)"
                                        : "")).exception();
            }
            if (System.currentTimeMillis() - lastCheck > 500) {
                lastCheck = System.currentTimeMillis();
                String inRecovery = psql.tryQuery("postgres", "select pg_is_in_recovery()");
                if ("f".equals(inRecovery)) {
                    return;
                }
            }
            if (System.currentTimeMillis() - lastReport > 5000) {
                lastReport = System.currentTimeMillis();
                record.walSegmentsFetched = spool.fetched();
                catalog.writeRestore(record);
            }
            Thread.sleep(100);
        }
        throw Problem.invalid(Reason.RestoreFailed, "recovery did not finish within " + RECOVERY_PATIENCE.toHours()
                + " h").exception();
    }

    private static void recoveredPoint(Psql psql, RestoreRecord record) throws IOException, InterruptedException {
        String row = psql.query("postgres", "select pg_last_wal_replay_lsn() || '|' || "
                + "coalesce(to_char(pg_last_xact_replay_timestamp() at time zone 'UTC', "
                + "'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), '') || '|' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8)");
        String[] parts = row.trim().split("\\|", -1);
        record.recoveredLsn = parts[0];
        record.recoveredTime = parts[1].isEmpty() ? null : parts[1];
        record.timeline = Integer.parseInt(parts[2], 16);
    }

    private static RestoreRecord.Check amcheck(Map<String, String> env, Path socket, String superuser)
            throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder(PostgresTools.binary("pg_amcheck", env).toString(), "--host",
                socket.toString(), "--port", "5432", "--username", superuser, "--no-password", "--all",
                "--install-missing").redirectErrorStream(true);
        pb.environment().keySet().removeIf(k -> k.startsWith("DBA_") || k.startsWith("PG"));
        Process p = pb.start();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        boolean done = p.waitFor(6, TimeUnit.HOURS);
        boolean passed = done && p.exitValue() == 0;
        return new RestoreRecord.Check("pg_amcheck", passed, passed
                ? "heap and B-tree indexes of every database are consistent"
                : BackupCommand.lastLines(output, 5));
    }

    static RestoreRecord.Check check(Psql admin, String database, String sql)
            throws IOException, InterruptedException {
        Psql.Result r = admin.readOnly(database, sql);
        if (r.exitCode() != 0) {
            return new RestoreRecord.Check(sql, false, BackupCommand.lastLines(r.output(), 3));
        }
        String value = r.output().trim();
        return "t".equals(value) ? new RestoreRecord.Check(sql, true, null)
                : new RestoreRecord.Check(sql, false, "returned " + (value.isEmpty() ? "no row" : value)
                        + ", not true");
    }

    /** A clean shutdown (fast: a checkpoint, then exit), so the instance starts without crash recovery. */
    static void stop(ServerUser user, Process server, Path dataDir, Map<String, String> env)
            throws InterruptedException {
        if (!server.isAlive()) {
            return;
        }
        try {
            user.run(List.of(PostgresTools.binary("pg_ctl", env).toString(), "stop", "-D", dataDir.toString(),
                    "-m", "fast", "-w", "-t", "300"));
        } catch (IOException e) {
            // fall through to the signal
        }
        if (!server.waitFor(60, TimeUnit.SECONDS)) {
            server.destroyForcibly().waitFor();
        }
    }
}
