package io.dbaoperator.disposal;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Connection;
import java.sql.ResultSet;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

import org.junit.jupiter.api.Test;

import io.dbaoperator.api.common.Pacing;
import io.dbaoperator.api.disposal.DisposalJobSpec;
import io.dbaoperator.api.disposal.DisposalJobStatus;
import io.dbaoperator.harness.RealParts;
import io.dbaoperator.harness.TestPostgres;

/**
 * A Delete rule's batches on the real PostgreSQL, paced: batches that take longer than the target shrink (halved at
 * most per batch, down to the floor), every matching row goes once, and the rule's status shows the batch size the
 * next slice resumes at.
 */
@RealParts
class DisposalPacingTest {

    @Test
    void slowBatchesShrinkToTheFloorAndEveryMatchingRowGoesOnce() throws Exception {
        TestPostgres pg = TestPostgres.get();
        pg.createDatabase("disposal_pacing", "pacing", "pacing-pw");
        pg.exec("disposal_pacing", "drop schema if exists dba_operator cascade", "drop table if exists events",
                "create table events (id bigint primary key, kind text not null)",
                "insert into events select g, case when g % 3 = 0 then 'keep' else 'old' end "
                        + "from generate_series(1, 3000) g",
                "create table batch_log (n serial, rows int)",
                "create function log_batch() returns trigger language plpgsql as $$ begin "
                        + "insert into batch_log (rows) select count(*) from gone; return null; end $$",
                "create trigger log_batch after delete on events referencing old table as gone "
                        + "for each statement execute function log_batch()");
        DisposalJobSpec spec = new DisposalJobSpec();
        DisposalJobSpec.Rule rule = new DisposalJobSpec.Rule();
        rule.name = "old-events";
        rule.table = "events";
        rule.where = "kind = 'old'";
        rule.action = DisposalJobSpec.Action.Delete;
        rule.batchSize = 400;
        spec.rules = List.of(rule);
        Pacing pacing = new Pacing();
        pacing.targetBatchDuration = "1ms"; // no batch of 400 deletes meets it here
        try (Connection c = pg.superuser("disposal_pacing")) {
            DisposalRunner.ensureSchema(c);
            DisposalPlanner.RulePlan plan = DisposalPlanner.plan(c, spec).get(0);
            DisposalRunner runner = new DisposalRunner(Duration.ofMillis(500), Duration.ZERO, pacing);
            DisposalJobStatus.RuleProgress status = new DisposalJobStatus.RuleProgress();
            java.util.concurrent.atomic.AtomicInteger looks = new java.util.concurrent.atomic.AtomicInteger();
            DisposalRunner.Progress first = runner.slice(c, "job", "run-1", plan, null, "approval", Instant.now()
                    .plusSeconds(5), () -> looks.getAndIncrement() > 0, null); // one batch, then stop
            first.report(status);
            assertThat(status.batchSize).as("after one slow batch of 400: 200").isEqualTo(200);
            DisposalRunner.Progress p;
            do {
                p = runner.slice(c, "job", "run-1", plan, null, "approval", Instant.now().plusSeconds(5),
                        () -> false, status.batchSize);
                p.report(status);
            } while (!p.finished());
            assertThat(status.done).isEqualTo(2000);
            assertThat(status.batchSize).as("finished: no batch size shown").isNull();
            try (ResultSet rs = c.createStatement().executeQuery("select count(*) filter (where kind = 'old'), "
                    + "count(*) from events")) {
                rs.next();
                assertThat(rs.getLong(1)).isZero();
                assertThat(rs.getLong(2)).as("the rows outside the rule stay").isEqualTo(1000);
            }
            List<Integer> sizes = new java.util.ArrayList<>();
            try (ResultSet rs = c.createStatement().executeQuery("select rows from batch_log where rows > 0 order by n")) {
                while (rs.next()) {
                    sizes.add(rs.getInt(1));
                }
            }
            assertThat(sizes.subList(0, 3)).as("400, then the resumed 200, halved again").containsExactly(400, 200,
                    100);
            assertThat(sizes.subList(0, sizes.size() - 1)).allSatisfy(n -> assertThat(n).isBetween(10, 400))
                    .contains(10);
        }
        pg.exec("disposal_pacing", "drop table events, batch_log", "drop function log_batch()");
    }
}
