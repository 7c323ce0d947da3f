package io.dbaoperator.tuning;

import static io.dbaoperator.fakes.FakeJdbc.row;
import static org.assertj.core.api.Assertions.assertThat;

import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import io.dbaoperator.api.common.DatabaseRef;
import io.dbaoperator.api.common.SecretRef;
import io.dbaoperator.api.tuning.QueryTuningRequest;
import io.dbaoperator.api.tuning.QueryTuningRequestSpec;
import io.dbaoperator.api.tuning.QueryTuningRequestStatus;
import io.dbaoperator.api.tuning.TuningPhase;
import io.dbaoperator.fakes.Approver;
import io.dbaoperator.fakes.FakeJdbc;
import io.dbaoperator.fakes.FakeReferences;
import io.dbaoperator.fakes.UnitPhaseMoves;
import io.dbaoperator.kube.MaintenanceWindows;
import io.dbaoperator.problem.Reason;
import io.dbaoperator.status.Conditions;
import io.dbaoperator.status.ConditionType;
import io.dbaoperator.status.PhaseMachine;
import io.dbaoperator.status.RecordingWriteAhead;
import io.dbaoperator.status.Step;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;

/**
 * Each QueryTuningRequest phase handler alone, on a scripted connection (no Quarkus, no PostgreSQL): what it decides
 * from the status and the answers it gets, which statements it sends, and that its phase is stored before it builds
 * or drops an index.
 */
@ExtendWith(UnitPhaseMoves.class)
class TuningHandlersTest {

    private static final MaintenanceWindows.State CLOSED = new MaintenanceWindows.State(false,
            Instant.parse("2026-12-05T01:00:00Z"), Instant.parse("2026-12-05T03:00:00Z"), "Sat 01:00-03:00 UTC",
            Instant.parse("2026-12-05T00:59:00Z"));

    private final FakeJdbc db = new FakeJdbc();
    private final AdviceSteps advice = new AdviceSteps(null, Duration.ofHours(1), r -> List.of());
    private final QueryTuningRequest request = request();
    private final QueryTuningRequestStatus st = new QueryTuningRequestStatus();
    private RecordingWriteAhead log;

    private static QueryTuningRequest request() {
        QueryTuningRequest r = new QueryTuningRequest();
        r.setMetadata(new ObjectMetaBuilder().withName("slow-orders").withNamespace("shop").withUid("uid-3")
                .withGeneration(1L).build());
        QueryTuningRequestSpec spec = new QueryTuningRequestSpec();
        spec.database = new DatabaseRef();
        spec.database.secretRef = new SecretRef();
        spec.database.secretRef.name = "prod";
        spec.query = "SELECT * FROM orders WHERE customer_id = 42";
        r.setSpec(spec);
        return r;
    }

    /** A request that recommended one index on orders(customer_id), in {@code phase}. */
    private void recommended(TuningPhase phase) {
        QueryTuningRequestStatus.IndexRecommendation best = new QueryTuningRequestStatus.IndexRecommendation();
        best.indexName = "dba_orders_customer_id_idx";
        best.ddl = "CREATE INDEX CONCURRENTLY \"dba_orders_customer_id_idx\" ON \"public\".\"orders\" (\"customer_id\")";
        best.table = "public.orders";
        best.query = 0;
        best.improvementPercent = 97.5;
        best.costBefore = 1800.0;
        best.costAfter = 45.0;
        st.recommendations = new ArrayList<>(List.of(best));
        QueryTuningRequestStatus.AnalyzedQuery analyzed = new QueryTuningRequestStatus.AnalyzedQuery();
        analyzed.queryId = "-4242";
        st.analyzed = new ArrayList<>(List.of(analyzed));
        st.phase = phase;
    }

    /** The recommended index, created, under a follow-up that proposes removing an index without gain. */
    private QueryTuningRequestStatus.IndexRecommendation createdAndRemovableWithoutGain(TuningPhase phase) {
        recommended(phase);
        request.getSpec().followUp = new QueryTuningRequestSpec.FollowUp();
        request.getSpec().followUp.onNoGain = QueryTuningRequestSpec.FollowUp.OnNoGain.ProposeRemoval;
        var best = st.recommendations.get(0);
        best.applied = "created";
        best.measured = new QueryTuningRequestStatus.MeasuredGain();
        return best;
    }

