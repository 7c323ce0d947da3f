package io.dbaoperator.agent;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Runs PostgreSQL server programs as a user the server accepts. In the operator's image the agent already runs as
 * a non-root user, which owns what it wrote, and nothing changes. PostgreSQL refuses to run as root, so an agent
 * started as root (a pod without runAsUser, or the test node running as root) hands the data directory to the {@code postgres}
 * user and starts the server through runuser, as the official postgres image's entrypoint does with gosu.
 * The server gets a clean environment: no S3 credentials, no password.
 */
final class ServerUser {

    private final boolean root;
    private final Map<String, String> env;

    ServerUser(Map<String, String> env) {
        this.root = "root".equals(System.getProperty("user.name"));
        this.env = env;
    }

    void own(Path dir) throws IOException, InterruptedException {
        if (root) {
            Process p = new ProcessBuilder("chown", "-R", "postgres:postgres", dir.toString()).redirectErrorStream(true)
                    .start();
            String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(10, TimeUnit.MINUTES) || p.exitValue() != 0) {
                throw new IOException("chown failed: " + BackupCommand.lastLines(output, 3));
            }
        }
    }

    private List<String> wrap(List<String> command) {
        List<String> full = new ArrayList<>();
        if (root) {
            full.addAll(List.of("runuser", "-u", "postgres", "--"));
        }
        full.addAll(command);
        return full;
    }

    private ProcessBuilder builder(List<String> command) {
        ProcessBuilder pb = new ProcessBuilder(wrap(command));
        pb.environment().clear();
        pb.environment().put("PATH", env.getOrDefault("PATH", "/usr/local/bin:/usr/bin:/bin"));
        pb.environment().put("LANG", "C.UTF-8");
        return pb;
    }

    Process start(List<String> command, Path log) throws IOException {
        return builder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    }

    void run(List<String> command) throws IOException, InterruptedException {
        Process p = builder(command).redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(10, TimeUnit.MINUTES) || p.exitValue() != 0) {
            throw new IOException(command.get(0) + " failed: " + BackupCommand.lastLines(output, 3));
        }
    }
}
