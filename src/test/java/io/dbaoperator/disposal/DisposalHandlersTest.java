package io.dbaoperator.disposal;

import static io.dbaoperator.fakes.FakeJdbc.row;
import static org.assertj.core.api.Assertions.assertThat;

import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import io.dbaoperator.api.common.DatabaseRef;
import io.dbaoperator.api.common.SecretRef;
import io.dbaoperator.api.disposal.DisposalJob;
import io.dbaoperator.api.disposal.DisposalJobSpec;
import io.dbaoperator.api.disposal.DisposalJobStatus;
import io.dbaoperator.api.disposal.DisposalPhase;
import io.dbaoperator.fakes.Approver;
import io.dbaoperator.fakes.FakeJdbc;
import io.dbaoperator.fakes.FakeReferences;
import io.dbaoperator.fakes.RecordingEvents;
import io.dbaoperator.fakes.UnitPhaseMoves;
import io.dbaoperator.kube.CronSchedule;
import io.dbaoperator.kube.MaintenanceWindows;
import io.dbaoperator.problem.Reason;
import io.dbaoperator.status.ConditionType;
import io.dbaoperator.status.Conditions;
import io.dbaoperator.status.PhaseMachine;
import io.dbaoperator.status.RecordingWriteAhead;
import io.dbaoperator.status.Step;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;

/**
 * Each DisposalJob phase handler alone, on a scripted connection (no Quarkus, no PostgreSQL): the dry run's counts
 * and refusals, the approval gate, and that Disposing changes no row while another disposal holds the database or
 * the window is closed.
 */
@ExtendWith(UnitPhaseMoves.class)
class DisposalHandlersTest {

    private final FakeJdbc db = new FakeJdbc();
    private final RecordingEvents events = new RecordingEvents();
    private final DisposalJob job = job();
    private final DisposalJobStatus st = new DisposalJobStatus();
    private CronSchedule schedule;
    private RecordingWriteAhead log;

    private static DisposalJob job() {
        DisposalJob job = new DisposalJob();
        job.setMetadata(new ObjectMetaBuilder().withName("gdpr").withNamespace("shop").withUid("uid-2")
                .withGeneration(1L).build());
        DisposalJobSpec spec = new DisposalJobSpec();
        spec.database = new DatabaseRef();
        spec.database.secretRef = new SecretRef();
        spec.database.secretRef.name = "prod";
        DisposalJobSpec.Rule rule = new DisposalJobSpec.Rule();
        rule.name = "old-orders";
        rule.table = "orders";
        rule.where = "created_at < now() - interval '7 years'";
        rule.action = DisposalJobSpec.Action.Delete;
        spec.rules = List.of(rule);
        job.setSpec(spec);
        return job;
    }

    /** A window of one hour twelve hours from now: closed whenever the test runs. */
    private static MaintenanceWindows closed() {
        int hour = (Instant.now().atZone(ZoneOffset.UTC).getHour() + 12) % 24;
        return new MaintenanceWindows(Optional.of("0 " + hour + " * * *"), Optional.of("1h"), "UTC");
    }

    private static final MaintenanceWindows NONE = new MaintenanceWindows(Optional.empty(), Optional.empty(), "UTC");

    private DisposalSteps steps(MaintenanceWindows windows) {
        return new DisposalSteps(events, windows, Duration.ofSeconds(5),
                new io.dbaoperator.metrics.OperatorMetrics(new io.micrometer.core.instrument.simple.SimpleMeterRegistry()),
                (j, d) -> List.of());
    }

    private DisposalSteps.Run run() {
        log = new RecordingWriteAhead(job, st);
        return new DisposalSteps.Run(job, st, new DisposalJobReconciler.Inputs(FakeReferences.settings("prod"), null,
                null, schedule, Duration.ZERO), log.log, db.databases(), java.time.Instant.now());
    }

    private Step decide(DisposalSteps steps, DisposalPhase phase) throws SQLException {
        st.phase = phase;
        return steps.machine().handler(phase).decide(run());
    }

    /** The catalog of a table public.orders(id bigint primary key, created_at timestamptz), 1000 rows. */
    private void orders(long matched) {
        db.answer("a.attnum > 0", row("attname", "id", "type", "bigint", "notnull", true),
                row("attname", "created_at", "type", "timestamp with time zone", "notnull", true))
                .answer("FROM pg_index i", row("attname", "id", "type", "bigint"))
                .answer("FROM \"orders\" WHERE", row("count", matched))
                .answer("count(*) FROM \"orders\"", row("count", 1000L));
    }