    private TuningRun run(MaintenanceWindows.State window) {
        log = new RecordingWriteAhead(request, st);
        return new TuningRun(request, st, new QueryTuningRequestReconciler.Inputs(FakeReferences.settings("prod"),
                null, 5000, Duration.ofDays(7), null), log.log, db.connection(), null, window, null);
    }

    private Step decide(TuningPhase phase, TuningRun run) throws SQLException {
        return advice.machine().handler(phase).decide(run);
    }

    @Test
    void everyPhaseThatIsNotTerminalHasAHandlerAndTheIndexChangingOnesAct() {
        PhaseMachine<TuningPhase, TuningRun> m = advice.machine();
        Set<TuningPhase> open = EnumSet.noneOf(TuningPhase.class);
        for (TuningPhase p : TuningPhase.values()) {
            if (!p.terminal()) {
                open.add(p);
            }
        }
        assertThat(m.handled()).isEqualTo(open);
        assertThat(m.acting()).containsExactlyInAnyOrder(TuningPhase.Applying, TuningPhase.Removing);
        assertThat(HygieneSteps.MACHINE.handled()).containsExactlyInAnyOrder(TuningPhase.Pending,
                TuningPhase.Analyzing, TuningPhase.Failed, TuningPhase.AwaitingApproval, TuningPhase.Applying);
        assertThat(HygieneSteps.MACHINE.acting()).containsExactly(TuningPhase.Applying);
    }

    @Test
    void aQueryIdThatIsNotInPgStatStatementsEndsWithoutARecommendation() throws SQLException {
        request.getSpec().query = null;
        request.getSpec().queryId = "777";
        Step step = decide(TuningPhase.Pending, run(MaintenanceWindows.ALWAYS));
        assertThat(step).isEqualTo(Step.onEvent());
        assertThat(st.phase).isEqualTo(TuningPhase.NoRecommendation);
        assertThat(st.message).contains("queryid 777 is not in pg_stat_statements");
        assertThat(db.sent("pg_stat_statements")).isNotEmpty();
    }

    @Test
    void approvalWaitsThenMovesToApplyingUnderTheRecordedApproval() throws SQLException {
        recommended(TuningPhase.AwaitingApproval);
        assertThat(decide(TuningPhase.AwaitingApproval, run(MaintenanceWindows.ALWAYS))).isEqualTo(Step.onEvent());
        assertThat(st.message).startsWith("waiting for approval of CREATE INDEX CONCURRENTLY");
        assertThat(st.approvalRequest.step).isEqualTo("apply");

        Approver.approve(st, "bob");
        assertThat(decide(TuningPhase.AwaitingApproval, run(MaintenanceWindows.ALWAYS))).isEqualTo(Step.next());
        assertThat(st.phase).isEqualTo(TuningPhase.Applying);
        assertThat(st.recommendations.get(0).appliedUnder).startsWith("apply approved by bob");
        assertThat(log.log.persisted()).as("the handler decides; the machine persists").isZero();
        assertThat(db.sent).as("no statement before the approval is stored").isEmpty();
    }

    @Test
    void aRejectedIndexIsNeverBuilt() throws SQLException {
        recommended(TuningPhase.AwaitingApproval);
        decide(TuningPhase.AwaitingApproval, run(MaintenanceWindows.ALWAYS));
        Approver.reject(st, "carol");
        assertThat(decide(TuningPhase.AwaitingApproval, run(MaintenanceWindows.ALWAYS))).isEqualTo(Step.onEvent());
        assertThat(st.phase).isEqualTo(TuningPhase.Rejected);
        assertThat(st.message).contains("rejected by carol", "no index was created");
        assertThat(db.sent).isEmpty();
    }

