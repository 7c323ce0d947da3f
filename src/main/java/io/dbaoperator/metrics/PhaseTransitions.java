package io.dbaoperator.metrics;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Optional;

import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;

import io.dbaoperator.api.common.Phase;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;

/**
 * Every phase move of every kind ({@link Phase#move}) counted as {@code dba_phase_transitions_total{kind, from, to}}
 * ({@code from} is {@code none} for a resource's first phase), and, when {@code dba.phase-transitions.record-file}
 * names a file, appended to it as {@code kind from to} lines: the test suite's record of which moves its tests made.
 */
@ApplicationScoped
public class PhaseTransitions implements Phase.Observer {

    private static final Logger LOG = Logger.getLogger(PhaseTransitions.class);

    private final MeterRegistry registry;
    private final Optional<Path> record;

    public PhaseTransitions(MeterRegistry registry,
            @ConfigProperty(name = "dba.phase-transitions.record-file") Optional<String> record) {
        this.registry = registry;
        this.record = record.filter(r -> !r.isBlank()).map(Path::of);
    }

    void start(@Observes StartupEvent event) {
        Phase.OBSERVERS.add(this);
    }

    void stop(@Observes ShutdownEvent event) {
        Phase.OBSERVERS.remove(this);
    }

    @Override
    public void moved(Class<?> kind, Enum<?> from, Enum<?> to) {
        String k = kind.getSimpleName();
        String f = from == null ? "none" : from.name();
        registry.counter("dba.phase.transitions", "kind", k, "from", f, "to", to.name()).increment();
        record.ifPresent(file -> append(file, k + " " + f + " " + to.name() + "\n"));
    }

    private static synchronized void append(Path file, String line) {
        try {
            Files.writeString(file, line, StandardCharsets.UTF_8, StandardOpenOption.CREATE,
                    StandardOpenOption.APPEND);
        } catch (IOException e) {
            LOG.warnf("cannot record a phase transition in %s: %s", file, e.getMessage());
        }
    }
}