    /** Counted, approved by dpo, and the approval consumed: the run is Disposing. */
    private void countedAndApproved() throws SQLException {
        counted();
        decide(steps(NONE), DisposalPhase.AwaitingApproval);
        Approver.approve(st, "dpo");
        decide(steps(NONE), DisposalPhase.AwaitingApproval);
    }

    private void counted() {
        DisposalJobStatus.RuleProgress rule = new DisposalJobStatus.RuleProgress();
        rule.name = "old-orders";
        rule.table = "orders";
        rule.action = "Delete";
        rule.matched = 120L;
        rule.done = 0L;
        st.rules = new ArrayList<>(List.of(rule));
        st.rulesDigest = DisposalJobReconciler.rulesDigest(job.getSpec());
        st.runId = "20261204T040000Z";
    }

    @Test
    void everyPhaseThatIsNotTerminalHasAHandlerAndOnlyDisposingActs() {
        PhaseMachine<DisposalPhase, DisposalSteps.Run> m = steps(NONE).machine();
        Set<DisposalPhase> open = EnumSet.noneOf(DisposalPhase.class);
        for (DisposalPhase p : DisposalPhase.values()) {
            if (!p.terminal()) {
                open.add(p);
            }
        }
        assertThat(m.handled()).isEqualTo(open);
        assertThat(m.acting()).containsExactly(DisposalPhase.Disposing);
    }

    @Test
    void aNewJobStartsARunAndCountsWithoutApprovalOrRows() throws SQLException {
        assertThat(decide(steps(NONE), DisposalPhase.Pending)).isEqualTo(Step.next());
        assertThat(st.phase).isEqualTo(DisposalPhase.Counting);
        assertThat(st.runId).isNotBlank();
        assertThat(st.rowsAffected).isZero();
        assertThat(db.opened()).as("deciding to count needs no database").isZero();
    }

    @Test
    void countingReadsOneSnapshotAndAsksForApproval() throws SQLException {
        orders(120);
        assertThat(decide(steps(NONE), DisposalPhase.Counting)).isEqualTo(Step.next());
        assertThat(st.phase).isEqualTo(DisposalPhase.AwaitingApproval);
        assertThat(st.rules).singleElement().satisfies(r -> {
            assertThat(r.matched).isEqualTo(120L);
            assertThat(r.done).isZero();
        });
        assertThat(st.rulesDigest).isEqualTo(DisposalJobReconciler.rulesDigest(job.getSpec()));
        assertThat(db.sent("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")).hasSize(1);
        assertThat(db.sent("DELETE")).isEmpty();
    }

    @Test
    void aDryRunGoesFromItsCountsStraightToTheReport_WithThePersonalColumnsItFound() throws SQLException {
        job.getSpec().dryRun = true;
        // the discovery's catalog read: a column the role may not read is judged by its name alone, not sampled
        db.answer("has_column_privilege", row("nspname", "public", "relname", "orders", "attname", "buyer_email",
                "type", "text", "reltuples", 120.0, "readable", false));
        orders(120);
        decide(steps(NONE), DisposalPhase.Counting);
        assertThat(st.phase).isEqualTo(DisposalPhase.Reporting);
        assertThat(st.approvalRequest).isNull();
        assertThat(st.piiFindings).singleElement().satisfies(f -> {
            assertThat(f.column).isEqualTo("public.orders.buyer_email");
            assertThat(f.kind).isEqualTo("Email");
            assertThat(f.evidence).contains("the name says e-mail addresses", "not sampled");
            assertThat(f.coveredBy).isNull();
        });
        assertThat(db.sent("tablesample")).isEmpty();
    }

    @Test
    void aRuleMatchingEveryRowIsRefusedUnlessAllowAllSaysSo() throws SQLException {
        orders(1000);
        Step step = decide(steps(NONE), DisposalPhase.Counting);
        assertThat(step).isEqualTo(Step.rest(Duration.ofMinutes(5)));
        assertThat(st.phase).isEqualTo(DisposalPhase.Failed);
        assertThat(Conditions.find(st.conditions, ConditionType.Ready)).hasValueSatisfying(c -> {
            assertThat(c.reason).isEqualTo(Reason.RuleRefused.name());
            assertThat(c.message).contains("matches every row of", "(1000)", "allowAll: true");
        });

        job.getSpec().rules.get(0).allowAll = true;
        st.phase = DisposalPhase.Counting;
        decide(steps(NONE), DisposalPhase.Counting);
        assertThat(st.phase).isEqualTo(DisposalPhase.AwaitingApproval);
    }