    @Test
    void applyingOutsideTheWindowWaitsForItWithoutTouchingTheDatabase() throws SQLException {
        recommended(TuningPhase.Applying);
        Step step = decide(TuningPhase.Applying, run(CLOSED));
        assertThat(step).isInstanceOf(Step.Rest.class);
        assertThat(((Step.Rest) step).requeue()).as("until the opening, on the clock the window was judged by")
                .isEqualTo(Duration.ofMillis(60_200));
        assertThat(st.waitingForWindow).isEqualTo("2026-12-05T01:00:00Z");
        assertThat(Conditions.find(st.conditions, ConditionType.Ready)).hasValueSatisfying(
                c -> assertThat(c.reason).isEqualTo(Reason.OutsideMaintenanceWindow.name()));
        assertThat(db.sent).isEmpty();
    }

    @Test
    void theBaselineIsStoredBeforeCreateIndexConcurrentlyStarts() throws SQLException {
        recommended(TuningPhase.AwaitingApproval);
        db.answer("from pg_stat_statements", row("calls", 40.0, "total", 8000.0))
                .answer("from pg_stat_user_indexes", row("idx_scan", 0L, "size", 8192L, "valid", true));
        TuningRun run = run(MaintenanceWindows.ALWAYS);
        decide(TuningPhase.AwaitingApproval, run);
        Approver.approve(st, "bob");
        List<String> atPersist = new ArrayList<>();
        log.onPersist = () -> atPersist.add(st.phase + " after " + db.sent("CREATE INDEX").size() + " build(s), "
                + (st.recommendations.get(0).measured == null ? "no baseline" : "baseline "
                        + st.recommendations.get(0).measured.meanMsBefore + " ms"));
        advice.machine().drive(run, log.log);
        assertThat(atPersist).containsExactly("Applying after 0 build(s), no baseline",
                "Applying after 0 build(s), baseline 200.0 ms");
        assertThat(db.sent("CREATE INDEX CONCURRENTLY IF NOT EXISTS \"dba_orders_customer_id_idx\"")).hasSize(1);
        assertThat(db.sent("SET lock_timeout = 500")).hasSize(1);
        assertThat(st.phase).isEqualTo(TuningPhase.Monitoring);
        assertThat(st.recommendations.get(0).applied).startsWith("created dba_orders_customer_id_idx concurrently");
        assertThat(log.executed).extracting(e -> e.action()).as("then Monitoring takes the first usage reading")
                .containsExactly("apply", "usage");
    }

    @Test
    void anIndexThatIsValidAlreadyIsNotBuiltAgain() throws SQLException {
        recommended(TuningPhase.Applying);
        st.recommendations.get(0).measured = new QueryTuningRequestStatus.MeasuredGain();
        db.answer("i.indisvalid", row("one", 1));
        assertThat(decide(TuningPhase.Applying, run(MaintenanceWindows.ALWAYS))).isEqualTo(Step.next());
        assertThat(db.sent("CREATE INDEX")).isEmpty();
        assertThat(st.recommendations.get(0).applied).contains("exists and is valid");
    }

    @Test
    void monitoringFollowsUseUntilUnusedAfterAndNoticesADroppedIndex() throws SQLException {
        recommended(TuningPhase.Monitoring);
        st.recommendations.get(0).appliedAt = Instant.now().minus(Duration.ofDays(1)).toString();
        st.recommendations.get(0).applied = "created";
        db.answer("from pg_stat_user_indexes", row("idx_scan", 12L, "size", 16384L, "valid", true));
        Step step = decide(TuningPhase.Monitoring, run(MaintenanceWindows.ALWAYS));
        assertThat(step).isEqualTo(Step.rest(Duration.ofHours(1)));
        assertThat(st.recommendations.get(0).usage.idxScan).isEqualTo(12L);
        assertThat(st.message).contains("12 scan(s) so far", "16.0 KiB");
        assertThat(log.executed).singleElement().satisfies(e -> assertThat(e.action()).isEqualTo("usage"));

        FakeJdbc gone = new FakeJdbc();
        TuningRun run = new TuningRun(request, st, run(MaintenanceWindows.ALWAYS).in(), log.log, gone.connection(),
                null, MaintenanceWindows.ALWAYS, null);
        assertThat(decide(TuningPhase.Monitoring, run)).isEqualTo(Step.onEvent());
        assertThat(st.phase).isEqualTo(TuningPhase.Completed);
        assertThat(st.message).contains("no longer exists on production (dropped outside this request)");
        assertThat(Conditions.find(st.conditions, ConditionType.Ready)).hasValueSatisfying(c -> {
            assertThat(c.status).as("Completed, but not the outcome asked for").isEqualTo("False");
            assertThat(c.reason).isEqualTo("IndexMissing");
        });
    }

