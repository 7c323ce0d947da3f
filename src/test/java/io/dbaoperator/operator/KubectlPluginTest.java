package io.dbaoperator.operator;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import io.dbaoperator.api.backup.BackupPolicy;
import io.dbaoperator.api.backup.BackupPolicySpec;
import io.dbaoperator.api.migration.DatabaseMigration;
import io.dbaoperator.api.migration.DatabaseMigrationSpec;
import io.dbaoperator.harness.OperatorHarness;
import io.dbaoperator.harness.OperatorTier;
import io.dbaoperator.harness.TestKubernetes;
import io.dbaoperator.harness.TestPostgres;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;

/**
 * deploy/plugin/kubectl-dba as a person runs it, with the real kubectl against the real API server while the
 * operator works: {@code wait} returns when the phase is reached, at once when the resource ends elsewhere or waits
 * for a person (saying why and what to type), and after its timeout with the phase it saw, each with its own exit
 * status.
 */
@OperatorTier
@QuarkusTest
@QuarkusTestResource(OperatorHarness.class)
class KubectlPluginTest {

    static final String NS = "plugin";
    static final String DB = "plugin_wait";
    static KubernetesClient client;

    record Run(int exit, String output) {
    }

    @BeforeAll
    static void setUp() {
        client = Fixtures.namespace(NS);
        TestPostgres pg = TestPostgres.get();
        pg.createDatabase(DB, "app", Fixtures.APP_PASSWORD);
        pg.exec(DB, "drop schema if exists dba_operator cascade", "drop table if exists t",
                "create table t (id bigint primary key, v text)", "insert into t select g, 'v' from "
                        + "generate_series(1, 100) g", "alter table t owner to app");
        Map<String, String> keys = new HashMap<>(Fixtures.appDbKeys());
        keys.put("dbname", DB);
        Fixtures.secret(client, NS, "plugin-db", keys);
    }

    static Run plugin(String... args) throws IOException, InterruptedException {
        return pluginIn(NS, args);
    }

    /** The plugin as a person runs it against namespace {@code ns}. */
    static Run pluginIn(String ns, String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of(Path.of("deploy/plugin/kubectl-dba").toAbsolutePath()
                .toString()));
        command.addAll(List.of(args));
        command.addAll(List.of("-n", ns));
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
        pb.environment().put("KUBECONFIG", TestKubernetes.get().controlPlane().kubeconfigFile("admin").toString());
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(180, TimeUnit.SECONDS)).isTrue();
        return new Run(p.exitValue(), out);
    }

    static DatabaseMigration migration(String name, String expand) {
        DatabaseMigration m = new DatabaseMigration();
        m.getMetadata().setName(name);
        m.getMetadata().setNamespace(NS);
        DatabaseMigrationSpec spec = new DatabaseMigrationSpec();
        spec.database = Fixtures.db("plugin-db");
        spec.expand = new DatabaseMigrationSpec.SqlStep(expand);
        spec.rollback = new DatabaseMigrationSpec.SqlStep("ALTER TABLE t DROP COLUMN IF EXISTS added");
        m.setSpec(spec);
        return m;
    }

    @Test
    void waitReturnsWhenThePhaseIsReachedAndAtOnceWhenAPersonIsNeeded() throws Exception {
        DatabaseMigration m = migration("waits", "ALTER TABLE t ADD COLUMN added text");
        m.getSpec().contract = new DatabaseMigrationSpec.SqlStep("ALTER TABLE t DROP COLUMN v");
        client.resource(m).create();

        Run reached = plugin("wait", "dbm", "waits", "--for", "AwaitingCutover", "--timeout", "120s");
        assertThat(reached.exit()).as(reached.output()).isZero();
        assertThat(reached.output()).contains("dbm/waits: phase AwaitingCutover");

        Run condition = plugin("wait", "dbm", "waits", "--for=condition=Validated", "--timeout=30s");
        assertThat(condition.exit()).as(condition.output()).isZero();
        assertThat(condition.output()).contains("condition Validated is True");

        long t0 = System.nanoTime();
        Run person = plugin("wait", "dbm", "waits", "--for", "Completed", "--timeout", "10m");
        assertThat(person.exit()).as(person.output()).isEqualTo(3);
        assertThat(TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - t0)).as("not left to time out").isLessThan(60);
        assertThat(person.output()).contains("waits for a person: step cutover, phase AwaitingCutover")
                .contains("to go on: kubectl patch dbm waits");
        assertThat(client.resources(DatabaseMigration.class).inNamespace(NS).withName("waits").get().getStatus()
                .phase.name()).as("wait only reads").isEqualTo("AwaitingCutover");

        // approved, and not yet taken up by the operator: a person has answered, so wait goes on waiting
        Run approved = plugin("approve", "dbm", "waits", "--yes");
        assertThat(approved.exit()).as(approved.output()).isZero();
        Run next = plugin("wait", "dbm", "waits", "--for", "AwaitingApproval", "--timeout", "60s");
        assertThat(next.exit()).as(next.output()).isZero();
        assertThat(next.output()).contains("dbm/waits: phase AwaitingApproval");
    }

    @Test
    void waitReturnsAtOnceWithTheReasonWhenTheResourceEndsInAnotherTerminalPhase() throws Exception {
        client.resource(migration("refused", "VACUUM FULL t")).create();
        Run failed = plugin("wait", "dbm", "refused", "--for", "Completed", "--timeout", "120s");
        assertThat(failed.exit()).as(failed.output()).isEqualTo(1);
        assertThat(failed.output()).contains("dbm/refused ended in phase Failed, not Completed:")
                .contains("DatabaseMigration/refused: Failed")
                .contains("ban-vacuum-full");
    }

    @Test
    void waitTimesOutWithThePhaseItSaw() throws Exception {
        BackupPolicy p = new BackupPolicy();
        p.getMetadata().setName("unreachable");
        p.getMetadata().setNamespace(NS);
        p.setSpec(new BackupPolicySpec());
        Map<String, String> keys = new HashMap<>(Fixtures.appDbKeys());
        keys.put("port", "1"); // nothing listens there: the policy stays Pending, retrying
        Fixtures.secret(client, NS, "unreachable-db", keys);
        p.getSpec().database = Fixtures.db("unreachable-db");
        p.getSpec().schedule = "0 2 * * *";
        p.getSpec().storage = Fixtures.storage("backup-s3");
        Fixtures.secret(client, NS, "backup-s3", Fixtures.s3Keys());
        client.resource(p).create();
        OperatorAssertions.awaitCondition(BackupPolicy.class, NS, "unreachable", "Validated", "False");

        Run timedOut = plugin("wait", "bkp", "unreachable", "--for", "Active", "--timeout", "3s");
        assertThat(timedOut.exit()).as(timedOut.output()).isEqualTo(2);
        assertThat(timedOut.output()).contains("bkp/unreachable: not Active after 3s; now:")
                .contains("BackupPolicy/unreachable: Pending").contains("DatabaseUnreachable");
        assertThat(timedOut.output()).doesNotContain(Fixtures.APP_PASSWORD);

        Run usage = plugin("wait", "bkp", "unreachable");
        assertThat(usage.exit()).isEqualTo(1);
        assertThat(usage.output()).contains("--for PHASE|condition=TYPE");
    }
}
