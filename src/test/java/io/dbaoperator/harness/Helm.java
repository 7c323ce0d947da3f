package io.dbaoperator.harness;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The real Helm (helm.sh/helm/v4, built from its Go module by {@code .ci/build-helm}), run against a
 * {@link TestControlPlane} with its admin kubeconfig and a per-run Helm home under the test's temporary directory,
 * as a platform team runs it.
 */
public final class Helm {

    private static Path binary;

    private final TestControlPlane cp;
    private final Path home;

    private Helm(TestControlPlane cp, Path home) {
        this.cp = cp;
        this.home = home;
    }

    /** Helm for {@code cp}, its cache and configuration in {@code home} (a directory the caller removes). */
    public static Helm on(TestControlPlane cp, Path home) throws IOException, InterruptedException {
        synchronized (Helm.class) {
            if (binary == null) {
                binary = BuildScript.run("build-helm", Map.of());
            }
        }
        return new Helm(cp, home);
    }

    /** Runs {@code helm args...}; returns its output, or throws with it when helm fails. */
    public String run(String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of(binary.toString(), "--kubeconfig",
                cp.kubeconfigFile("admin").toString()));
        command.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
        pb.environment().put("HELM_CACHE_HOME", home.resolve("cache").toString());
        pb.environment().put("HELM_CONFIG_HOME", home.resolve("config").toString());
        pb.environment().put("HELM_DATA_HOME", home.resolve("data").toString());
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(10, TimeUnit.MINUTES) || p.exitValue() != 0) {
            p.destroyForcibly();
            throw new IllegalStateException("helm " + String.join(" ", args) + ": " + out);
        }
        return out;
    }
}
