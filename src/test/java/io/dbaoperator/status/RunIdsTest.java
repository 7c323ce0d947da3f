package io.dbaoperator.status;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;

import org.junit.jupiter.api.Test;

class RunIdsTest {

    @Test
    void aRunIdIsItsStartToTheMillisecond_AndNeverThePreviousRunsId() {
        Instant at = Instant.parse("2026-12-06T14:31:27.642917Z");
        assertThat(RunIds.next(at, null)).isEqualTo("20261206T143127.642Z");
        assertThat(RunIds.next(Instant.parse("2026-12-06T14:31:27Z"), null)).isEqualTo("20261206T143127.000Z");
        // a run asked for in the millisecond the last one started
        assertThat(RunIds.next(at, "20261206T143127.642Z")).isEqualTo("20261206T143127.643Z");
        assertThat(RunIds.next(at.plusMillis(300), "20261206T143127.642Z")).isEqualTo("20261206T143127.942Z");
    }
}
