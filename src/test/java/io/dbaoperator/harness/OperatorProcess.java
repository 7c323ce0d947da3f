package io.dbaoperator.harness;

import java.io.IOException;
import java.net.HttpURLConnection;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The packaged operator ({@code target/quarkus-app/quarkus-run.jar}) as its own process, the way its container runs
 * it: started with the environment given, ready when {@code /q/health/ready} answers 200, its output appended to a
 * log file.
 */
public final class OperatorProcess implements AutoCloseable {

    private final Process process;
    private final int httpPort;

    private final Path tmp;

    private OperatorProcess(Process process, int httpPort, Path tmp) {
        this.process = process;
        this.httpPort = httpPort;
        this.tmp = tmp;
    }

    /** Starts the operator and waits until it is ready (at most two minutes). */
    public static OperatorProcess start(Map<String, String> env, List<String> jvmOptions, Path log)
            throws IOException, InterruptedException {
        Path jar = Paths.get("target/quarkus-app/quarkus-run.jar");
        if (!Files.isRegularFile(jar)) {
            throw new IllegalStateException("the operator is not packaged: run ./mvnw package first (" + jar + ")");
        }
        int port = TestPostgres.freePort();
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(jvmOptions);
        // its temporary files (Vert.x's cache) in a directory of its own, removed when it ends, even by SIGKILL
        Path tmp = Files.createTempDirectory("dba-operator-process-");
        command.add("-Djava.io.tmpdir=" + tmp);
        command.addAll(List.of("-jar", jar.toAbsolutePath().toString()));
        Files.createDirectories(log.toAbsolutePath().getParent());
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
        pb.environment().remove("KUBECONFIG");
        pb.environment().put("QUARKUS_HTTP_PORT", String.valueOf(port));
        pb.environment().putAll(env);
        OperatorProcess p = new OperatorProcess(pb.start(), port, tmp);
        long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
        while (System.nanoTime() < deadline) {
            if (!p.process.isAlive()) {
                throw new IllegalStateException("the operator exited with " + p.process.exitValue() + "; see " + log);
            }
            if (p.ready()) {
                return p;
            }
            Thread.sleep(250);
        }
        p.kill();
        throw new IllegalStateException("the operator did not become ready in 120 s; see " + log);
    }

    public long pid() {
        return process.pid();
    }

    public int httpPort() {
        return httpPort;
    }

    public boolean ready() {
        try {
            HttpURLConnection c = (HttpURLConnection) URI.create("http://127.0.0.1:" + httpPort + "/q/health/ready")
                    .toURL().openConnection();
            c.setConnectTimeout(500);
            c.setReadTimeout(2000);
            return c.getResponseCode() == 200;
        } catch (IOException e) {
            return false;
        }
    }

    /** SIGKILL, as when its node dies. */
    public void kill() throws InterruptedException {
        process.destroyForcibly().waitFor();
        TempDirs.delete(tmp);
    }

    /** SIGTERM, then SIGKILL after 20 seconds. */
    @Override
    public void close() {
        process.destroy();
        try {
            if (!process.waitFor(20, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        TempDirs.delete(tmp);
    }
}