    @Test
    void anIndexFoundInvalidWhileFollowedIsSaidAndFollowedAgainOnceRebuilt() throws SQLException {
        recommended(TuningPhase.Monitoring);
        st.recommendations.get(0).appliedAt = Instant.now().minus(Duration.ofDays(1)).toString();
        st.recommendations.get(0).applied = "created";
        FakeJdbc invalid = new FakeJdbc();
        invalid.answer("from pg_stat_user_indexes", row("idx_scan", 3L, "size", 8192L, "valid", false));
        TuningRun run = new TuningRun(request, st, run(MaintenanceWindows.ALWAYS).in(), log.log,
                invalid.connection(), null, MaintenanceWindows.ALWAYS, null);
        assertThat(decide(TuningPhase.Monitoring, run)).isEqualTo(Step.rest(Duration.ofHours(1)));
        assertThat(st.phase).isEqualTo(TuningPhase.Monitoring);
        assertThat(Conditions.find(st.conditions, ConditionType.Ready)).hasValueSatisfying(c -> {
            assertThat(c.reason).isEqualTo("IndexInvalid");
            assertThat(c.message).contains("exists but is INVALID", "REINDEX INDEX CONCURRENTLY");
        });
        db.answer("from pg_stat_user_indexes", row("idx_scan", 4L, "size", 8192L, "valid", true));
        assertThat(decide(TuningPhase.Monitoring, run(MaintenanceWindows.ALWAYS))).isEqualTo(
                Step.rest(Duration.ofHours(1)));
        assertThat(Conditions.find(st.conditions, ConditionType.Ready)).hasValueSatisfying(c -> assertThat(c.reason)
                .isEqualTo("InProgress"));
    }

    @Test
    void anUnusedIndexIsProposedForRemovalAndDroppedOnlyOnceApproved() throws SQLException {
        var best = createdAndRemovableWithoutGain(TuningPhase.Monitoring);
        best.appliedAt = Instant.now().minus(Duration.ofDays(8)).toString();
        best.measured.queryId = "-4242";
        db.answer("from pg_stat_user_indexes", row("idx_scan", 0L, "size", 16384L, "valid", true))
                .answer("from pg_stat_statements", row("calls", 0.0, "total", 0.0))
                .answer("from pg_class x join pg_namespace", row("one", 1));
        TuningRun run = run(MaintenanceWindows.ALWAYS);
        assertThat(decide(TuningPhase.Monitoring, run)).isEqualTo(Step.next());
        assertThat(st.phase).isEqualTo(TuningPhase.AwaitingRemovalApproval);
        assertThat(st.message).contains("was not used once", "proposing DROP INDEX CONCURRENTLY");

        assertThat(decide(TuningPhase.AwaitingRemovalApproval, run)).isEqualTo(Step.onEvent());
        assertThat(st.approvalRequest.step).isEqualTo("remove");
        assertThat(db.sent("DROP INDEX")).isEmpty();
        Approver.approve(st, "bob");
        assertThat(decide(TuningPhase.AwaitingRemovalApproval, run)).isEqualTo(Step.next());
        assertThat(st.phase).isEqualTo(TuningPhase.Removing);

        assertThat(decide(TuningPhase.Removing, run(CLOSED))).isInstanceOf(Step.Rest.class);
        assertThat(db.sent("DROP INDEX")).as("outside the window").isEmpty();
        assertThat(decide(TuningPhase.Removing, run)).isEqualTo(Step.onEvent());
        assertThat(db.sent("DROP INDEX CONCURRENTLY IF EXISTS \"public\".\"dba_orders_customer_id_idx\""))
                .hasSize(1);
        assertThat(st.phase).isEqualTo(TuningPhase.Completed);
        assertThat(st.message).contains("recreate it with: CREATE INDEX CONCURRENTLY");
    }

