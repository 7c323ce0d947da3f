package io.dbaoperator.config;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.Test;

/** What losing the Lease does; HelmIT shows it on the real node (a deleted leader stops within its grace period). */
class LeaderElectionTest {

    @Test
    void losingTheLeaseWhileRunningExitsAndLosingItOnTheWayDownDoesNot() {
        AtomicInteger exits = new AtomicInteger();
        LeaderElection.stoppedLeading(() -> false, exits::incrementAndGet);
        assertThat(exits).hasValue(1);
        LeaderElection.stoppedLeading(() -> true, exits::incrementAndGet);
        assertThat(exits).as("System.exit inside the JVM's shutdown would block it until SIGKILL").hasValue(1);
    }

    @Test
    void aRunningJvmIsNotShuttingDown() {
        assertThat(LeaderElection.shuttingDown()).isFalse();
    }

    @Test
    void theLeaseIsInThePodsNamespaceUnlessConfiguredAndTheSdkDoesNotExitOnItsOwn() {
        LeaderElection e = new LeaderElection("dba-leader", Optional.empty(), Optional.of("ops"));
        assertThat(e.getLeaseName()).isEqualTo("dba-leader");
        assertThat(e.getLeaseNamespace()).contains("ops");
        assertThat(e.isExitOnStopLeading()).isFalse();
        assertThat(e.getLeaderCallbacks()).isPresent();
        assertThat(new LeaderElection("l", Optional.of("elsewhere"), Optional.of("ops")).getLeaseNamespace())
                .contains("elsewhere");
    }
}