    @Test
    void aFailedRunIsCountedAgainAndACompletedOneRestsUntilItsNextRun() throws SQLException {
        assertThat(decide(steps(NONE), DisposalPhase.Failed)).isEqualTo(Step.next());
        assertThat(st.phase).isEqualTo(DisposalPhase.Counting);

        schedule = CronSchedule.parse("spec.schedule", "0 3 * * *", "UTC");
        st.rulesDigest = DisposalJobReconciler.rulesDigest(job.getSpec());
        st.nextRunAt = Instant.now().plus(Duration.ofHours(2)).toString();
        Step step = decide(steps(NONE), DisposalPhase.Scheduled);
        assertThat(step).isInstanceOf(Step.Rest.class);
        assertThat(((Step.Rest) step).requeue()).isBetween(Duration.ofMinutes(119), Duration.ofMinutes(121));
        assertThat(st.phase).isEqualTo(DisposalPhase.Scheduled);

        st.nextRunAt = Instant.now().minusSeconds(1).toString();
        String before = st.runId;
        assertThat(decide(steps(NONE), DisposalPhase.Scheduled)).isEqualTo(Step.next());
        assertThat(st.phase).isEqualTo(DisposalPhase.Counting);
        assertThat(st.runId).isNotEqualTo(before);
        assertThat(db.opened()).isZero();
    }

    @Test
    void theApprovalCoversTheCountedRulesAndNothingIsDisposedBeforeIt() throws SQLException {
        counted();
        assertThat(decide(steps(NONE), DisposalPhase.AwaitingApproval)).isEqualTo(Step.onEvent());
        assertThat(st.approvalRequest.planDigest).isEqualTo(st.rulesDigest);
        assertThat(st.approvalRequest.reason).contains("Delete 120 row(s) of orders (120 in all)");

        Approver.approve(st, "dpo");
        assertThat(decide(steps(NONE), DisposalPhase.AwaitingApproval)).isEqualTo(Step.next());
        assertThat(st.phase).isEqualTo(DisposalPhase.Disposing);
        assertThat(st.runStartedAt).isNotNull();
        assertThat(log.log.persisted()).as("the handler decides; the machine persists").isZero();
        assertThat(db.sent).isEmpty();
    }

    @Test
    void aSpecChangeThatDeletesWhereItAnonymizedVoidsTheApprovalGivenBefore() throws SQLException {
        counted();
        job.getSpec().rules.get(0).action = DisposalJobSpec.Action.Anonymize;
        st.rules.get(0).action = "Anonymize";
        st.rulesDigest = DisposalJobReconciler.rulesDigest(job.getSpec());
        decide(steps(NONE), DisposalPhase.AwaitingApproval);
        assertThat(st.approvalRequest.reason).contains("Anonymize 120 row(s) of orders");
        st.approved = true; // a person approves the anonymization, not pinned to its digest...
        st.approvedByUser = "dpo";
        // ...while the spec is changed to delete the rows instead (counted again, as Counting does)
        job.getSpec().rules.get(0).action = DisposalJobSpec.Action.Delete;
        job.getMetadata().setGeneration(2L);
        st.rules.get(0).action = "Delete";
        st.rulesDigest = DisposalJobReconciler.rulesDigest(job.getSpec());

        assertThat(decide(steps(NONE), DisposalPhase.AwaitingApproval)).isEqualTo(Step.onEvent());
        assertThat(st.phase).isEqualTo(DisposalPhase.AwaitingApproval);
        assertThat(st.approved).isNull();
        assertThat(st.approvals).isNullOrEmpty();
        assertThat(st.approvalRequest.generation).isEqualTo(2L);
        assertThat(st.approvalRequest.reason).contains("Delete 120 row(s) of orders");
        assertThat(Conditions.find(st.conditions, ConditionType.Approved)).get()
                .satisfies(c -> assertThat(c.reason).isEqualTo("ApprovalVoided"));
        assertThat(db.sent).as("nothing disposed of").isEmpty();
    }

