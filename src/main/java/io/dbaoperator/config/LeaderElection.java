package io.dbaoperator.config;

import java.util.Optional;

import org.eclipse.microprofile.config.inject.ConfigProperty;

import io.javaoperatorsdk.operator.api.config.LeaderElectionConfiguration;
import jakarta.inject.Singleton;

/**
 * Leader election on a Lease, so that two replicas of the operator are safe: only the leader reconciles, the other
 * waits to take over. Quarkus-operator-sdk turns it on in the prod profile and looks up this bean; without one it
 * would run every replica as a leader. The Lease lives in the operator's namespace (POD_NAMESPACE from the
 * Downward API in deploy/ and the Helm chart) unless {@code dba.leader-election.lease-namespace} says otherwise.
 * The database side has its own guard anyway: migrations and disposals take advisory locks.
 */
@Singleton
public class LeaderElection extends LeaderElectionConfiguration {

    public LeaderElection(
            @ConfigProperty(name = "dba.leader-election.lease-name", defaultValue = "dba-operator-leader") String name,
            @ConfigProperty(name = "dba.leader-election.lease-namespace") Optional<String> namespace,
            @ConfigProperty(name = "POD_NAMESPACE") Optional<String> podNamespace) {
        super(name, namespace.or(() -> podNamespace).orElse(null));
    }
}
