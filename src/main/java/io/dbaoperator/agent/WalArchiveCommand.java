package io.dbaoperator.agent;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;

import io.dbaoperator.backup.catalog.WalArchiverStatus;
import io.dbaoperator.contract.AgentEnvironment;
import io.dbaoperator.contract.WalArchiveArgs;
import io.dbaoperator.postgres.ConnectionSettings;
import io.dbaoperator.postgres.PostgresTools;
import io.dbaoperator.storage.S3Clients;
import io.dbaoperator.storage.S3Location;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.PutObjectRequest;

/**
 * {@code dba-agent wal-archive}: the long-running WAL archiver of a policy (a Deployment's single pod). It makes sure
 * the replication slot exists, runs pg_receivewal on it (gzip-compressed segments into a local spool), ships each
 * finished segment to {@code .../<policy>/wal/} and deletes it locally only once stored, and writes a heartbeat
 * ({@code wal/archiver.json}) the operator reads for the recovery window and the archiving lag. If pg_receivewal
 * stops, the command exits non-zero so Kubernetes restarts it and the operator sees the pod not ready.
 */
final class WalArchiveCommand {

    static final ObjectMapper JSON = JsonMapper.builder().serializationInclusion(JsonInclude.Include.NON_NULL).build();
    private static final long HEARTBEAT_MILLIS = 10_000;

    private WalArchiveCommand() {
    }

    static int run(WalArchiveArgs args, Map<String, String> env, PrintStream out) throws IOException,
            InterruptedException {
        String ns = args.namespace();
        String policy = args.policy();
        String slot = args.slot();
        Path spool = Paths.get(args.spool());
        Files.createDirectories(spool);
        ConnectionSettings db = AgentEnvironment.database(env);
        S3Location storage = AgentEnvironment.s3(env);
        if (storage == null) {
            throw new IllegalArgumentException("the pod has no S3 location (DBA_S3_BUCKET)");
        }
        String walPrefix = storage.key(ns + "/" + policy + "/wal/");
        // read before anything streams: a key missing from the Secret stops the archiver with its reason
        io.dbaoperator.backup.catalog.ClientEncryption.Keyring keys = AgentEnvironment.keyring(env);
        receivewal(db, env, slot, spool, true).waitFor();
        Process receiver = receivewal(db, env, slot, spool, false);
        try (S3Client s3 = S3Clients.create(storage)) {
            WalArchiverStatus status = previous(s3, storage, walPrefix);
            status.slot = slot;
            status.startedAt = Instant.now().toString();
            long lastBeat = 0;
            while (true) {
                for (Path segment : finished(spool)) {
                    ship(s3, storage, walPrefix, segment, status, keys);
                }
                boolean alive = receiver.isAlive();
                if (System.currentTimeMillis() - lastBeat >= HEARTBEAT_MILLIS || !alive) {
                    status.updatedAt = Instant.now().toString();
                    status.receiving = alive;
                    s3.putObject(PutObjectRequest.builder().bucket(storage.bucket()).key(walPrefix + "archiver.json")
                            .contentType("application/json").build(), RequestBody.fromBytes(JSON.writeValueAsBytes(
                                    status)));
                    lastBeat = System.currentTimeMillis();
                }
                if (!alive) {
                    out.println("pg_receivewal exited with " + receiver.exitValue() + "; the pod restarts");
                    return 1;
                }
                Thread.sleep(1000);
            }
        } finally {
            receiver.destroy();
        }
    }

    /** The heartbeat of an earlier run, so counters and the first segment survive restarts. */
    private static WalArchiverStatus previous(S3Client s3, S3Location storage, String walPrefix) {
        try {
            return JSON.readValue(s3.getObjectAsBytes(software.amazon.awssdk.services.s3.model.GetObjectRequest
                    .builder().bucket(storage.bucket()).key(walPrefix + "archiver.json").build()).asByteArray(),
                    WalArchiverStatus.class);
        } catch (software.amazon.awssdk.services.s3.model.NoSuchKeyException | IOException e) {
            return new WalArchiverStatus();
        }
    }

    /** Finished segments in name (= WAL) order; a .partial file is still being written. */
    static List<Path> finished(Path spool) throws IOException {
        TreeSet<Path> done = new TreeSet<>();
        try (DirectoryStream<Path> files = Files.newDirectoryStream(spool)) {
            for (Path f : files) {
                String n = f.getFileName().toString();
                if (n.matches("[0-9A-F]{24}(\\.gz|\\.lz4)?") || n.matches("[0-9A-F]{8}\\.history")) {
                    done.add(f);
                }
            }
        }
        return new ArrayList<>(done);
    }

    private static void ship(S3Client s3, S3Location storage, String walPrefix, Path segment, WalArchiverStatus status,
            io.dbaoperator.backup.catalog.ClientEncryption.Keyring keys) throws IOException {
        // encrypted when the policy says so; the SHA-256 stored with it is the stored bytes'
        byte[] bytes = keys == null ? Files.readAllBytes(segment) : keys.encrypt(Files.readAllBytes(segment));
        String sha256;
        try {
            sha256 = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        String name = segment.getFileName().toString();
        s3.putObject(PutObjectRequest.builder().bucket(storage.bucket()).key(walPrefix + name)
                .metadata(Map.of("sha256", sha256)).build(), RequestBody.fromBytes(bytes));
        Files.delete(segment);
        if (!name.endsWith(".history")) {
            status.lastArchivedSegment = name.substring(0, 24);
            status.lastArchivedAt = Instant.now().toString();
            if (status.firstArchivedSegment == null) {
                status.firstArchivedSegment = status.lastArchivedSegment;
            }
            status.segmentsArchived++;
        }
    }

    private static Process receivewal(ConnectionSettings db, Map<String, String> env, String slot, Path spool,
            boolean createSlot) throws IOException {
        String[] hostPort = PostgresTools.firstHostAndPort(db);
        List<String> command = new ArrayList<>(List.of(PostgresTools.binary("pg_receivewal", env).toString(),
                "--host", hostPort[0], "--port", hostPort[1], "--username", db.user(), "--no-password",
                "--slot", slot));
        if (createSlot) {
            command.addAll(List.of("--create-slot", "--if-not-exists"));
        } else {
            command.addAll(List.of("--directory", spool.toString(), "--compress", "gzip", "--status-interval", "10",
                    "--no-loop", "--verbose"));
        }
        ProcessBuilder pb = new ProcessBuilder(command).inheritIO();
        PostgresTools.clientEnvironment(pb, db, "dba-operator-wal-archiver");
        return pb.start();
    }
}
