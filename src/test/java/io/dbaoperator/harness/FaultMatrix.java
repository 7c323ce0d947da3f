package io.dbaoperator.harness;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;


/**
 * The fault matrix (docs/reliability.md): the faults the tests inject, and one line per run of kind x fault point x
 * outcome, appended to target/fault-matrix.md and printed, so a build shows the matrix it ran.
 */
public final class FaultMatrix {

    static final Path FILE = Path.of("target", "fault-matrix.md");

    private FaultMatrix() {
    }

    /**
     * Every odd-numbered status write to one object meets a concurrent writer and fails with 409: each decision the
     * operator writes is refused once and must be made again from fresh state.
     */
    public static ConflictingWriter.Interference everyOtherStatusWrite(String namespace, String plural, String name) {
        String suffix = "/namespaces/" + namespace + "/" + plural + "/" + name;
        return (path, n, body) -> path.endsWith(suffix) && n % 2 == 1;
    }

    /** Records one cell of the matrix. */
    public static synchronized void record(String kind, String fault, String outcome) {
        String line = "| " + kind + " | " + fault + " | " + outcome + " |\n";
        System.out.print("fault matrix: " + line);
        try {
            Files.createDirectories(FILE.getParent());
            if (!Files.exists(FILE)) {
                Files.writeString(FILE, "| kind | fault | outcome |\n|---|---|---|\n", StandardCharsets.UTF_8);
            }
            Files.writeString(FILE, line, StandardCharsets.UTF_8, StandardOpenOption.APPEND);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }
}
