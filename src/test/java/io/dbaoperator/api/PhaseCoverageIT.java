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
import io.dbaoperator.fakes.UnitPhaseMoves;
import io.dbaoperator.harness.OperatorHarness;

/**
 * Every move of every kind's phase table is made by some test: of the operator tier (the record
 * {@link OperatorHarness#PHASE_MOVES} that its operator wrote while the surefire tier ran, which runs before this
 * one in {@code mvn verify}) or of the handlers' unit tests with fakes ({@link UnitPhaseMoves#RECORD}), or is
 * listed in {@link #NOT_MADE} with the reason no test makes it. Moves into and out of Pending are written by
 * transient faults, whose timing an operator test does not fix, and a few moves depend on when the operator looks
 * ({@link #SOMETIMES}): reported, not required. Nothing else can happen: {@link Phase#move} refuses a move outside
 * the table ({@link PhaseTableTest}).
 */
class PhaseCoverageIT {

    /** "Kind from to" -> why no test makes this move yet: each a gap in the suite, not a move that cannot happen. */
    static final Map<String, String> NOT_MADE = new java.util.HashMap<>();

    /**
     * "Kind from to" -> why a test run makes this move only when the operator looks at the right moment: reported
     * when not made, never required (as the moves into and out of Pending).
     */
    static final Map<String, String> SOMETIMES = Map.of(
            "RestorePhase Restoring Verifying", "Verifying is seen only when a poll falls in the seconds pg_amcheck "
                    + "and the checks take; otherwise the restore goes from Restoring to Starting",
            "RestorePhase Verifying Starting", "after Restoring -> Verifying, which a poll may miss",
            "RestorePhase Restoring Swapping", "a staging refresh's copy is swapped in from Restoring or from "
                    + "Verifying, as the poll falls before or in the seconds the agent masks and checks",
            "RestorePhase Verifying Swapping", "see Restoring -> Swapping",
            "RestorePhase Restoring Waiting", "a staging refresh's run refused by the agent ends from Restoring or "
                    + "from Verifying, as the poll falls",
            "RestorePhase Verifying Waiting", "see Restoring -> Waiting");

    private static void notMade(String why, String... moves) {
        for (String m : moves) {
            NOT_MADE.put(m, why);
        }
    }

    static {
        String firstFault = "Pending is written when the first validation meets a transient fault (the database or "
                + "the bucket does not answer); no test starts a resource against an unreachable database";
        notMade(firstFault, "DisposalPhase Pending Counting", "TuningPhase Pending Analyzing",
                "RestorePhase Pending AwaitingApproval", "BackupPolicyPhase Pending Active",
                "BackupPolicyPhase Pending Suspended", "BackupPolicyPhase Pending Failed");
        notMade("no test makes the pre-migration backup the policy takes fail", "MigrationPhase BackingUp Failed");
        notMade("no test makes a backfill batch fail for good (lock timeouts and a lost connection are tested: they "
                + "retry and resume)", "MigrationPhase Backfilling RollingBack", "MigrationPhase Backfilling Failed");
        notMade("a cutover rejected with nothing applied needs a history missing from the database (expand ran "
                + "before AwaitingCutover); rejecting after expand (AwaitingCutover -> RollingBack) is tested",
                "MigrationPhase AwaitingCutover Rejected");
        notMade("no test makes a contract statement fail", "MigrationPhase Contracting Failed");
        notMade("no test makes the rollback SQL itself fail", "MigrationPhase RollingBack Failed");
        notMade("staging is tested under AfterApproval (TestingOnStaging -> AwaitingApproval) only; the next phase "
                + "is the same choice as without staging", "TuningPhase TestingOnStaging Recommended",
                "TuningPhase TestingOnStaging Applying");
        notMade("no test has a candidate that staging does not use", "TuningPhase TestingOnStaging NoRecommendation");
        notMade("no test rejects a proposed removal", "TuningPhase AwaitingRemovalApproval Completed");
        notMade("no test has the plan, made again while waiting, stop holding (retention removing its backup)",
                "RestorePhase AwaitingApproval Failed");
        notMade("the damaged-backup test fails in Restoring: the operator sees the failed record before a verifying "
                + "one", "RestorePhase Verifying Failed");
        notMade("a policy's moves between suspended, failing and invalid: the tests take each state from Active or "
                + "from its first reconcile, not from one another", "BackupPolicyPhase Degraded Suspended",
                "BackupPolicyPhase Suspended Active", "BackupPolicyPhase Suspended Degraded",
                "BackupPolicyPhase Failed Suspended", "BackupPolicyPhase Failed Degraded",
                "BackupPolicyPhase none Suspended", "BackupPolicyPhase none Degraded");
    }

    @Test
    <P extends Enum<P> & Phase<P>> void everyMoveOfEveryTableIsMadeBySomeTest() throws IOException {
        assertThat(OperatorHarness.PHASE_MOVES).as("the operator tier's record of moves: run mvn verify, whose "
                + "surefire tier writes it before this test runs").exists();
        Set<String> made = new TreeSet<>(Files.readAllLines(OperatorHarness.PHASE_MOVES));
        if (Files.exists(UnitPhaseMoves.RECORD)) {
            made.addAll(Files.readAllLines(UnitPhaseMoves.RECORD)); // the handler tests' moves, made with fakes
        }
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
                if (SOMETIMES.containsKey(move)) {
                    if (!made.contains(move)) {
                        System.out.println("  not made in this run (" + SOMETIMES.get(move) + "): " + move);
                    }
                    continue;
                }
                if (move.endsWith(" Pending") || move.contains(" Pending ")) {
                    // written by a transient fault (a database that does not answer for a moment): a test run
                    // makes it when a fault happens to fall there, so it is reported, never required
                    if (!made.contains(move)) {
                        System.out.println("  not made in this run (a fault's timing): " + move);
                    }
                    continue;
                }
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
