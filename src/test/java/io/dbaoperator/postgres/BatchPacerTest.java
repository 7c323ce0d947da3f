package io.dbaoperator.postgres;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;

import org.junit.jupiter.api.Test;

import io.dbaoperator.postgres.BatchPacer.Load;
import io.dbaoperator.postgres.BatchPacer.Pace;

/**
 * The pacer over synthetic timings: a batch's duration follows its size (a fixed cost plus a cost per row, as an
 * index range UPDATE's does), and the pacer is asked after each batch.
 */
class BatchPacerTest {

    static final Duration TARGET = Duration.ofMillis(100);

    /** A server where a batch of n rows takes fixedMs + n * perRowMs. */
    record Server(double fixedMs, double perRowMs) {
        Duration took(int rows) {
            return Duration.ofNanos((long) ((fixedMs + rows * perRowMs) * 1e6));
        }
    }

    static Pace run(BatchPacer pacer, Server server, int batches, Load load) {
        Pace pace = null;
        for (int i = 0; i < batches; i++) {
            int size = pacer.batchSize();
            pace = pacer.next(size, size, server.took(size), load);
        }
        return pace;
    }

    @Test
    void onABusyServerTheBatchShrinksUntilItTakesAboutTheTarget() {
        BatchPacer pacer = new BatchPacer(new BatchPacer.Settings(10_000, 100, TARGET, Duration.ZERO, 0));
        Server busy = new Server(2, 0.1); // 10,000 rows: about a second
        Pace pace = run(pacer, busy, 12, Load.QUIET);
        assertThat(pace.batchSize()).isBetween(900, 1_100); // 2 ms + 980 x 0.1 ms = 100 ms
        assertThat(busy.took(pace.batchSize()).toMillis()).isBetween(80L, 120L);
        assertThat(pace.throttled()).isNull();
    }

    @Test
    void onAnIdleServerItGrowsBackToBatchSizeAndNeverAbove() {
        BatchPacer pacer = new BatchPacer(new BatchPacer.Settings(5_000, 50, TARGET, Duration.ZERO, 0), 60);
        assertThat(pacer.batchSize()).as("resumed at the size the last slice used").isEqualTo(60);
        Pace pace = run(pacer, new Server(1, 0.001), 20, Load.QUIET);
        assertThat(pace.batchSize()).isEqualTo(5_000);
        assertThat(new BatchPacer(new BatchPacer.Settings(5_000, 50, TARGET, Duration.ZERO, 0), 9_999).batchSize())
                .as("a stored size beyond the cap is capped").isEqualTo(5_000);
    }

    @Test
    void oneSlowBatchHalvesTheSizeAtMostAndAShortLastBatchSaysNothingOfTheSize() {
        BatchPacer pacer = new BatchPacer(new BatchPacer.Settings(1_000, 10, TARGET, Duration.ZERO, 0));
        assertThat(pacer.next(1_000, 1_000, Duration.ofSeconds(30), Load.QUIET).batchSize()).isEqualTo(500);
        assertThat(pacer.next(3, 500, Duration.ofSeconds(30), Load.QUIET).batchSize()).isEqualTo(500);
    }

    @Test
    void sessionsBlockedByTheBatchHalveItAndPauseTheNextWithTheReason() {
        BatchPacer pacer = new BatchPacer(new BatchPacer.Settings(1_000, 10, TARGET, Duration.ofMillis(20), 0));
        Pace pace = pacer.next(1_000, 1_000, TARGET, new Load(2, 1));
        assertThat(pace.batchSize()).isEqualTo(500);
        assertThat(pace.pause()).isEqualTo(Duration.ofMillis(300));
        assertThat(pace.throttled()).isEqualTo("2 session(s) waited on the batch's locks: batches of 500 rows, "
                + "300 ms apart");
        for (int i = 0; i < 10; i++) {
            pace = pacer.next(pacer.batchSize(), pacer.batchSize(), TARGET, new Load(100, 1));
        }
        assertThat(pace.batchSize()).as("never under the floor").isEqualTo(10);
        assertThat(pace.pause()).as("never more than MAX_PAUSE").isEqualTo(BatchPacer.MAX_PAUSE);
        pace = pacer.next(10, 10, TARGET, Load.QUIET);
        assertThat(pace.throttled()).as("calm again").isNull();
        assertThat(pace.pause()).as("the configured pause is the least").isEqualTo(Duration.ofMillis(20));
    }

    @Test
    void aFastBatchAtTheCapIsStillHalvedWhenSessionsWaitedOnIt() {
        BatchPacer pacer = new BatchPacer(new BatchPacer.Settings(1_000, 10, TARGET, Duration.ZERO, 0));
        assertThat(pacer.next(1_000, 1_000, Duration.ofMillis(1), new Load(1, 1)).batchSize()).isEqualTo(500);
    }

    @Test
    void aBusyServerLengthensThePauseInProportionOnlyWhenWatched() {
        BatchPacer watched = new BatchPacer(new BatchPacer.Settings(1_000, 10, TARGET, Duration.ZERO, 4));
        Pace pace = watched.next(1_000, 1_000, TARGET, new Load(0, 8));
        assertThat(pace.pause()).isEqualTo(Duration.ofMillis(200));
        assertThat(pace.batchSize()).as("the size follows the batch's own time").isEqualTo(1_000);
        assertThat(pace.throttled()).startsWith("8 active session(s), more than maxActiveSessions 4");
        assertThat(watched.next(1_000, 1_000, TARGET, new Load(0, 4)).throttled()).isNull();
        BatchPacer unwatched = new BatchPacer(new BatchPacer.Settings(1_000, 10, TARGET, Duration.ZERO, 0));
        assertThat(unwatched.next(1_000, 1_000, TARGET, new Load(0, 80)).pause()).isZero();
    }

    @Test
    void aFloorBatchStillSlowSaysSo() {
        BatchPacer pacer = new BatchPacer(new BatchPacer.Settings(1_000, 100, TARGET, Duration.ZERO, 0), 100);
        Pace pace = pacer.next(100, 100, Duration.ofMillis(900), Load.QUIET);
        assertThat(pace.batchSize()).isEqualTo(100);
        assertThat(pace.throttled()).contains("took 900 ms against a 100 ms target");
    }

    @Test
    void theFloorDefaultsToOnePercentOfBatchSizeAndAtLeastTenRows() {
        assertThat(BatchPacer.Settings.of(10_000, Duration.ZERO, null, TARGET).min()).isEqualTo(100);
        assertThat(BatchPacer.Settings.of(500, Duration.ZERO, null, TARGET).min()).isEqualTo(10);
        assertThat(BatchPacer.Settings.of(5, Duration.ZERO, null, TARGET).min()).isEqualTo(5);
    }
}