    @Test
    void theRemovalStepIsDestructiveAndASpecChangeVoidsTheApprovalGivenBeforeIt() throws SQLException {
        var best = createdAndRemovableWithoutGain(TuningPhase.AwaitingRemovalApproval);
        best.measured.verdict = "not used once in 7 days";
        TuningRun run = run(MaintenanceWindows.ALWAYS);
        assertThat(decide(TuningPhase.AwaitingRemovalApproval, run)).isEqualTo(Step.onEvent());
        // the statements this kind generates get the gate's classes: the build is additive, the removal destructive
        String drop = st.approvalRequest.reason.substring(0, st.approvalRequest.reason.indexOf(" ("));
        assertThat(io.dbaoperator.sql.Classification.of(io.dbaoperator.sql.SqlParser.parseScript(drop).get(0),
                io.dbaoperator.sql.Catalog.EMPTY).statementClass()).isEqualTo(io.dbaoperator.sql.StatementClass.DESTRUCTIVE);
        assertThat(io.dbaoperator.sql.Classification.of(io.dbaoperator.sql.SqlParser.parseScript(
                st.recommendations.get(0).ddl).get(0), io.dbaoperator.sql.Catalog.EMPTY).statementClass())
                .isEqualTo(io.dbaoperator.sql.StatementClass.ADDITIVE);

        st.approved = true; // given for generation 1...
        st.approvedByUser = "bob";
        request.getMetadata().setGeneration(2L); // ...then the spec changes (where CEL would let it)
        assertThat(decide(TuningPhase.AwaitingRemovalApproval, run(MaintenanceWindows.ALWAYS)))
                .isEqualTo(Step.onEvent());
        assertThat(st.phase).isEqualTo(TuningPhase.AwaitingRemovalApproval);
        assertThat(st.approvalRequest.generation).isEqualTo(2L);
        assertThat(io.dbaoperator.status.Conditions.find(st.conditions, io.dbaoperator.status.ConditionType.Approved))
                .get().satisfies(c -> assertThat(c.reason).isEqualTo("ApprovalVoided"));
        assertThat(db.sent("DROP INDEX")).isEmpty();
    }

    @Test
    void hygieneDropsEachApprovedIndexWithTheProgressStoredBeforeEachDrop() throws SQLException {
        request.getSpec().query = null;
        request.getSpec().indexHygiene = new QueryTuningRequestSpec.IndexHygiene();
        st.phase = TuningPhase.Applying;
        st.indexFindings = new ArrayList<>();
        for (String index : new String[] {"public.orders_dup_idx", "public.orders_gone_idx"}) {
            var f = new QueryTuningRequestStatus.IndexFinding();
            f.index = index;
            f.finding = "Duplicate";
            f.drop = "DROP INDEX CONCURRENTLY " + index;
            st.indexFindings.add(f);
        }
        log = new RecordingWriteAhead(request, st);
        TuningRun run = new TuningRun(request, st, new QueryTuningRequestReconciler.Inputs(
                FakeReferences.settings("prod"), null, 5000, Duration.ofDays(7), Duration.ofDays(7)), log.log,
                db.connection(), null, CLOSED, new HygieneSteps.Scope(List.of("public"), Duration.ofDays(7), Set.of()));
        assertThat(HygieneSteps.MACHINE.handler(TuningPhase.Applying).decide(run)).isInstanceOf(Step.Rest.class);
        assertThat(db.sent).as("outside the window nothing is read or dropped").isEmpty();

        // inside the window both indexes are gone by now (the catalog answers no index): kept as "already gone"
        db.answer("from pg_stat_database", row("since", java.sql.Timestamp.from(Instant.now().minus(Duration.ofDays(30)))));
        run = new TuningRun(request, st, run.in(), log.log, db.connection(), null, MaintenanceWindows.ALWAYS,
                run.scope());
        HygieneSteps.MACHINE.drive(run, log.log);
        assertThat(st.indexFindings).allSatisfy(f -> assertThat(f.outcome).startsWith("already gone"));
        assertThat(db.sent("DROP INDEX")).isEmpty();
        assertThat(st.phase).isEqualTo(TuningPhase.Completed);
        assertThat(st.message).startsWith("dropped 0 of 2 index(es)");
    }

