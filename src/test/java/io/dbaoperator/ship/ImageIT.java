package io.dbaoperator.ship;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import io.dbaoperator.harness.RealParts;
import io.dbaoperator.harness.TestPostgres;

/**
 * The image users install, built here as CI builds it ({@code .ci/build-images}: Debian's packages, no registry,
 * podman) and run with the constraints deploy/ puts on the operator's container: a numeric non-root user, a
 * read-only root filesystem with /tmp the only writable place, all capabilities dropped, a memory limit the JVM
 * sizes its heap from. Each container runs with {@code --rm} and is gone when its test ends.
 */
@RealParts
class ImageIT {

    static String image;

    record Run(int exit, String output) {
    }

    @BeforeAll
    static void build() throws Exception {
        image = io.dbaoperator.harness.OperatorImage.get().name();
        assertThat(Files.size(io.dbaoperator.harness.OperatorImage.get().archive()))
                .as("the archive containerd imports").isGreaterThan(100L << 20);
    }

    @AfterAll
    static void noContainerLeft() throws Exception {
        Run ps = podman("ps", "-a", "--filter", "ancestor=" + image, "--format", "{{.ID}}");
        assertThat(ps.output().trim()).as("containers of the image left behind").isEmpty();
    }

    static Run run(List<String> command, int timeoutSeconds) throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
        pb.environment().put("CONTAINERS_CONF", io.dbaoperator.harness.OperatorImage.containersConf());
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("timed out: " + command + "\n" + out);
        }
        return new Run(p.exitValue(), out);
    }

    static Run podman(String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of("podman"));
        command.addAll(List.of(args));
        return run(command, 120);
    }

    /**
     * The image run with the operator container's constraints, as deploy/base/deployment.yaml sets them: read-only
     * root, /tmp writable, no capabilities, no privilege escalation, a memory limit; {@code env} as NAME=value.
     */
    static Run container(String memory, List<String> env, String entrypoint, String... args) throws IOException,
            InterruptedException {
        List<String> command = new ArrayList<>(List.of("run", "--rm", "--read-only", "--tmpfs", "/tmp:size=64m",
                "--cap-drop", "ALL", "--security-opt", "no-new-privileges", "--memory", memory, "--network", "host"));
        env.forEach(e -> command.addAll(List.of("-e", e)));
        command.addAll(List.of("--entrypoint", entrypoint, image));
        command.addAll(List.of(args));
        return podman(command.toArray(String[]::new));
    }

    /** ... and a shell to look inside. */
    static Run inOperatorContainer(String memory, String script) throws IOException, InterruptedException {
        return container(memory, List.of(), "sh", "-c", script);
    }

    /** The JVM's maximum heap in MiB, as {@code java -XshowSettings:vm -version} printed it in {@code output}. */
    static double heapMiB(String output) {
        Matcher heap = Pattern.compile("Max\\. Heap Size \\(Estimated\\): ([0-9.]+)M").matcher(output);
        assertThat(heap.find()).as(output).isTrue();
        return Double.parseDouble(heap.group(1));
    }

    @Test
    void theOperatorRunsAsItsNonRootUserOnAReadOnlyRootWithItsHeapSizedByTheMemoryLimit() throws Exception {
        Run r = inOperatorContainer("768m", "id -u; id -g; touch /deployments/x 2>&1 || true; touch /tmp/ok && "
                + "echo tmp-writable; java $JAVA_OPTS $JAVA_OPTS_APPEND -XX:MaxRAMPercentage=60 -XshowSettings:vm "
                + "-version 2>&1");
        assertThat(r.exit()).as(r.output()).isZero();
        String[] lines = r.output().split("\n");
        assertThat(lines[0].trim()).as("uid").isEqualTo("185");
        assertThat(lines[1].trim()).as("gid").isEqualTo("185");
        assertThat(r.output()).contains("Read-only file system").contains("tmp-writable");
        assertThat(heapMiB(r.output())).as("60%% of the 768 MiB limit, read from the container's cgroup")
                .isBetween(768 * 0.6 - 15, 768 * 0.6 + 1);
        Run owned = inOperatorContainer("256m", "stat -c '%u:%g %n' /deployments/quarkus-run.jar /deployments/lib "
                + "/deployments/app /usr/local/bin/dba-agent");
        assertThat(owned.output()).contains("185:185 /deployments/quarkus-run.jar", "185:185 /deployments/lib",
                "185:185 /deployments/app", "0:0 /usr/local/bin/dba-agent");
    }

    @Test
    void postgresql15sProgramsAreTheAgentsAndRestoredInstancesRunAsPostgres() throws Exception {
        Run r = inOperatorContainer("256m", "for p in pg_basebackup pg_receivewal pg_verifybackup pg_waldump "
                + "pg_amcheck pg_dump pg_restore psql postgres pg_ctl; do $p --version; done; lz4 -V; zstd -V; "
                + "getent passwd postgres; stat -c '%u:%g %a %n' /var/lib/postgresql /var/run/postgresql; test -e /var/lib/postgresql/15/main && echo debian-cluster || echo no-cluster");
        assertThat(r.exit()).as(r.output()).isZero();
        for (String p : List.of("pg_basebackup", "pg_receivewal", "pg_verifybackup", "pg_waldump", "pg_amcheck",
                "pg_dump", "pg_restore", "psql", "postgres", "pg_ctl")) {
            assertThat(r.output()).as(p).containsPattern(p + " \\(PostgreSQL\\) 15\\.\\d+");
        }
        assertThat(r.output()).contains("LZ4 command line interface").contains("Zstandard CLI")
                .as("uid and gid 999, which restore Jobs and restored instances run as (RestoreJobs), own its files")
                .contains("postgres:x:999:999:", "999:999 755 /var/lib/postgresql", "/var/run/postgresql")
                .containsPattern("999:999 [0-7]+ /var/run/postgresql");
        assertThat(r.output()).as("no cluster of Debian's own is made in the image").contains("no-cluster");
    }

    @Test
    void theAgentInTheImageReachesARealDatabase() throws Exception {
        TestPostgres pg = TestPostgres.get();
        pg.createDatabase("image_check", "image_check", "Image-Check-Pw-1");
        Run r = container("256m", List.of("DBA_DB_host=" + pg.host(), "DBA_DB_port=" + pg.port(),
                "DBA_DB_dbname=image_check", "DBA_DB_user=image_check", "DBA_DB_password=Image-Check-Pw-1",
                "DBA_DB_sslmode=disable"), "dba-agent", "check");
        assertThat(r.exit()).as(r.output()).isZero();
        assertThat(r.output()).contains("\"serverVersion\":\"15.").contains("image_check@" + pg.host())
                .doesNotContain("Image-Check-Pw-1");
    }
}
