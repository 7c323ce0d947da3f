package io.dbaoperator.migration;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.time.Instant;

import org.junit.jupiter.api.Test;

import io.dbaoperator.contract.StagingCopies;

/** What a rehearsal records of its staging database, from the comment a staging refresh wrote on the copy. Pure. */
class StagingCopyTest {

    @Test
    void aRefreshsCopySaysWhichBackupItHoldsAndHowOldItsDataIs() {
        Instant taken = Instant.parse("2026-12-05T03:15:42.123456Z");
        String comment = StagingCopies.comment("20261205T031500Z", taken.toString(), "shop", "app-staging", 7);
        String described = Rehearsal.describe(comment, taken.plus(Duration.ofHours(50).plusMinutes(5)));
        assertThat(described).startsWith("backup 20261205T031500Z taken 2026-12-05T03:15:42.123456Z, masked, "
                + "restored by BackupRestore shop/app-staging run 7").endsWith("its data was 2 d 2 h 5 min old");
    }

    @Test
    void anyOtherDatabaseHasNoKnownAge() {
        assertThat(Rehearsal.describe(null, Instant.now())).isEqualTo("not a staging refresh's copy (its data's age "
                + "is unknown)");
        assertThat(Rehearsal.describe("the app's staging", Instant.now())).startsWith("not a staging refresh's copy");
    }
}
