package io.dbaoperator.api;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import org.junit.jupiter.api.Test;

import io.dbaoperator.api.common.Phase;
import io.dbaoperator.harness.OperatorHarness;

/**
 * Every move of every kind's phase table is made by some test of the operator tier (the record
 * {@link OperatorHarness#PHASE_MOVES} that its operator wrote while the surefire tier ran, which runs before this
 * one in {@code mvn verify}), or is listed in {@link #NOT_MADE} with the reason no test makes it. Nothing else can
 * happen: {@link Phase#move} refuses a move outside the table ({@link PhaseTableTest}).
 */
class PhaseCoverageIT {

    /** "Kind from to" -> why no test makes this move. */
    static final Map<String, String> NOT_MADE = Map.ofEntries();

    @Test
    <P extends Enum<P> & Phase<P>> void everyMoveOfEveryTableIsMadeBySomeTest() throws IOException {
        assertThat(OperatorHarness.PHASE_MOVES).as("the operator tier's record of moves: run mvn verify, whose "
                + "surefire tier writes it before this test runs").exists();
        Set<String> made = new TreeSet<>(Files.readAllLines(OperatorHarness.PHASE_MOVES));
        List<String> missing = new ArrayList<>();
        List<String> listedButMade = new ArrayList<>();
        for (String kind : PhaseTableTest.kinds()) {
            List<P> phases = PhaseTableTest.phases(kind);
            String type = phases.get(0).getDeclaringClass().getSimpleName();
            List<String> moves = new ArrayList<>();
            phases.stream().filter(Phase::initial).forEach(p -> moves.add(type + " none " + p.name()));
            for (P from : phases) {
                from.next().forEach(to -> moves.add(type + " " + from.name() + " " + to.name()));
            }
            long covered = moves.stream().filter(made::contains).count();
            System.out.printf("%s: %d of %d moves made by the tests%n", kind, covered, moves.size());
            for (String move : moves) {
                if (!made.contains(move) && !NOT_MADE.containsKey(move)) {
                    missing.add(move);
                }
                if (made.contains(move) && NOT_MADE.containsKey(move)) {
                    listedButMade.add(move);
                }
            }
        }
        if (!listedButMade.isEmpty()) {
            System.out.println("made now, so no longer to be listed in NOT_MADE: " + listedButMade);
        }
        assertThat(missing).as("moves of the phase tables that no test made (make one, or list it with why)")
                .isEmpty();
    }
}