    @Test
    void aRejectedRunEndsWithNothingDisposed() throws SQLException {
        counted();
        decide(steps(NONE), DisposalPhase.AwaitingApproval);
        Approver.reject(st, "dpo");
        assertThat(decide(steps(NONE), DisposalPhase.AwaitingApproval)).isEqualTo(Step.onEvent());
        assertThat(st.phase).isEqualTo(DisposalPhase.Rejected);
        assertThat(st.message).contains("rejected by dpo", "nothing was disposed of");
        assertThat(db.sent).isEmpty();
    }

    @Test
    void disposingWaitsWhileAnotherDisposalHoldsTheDatabase() throws SQLException {
        counted();
        db.answer("pg_try_advisory_lock", row("locked", false));
        Step step = decide(steps(NONE), DisposalPhase.Disposing);
        assertThat(step).isEqualTo(Step.rest(Duration.ofSeconds(2)));
        assertThat(st.phase).isEqualTo(DisposalPhase.Disposing);
        assertThat(st.message).contains("another disposal is working on this database");
        assertThat(db.sent).singleElement().asString().startsWith("SELECT pg_try_advisory_lock");
    }

    @Test
    void disposingOutsideTheWindowKeepsTheApprovalAndDeletesNothing() throws SQLException {
        countedAndApproved();
        db.answer("pg_try_advisory_lock", row("locked", true))
                .answer("to_regclass('dba_operator.disposal_progress')", row("exists", true));
        Step step = decide(steps(closed()), DisposalPhase.Disposing);
        assertThat(step).isInstanceOf(Step.Rest.class);
        assertThat(st.phase).isEqualTo(DisposalPhase.Disposing);
        assertThat(st.waitingForWindow).isNotNull();
        assertThat(Conditions.find(st.conditions, ConditionType.Ready)).hasValueSatisfying(
                c -> assertThat(c.reason).isEqualTo(Reason.OutsideMaintenanceWindow.name()));
        assertThat(db.sent("DELETE")).isEmpty();
        assertThat(db.sent("UPDATE")).isEmpty();
        assertThat(st.approvals).as("the consumed approval stays for the next window").singleElement()
                .satisfies(a -> assertThat(a.approvedBy).isEqualTo("dpo"));
    }

    @Test
    void theMachineStoresDisposingBeforeTheFirstBatchIsTried() throws SQLException {
        counted();
        decide(steps(NONE), DisposalPhase.AwaitingApproval);
        Approver.approve(st, "dpo");
        db.answer("pg_try_advisory_lock", row("locked", false));
        log = new RecordingWriteAhead(job, st);
        List<String> atPersist = new ArrayList<>();
        log.onPersist = () -> atPersist.add(st.phase + " after " + db.sent.size() + " statement(s)");
        try (DisposalSteps.Run r = new DisposalSteps.Run(job, st, new DisposalJobReconciler.Inputs(
                FakeReferences.settings("prod"), null, null, null, Duration.ZERO), log.log, db.databases(),
                java.time.Instant.now())) {
            assertThat(steps(NONE).machine().drive(r, log.log)).isEqualTo(Duration.ofSeconds(2));
        }
        assertThat(atPersist).containsExactly("Disposing after 0 statement(s)");
        assertThat(db.sent).hasSize(1);
        assertThat(events.events).isEmpty();
        assertThat(st.phase).isEqualTo(DisposalPhase.Disposing);
    }

