package io.dbaoperator.harness;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * The operator image as users get it, built once per JVM by {@code .ci/build-images} (Debian's packages, no
 * registry, podman; docs/install.md): its name and the docker-archive a node's containerd imports. Needs root,
 * mmdebstrap, podman and runc, and {@code target/quarkus-app} (so: failsafe, after {@code package}).
 */
public final class OperatorImage {

    private static OperatorImage built;

    private final String name;
    private final Path archive;

    private OperatorImage(String name, Path archive) {
        this.name = name;
        this.archive = archive;
    }

    /**
     * The image built in this JVM, {@code name|archive}: each Quarkus application of a run loads this class anew,
     * and one build per run is enough (a String: libraries copy system properties as Strings).
     */
    private static final String BUILT = "dba.test.operator-image";

    public static synchronized OperatorImage get() {
        String earlier = System.getProperty(BUILT);
        if (built == null && earlier != null && Files.isRegularFile(Path.of(earlier.split("\\|", 2)[1]))) {
            built = new OperatorImage(earlier.split("\\|", 2)[0], Path.of(earlier.split("\\|", 2)[1]));
        }
        if (built == null) {
            RealParts.Guard.starting("operator image build");
            try {
                ProcessBuilder pb = new ProcessBuilder("bash", ".ci/build-images").redirectErrorStream(true);
                pb.environment().put("CONTAINERS_CONF", containersConf());
                Process p = pb.start();
                String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                if (!p.waitFor(15, TimeUnit.MINUTES) || p.exitValue() != 0) {
                    throw new IllegalStateException("the operator image did not build (.ci/build-images; needs root, "
                            + "mmdebstrap, podman and runc, and target/quarkus-app): " + out);
                }
                String[] lines = out.trim().split("\n");
                Path archive = Path.of("target/images/dba-operator.tar").toAbsolutePath();
                if (!Files.isRegularFile(archive)) {
                    throw new IllegalStateException(".ci/build-images wrote no " + archive + ": " + out);
                }
                built = new OperatorImage(lines[lines.length - 1].trim(), archive);
                System.setProperty(BUILT, built.name + "|" + archive);
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
        }
        return built;
    }

    /** podman's configuration on these machines (runc, cgroupfs), for a podman the tests start. */
    public static String containersConf() {
        return Path.of(".ci/containers.conf").toAbsolutePath().toString();
    }

    /** The image's name, e.g. localhost/dba-operator:dev. */
    public String name() {
        return name;
    }

    /** A docker-archive of the image (ctr images import, podman load). */
    public Path archive() {
        return archive;
    }
}