    /** Staging, where the best candidate is built for real (scripted here) before anything reaches production. */
    private final FakeJdbc staging = new FakeJdbc();

    private TuningRun onStaging() {
        log = new RecordingWriteAhead(request, st);
        return new TuningRun(request, st, new QueryTuningRequestReconciler.Inputs(FakeReferences.settings("prod"),
                FakeReferences.settings("staging"), 5000, Duration.ofDays(7), null), log.log, db.connection(),
                staging.connection(), MaintenanceWindows.ALWAYS, null);
    }

    /** An EXPLAIN (ANALYZE, FORMAT JSON) answer: one scan of orders costing {@code cost}, run in {@code ms}. */
    private static Map<String, Object> plan(String nodeType, String index, double cost, double ms) {
        return row("QUERY PLAN", "[{\"Plan\": {\"Node Type\": \"" + nodeType + "\", \"Relation Name\": \"orders\", "
                + (index == null ? "" : "\"Index Name\": \"" + index + "\", ") + "\"Total Cost\": " + cost
                + ", \"Plan Rows\": 12, \"Actual Rows\": 12, \"Actual Loops\": 1}, \"Execution Time\": " + ms + "}]");
    }

    @Test
    void aCandidateThePlanUsesOnStagingGoesToApprovalWithItsMeasuredGainAndStagingIsLeftClean() throws SQLException {
        recommended(TuningPhase.TestingOnStaging);
        staging.answerOnce("EXPLAIN (ANALYZE", plan("Seq Scan", null, 1800.0, 120.5))
                .answerOnce("EXPLAIN (ANALYZE", plan("Index Scan", "dba_orders_customer_id_idx", 45.0, 0.4));
        assertThat(decide(TuningPhase.TestingOnStaging, onStaging())).isEqualTo(Step.next());
        assertThat(st.phase).isEqualTo(TuningPhase.AwaitingApproval);
        QueryTuningRequestStatus.StagingTest tested = st.recommendations.get(0).staging;
        assertThat(tested.used).isTrue();
        assertThat(tested.costBefore).isEqualTo(1800.0);
        assertThat(tested.costAfter).isEqualTo(45.0);
        assertThat(tested.msBefore).isEqualTo(120.5);
        assertThat(tested.msAfter).isEqualTo(0.4);
        assertThat(staging.sent("INDEX")).containsExactly(
                "CREATE INDEX \"dba_orders_customer_id_idx\" ON \"public\".\"orders\" (\"customer_id\")",
                "DROP INDEX IF EXISTS \"public\".\"dba_orders_customer_id_idx\"");
        assertThat(db.sent).as("production is not touched on staging's turn").isEmpty();
    }

    @Test
    void aCandidateThePlanIgnoresOnStagingIsNotRecommended() throws SQLException {
        recommended(TuningPhase.TestingOnStaging);
        staging.answerOnce("EXPLAIN (ANALYZE", plan("Seq Scan", null, 1800.0, 120.5))
                .answerOnce("EXPLAIN (ANALYZE", plan("Seq Scan", null, 1790.0, 118.0));
        assertThat(decide(TuningPhase.TestingOnStaging, onStaging())).isEqualTo(Step.onEvent());
        assertThat(st.phase).isEqualTo(TuningPhase.NoRecommendation);
        assertThat(st.message).contains("dba_orders_customer_id_idx was not used by the plan on staging",
                "nothing is applied");
        assertThat(staging.sent("DROP INDEX IF EXISTS")).hasSize(1);
        assertThat(db.sent).isEmpty();
    }
}
