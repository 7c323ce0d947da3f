package io.dbaoperator.kube;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.ZonedDateTime;

import org.junit.jupiter.api.Test;

class CronScheduleTest {

    @Test
    void nextRunIsReadInTheTimeZone() {
        CronSchedule s = CronSchedule.parse("spec.schedule", "0 2 * * *", "Europe/Paris");
        ZonedDateTime next = s.next(ZonedDateTime.parse("2026-11-21T09:00:00Z")).orElseThrow();
        assertThat(next.toInstant().toString()).isEqualTo("2026-11-22T01:00:00Z");
    }

    @Test
    void invalidExpressionsAndZonesAreExplained() {
        assertThatThrownBy(() -> CronSchedule.parse("spec.schedule", "61 * * * *", "UTC"))
                .hasMessageContaining("InvalidSchedule").hasMessageContaining("spec.schedule '61 * * * *'");
        assertThatThrownBy(() -> CronSchedule.parse("spec.schedule", "every night", "UTC"))
                .hasMessageContaining("not a valid cron");
        assertThatThrownBy(() -> CronSchedule.parse("spec.schedule", "0 2 * * *", "Mars/Olympus"))
                .hasMessageContaining("Mars/Olympus");
    }
}
