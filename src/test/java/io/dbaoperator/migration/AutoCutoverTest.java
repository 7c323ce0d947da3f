package io.dbaoperator.migration;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.time.Instant;

import org.junit.jupiter.api.Test;

import io.dbaoperator.api.migration.DatabaseMigrationStatus.CutoverProgress;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.DeploymentBuilder;

class AutoCutoverTest {

    static final Instant T0 = Instant.parse("2026-11-21T10:00:00Z");
    static final Duration PERIOD = Duration.ofMinutes(5);

    static Deployment deployment(long generation, Long observed, int updated, int available) {
        return new DeploymentBuilder().withNewMetadata().withName("app").withGeneration(generation).endMetadata()
                .withNewSpec().withReplicas(3).endSpec().withNewStatus().withObservedGeneration(observed)
                .withReplicas(3).withUpdatedReplicas(updated).withAvailableReplicas(available).endStatus().build();
    }

    static CutoverProgress baseline(long generation) {
        CutoverProgress p = new CutoverProgress();
        p.baselineGeneration = generation;
        return p;
    }

    @Test
    void anOldRolloutIsNotACutover() {
        var d = AutoCutover.decide(deployment(4, 4L, 3, 3), "app", baseline(4), PERIOD, T0);
        assertThat(d.done()).isFalse();
        assertThat(d.waitingFor()).contains("still at generation 4");
    }

    @Test
    void aNewRolloutMustCompleteAndStayHealthyForTheValidationPeriod() {
        CutoverProgress p = baseline(4);
        assertThat(AutoCutover.decide(deployment(5, 4L, 0, 3), "app", p, PERIOD, T0).waitingFor())
                .contains("rolling out");
        assertThat(AutoCutover.decide(deployment(5, 5L, 2, 3), "app", p, PERIOD, T0).done()).isFalse();
        var seen = AutoCutover.decide(deployment(5, 5L, 3, 3), "app", p, PERIOD, T0);
        assertThat(seen.done()).isFalse();
        assertThat(p.rolledOutAt).isEqualTo(T0.toString());
        assertThat(seen.waitingFor()).contains("validating until 2026-11-21T10:05:00Z");
        assertThat(AutoCutover.decide(deployment(5, 5L, 3, 3), "app", p, PERIOD, T0.plusSeconds(299)).done()).isFalse();
        assertThat(AutoCutover.decide(deployment(5, 5L, 3, 3), "app", p, PERIOD, T0.plusSeconds(300)).done()).isTrue();
    }

    @Test
    void aRolloutThatStopsBeingCompleteStartsThePeriodAgain() {
        CutoverProgress p = baseline(4);
        AutoCutover.decide(deployment(5, 5L, 3, 3), "app", p, PERIOD, T0);
        AutoCutover.decide(deployment(5, 5L, 3, 2), "app", p, PERIOD, T0.plusSeconds(200)); // a pod fell over
        assertThat(p.rolledOutAt).isNull();
        AutoCutover.decide(deployment(5, 5L, 3, 3), "app", p, PERIOD, T0.plusSeconds(240));
        assertThat(AutoCutover.decide(deployment(5, 5L, 3, 3), "app", p, PERIOD, T0.plusSeconds(400)).done()).isFalse();
        assertThat(AutoCutover.decide(deployment(6, 6L, 3, 3), "app", p, PERIOD, T0.plusSeconds(600)).done()).isFalse();
        assertThat(p.rolledOutGeneration).isEqualTo(6L);
    }

    @Test
    void aMissingDeploymentIsWaitedFor() {
        assertThat(AutoCutover.decide(null, "app", baseline(1), PERIOD, T0).waitingFor()).contains("does not exist");
    }
}
