package io.dbaoperator.migration;

import java.sql.Connection;
import java.sql.SQLException;
import java.time.Instant;
import java.util.Map;

import io.dbaoperator.api.common.Phase;
import io.dbaoperator.api.migration.DatabaseMigrationSpec;
import io.dbaoperator.api.migration.DatabaseMigrationStatus;
import io.dbaoperator.api.migration.MigrationPhase;
import io.dbaoperator.status.Step;
import io.dbaoperator.problem.Reason;
import io.dbaoperator.sql.Statement;
import io.dbaoperator.status.ConditionType;
import io.dbaoperator.status.Conditions;

/** Planning: PostgreSQL's grammar checks the SQL, {@link MigrationPlanner} plans and lints it, staging rehearses it. */
final class PlanningStep {

    private PlanningStep() {
    }

    static Step planning(MigrationWork w) throws SQLException {
        DatabaseMigrationSpec spec = w.m.getSpec();
        DatabaseMigrationStatus st = w.st;
        MigrationPlan plan;
        try (Connection c = w.databases.open(w.in.db(), "dba-operator/plan/" + w.id)) {
            String syntax = syntaxErrors(c, spec);
            if (syntax != null) {
                return w.fail("planning", Reason.SyntaxError, syntax);
            }
            try {
                plan = MigrationPlanner.plan(spec, new LiveCatalog(c));
            } catch (MigrationPlanner.PlanningException e) {
                return w.fail("planning", Reason.SyntaxError, "spec." + e.step() + ".sql: " + e.getMessage() + " at "
                        + SyntaxCheck.where(stepSql(spec, e.step()), e.position() + 1));
            }
        }
        st.plan = plan.statements().stream().map(MigrationPlan.Planned::toStatus).toList();
        st.findings = plan.findings();
        st.planDigest = plan.digest();
        w.plan = plan;
        String unnamed = plan.statements().stream()
                .filter(p -> p.statement() instanceof Statement.CreateIndex ci && ci.concurrently() && ci.name() == null)
                .map(MigrationPlan.Planned::id).findFirst().orElse(null);
        if (unnamed != null) {
            return w.fail("planning", Reason.InvalidSpec, unnamed + " creates an index CONCURRENTLY without a name: "
                    + "name it, so that an INVALID leftover of a failed build can be found and dropped before a retry");
        }
        if (plan.hasErrors()) {
            var first = plan.errors().get(0);
            return w.fail("planning", Reason.LintFailed, plan.errors().size() + " lint error(s), nothing was applied. "
                    + "First: " + first.rule + " in " + first.step + ", `" + shorten(first.statement) + "`: "
                    + first.message + ". See status.findings"
                    + (LintRule.byId(first.rule).map(LintRule::overridable).orElse(true)
                            ? "; spec.lint.allow accepts a rule knowingly" : ""));
        }
        if (w.in.staging() != null && (st.rehearsal == null || !"Passed".equals(st.rehearsal.result))) {
            // what the timings were measured on: its size before the rehearsal wrote to it, and its data's age
            Rehearsal.StagingCopy copy = Rehearsal.stagingCopy(w.databases, w.in.staging(), Instant.now());
            Rehearsal.Result r = new Rehearsal(w.databases, w.in.staging(), w.run(), plan, spec, w.in.settings(),
                    w.in.pause())
                    .run();
            st.rehearsal = new DatabaseMigrationStatus.Rehearsal();
            st.rehearsal.result = r.passed() ? "Passed" : "Failed";
            st.rehearsal.message = r.message();
            st.rehearsal.finishedAt = Instant.now().toString();
            st.rehearsal.durationMs = r.millis();
            st.rehearsal.expandMs = r.expandMs();
            st.rehearsal.backfillMs = r.backfillMs();
            st.rehearsal.contractMs = r.contractMs();
            if (copy != null) {
                st.rehearsal.stagingSizeBytes = copy.bytes();
                st.rehearsal.stagingCopy = copy.describe();
            }
            st.conditions = Conditions.set(st.conditions, ConditionType.Rehearsed, r.passed(),
                    r.passed() ? Reason.RehearsalPassed : Reason.RehearsalFailed, r.message(), w.generation(),
                    Instant.now());
            if (!r.passed()) {
                return w.fail("rehearsal", Reason.RehearsalFailed, "the staging rehearsal failed, production was "
                        + "not touched: " + r.message());
            }
        }
        if (Boolean.TRUE.equals(spec.paused)) {
            w.setReady(false, Reason.Paused, "planned; paused before touching production (spec.paused)");
            return Step.onEvent();
        }
        if (spec.approval.policy == DatabaseMigrationSpec.ApprovalPolicy.Policy.Always) {
            st.phase = Phase.move(st.phase, MigrationPhase.AwaitingApproval); // the expand step's gate
            return Step.next();
        }
        st.phase = Phase.move(st.phase, MigrationPhase.Queued);
        return Step.next();
    }

    private static String shorten(String sql) {
        String one = sql.strip().replaceAll("\\s+", " ");
        return one.length() <= 120 ? one : one.substring(0, 117) + "...";
    }

    /** Every step's SQL through PostgreSQL's grammar; null when all parse. */
    private static String syntaxErrors(Connection c, DatabaseMigrationSpec spec) throws SQLException {
        Map<String, String> steps = new java.util.LinkedHashMap<>();
        steps.put(MigrationPlan.EXPAND, spec.expand == null ? null : spec.expand.sql);
        steps.put(MigrationPlan.CONTRACT, spec.contract == null ? null : spec.contract.sql);
        steps.put(MigrationPlan.ROLLBACK, spec.rollback == null ? null : spec.rollback.sql);
        for (var e : steps.entrySet()) {
            if (e.getValue() == null) {
                continue;
            }
            var error = SyntaxCheck.check(c, e.getValue());
            if (error != null) {
                return "spec." + e.getKey() + ".sql does not parse: " + error.message() + " at "
                        + SyntaxCheck.where(e.getValue(), error.position()) + "; nothing was applied";
            }
        }
        if (spec.backfill != null) {
            var b = spec.backfill;
            String update = "UPDATE " + b.table + " SET " + b.set + (b.where == null ? "" : " WHERE " + b.where);
            var error = SyntaxCheck.check(c, update);
            if (error != null) {
                return "spec.backfill does not parse as " + update + ": " + error.message() + "; nothing was applied";
            }
        }
        return null;
    }

    private static String stepSql(DatabaseMigrationSpec spec, String step) {
        DatabaseMigrationSpec.SqlStep s = switch (step) {
            case MigrationPlan.EXPAND -> spec.expand;
            case MigrationPlan.CONTRACT -> spec.contract;
            default -> spec.rollback;
        };
        return s == null ? "" : s.sql;
    }
}
