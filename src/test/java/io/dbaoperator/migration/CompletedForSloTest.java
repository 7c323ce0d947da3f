package io.dbaoperator.migration;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;

import org.junit.jupiter.api.Test;

import io.dbaoperator.api.migration.DatabaseMigrationStatus;

/** SLO 1 per migration: completed before the window it started in closed, or late; without a window, nothing. */
class CompletedForSloTest {

    static DatabaseMigrationStatus startedIn(Instant opened, Instant closes) {
        DatabaseMigrationStatus st = new DatabaseMigrationStatus();
        st.maintenance = new DatabaseMigrationStatus.WindowOutcome();
        st.maintenance.windowOpenedAt = opened.toString();
        st.maintenance.windowClosesAt = closes.toString();
        return st;
    }

    @Test
    void insideLateOrWithoutAWindow() {
        DatabaseMigrationStatus inside = startedIn(Instant.now().minusSeconds(60), Instant.now().plusSeconds(60));
        DatabaseMigrationReconciler.completedForSlo(inside);
        assertThat(inside.maintenance.completedInWindow).isTrue();
        DatabaseMigrationStatus late = startedIn(Instant.now().minusSeconds(120), Instant.now().minusSeconds(60));
        DatabaseMigrationReconciler.completedForSlo(late);
        assertThat(late.maintenance.completedInWindow).isFalse();
        assertThat(late.maintenance.completedAt).isNotNull();
        String first = late.maintenance.completedAt;
        DatabaseMigrationReconciler.completedForSlo(late);
        assertThat(late.maintenance.completedAt).as("recorded once").isEqualTo(first);
        DatabaseMigrationStatus none = new DatabaseMigrationStatus();
        DatabaseMigrationReconciler.completedForSlo(none);
        assertThat(none.maintenance).isNull();
    }

    @Test
    void expandAndContractAreEachHeldToTheirRehearsedTime_TheBackfillIsNot() {
        DatabaseMigrationStatus st = new DatabaseMigrationStatus();
        st.phase = io.dbaoperator.api.migration.MigrationPhase.Expanding;
        assertThat(DatabaseMigrationReconciler.ddlEstimate(st)).as("no rehearsal").isNull();
        st.rehearsal = new DatabaseMigrationStatus.Rehearsal();
        st.rehearsal.durationMs = 60_000L;
        st.rehearsal.expandMs = 4_000L;
        st.rehearsal.backfillMs = 40_000L;
        st.rehearsal.contractMs = 9_000L;
        assertThat(DatabaseMigrationReconciler.ddlEstimate(st)).isEqualTo(java.time.Duration.ofSeconds(4));
        st.phase = io.dbaoperator.api.migration.MigrationPhase.Backfilling;
        assertThat(DatabaseMigrationReconciler.ddlEstimate(st)).as("sliced at the window's close").isNull();
        st.phase = io.dbaoperator.api.migration.MigrationPhase.Contracting;
        assertThat(DatabaseMigrationReconciler.ddlEstimate(st)).isEqualTo(java.time.Duration.ofSeconds(9));
        st.rehearsal.contractMs = null;
        assertThat(DatabaseMigrationReconciler.ddlEstimate(st)).as("rehearsed before per-step times").isNull();
    }
}
