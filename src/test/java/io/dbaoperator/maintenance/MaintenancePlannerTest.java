package io.dbaoperator.maintenance;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import io.dbaoperator.maintenance.MaintenanceFacts.Index;
import io.dbaoperator.maintenance.MaintenanceFacts.Table;
import io.dbaoperator.maintenance.MaintenancePlanner.Duty;
import io.dbaoperator.maintenance.MaintenancePlanner.Kind;
import io.dbaoperator.maintenance.MaintenancePlanner.Policy;
import io.dbaoperator.maintenance.MaintenancePlanner.Task;
import io.dbaoperator.maintenance.MaintenancePlanner.Thresholds;

/** The plan from synthetic evidence: what passes which threshold, in what order, and what waits for a person. */
class MaintenancePlannerTest {

    static final Instant T = Instant.parse("2026-12-01T02:00:00Z");
    static final long MIB = 1024 * 1024;

    static Table table(String name, long live, long dead, long mods, long xidAge) {
        return new Table("public", name, live, dead, mods, 100 * MIB, xidAge, 0, T, T, null, null, true);
    }

    static Index index(String name, String table, long size, boolean valid, Double bloat) {
        return new Index("public", name, "public." + table, "btree", size, valid, bloat, bloat == null ? null
                : "pgstatindex", 1, !valid && name.matches(".*_cc(new|old)[0-9]*"));
    }

    static final MaintenanceFacts FACTS = new MaintenanceFacts(List.of(
            table("quiet", 100_000, 10, 10, 1_000), // nothing to do
            table("churn", 100_000, 40_000, 0, 1_000), // 29% dead
            table("churn_more", 100_000, 90_000, 0, 1_000), // 47% dead
            table("old", 100_000, 0, 0, 150_000_000), // past the freeze age
            table("ancient", 100_000, 0, 0, 1_200_000_000), // past the urgent age
            table("grown", 100_000, 0, 20_000, 1_000), // stale statistics
            table("logs", 100_000, 80_000, 0, 1_000)), // dead, but excluded
            List.of(index("churn_pkey", "churn", 200 * MIB, true, 45.0),
                    index("churn_big", "churn", 2048 * MIB, true, 35.0),
                    index("churn_tiny", "churn", MIB, true, 80.0), // below minIndexBytes
                    index("churn_fresh", "churn", 200 * MIB, true, 5.0),
                    index("grown_name", "grown", 20 * MIB, false, null), // INVALID
                    index("grown_name_ccnew", "grown", 20 * MIB, false, null), // a REINDEX's leftover
                    index("logs_at", "logs", 500 * MIB, true, 90.0)), // excluded with its table
            true, false, 200_000_000);

    @Test
    void eachObjectPastAThresholdGetsOneTaskThatSaysWhy_InTheOrderADbaWorks() {
        Policy p = new Policy(EnumSet.allOf(Duty.class), Thresholds.DEFAULTS, Map.of(), List.of(), List.of("logs"),
                1024 * MIB);
        List<Task> plan = MaintenancePlanner.plan(p, FACTS);
        assertThat(plan).extracting(t -> t.kind() + " " + t.object()).containsExactly(
                "Freeze public.ancient", "Freeze public.old", "Vacuum public.churn_more", "Vacuum public.churn",
                "Analyze public.grown", "DropLeftover public.grown_name_ccnew", "Reindex public.grown_name",
                "Reindex public.churn_big", "Reindex public.churn_pkey");
        assertThat(plan.get(0).urgent()).isTrue();
        assertThat(plan.get(0).why()).isEqualTo("transaction ID age 1200000000 (freeze at 100000000); past the "
                + "urgent age 1000000000: runs outside the maintenance window if need be");
        assertThat(plan.get(1).urgent()).isFalse();
        assertThat(plan.get(3).why()).isEqualTo("29% dead tuples (40000 dead, 100000 live), last vacuum "
                + "2026-12-01T02:00:00Z");
        assertThat(plan.get(4).why()).isEqualTo("20000 rows modified since the last analyze at 2026-12-01T02:00:00Z "
                + "(100000 live tuples)");
        assertThat(plan.get(7).why()).isEqualTo("bloat 35% (pgstatindex) of 2.0 GiB: about 716.8 MiB to give back");
        assertThat(plan.get(7).approval()).as("2 GiB: at least reindexApprovalBytes").isTrue();
        assertThat(plan.get(8).approval()).isFalse();
        assertThat(plan).noneMatch(t -> t.table().equals("public.logs"));
    }

    @Test
    void aTablesOwnThresholdsIncludeListsAndDutiesNarrowThePlan() {
        Thresholds strict = new Thresholds(0.5, 1_000, 0.5, 1_000, 100_000_000, 1_000_000_000L, 50, 2 * MIB, 40, 64 * MIB);
        Policy p = new Policy(EnumSet.of(Duty.vacuum, Duty.reindex), Thresholds.DEFAULTS, Map.of("churn", strict),
                List.of("churn*"), List.of(), 1024 * MIB);
        List<Task> plan = MaintenancePlanner.plan(p, FACTS);
        // churn's own 50%: its 29% dead and 45%/35% bloat are not enough; churn_more keeps the defaults
        assertThat(plan).extracting(t -> t.kind() + " " + t.object()).containsExactly("Vacuum public.churn_more");
        assertThat(MaintenancePlanner.problems(p, FACTS)).isEmpty();
    }

    @Test
    void aBtreeEstimateComparesTheRowsExpectedBytesWithItsPages() {
        // 100,000 rows of 24-byte keys: 36 bytes each with header and line pointer; 7,336 usable bytes a page at
        // fillfactor 90: 491 leaf pages, 497 with the inner pages and the meta page
        assertThat(MaintenanceSurvey.estimate(100_000, 24, 497, 90)).isCloseTo(0.0, org.assertj.core.data.Offset
                .offset(0.5));
        assertThat(MaintenanceSurvey.estimate(100_000, 24, 994, 90)).isCloseTo(50.0, org.assertj.core.data.Offset
                .offset(0.5));
        assertThat(MaintenanceSurvey.estimate(100, 24, 1, 90)).as("a one-page index: not estimated").isNull();
    }

    @Test
    void aSpecVacuumsTheTablesItsIncludeAndExcludeLeave_WhenItsTasksHoldVacuum() {
        var spec = new io.dbaoperator.api.maintenance.DatabaseMaintenanceSpec();
        assertThat(spec.vacuums("public.orders")).as("every table by default").isTrue();
        spec.include = List.of("orders", "audit.*");
        spec.exclude = List.of("audit.big_*");
        assertThat(spec.vacuums("public.orders")).isTrue();
        assertThat(spec.vacuums("audit.events")).isTrue();
        assertThat(spec.vacuums("audit.big_log")).isFalse();
        assertThat(spec.vacuums("public.customers")).isFalse();
        spec.tasks = List.of(io.dbaoperator.api.maintenance.DatabaseMaintenanceSpec.Task.reindex);
        assertThat(spec.vacuums("public.orders")).as("not without the vacuum task").isFalse();
    }
}
