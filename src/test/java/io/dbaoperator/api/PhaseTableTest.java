package io.dbaoperator.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import io.dbaoperator.api.backup.BackupPolicyPhase;
import io.dbaoperator.api.backup.RestorePhase;
import io.dbaoperator.api.common.Phase;
import io.dbaoperator.api.disposal.DisposalPhase;
import io.dbaoperator.api.migration.MigrationPhase;
import io.dbaoperator.api.tuning.TuningPhase;

/**
 * Each kind's phase table: {@link Phase#move} makes exactly the moves it holds, every phase is reachable and can
 * end (or, for a policy, come back), and the enum's Javadoc and docs/architecture.md show that same table.
 */
class PhaseTableTest {

    /** The kind each phase enum belongs to, in the order docs/architecture.md lists them. */
    static final Map<String, Class<? extends Enum<?>>> KINDS = new LinkedHashMap<>();
    static {
        KINDS.put("DatabaseMigration", MigrationPhase.class);
        KINDS.put("BackupPolicy", BackupPolicyPhase.class);
        KINDS.put("BackupRestore", RestorePhase.class);
        KINDS.put("QueryTuningRequest", TuningPhase.class);
        KINDS.put("DisposalJob", DisposalPhase.class);
        KINDS.put("DatabaseMaintenance", io.dbaoperator.api.maintenance.MaintenancePhase.class);
    }

    static List<String> kinds() {
        return List.copyOf(KINDS.keySet());
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    static <P extends Enum<P> & Phase<P>> List<P> phases(String kind) {
        return Arrays.asList((P[]) ((Class) KINDS.get(kind)).getEnumConstants());
    }

    @ParameterizedTest
    @MethodSource("kinds")
    <P extends Enum<P> & Phase<P>> void moveMakesExactlyTheMovesOfTheTable(String kind) {
        List<P> phases = phases(kind);
        for (P from : phases) {
            for (P to : phases) {
                if (from == to || from.next().contains(to)) {
                    assertThat(Phase.move(from, to)).isSameAs(to);
                } else {
                    assertThatThrownBy(() -> Phase.move(from, to)).isInstanceOf(Phase.IllegalMove.class)
                            .hasMessage(from.getDeclaringClass().getSimpleName() + " cannot move from " + from
                                    + " to " + to);
                }
            }
            if (from.initial()) {
                assertThat(Phase.move(null, from)).isSameAs(from);
            } else {
                assertThatThrownBy(() -> Phase.move(null, from)).isInstanceOf(Phase.IllegalMove.class);
            }
            assertThat(from.next()).as("%s does not move to itself in the table", from).doesNotContain(from);
        }
    }

    @ParameterizedTest
    @MethodSource("kinds")
    <P extends Enum<P> & Phase<P>> void everyPhaseIsReachedAndEveryWorkflowCanEnd(String kind) {
        List<P> phases = phases(kind);
        Set<P> reached = reach(phases.stream().filter(Phase::initial).toList());
        assertThat(reached).as("reachable from a first phase").containsExactlyInAnyOrderElementsOf(phases);
        boolean anyTerminal = phases.stream().anyMatch(Phase::terminal);
        for (P p : phases) {
            Set<P> from = reach(List.of(p));
            if (anyTerminal) {
                assertThat(from.stream().anyMatch(Phase::terminal)).as("%s can end", p).isTrue();
            } else {
                // a policy lives on: from any phase it can come back to every other
                assertThat(from).as("from %s", p).containsExactlyInAnyOrderElementsOf(phases);
            }
        }
    }

    static <P extends Enum<P> & Phase<P>> Set<P> reach(List<P> start) {
        Set<P> seen = new java.util.HashSet<>(start);
        ArrayDeque<P> todo = new ArrayDeque<>(start);
        while (!todo.isEmpty()) {
            for (P n : todo.pop().next()) {
                if (seen.add(n)) {
                    todo.add(n);
                }
            }
        }
        return seen;
    }

    static final Pattern ROW = Pattern.compile("<tr><td>([A-Za-z() ]+)</td><td>([A-Za-z, ]+)</td>");

    @ParameterizedTest
    @MethodSource("kinds")
    <P extends Enum<P> & Phase<P>> void theEnumsJavadocIsItsTable(String kind) throws IOException {
        Class<?> type = KINDS.get(kind);
        Path source = Path.of("src/main/java", type.getName().replace('.', '/') + ".java");
        String javadoc = Files.readString(source);
        javadoc = javadoc.substring(0, javadoc.indexOf("public enum")).replaceAll("\n \\* ?", " ");
        Map<String, Set<String>> documented = new LinkedHashMap<>();
        Matcher m = ROW.matcher(javadoc);
        while (m.find()) {
            documented.put(m.group(1), new TreeSet<>(Arrays.asList(m.group(2).split(", "))));
        }
        assertThat(documented).isEqualTo(table(kind));
    }

    /** from -> to, as the Javadoc and the docs write it: "(none)" for the first phase, "any" for all. */
    static <P extends Enum<P> & Phase<P>> Map<String, Set<String>> table(String kind) {
        List<P> phases = phases(kind);
        Map<String, Set<String>> t = new LinkedHashMap<>();
        Set<String> first = phases.stream().filter(Phase::initial).map(Enum::name)
                .collect(Collectors.toCollection(TreeSet::new));
        t.put("(none)", first.size() == phases.size() ? new TreeSet<>(Set.of("any")) : first);
        for (P p : phases) {
            if (!p.terminal()) {
                t.put(p.name(), p.next().stream().map(Enum::name).collect(Collectors.toCollection(TreeSet::new)));
            }
        }
        return t;
    }

    /** The table as docs/architecture.md shows it. */
    static <P extends Enum<P> & Phase<P>> String markdown(String kind) {
        List<P> phases = phases(kind);
        StringBuilder b = new StringBuilder("| " + kind + " phase | may move to |\n|---|---|\n");
        Map<String, Set<String>> t = table(kind);
        t.forEach((from, to) -> b.append("| ").append(from).append(" | ").append(String.join(", ", order(phases, to)))
                .append(" |\n"));
        String terminal = phases.stream().filter(Phase::terminal).map(Enum::name).collect(Collectors.joining(", "));
        if (!terminal.isEmpty()) {
            b.append("| ").append(terminal).append(" | (terminal) |\n");
        }
        return b.toString();
    }

    static <P extends Enum<P>> List<String> order(List<P> phases, Set<String> names) {
        if (names.equals(Set.of("any"))) {
            return List.of("any");
        }
        return phases.stream().map(Enum::name).filter(names::contains).toList();
    }

    @ParameterizedTest
    @MethodSource("kinds")
    void docsArchitectureShowsTheTable(String kind) throws IOException {
        assertThat(Files.readString(Path.of("docs/architecture.md"))).as("docs/architecture.md's table for %s; "
                + "expected:%n%s", kind, markdown(kind)).contains(markdown(kind));
    }
}
