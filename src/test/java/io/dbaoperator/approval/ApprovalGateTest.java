package io.dbaoperator.approval;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import io.dbaoperator.api.common.GatedStatus;
import io.dbaoperator.api.migration.DatabaseMigrationStatus;
import io.dbaoperator.status.ConditionType;
import io.dbaoperator.status.Conditions;
import io.fabric8.kubernetes.api.model.FieldsV1;
import io.fabric8.kubernetes.api.model.ManagedFieldsEntry;
import io.fabric8.kubernetes.api.model.ManagedFieldsEntryBuilder;

/** The approval contract (docs/approvals.md), rule by rule. */
class ApprovalGateTest {

    static final Instant T0 = Instant.parse("2026-11-21T08:00:00Z");
    static final Instant T1 = Instant.parse("2026-11-21T08:05:00Z");
    static final ApprovalGate.Commands COMMANDS = new ApprovalGate.Commands("dbm", "add-email", "shop");
    static final GatedStep CONTRACT = new GatedStep("contract", "drops column users.email_old", "sha256:aaa",
            "sha256:schema1", 1);

    static List<ManagedFieldsEntry> approvedBy(String manager, String field) {
        FieldsV1 fields = new FieldsV1();
        fields.setAdditionalProperty("f:status", Map.of("f:" + field, Map.of()));
        return List.of(new ManagedFieldsEntryBuilder().withManager("dba-operator").withOperation("Update")
                .withSubresource("status").withTime("2026-11-21T07:00:00Z").build(),
                new ManagedFieldsEntryBuilder().withManager(manager).withOperation("Update").withSubresource("status")
                        .withTime("2026-11-21T08:01:00Z").withFieldsV1(fields).build());
    }

    @Test
    void firstVisitWritesTheRequestWithTheExactCommandAndWaits() {
        GatedStatus s = new DatabaseMigrationStatus();
        assertThat(ApprovalGate.evaluate(s, CONTRACT, COMMANDS, null, T0)).isEqualTo(GateOutcome.WAIT);
        assertThat(s.approvalRequest.step).isEqualTo("contract");
        assertThat(s.approvalRequest.planDigest).isEqualTo("sha256:aaa");
        assertThat(s.approvalRequest.requestedAt).isEqualTo(T0.toString());
        assertThat(s.approvalRequest.command).isEqualTo("kubectl patch dbm add-email -n shop --subresource=status "
                + "--type=merge -p '{\"status\":{\"approved\":true,\"approvedPlanDigest\":\"sha256:aaa\"}}'");
        assertThat(s.approvalRequest.rejectCommand).contains("\"rejected\":true");
        var approved = Conditions.find(s.conditions, ConditionType.Approved).orElseThrow();
        assertThat(approved.status).isEqualTo("False");
        assertThat(approved.reason).isEqualTo("AwaitingApproval");
        assertThat(approved.message).contains("contract").contains(s.approvalRequest.command);
    }

    @Test
    void waitingAgainChangesNothing() {
        GatedStatus s = new DatabaseMigrationStatus();
        ApprovalGate.evaluate(s, CONTRACT, COMMANDS, null, T0);
        String before = io.dbaoperator.status.StatusPatcherTestSupport.json(s);
        assertThat(ApprovalGate.evaluate(s, CONTRACT, COMMANDS, null, T1)).isEqualTo(GateOutcome.WAIT);
        assertThat(io.dbaoperator.status.StatusPatcherTestSupport.json(s)).isEqualTo(before);
    }

    @Test
    void approvalIsConsumedIntoApprovalsWithDigestTimeAndApprover() {
        GatedStatus s = new DatabaseMigrationStatus();
        ApprovalGate.evaluate(s, CONTRACT, COMMANDS, null, T0);
        s.approved = true;
        assertThat(ApprovalGate.evaluate(s, CONTRACT, COMMANDS, approvedBy("alice", "approved"), T1))
                .isEqualTo(GateOutcome.PROCEED);
        assertThat(s.approved).isNull();
        assertThat(s.approvalRequest).isNull();
        assertThat(s.approvals).singleElement().satisfies(r -> {
            assertThat(r.step).isEqualTo("contract");
            assertThat(r.planDigest).isEqualTo("sha256:aaa");
            assertThat(r.schemaFingerprint).isEqualTo("sha256:schema1");
            assertThat(r.approvedAt).isEqualTo(T1.toString());
            assertThat(r.approvedBy).isEqualTo("alice");
            assertThat(r.verified).as("only a field manager named alice").isFalse();
        });
        assertThat(Conditions.isTrue(s.conditions, ConditionType.Approved)).isTrue();
        assertThat(Conditions.find(s.conditions, ConditionType.Approved).orElseThrow().message)
                .contains("approved by alice (field manager, unverified)");
        // once consumed, the same plan proceeds without asking again
        assertThat(ApprovalGate.evaluate(s, CONTRACT, COMMANDS, null, T1)).isEqualTo(GateOutcome.PROCEED);
        assertThat(s.approvals).hasSize(1);
    }

