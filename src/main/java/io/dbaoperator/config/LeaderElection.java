package io.dbaoperator.config;

import java.util.Optional;

import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;

import io.fabric8.kubernetes.client.extended.leaderelection.LeaderCallbacks;
import io.javaoperatorsdk.operator.api.config.LeaderElectionConfiguration;
import jakarta.inject.Singleton;

/**
 * Leader election on a Lease, so that two replicas of the operator are safe: only the leader reconciles, the other
 * waits to take over. Quarkus-operator-sdk turns it on in the prod profile and looks up this bean; without one it
 * would run every replica as a leader. The Lease lives in the operator's namespace (POD_NAMESPACE from the
 * Downward API in deploy/ and the Helm chart) unless {@code dba.leader-election.lease-namespace} says otherwise.
 * The database side has its own guard anyway: migrations and disposals take advisory locks.
 * <p>
 * Losing the Lease while running stops the process at once (the kubelet restarts it as a standby): a replica that
 * no longer leads must not write. The SDK's own exit on losing it is off, because the SDK also "loses" the Lease when
 * the operator stops on SIGTERM, and calling {@code System.exit} from inside the JVM's shutdown blocks forever: the
 * pod then outlived its grace period and was killed (found on the real node, HelmIT).
 */
@Singleton
public class LeaderElection extends LeaderElectionConfiguration {

    private static final Logger LOG = Logger.getLogger(LeaderElection.class);

    public LeaderElection(
            @ConfigProperty(name = "dba.leader-election.lease-name", defaultValue = "dba-operator-leader") String name,
            @ConfigProperty(name = "dba.leader-election.lease-namespace") Optional<String> namespace,
            @ConfigProperty(name = "POD_NAMESPACE") Optional<String> podNamespace) {
        super(name, namespace.or(() -> podNamespace).orElse(null), LEASE_DURATION_DEFAULT_VALUE,
                RENEW_DEADLINE_DEFAULT_VALUE, RETRY_PERIOD_DEFAULT_VALUE, null,
                new LeaderCallbacks(() -> {
                }, () -> stoppedLeading(LeaderElection::shuttingDown, () -> System.exit(1)), leader -> {
                }), false);
    }

    /** What losing the Lease does: exits, unless the JVM is stopping already (then it stops on its own). */
    static void stoppedLeading(java.util.function.BooleanSupplier shuttingDown, Runnable exit) {
        if (shuttingDown.getAsBoolean()) {
            LOG.info("stopped leading: the operator is stopping");
            return;
        }
        LOG.warn("lost the leader election Lease while running: exiting, so that only the leader writes");
        exit.run();
    }

    /** True once the JVM's shutdown has begun (no shutdown hook can be added any more). */
    static boolean shuttingDown() {
        Thread probe = new Thread(() -> {
        });
        try {
            Runtime.getRuntime().addShutdownHook(probe);
            Runtime.getRuntime().removeShutdownHook(probe);
            return false;
        } catch (IllegalStateException e) {
            return true;
        }
    }
}
