package io.dbaoperator.status;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;

import org.junit.jupiter.api.Test;

class ScheduledRunsTest {

    @Test
    void aRunIdIsItsStartToTheMillisecond_AndNeverThePreviousRunsId() {
        Instant at = Instant.parse("2026-12-06T14:31:27.642917Z");
        assertThat(ScheduledRuns.next(at, null)).isEqualTo("20261206T143127.642Z");
        assertThat(ScheduledRuns.next(Instant.parse("2026-12-06T14:31:27Z"), null)).isEqualTo("20261206T143127.000Z");
        // a run asked for in the millisecond the last one started
        assertThat(ScheduledRuns.next(at, "20261206T143127.642Z")).isEqualTo("20261206T143127.643Z");
        assertThat(ScheduledRuns.next(at.plusMillis(300), "20261206T143127.642Z")).isEqualTo("20261206T143127.942Z");
    }

    @Test
    void theWaitEndsALittleAfterTheNextRun_OrAtOnceWhenItIsPast() {
        Instant now = Instant.parse("2026-12-06T14:00:00Z");
        assertThat(ScheduledRuns.untilNext(null, now)).isNull();
        assertThat(ScheduledRuns.untilNext("2026-12-06T14:01:00Z", now)).isEqualTo(java.time.Duration.ofMillis(60_200));
        assertThat(ScheduledRuns.untilNext("2026-12-06T13:59:00Z", now)).isEqualTo(java.time.Duration.ofSeconds(1));
    }
}