    @Test
    void theUserTheApiServerStampedIsTheApproverNotTheFieldManagerTheClientChose() {
        GatedStatus s = new DatabaseMigrationStatus();
        ApprovalGate.evaluate(s, CONTRACT, COMMANDS, null, T0);
        s.approved = true;
        s.approvedByUser = "bob"; // the admission policy's stamp of the authenticated user
        assertThat(ApprovalGate.evaluate(s, CONTRACT, COMMANDS, approvedBy("alice", "approved"), T1))
                .isEqualTo(GateOutcome.PROCEED);
        assertThat(s.approvals).singleElement().satisfies(r -> {
            assertThat(r.approvedBy).isEqualTo("bob");
            assertThat(r.verified).isTrue();
        });
        assertThat(s.approvedByUser).as("consumed with approved").isNull();
        assertThat(Conditions.find(s.conditions, ConditionType.Approved).orElseThrow().message)
                .contains("approved by bob for plan");
    }

    @Test
    void aRefusedApprovalTakesItsStampWithIt() {
        GatedStatus s = new DatabaseMigrationStatus();
        ApprovalGate.evaluate(s, CONTRACT, COMMANDS, null, T0);
        s.approved = true;
        s.approvedPlanDigest = "sha256:other";
        s.approvedByUser = "bob";
        assertThat(ApprovalGate.evaluate(s, CONTRACT, COMMANDS, null, T1)).isEqualTo(GateOutcome.WAIT);
        assertThat(s.approved).isNull();
        assertThat(s.approvedByUser).isNull();
    }

    @Test
    void approverIsUnknownWithoutManagedFields() {
        GatedStatus s = new DatabaseMigrationStatus();
        ApprovalGate.evaluate(s, CONTRACT, COMMANDS, null, T0);
        s.approved = true;
        ApprovalGate.evaluate(s, CONTRACT, COMMANDS, List.of(), T1);
        assertThat(s.approvals.get(0).approvedBy).isEqualTo("unknown");
    }

    @Test
    void pinnedDigestMatchingThePlanIsAccepted() {
        GatedStatus s = new DatabaseMigrationStatus();
        ApprovalGate.evaluate(s, CONTRACT, COMMANDS, null, T0);
        s.approved = true;
        s.approvedPlanDigest = "sha256:aaa";
        assertThat(ApprovalGate.evaluate(s, CONTRACT, COMMANDS, null, T1)).isEqualTo(GateOutcome.PROCEED);
        assertThat(s.approvedPlanDigest).isNull();
    }

    @Test
    void pinnedDigestNotMatchingThePlanIsRefusedWithAClearCondition() {
        GatedStatus s = new DatabaseMigrationStatus();
        ApprovalGate.evaluate(s, CONTRACT, COMMANDS, null, T0);
        s.approved = true;
        s.approvedPlanDigest = "sha256:old";
        assertThat(ApprovalGate.evaluate(s, CONTRACT, COMMANDS, null, T1)).isEqualTo(GateOutcome.WAIT);
        assertThat(s.approved).isNull();
        assertThat(s.approvedPlanDigest).isNull();
        assertThat(s.approvals).isEmpty();
        var c = Conditions.find(s.conditions, ConditionType.Approved).orElseThrow();
        assertThat(c.reason).isEqualTo("PlanDigestMismatch");
        assertThat(c.message).contains("sha256:old").contains("sha256:aaa");
    }

    @Test
    void specChangeVoidsAPendingApproval() {
        GatedStatus s = new DatabaseMigrationStatus();
        ApprovalGate.evaluate(s, CONTRACT, COMMANDS, null, T0);
        s.approved = true; // given for generation 1's plan...
        GatedStep changed = new GatedStep("contract", "drops column users.email_old and users.phone", "sha256:bbb",
                "sha256:schema1", 2); // ...but the spec changed meanwhile
        assertThat(ApprovalGate.evaluate(s, changed, COMMANDS, null, T1)).isEqualTo(GateOutcome.WAIT);
        assertThat(s.approved).isNull();
        assertThat(s.approvals).isEmpty();
        assertThat(s.approvalRequest.planDigest).isEqualTo("sha256:bbb");
        assertThat(s.approvalRequest.generation).isEqualTo(2L);
        assertThat(Conditions.find(s.conditions, ConditionType.Approved).orElseThrow().reason)
                .isEqualTo("ApprovalVoided");
    }

    @Test
    void specChangeWithTheSamePlanStillVoidsThePendingRequest() {
        GatedStatus s = new DatabaseMigrationStatus();
        ApprovalGate.evaluate(s, CONTRACT, COMMANDS, null, T0);
        s.approved = true;
        GatedStep sameDigestNewGeneration = new GatedStep("contract", CONTRACT.reason(), "sha256:aaa", "sha256:schema1",
                2);
        assertThat(ApprovalGate.evaluate(s, sameDigestNewGeneration, COMMANDS, null, T1)).isEqualTo(GateOutcome.WAIT);
        assertThat(s.approvals).isEmpty();
    }

