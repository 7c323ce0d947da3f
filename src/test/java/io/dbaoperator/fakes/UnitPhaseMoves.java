package io.dbaoperator.fakes;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

import io.dbaoperator.api.common.Phase;

/**
 * Records the phase moves a handler test makes, as the operator tier's harness records the operator's: one
 * {@code kind from to} line each in {@link #RECORD} (emptied once per test JVM), which {@code PhaseCoverageIT} counts
 * with the operator tier's.
 */
public final class UnitPhaseMoves implements BeforeEachCallback, AfterEachCallback {

    public static final Path RECORD = Path.of("target/phase-transitions-unit.txt");
    private static final String EMPTIED = "dba.test.unit-phase-moves-emptied";

    private Phase.Observer observer;

    @Override
    public void beforeEach(ExtensionContext context) {
        emptyOnce();
        observer = (kind, from, to) -> append(kind.getSimpleName() + " " + (from == null ? "none" : from.name()) + " "
                + to.name() + "\n");
        Phase.OBSERVERS.add(observer);
    }

    @Override
    public void afterEach(ExtensionContext context) {
        Phase.OBSERVERS.remove(observer);
    }

    private static synchronized void emptyOnce() {
        if (System.getProperty(EMPTIED) == null) {
            try {
                Files.createDirectories(RECORD.toAbsolutePath().getParent());
                Files.writeString(RECORD, "");
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            System.setProperty(EMPTIED, "true");
        }
    }

    private static synchronized void append(String line) {
        try {
            Files.writeString(RECORD, line, StandardCharsets.UTF_8, StandardOpenOption.CREATE,
                    StandardOpenOption.APPEND);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
