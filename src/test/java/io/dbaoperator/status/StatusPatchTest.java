package io.dbaoperator.status;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;

import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.ObjectMapper;

import io.dbaoperator.api.backup.BackupPolicy;
import io.dbaoperator.api.backup.BackupPolicyPhase;
import io.dbaoperator.api.backup.BackupPolicyStatus;
import io.dbaoperator.api.migration.DatabaseMigration;
import io.dbaoperator.api.migration.DatabaseMigrationStatus;
import io.dbaoperator.problem.Reason;

class StatusPatchTest {

    static final ObjectMapper M = new ObjectMapper();

    @Test
    void carriesOnlyChangedFieldsPinnedToTheResourceVersion() throws Exception {
        var before = M.readTree("{\"phase\":\"Pending\",\"keep\":1,\"gone\":\"x\",\"nested\":{\"a\":1,\"b\":2}}");
        var after = M.readTree("{\"phase\":\"Failed\",\"keep\":1,\"nested\":{\"a\":1,\"b\":3},\"new\":[1]}");
        assertThat(StatusJsonPatch.diff("9", before, after).toString()).isEqualTo("["
                + "{\"op\":\"replace\",\"path\":\"/metadata/resourceVersion\",\"value\":\"9\"},"
                + "{\"op\":\"add\",\"path\":\"/status/phase\",\"value\":\"Failed\"},"
                + "{\"op\":\"add\",\"path\":\"/status/nested\",\"value\":{\"a\":1,\"b\":3}},"
                + "{\"op\":\"add\",\"path\":\"/status/new\",\"value\":[1]},"
                + "{\"op\":\"remove\",\"path\":\"/status/gone\"}]");
    }

    @Test
    void othersMetadataIsNoNewInputButSpecStatusAndOurAnnotationsAre() {
        java.util.function.Supplier<io.dbaoperator.api.migration.DatabaseMigration> make = () -> {
            var m = new io.dbaoperator.api.migration.DatabaseMigration();
            m.getMetadata().setGeneration(2L);
            m.getMetadata().setResourceVersion("10");
            m.setSpec(new io.dbaoperator.api.migration.DatabaseMigrationSpec());
            m.setStatus(new DatabaseMigrationStatus());
            m.getStatus().approved = true;
            return m;
        };
        var seen = make.get();
        var argo = make.get();
        argo.getMetadata().setResourceVersion("11");
        argo.getMetadata().setAnnotations(java.util.Map.of("argocd.argoproj.io/tracking-id", "app:x"));
        argo.getMetadata().setLabels(java.util.Map.of("team", "db"));
        assertThat(StatusPatcher.sameInputs(seen, argo)).isTrue();

        var rejected = make.get();
        rejected.getStatus().rejected = true;
        assertThat(StatusPatcher.sameInputs(seen, rejected)).isFalse();
        var respec = make.get();
        respec.getMetadata().setGeneration(3L);
        assertThat(StatusPatcher.sameInputs(seen, respec)).isFalse();
        var asked = make.get();
        asked.getMetadata().setAnnotations(java.util.Map.of("dbaoperator.io/backup-now", "x"));
        assertThat(StatusPatcher.sameInputs(seen, asked)).isFalse();
    }

    @Test
    void aResourceWithoutStatusGetsItsFirstStatusWhole() {
        // what the client makes of an object the API server holds without status: initStatus()'s empty status
        var m = new io.dbaoperator.api.migration.DatabaseMigration();
        m.getMetadata().setResourceVersion("4");
        m.setStatus(new DatabaseMigrationStatus());
        DatabaseMigrationStatus desired = StatusPatcher.copy(m.getStatus(), DatabaseMigrationStatus.class);
        desired.phase = io.dbaoperator.api.migration.MigrationPhase.Pending;
        String doc = StatusPatcher.patchDocument(m, desired);
        assertThat(doc).contains("{\"op\":\"add\",\"path\":\"/status\",\"value\":{")
                .doesNotContain("/status/phase");
    }

    @Test
    void aFirstStatusIsAddedWhole() throws Exception {
        assertThat(StatusJsonPatch.diff("3", null, M.readTree("{\"phase\":\"Pending\"}")).toString())
                .isEqualTo("[{\"op\":\"replace\",\"path\":\"/metadata/resourceVersion\",\"value\":\"3\"},"
                        + "{\"op\":\"add\",\"path\":\"/status\",\"value\":{\"phase\":\"Pending\"}}]");
    }

    @Test
    void unchangedStatusWritesNothing() {
        BackupPolicy p = new BackupPolicy();
        p.getMetadata().setResourceVersion("7");
        BackupPolicyStatus s = new BackupPolicyStatus();
        s.phase = BackupPolicyPhase.Pending;
        p.setStatus(s);
        assertThat(StatusPatcher.patchDocument(p, StatusPatcher.copy(s, BackupPolicyStatus.class))).isNull();
    }

