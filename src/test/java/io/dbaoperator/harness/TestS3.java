package io.dbaoperator.harness;

import java.io.File;
import java.io.IOException;
import java.net.HttpURLConnection;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * A real S3 protocol server (Adobe S3Mock, run from its executable jar) shared by every test of the run, with the
 * buckets {@link #BUCKET} and {@link #OFFSITE_BUCKET} created.
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
    private final int port;
    private final Path store;

    private TestS3(Launched launched, int port, Path store) {
        this.process = launched.process();
        this.tmp = launched.tmp();
        this.port = port;
        this.store = store;
    }

    /** The server process and its own temporary directory (Tomcat's work files), removed when it ends. */
    private record Launched(Process process, Path tmp) {
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
        TempDirs.delete(tmp);
    }

    /** Kills a private server and removes its stored objects (the end of the test that owns it). */
    public void discard() throws InterruptedException {
        kill();
        TempDirs.delete(store);
    }

    /** Starts it again on the same port with the same stored objects. */
    public void restart() {
        TestS3 again = launch(port, store);
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
            TempDirs.delete(instance.store);
            TempDirs.delete(instance.tmp);
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

    private static TestS3 launch(int port, Path root) {
        String jar = System.getProperty("s3mock.jar");
        if (jar == null || !new File(jar).isFile()) {
            throw new IllegalStateException("system property s3mock.jar must name the S3Mock exec jar "
                    + "(set by the Maven build from com.adobe.testing:s3mock:exec); got " + jar);
        }
        try {
            try (java.net.ServerSocket probe = new java.net.ServerSocket(port, 1,
                    java.net.InetAddress.getLoopbackAddress())) {
                probe.setReuseAddress(true);
            } catch (IOException busy) {
                throw new IllegalStateException("port " + port + " for the S3 server is in use (is another sandbox "
                        + "running?); stop it or pass -Ds3.port=<port>");
            }
            int httpsPort = TestPostgres.freePort();
            Path log = root.resolve("s3mock.log");
            String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
            // Tomcat's work directories in a directory of the server's own (not below root: a test fills root's
            // file system, and Tomcat's temporary files must not fail before the store does)
            Path tmp = Files.createTempDirectory("dba-operator-s3-tmp-");
            Process p = new ProcessBuilder(List.of(java, "-Xmx256m", "-XX:TieredStopAtLevel=1",
                    "-Djava.io.tmpdir=" + tmp, "-jar", jar,
                    "--http.port=" + port, "--server.port=" + httpsPort,
                    "--com.adobe.testing.s3mock.store.initial-buckets=" + BUCKET + "," + OFFSITE_BUCKET,
                    "--com.adobe.testing.s3mock.store.root=" + root.resolve("store"),
                    "--logging.level.root=WARN"))
                    .redirectErrorStream(true).redirectOutput(log.toFile()).start();
            long deadline = System.currentTimeMillis() + 90_000;
            while (System.currentTimeMillis() < deadline) {
                if (!p.isAlive()) {
                    TempDirs.delete(tmp);
                    throw new IllegalStateException("S3Mock exited: " + Files.readString(log));
                }
                try {
                    HttpURLConnection c = (HttpURLConnection) URI.create("http://127.0.0.1:" + port + "/" + BUCKET)
                            .toURL().openConnection();
                    c.setConnectTimeout(500);
                    c.setRequestMethod("HEAD");
                    if (c.getResponseCode() == 200 && p.isAlive()) {
                        return new TestS3(new Launched(p, tmp), port, root);
                    }
                } catch (IOException notYet) {
                    // keep waiting
                }
                Thread.sleep(250);
            }
            p.destroyForcibly();
            TempDirs.delete(tmp);
            throw new IllegalStateException("S3Mock did not start within 90s: " + Files.readString(log));
        } catch (IOException e) {
            throw new IllegalStateException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
