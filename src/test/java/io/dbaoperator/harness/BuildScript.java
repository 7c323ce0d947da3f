package io.dbaoperator.harness;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * One of the {@code .ci/build-*} scripts, which build a real part from its sources into a cache outside the work
 * tree and print its path on their last line (at once when cached). Their progress goes to the test's output.
 */
final class BuildScript {

    private BuildScript() {
    }

    /** Runs {@code .ci/<name>} with {@code env} added and returns the path it printed last. */
    static Path run(String name, Map<String, String> env) throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder("bash", ".ci/" + name).redirectError(ProcessBuilder.Redirect.INHERIT);
        pb.environment().putAll(env);
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        if (!p.waitFor(30, TimeUnit.MINUTES) || p.exitValue() != 0 || out.isEmpty()) {
            p.destroyForcibly();
            throw new IllegalStateException("could not build it (.ci/" + name + " exited "
                    + (p.isAlive() ? "late" : p.exitValue()) + "; its own words are in the output above): " + out);
        }
        String[] lines = out.split("\n");
        return Path.of(lines[lines.length - 1]);
    }
}
