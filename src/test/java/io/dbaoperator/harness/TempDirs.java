package io.dbaoperator.harness;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;

/** Removing what the harness put under the system temporary directory: tests leave no directories behind. */
public final class TempDirs {

    private TempDirs() {
    }

    /** Deletes {@code dir} and everything below it; best effort (a file still held open is left). */
    public static void delete(Path dir) {
        if (dir == null || !Files.exists(dir)) {
            return;
        }
        for (int attempt = 0; attempt < 3 && Files.exists(dir); attempt++) {
            try (Stream<Path> files = Files.walk(dir)) {
                files.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
            } catch (IOException | java.io.UncheckedIOException e) {
                // a file went away while we walked (another cleanup beside us): walk again
            }
        }
    }
}
