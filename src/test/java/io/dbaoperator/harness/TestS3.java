package io.dbaoperator.harness;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * A real S3 server shared by every test of the run, as people run it in production: SeaweedFS (Apache-2.0; multipart
 * uploads, storage classes kept and changed by a copy onto itself, checksums, versioning and object lock), built from
 * its Go module by {@code .ci/build-s3}, signing enforced for the harness's one key pair; the buckets {@link #BUCKET}
 * and {@link #OFFSITE_BUCKET} created. One process runs SeaweedFS's master, volume server, filer and S3 gateway, on
 * loopback only (pods reach it through the real node's relay).
 */
public final class TestS3 {

    public static final String BUCKET = "dba-test";
    /** A second bucket, where offsite copies (spec.copies.offsite) go. */
    public static final String OFFSITE_BUCKET = "dba-offsite";
    public static final String ACCESS_KEY_ID = "harness-access-key";
    public static final String SECRET_ACCESS_KEY = "harness-secret-key-value";

    private static TestS3 instance;

    private Process process;
    private Path tmp;
    private final Ports ports;
    private final int port;
    private final Path store;

    private TestS3(Launched launched, int port, Path store) {
        this.process = launched.process();
        this.tmp = launched.tmp();
        this.ports = launched.ports();
        this.port = port;
        this.store = store;
    }

    /** The server process, its own directory (logs, identities, sockets) and its other ports. */
    private record Launched(Process process, Path tmp, Ports ports) {
    }

    /** A server of one test's own (a fault test kills and restarts it), on a free port. */
    public static TestS3 startPrivate() {
        try {
            int port = TestPostgres.freePort();
            return launch(port, Files.createTempDirectory("dba-operator-s3-private-"));
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A server of one test's own whose objects live in {@code root} (e.g. a small file system that fills up). */
    public static TestS3 startPrivate(Path root) {
        try {
            Files.createDirectories(root);
            return launch(TestPostgres.freePort(), root);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Kills the server at once (SIGKILL), as a network or node failure would take it away. */
    public void kill() throws InterruptedException {
        process.destroyForcibly().waitFor();
        cleanUp();
    }

    /** Kills a private server and removes its stored objects (the end of the test that owns it). */
    public void discard() throws InterruptedException {
        kill();
        TempDirs.delete(store);
    }

    /** Starts it again on the same ports with the same stored objects. */
    public void restart() {
        TestS3 again = launch(port, ports, store);
        this.process = again.process;
        this.tmp = again.tmp;
    }

    public static synchronized TestS3 get() {
        if (instance == null) {
            RealParts.Guard.starting("S3 server");
            instance = start();
            Runtime.getRuntime().addShutdownHook(new Thread(TestS3::shutdown));
        }
        return instance;
    }

    /** Stops the shared server, if it runs; idempotent. */
    public static synchronized void shutdown() {
        if (instance != null) {
            instance.process.destroy();
            try {
                if (!instance.process.waitFor(10, java.util.concurrent.TimeUnit.SECONDS)) {
                    instance.process.destroyForcibly().waitFor();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            instance.cleanUp();
            TempDirs.delete(instance.store);
            instance = null;
        }
    }

    public long pid() {
        return process.pid();
    }

    public String endpoint() {
        return "http://127.0.0.1:" + port;
    }

    private static TestS3 start() {
        // the sandbox serves S3 on a fixed port so docs/examples apply unchanged; tests take any free port
        try {
            int port = Integer.getInteger("s3.port", 0) > 0 ? Integer.getInteger("s3.port") : TestPostgres.freePort();
            return launch(port, Files.createTempDirectory("dba-operator-s3-"));
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * The ports of one server besides its S3 port: SeaweedFS runs a master, a volume server and a filer under the S3
     * gateway, each with an HTTP and a gRPC port; kept across a {@link #restart} so the stored volumes are found.
     */
    private record Ports(int master, int masterGrpc, int volume, int volumeGrpc, int filer, int filerGrpc,
            int s3Grpc) {
        static Ports free() {
            try {
                return ports();
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        }

        private static Ports ports() throws IOException {
            return new Ports(TestPostgres.freePort(), TestPostgres.freePort(), TestPostgres.freePort(),
                    TestPostgres.freePort(), TestPostgres.freePort(), TestPostgres.freePort(),
                    TestPostgres.freePort());
        }

        /** The gRPC sockets SeaweedFS makes in /tmp whatever it is told (one per service, named by port). */
        List<Path> sockets() {
            return List.of(Path.of("/tmp/seaweedfs-master-grpc-" + masterGrpc + ".sock"),
                    Path.of("/tmp/seaweedfs-volume-grpc-" + volumeGrpc + ".sock"),
                    Path.of("/tmp/seaweedfs-filer-grpc-" + filerGrpc + ".sock"),
                    Path.of("/tmp/seaweedfs-s3-grpc-" + s3Grpc + ".sock"));
        }
    }

    private static Path binary;

    /** SeaweedFS's {@code weed}, built from its Go module by {@code .ci/build-s3} (cached; minutes the first time). */
    private static synchronized Path binary() {
        if (binary == null) {
            try {
                binary = BuildScript.run("build-s3", java.util.Map.of());
            } catch (IOException e) {
                throw new IllegalStateException(e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
        }
        return binary;
    }

    private static TestS3 launch(int port, Path root) {
        return launch(port, Ports.free(), root);
    }

    private static TestS3 launch(int port, Ports ports, Path root) {
        Path weed = binary();
        try {
            try (java.net.ServerSocket probe = new java.net.ServerSocket(port, 1,
                    java.net.InetAddress.getLoopbackAddress())) {
                probe.setReuseAddress(true);
            } catch (IOException busy) {
                throw new IllegalStateException("port " + port + " for the S3 server is in use (is another sandbox "
                        + "running?); stop it or pass -Ds3.port=<port>");
            }
            // the server's own directory: its logs, its S3 identities and its local sockets (not below root: a test
            // fills root's file system, and the server must still be able to say why)
            Path tmp = Files.createTempDirectory("dba-operator-s3-tmp-");
            Path data = Files.createDirectories(root.resolve("data"));
            Path identities = tmp.resolve("s3.json");
            Files.writeString(identities, "{\"identities\":[{\"name\":\"harness\",\"credentials\":[{\"accessKey\":\""
                    + ACCESS_KEY_ID + "\",\"secretKey\":\"" + SECRET_ACCESS_KEY + "\"}],\"actions\":[\"Admin\","
                    + "\"Read\",\"Write\",\"List\",\"Tagging\"]}]}");
            Path log = tmp.resolve("weed.out");
            Process p = new ProcessBuilder(List.of(weed.toString(), "-logdir=" + tmp, "server",
                    "-ip=127.0.0.1", "-dir=" + data, "-master.telemetry=false",
                    "-master.port=" + ports.master(), "-master.port.grpc=" + ports.masterGrpc(),
                    "-master.volumeSizeLimitMB=1024", "-volume.max=32",
                    "-volume.port=" + ports.volume(), "-volume.port.grpc=" + ports.volumeGrpc(),
                    "-filer", "-filer.port=" + ports.filer(), "-filer.port.grpc=" + ports.filerGrpc(),
                    "-filer.localSocket=" + tmp.resolve("filer.sock"),
                    "-s3", "-s3.port=" + port, "-s3.port.grpc=" + ports.s3Grpc(), "-s3.port.iceberg=0",
                    "-s3.port.lance=0", "-s3.config=" + identities, "-s3.localSocket=" + tmp.resolve("s3.sock")))
                    .redirectErrorStream(true).redirectOutput(log.toFile()).start();
            TestS3 server = new TestS3(new Launched(p, tmp, ports), port, root);
            long deadline = System.currentTimeMillis() + 90_000;
            RuntimeException last = null;
            while (System.currentTimeMillis() < deadline) {
                if (!p.isAlive()) {
                    server.cleanUp();
                    throw new IllegalStateException("the S3 server (SeaweedFS) exited: " + Files.readString(log));
                }
                try {
                    server.createBuckets();
                    return server;
                } catch (RuntimeException notYet) {
                    last = notYet; // not listening, or no volume to write to yet
                }
                Thread.sleep(250);
            }
            p.destroyForcibly().waitFor();
            server.cleanUp();
            throw new IllegalStateException("the S3 server (SeaweedFS) did not start within 90s (" + last + "): "
                    + Files.readString(log));
        } catch (IOException e) {
            throw new IllegalStateException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /**
     * The harness's buckets, made if missing; ready once an object can be written (the master has grown a volume
     * for the bucket), as a real server is for the operator. Throws while the server cannot serve that yet.
     */
    private void createBuckets() {
        var location = new io.dbaoperator.storage.S3Location(BUCKET, "", URI.create(endpoint()), "us-east-1", true,
                ACCESS_KEY_ID, SECRET_ACCESS_KEY, null, null);
        try (var s3 = io.dbaoperator.storage.S3Clients.create(location)) {
            for (String bucket : List.of(BUCKET, OFFSITE_BUCKET)) {
                try {
                    s3.headBucket(b -> b.bucket(bucket));
                } catch (software.amazon.awssdk.services.s3.model.NoSuchBucketException missing) {
                    s3.createBucket(b -> b.bucket(bucket));
                }
                String probe = "dba-harness-ready";
                s3.putObject(b -> b.bucket(bucket).key(probe),
                        software.amazon.awssdk.core.sync.RequestBody.fromString("ready"));
                s3.deleteObject(b -> b.bucket(bucket).key(probe));
            }
        }
    }

    /** Removes the server's own directory and the sockets it leaves in /tmp, once its process has ended. */
    private void cleanUp() {
        TempDirs.delete(tmp);
        for (Path socket : ports.sockets()) {
            try {
                Files.deleteIfExists(socket);
            } catch (IOException e) {
                // another run's server cannot have the same port while this one had it
            }
        }
    }
}
