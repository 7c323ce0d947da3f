package io.dbaoperator.contract;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;

import org.junit.jupiter.api.Test;

/** What the operator writes into a Job's command, the agent reads back the same; a failure line survives any text. */
class AgentContractTest {

    private static String[] args(List<String> command) {
        assertThat(command.get(0)).isEqualTo(AgentEnvironment.AGENT);
        return command.subList(1, command.size()).toArray(String[]::new);
    }

    @Test
    void backupArgumentsRoundTrip() {
        BackupArgs full = new BackupArgs("shop", "orders", "20261121T020000Z", "zstd", "server", 9, false, 0);
        assertThat(BackupArgs.parse(args(full.command()))).isEqualTo(full);
        BackupArgs plain = new BackupArgs("shop", "orders", "20261121T020000Z", "none", "client", null, true, 86400);
        assertThat(plain.command()).doesNotContain("--level");
        assertThat(BackupArgs.parse(args(plain.command()))).isEqualTo(plain);
        assertThat(full.objectName()).isEqualTo("base.tar.zst");
        assertThat(plain.objectName()).isEqualTo("base.tar");
    }

    @Test
    void restoreArgumentsRoundTrip() {
        RestoreArgs pitr = new RestoreArgs("shop", "orders", "r-1", "20261121T020000Z", "/var/lib/postgresql/data",
                "2026-11-21T09:30:00Z", null, "app", "app_owner", true, true);
        assertThat(RestoreArgs.parse(args(pitr.command()))).isEqualTo(pitr);
        RestoreArgs test = new RestoreArgs("shop", "orders", "t-1", "20261121T020000Z", "/data", null, "0/3000060",
                "postgres", "postgres", false, false);
        assertThat(RestoreArgs.parse(args(test.command()))).isEqualTo(test);
        assertThat(test.describeTarget()).isEqualTo("lsn 0/3000060");
    }

    @Test
    void logicalArgumentsRoundTripWithAnyNames() {
        LogicalBackupArgs backup = new LogicalBackupArgs("shop", "dumps", "20261206T020000Z",
                List.of("app", "we\"ird,[db]"), List.of("sales"), List.of("sales.orders"), true, 0, true, 3600);
        assertThat(LogicalBackupArgs.parse(args(backup.command()))).isEqualTo(backup);
        LogicalRestoreArgs into = new LogicalRestoreArgs("shop", "dumps", "r-1a2b3c4d", "20261206T020000Z",
                List.of("we\"ird,[db]"), "app copy", true, List.of("sales"), List.of("orders"), 4, "app_owner", false,
                null, false);
        assertThat(LogicalRestoreArgs.parse(args(into.command()))).isEqualTo(into);
        assertThat(into.command()).contains("[\"we\\\"ird,[db]\"]");
        LogicalRestoreArgs test = new LogicalRestoreArgs("shop", "dumps", "test-1", "20261206T020000Z", List.of(),
                null, false, List.of(), List.of(), 1, null, false, "app", true);
        assertThat(LogicalRestoreArgs.parse(args(test.command()))).isEqualTo(test);
        assertThat(test.command()).doesNotContain("--sources", "--target");
        assertThatThrownBy(() -> new LogicalRestoreArgs("shop", "dumps", "r", "b", List.of("a", "b"), "t", false,
                List.of(), List.of(), 1, null, false, null, false)).hasMessageContaining("exactly one source");
        assertThatThrownBy(() -> LogicalRestoreArgs.parse(new String[] {"logical-restore", "--namespace", "s",
                "--policy", "p", "--restore-id", "r", "--backup-id", "b", "--scratch", "true", "--jobs", "two"}))
                .hasMessageContaining("--jobs takes a whole number");
    }

    @Test
    void walArchiveArgumentsRoundTrip() {
        WalArchiveArgs a = new WalArchiveArgs("shop", "orders", "dba_shop_orders", "/spool");
        assertThat(a.command()).containsExactly("dba-agent", "wal-archive", "--namespace", "shop", "--policy",
                "orders", "--slot", "dba_shop_orders", "--spool", "/spool");
        assertThat(WalArchiveArgs.parse(args(a.command()))).isEqualTo(a);
    }

    @Test
    void aBadInvocationIsRefusedNotGuessed() {
        assertThatThrownBy(() -> BackupArgs.parse(new String[] {"backup", "--namespace", "shop", "--policy", "p"}))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("missing --backup-id");
        assertThatThrownBy(() -> BackupArgs.parse(new String[] {"backup", "--namespace", "shop", "--polcy", "p"}))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("unknown option --polcy");
        assertThatThrownBy(() -> WalArchiveArgs.parse(new String[] {"wal-archive", "--namespace"}))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("missing a value for --namespace");
        assertThatThrownBy(() -> WalArchiveArgs.parse(new String[] {"wal-archive", "--slot", "a", "--slot", "b"}))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("--slot is given twice");
        assertThatThrownBy(() -> BackupArgs.parse(new String[] {"backup", "--namespace", "s", "--policy", "p",
                "--backup-id", "b", "--level", "high"})).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> RestoreArgs.parse(new String[] {"restore", "--namespace", "s", "--policy", "p",
                "--restore-id", "r", "--backup-id", "b", "--data-dir", "/d", "--target-time", "2026-11-21T09:30:00Z",
                "--target-lsn", "0/1"})).hasMessage("--target-time and --target-lsn exclude each other");
    }

    @Test
    void theFailureLineSurvivesAnyMessage() {
        AgentFailure f = new AgentFailure("StorageUnreachable", "bucket \"b\" said:\nAccess Denied \\ nöt found");
        assertThat(f.line()).doesNotContain("\n");
        assertThat(AgentFailure.parse(f.line())).contains(f);
        assertThat(AgentFailure.describe(f.line()))
                .isEqualTo("StorageUnreachable: bucket \"b\" said:\nAccess Denied \\ nöt found");
        // a line that is not the agent's (a tool's output, a truncated log) is said as it is
        assertThat(AgentFailure.describe("pg_basebackup: error: connection refused"))
                .isEqualTo("pg_basebackup: error: connection refused");
        assertThat(AgentFailure.describe("{\"reason\":\"Fa")).isEqualTo("{\"reason\":\"Fa");
        assertThat(AgentFailure.describe("{\"other\":1}")).isEqualTo("{\"other\":1}");
    }
}