    @Test
    void patchNeverMentionsApprovalFieldsTheOperatorDidNotChangeAndCarriesTheResourceVersion() {
        DatabaseMigration m = new DatabaseMigration();
        m.getMetadata().setResourceVersion("42");
        DatabaseMigrationStatus observed = new DatabaseMigrationStatus();
        observed.approved = true;
        m.setStatus(observed);
        DatabaseMigrationStatus desired = StatusPatcher.copy(observed, DatabaseMigrationStatus.class);
        desired.message = "still planning";
        String doc = StatusPatcher.patchDocument(m, desired);
        assertThat(doc).isEqualTo("[{\"op\":\"replace\",\"path\":\"/metadata/resourceVersion\",\"value\":\"42\"},"
                + "{\"op\":\"add\",\"path\":\"/status/message\",\"value\":\"still planning\"}]");
    }

    @Test
    void conditionTransitionTimeMovesOnlyWhenStatusChanges() {
        Instant t0 = Instant.parse("2026-01-01T00:00:00Z");
        Instant t1 = Instant.parse("2026-01-01T01:00:00Z");
        var c = Conditions.set(null, ConditionType.Validated, false, Reason.SecretNotFound, "m1", 1, t0);
        c = Conditions.set(c, ConditionType.Validated, false, Reason.SecretKeyMissing, "m2", 2, t1);
        assertThat(c).singleElement().satisfies(x -> {
            assertThat(x.lastTransitionTime).isEqualTo(t0.toString());
            assertThat(x.reason).isEqualTo("SecretKeyMissing");
            assertThat(x.observedGeneration).isEqualTo(2L);
        });
        c = Conditions.set(c, ConditionType.Validated, true, Reason.Validated, "ok", 2, t1);
        assertThat(c.get(0).lastTransitionTime).isEqualTo(t1.toString());
    }

    @Test
    void aProblemFoundAfterValidationPassedIsJudgedAgainstTheStoredCondition_SoARepeatWritesNothing() {
        // stored: Validated False since t0 (a rule refused while planning); this reconcile validates (True at t1),
        // then planning refuses the rule again: what is set is compared with what was stored, not with that True
        Instant t0 = Instant.parse("2026-01-01T00:00:00Z");
        Instant t1 = Instant.parse("2026-01-01T01:00:00Z");
        var stored = Conditions.set(Conditions.set(null, ConditionType.Ready, false, Reason.InProgress, "r", 1, t0),
                ConditionType.Validated, false, Reason.InvalidSpec, "refused", 1, t0);
        var before = Conditions.find(stored, ConditionType.Validated);
        var passed = Conditions.set(stored, ConditionType.Validated, true, Reason.Validated, "ok", 1, t1);
        var again = Conditions.set(Conditions.restore(passed, ConditionType.Validated, before),
                ConditionType.Validated, false, Reason.InvalidSpec, "refused", 1, t1);
        assertThat(again).usingRecursiveFieldByFieldElementComparator().isEqualTo(stored);
        // without a stored one, the condition is new
        var fresh = Conditions.set(Conditions.restore(passed, ConditionType.Validated, java.util.Optional.empty()),
                ConditionType.Validated, false, Reason.InvalidSpec, "refused", 1, t1);
        assertThat(Conditions.find(fresh, ConditionType.Validated).get().lastTransitionTime).isEqualTo(t1.toString());
        assertThat(fresh).extracting(c -> c.type).containsExactly("Ready", "Validated");
    }

    @Test
    void backoffDoublesTheTimeAlreadyFailingWithinBounds() {
        Instant t0 = Instant.parse("2026-01-01T00:00:00Z");
        BackupPolicyStatus s = new BackupPolicyStatus();
        s.conditions = Conditions.set(null, ConditionType.Validated, false, Reason.DatabaseUnreachable, "x", 1, t0);
        assertThat(StatusWriter.backoff(s, ConditionType.Validated, t0)).hasSeconds(15);
        assertThat(StatusWriter.backoff(s, ConditionType.Validated, t0.plusSeconds(60))).hasSeconds(120);
        assertThat(StatusWriter.backoff(s, ConditionType.Validated, t0.plusSeconds(3600))).hasMinutes(10);
    }

    @Test
    void aPhaseEventCarriesOnlyAMessageWrittenWithTheMove() {
        io.dbaoperator.api.disposal.DisposalJobStatus before = new io.dbaoperator.api.disposal.DisposalJobStatus();
        before.phase = io.dbaoperator.api.disposal.DisposalPhase.AwaitingApproval;
        before.message = "waits for approval of the disposal";
        io.dbaoperator.api.disposal.DisposalJobStatus stale = new io.dbaoperator.api.disposal.DisposalJobStatus();
        stale.phase = io.dbaoperator.api.disposal.DisposalPhase.Disposing;
        stale.message = before.message;
        assertThat(StatusWriter.phaseEventText(before, stale)).isEqualTo("phase AwaitingApproval -> Disposing");
        io.dbaoperator.api.disposal.DisposalJobStatus fresh = new io.dbaoperator.api.disposal.DisposalJobStatus();
        fresh.phase = io.dbaoperator.api.disposal.DisposalPhase.Disposing;
        fresh.message = "disposing: 0 of 120 row(s)";
        assertThat(StatusWriter.phaseEventText(before, fresh))
                .isEqualTo("phase AwaitingApproval -> Disposing: disposing: 0 of 120 row(s)");
        assertThat(StatusWriter.phaseEventText(null, fresh)).isEqualTo("phase (new) -> Disposing: disposing: 0 of "
                + "120 row(s)");
    }
}
