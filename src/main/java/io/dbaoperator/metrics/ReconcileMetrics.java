package io.dbaoperator.metrics;

import org.eclipse.microprofile.config.inject.ConfigProperty;

import io.javaoperatorsdk.operator.api.monitoring.Metrics;
import io.javaoperatorsdk.operator.monitoring.micrometer.MicrometerMetrics;
import io.micrometer.core.instrument.MeterRegistry;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;

/**
 * The Java Operator SDK's reconciliation metrics, per kind. The SDK's default also keeps series per resource
 * (name and namespace labels): meters for every resource, so the operator's memory and every Prometheus scrape
 * grow with the fleet (bench/operator measures it), and a per-object label is what Prometheus advises against.
 * Per-resource state is in each resource's status and in the fleet metrics ({@link FleetMetrics}); a small fleet
 * that wants the SDK's per-resource series turns {@code dba.metrics.per-resource-reconciles} on.
 */
@Singleton
public class ReconcileMetrics {

    @Produces
    @Singleton
    Metrics reconcileMetrics(MeterRegistry registry,
            @ConfigProperty(name = "dba.metrics.per-resource-reconciles", defaultValue = "false") boolean perResource) {
        return perResource ? MicrometerMetrics.newPerResourceCollectingMicrometerMetricsBuilder(registry).build()
                : MicrometerMetrics.withoutPerResourceMetrics(registry);
    }
}
