package io.dbaoperator.ship;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

import javax.tools.ToolProvider;

import org.junit.jupiter.api.Test;

/**
 * The benchmarks under bench/ are compiled against the operator's classes as they are now: a change of an engine's
 * signature that a bench calls fails here, not months later when someone runs the bench (two benches had silently
 * stopped compiling after the write-ahead approvals change).
 */
class BenchSourcesTest {

    @Test
    void everyBenchmarkCompilesAgainstTheCurrentClasses() throws Exception {
        List<String> sources = new ArrayList<>();
        try (Stream<Path> files = Files.walk(Path.of("bench"))) {
            files.filter(p -> p.toString().endsWith(".java")).map(Path::toString).sorted().forEach(sources::add);
        }
        assertThat(sources).hasSizeGreaterThanOrEqualTo(7);
        Path out = Files.createTempDirectory("bench-classes");
        try {
            List<String> args = new ArrayList<>(List.of("-d", out.toString(), "-cp",
                    System.getProperty("java.class.path"), "-proc:none"));
            args.addAll(sources);
            ByteArrayOutputStream errors = new ByteArrayOutputStream();
            int rc = ToolProvider.getSystemJavaCompiler().run(null, null, errors, args.toArray(String[]::new));
            assertThat(rc).as(errors.toString(java.nio.charset.StandardCharsets.UTF_8)).isZero();
        } finally {
            try (Stream<Path> walk = Files.walk(out)) {
                walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }
}