    @Test
    void vacuumingCleansEachTouchedTableOnceThenTheRunIsReportedOnce() throws SQLException {
        DisposalJobSpec.Rule notes = new DisposalJobSpec.Rule();
        notes.name = "old-order-notes";
        notes.table = "orders";
        notes.where = "created_at < now() - interval '3 years'";
        notes.action = DisposalJobSpec.Action.Delete;
        job.getSpec().rules = List.of(job.getSpec().rules.get(0), notes);
        job.getSpec().vacuum = DisposalJobSpec.Vacuum.Vacuum;
        counted();
        DisposalJobStatus.RuleProgress second = new DisposalJobStatus.RuleProgress();
        second.name = "old-order-notes";
        second.table = "orders";
        second.action = "Delete";
        second.matched = 0L;
        second.done = 0L;
        st.rules.add(second);
        st.rulesDigest = DisposalJobReconciler.rulesDigest(job.getSpec());
        st.rules.get(0).done = 120L;
        st.rowsAffected = 120L;
        orders(120);
        db.answer("pg_try_advisory_lock", row("locked", true))
                .answer("to_regclass('dba_operator.disposal_progress')", row("exists", true));
        assertThat(decide(steps(NONE), DisposalPhase.Vacuuming)).isEqualTo(Step.next());
        assertThat(db.sent("VACUUM")).containsExactly("VACUUM (ANALYZE) \"orders\"");
        assertThat(st.phase).isEqualTo(DisposalPhase.Reporting);

        assertThat(decide(steps(NONE), DisposalPhase.Reporting)).isEqualTo(Step.onEvent());
        assertThat(st.phase).isEqualTo(DisposalPhase.Completed);
        assertThat(st.lastRunAt).isNotNull();
        assertThat(st.runStartedAt).isNull();
        assertThat(log.executed).singleElement().satisfies(e -> assertThat(e.outcome()).isEqualTo("succeeded"));
        assertThat(Conditions.find(st.conditions, ConditionType.Ready)).hasValueSatisfying(c -> {
            assertThat(c.reason).isEqualTo(Reason.DisposalCompleted.name());
            assertThat(c.message).startsWith("disposed of 120 row(s)");
        });
    }

    @Test
    void rowsADeleteRuleStillMatchesOnceItsBatchesFinishedAreCountedAndReported() throws SQLException {
        countedAndApproved();
        db.answer("dba_left", row("count", 7L));
        orders(120);
        db.answer("pg_try_advisory_lock", row("locked", true))
                .answer("to_regclass('dba_operator.disposal_progress')", row("exists", true))
                .answer("FROM dba_operator.disposal_progress WHERE", row("rows_done", 120L, "last_key", "980",
                        "finished", true));
        assertThat(st.phase).isEqualTo(DisposalPhase.Disposing);
        assertThat(Instant.parse(st.runStartedAt)).as("the batches start after the approval they run under")
                .isAfterOrEqualTo(Instant.parse(st.approvals.get(0).approvedAt));
        assertThat(decide(steps(NONE), DisposalPhase.Disposing)).isEqualTo(Step.next());
        assertThat(db.sent("DELETE")).as("the batches had finished: none runs again").isEmpty();
        assertThat(db.sent("dba_left")).singleElement().asString().contains("FROM \"orders\" WHERE");
        assertThat(st.rules.get(0).stillMatching).isEqualTo(7L);
        assertThat(st.phase).isEqualTo(DisposalPhase.Vacuuming);

        assertThat(decide(steps(NONE), DisposalPhase.Reporting)).isEqualTo(Step.onEvent());
        assertThat(st.phase).isEqualTo(DisposalPhase.Completed);
        assertThat(Conditions.find(st.conditions, ConditionType.Ready)).hasValueSatisfying(c -> {
            assertThat(c.reason).isEqualTo(Reason.RowsStillMatch.name());
            assertThat(c.message).startsWith("disposed of 120 row(s)").contains("still matching after the batches: "
                    + "7 row(s) of rule old-orders", "the next run", "dbaoperator.io/run-now");
        });
        assertThat(Reason.RowsStillMatch.isProblem()).as("a Warning Event").isTrue();
        assertThat(log.executed).singleElement().satisfies(e -> {
            Map<String, Object> report = e.details();
            assertThat(Instant.parse((String) report.get("startedAt")))
                    .isAfterOrEqualTo(Instant.parse((String) report.get("approvedAt")));
            assertThat(Instant.parse((String) report.get("finishedAt")))
                    .isAfterOrEqualTo(Instant.parse((String) report.get("startedAt")));
        });
    }

    @Test
    void vacuumingWaitsWhileAnotherDisposalHoldsTheDatabase() throws SQLException {
        job.getSpec().vacuum = DisposalJobSpec.Vacuum.Full;
        counted();
        db.answer("pg_try_advisory_lock", row("locked", false));
        assertThat(decide(steps(NONE), DisposalPhase.Vacuuming)).isInstanceOf(Step.Rest.class);
        assertThat(db.sent("VACUUM")).isEmpty();
        assertThat(st.phase).isEqualTo(DisposalPhase.Vacuuming);
    }
}
