package io.dbaoperator.harness;

import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;

import jakarta.inject.Singleton;

/**
 * The operator's clock in the operator tier: the system's, moved by a test that would otherwise wait for a cron
 * minute. A test sets it to read a little before a window's opening or a schedule's next run, lets the operator
 * look (a change to the resource wakes it: {@link OperatorHarness}'s clients are not the operator's), and puts it
 * back with {@link #reset()} when done, so that the classes after it run on the system's time.
 * <p>
 * Only what is decided by the calendar follows it (maintenance windows, BackupPolicy and DisposalJob schedules); the
 * timestamps the API server, PostgreSQL and the agent write stay on the system's time.
 */
@Singleton
public class TestClock implements InstantSource {

    private static volatile Duration offset = Duration.ZERO;

    @Override
    public Instant instant() {
        return Instant.now().plus(offset);
    }

    /** What the operator's clock reads now. */
    public static Instant now() {
        return Instant.now().plus(offset);
    }

    /** Sets the operator's clock to read {@code lead} before {@code at} now (forward or back). */
    public static void readsJustBefore(Instant at, Duration lead) {
        offset = Duration.between(Instant.now(), at.minus(lead));
    }

    /** The next whole minute on the operator's clock: where a cron schedule fires next. */
    public static Instant nextMinute() {
        return now().atZone(ZoneOffset.UTC).truncatedTo(ChronoUnit.MINUTES).plusMinutes(1).toInstant();
    }

    /** Back to the system's time. */
    public static void reset() {
        offset = Duration.ZERO;
    }
}