    @Test
    void approvalArrivingBeforeAnyRequestIsVoidedUnlessPinnedToTheExactPlan() {
        GatedStatus s = new DatabaseMigrationStatus();
        s.approved = true;
        assertThat(ApprovalGate.evaluate(s, CONTRACT, COMMANDS, null, T0)).isEqualTo(GateOutcome.WAIT);
        assertThat(s.approvals).isEmpty();

        GatedStatus pinned = new DatabaseMigrationStatus();
        pinned.approved = true;
        pinned.approvedPlanDigest = "sha256:aaa";
        assertThat(ApprovalGate.evaluate(pinned, CONTRACT, COMMANDS, null, T0)).isEqualTo(GateOutcome.PROCEED);
    }

    @Test
    void liveSchemaDriftAfterApprovalAsksAgain() {
        GatedStatus s = new DatabaseMigrationStatus();
        ApprovalGate.evaluate(s, CONTRACT, COMMANDS, null, T0);
        s.approved = true;
        ApprovalGate.evaluate(s, CONTRACT, COMMANDS, null, T1);
        GatedStep drifted = new GatedStep("contract", CONTRACT.reason(), "sha256:aaa", "sha256:schema2", 1);
        assertThat(ApprovalGate.evaluate(s, drifted, COMMANDS, null, T1)).isEqualTo(GateOutcome.WAIT);
        assertThat(s.approvalRequest.schemaFingerprint).isEqualTo("sha256:schema2");
        assertThat(Conditions.find(s.conditions, ConditionType.Approved).orElseThrow().reason)
                .isEqualTo("SchemaChanged");
    }

    @Test
    void rejectionEndsTheResourceAndNamesWhoRejected() {
        GatedStatus s = new DatabaseMigrationStatus();
        ApprovalGate.evaluate(s, CONTRACT, COMMANDS, null, T0);
        s.rejected = true;
        assertThat(ApprovalGate.evaluate(s, CONTRACT, COMMANDS, approvedBy("bob", "rejected"), T1))
                .isEqualTo(GateOutcome.REJECTED);
        assertThat(s.rejection.approvedBy).isEqualTo("bob");
        assertThat(s.rejection.verified).isFalse();
        assertThat(s.rejection.step).isEqualTo("contract");
        assertThat(s.approvalRequest).isNull();
        assertThat(s.rejected).isTrue();
        assertThat(Conditions.find(s.conditions, ConditionType.Approved).orElseThrow().reason).isEqualTo("Rejected");
    }

    @Test
    void rejectionWinsOverASimultaneousApproval() {
        GatedStatus s = new DatabaseMigrationStatus();
        ApprovalGate.evaluate(s, CONTRACT, COMMANDS, null, T0);
        s.approved = true;
        s.rejected = true;
        assertThat(ApprovalGate.evaluate(s, CONTRACT, COMMANDS, null, T1)).isEqualTo(GateOutcome.REJECTED);
        assertThat(s.approvals).isEmpty();
    }

    @Test
    void approvalStepOwesOneAuditEventPerConsumedApproval() {
        var dbm = new io.dbaoperator.api.migration.DatabaseMigration();
        dbm.getMetadata().setName("add-email");
        dbm.getMetadata().setNamespace("shop");
        dbm.getMetadata().setUid("u-1");
        dbm.getMetadata().setManagedFields(approvedBy("alice", "approved"));
        var s = new DatabaseMigrationStatus();
        ApprovalGate.evaluate(s, CONTRACT, COMMANDS, null, T0);
        s.approved = true;
        var result = ApprovalStep.check(dbm, s, CONTRACT, "dbm", T1);
        assertThat(result.outcome()).isEqualTo(GateOutcome.PROCEED);
        assertThat(result.audit()).singleElement().satisfies(e -> {
            assertThat(e.action()).isEqualTo("approval");
            assertThat(e.actor()).isEqualTo("alice");
            assertThat(e.planDigest()).isEqualTo("sha256:aaa");
        });
        assertThat(ApprovalStep.check(dbm, s, CONTRACT, "dbm", T1).audit()).isEmpty();
    }

    @Test
    void planDigestIsStableAcrossKeyOrder() {
        assertThat(PlanDigest.of(Map.of("a", 1, "b", List.of("x")))).isEqualTo(PlanDigest.of(
                new java.util.TreeMap<>(Map.of("b", List.of("x"), "a", 1)))).startsWith("sha256:");
        assertThat(PlanDigest.of(Map.of("a", 1))).isNotEqualTo(PlanDigest.of(Map.of("a", 2)));
    }
}
