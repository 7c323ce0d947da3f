package io.dbaoperator.backup;

import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.ResourceRequirements;
import io.fabric8.kubernetes.api.model.ResourceRequirementsBuilder;

/**
 * What the agent's containers get when the resource's {@code jobTemplate.resources} names nothing: requests, so the
 * scheduler counts them and they are not the first evicted (no requests at all would make them BestEffort), and a
 * memory limit, so a runaway process is stopped at its own container, not by the node. Sized from the agent's JVM
 * (a 96 MiB heap; docs/benchmarks.md) and PostgreSQL's programs; a restore also runs the server, which the restore
 * starts with 128 MB of shared buffers whatever the source had (RestoreCommand). Measured on the real node
 * (RealControlPlaneIT): the backup, the WAL archiver and the restore each succeed within these.
 */
final class AgentResources {

    /** Backups, their verification and the WAL archiver. */
    static final ResourceRequirements BACKUP = new ResourceRequirementsBuilder()
            .addToRequests("cpu", new Quantity("100m")).addToRequests("memory", new Quantity("256Mi"))
            .addToLimits("memory", new Quantity("512Mi")).build();
    /** Restores and restore tests: the agent, PostgreSQL's recovery and pg_amcheck. */
    static final ResourceRequirements RESTORE = new ResourceRequirementsBuilder()
            .addToRequests("cpu", new Quantity("250m")).addToRequests("memory", new Quantity("512Mi"))
            .addToLimits("memory", new Quantity("1Gi")).build();

    private AgentResources() {
    }

    /** {@code given} when the resource named any, else a copy of {@code defaults}. */
    static ResourceRequirements orDefault(ResourceRequirements given, ResourceRequirements defaults) {
        return given != null ? given : new ResourceRequirementsBuilder(defaults).build();
    }
}
