package io.dbaoperator.operator;

import static io.dbaoperator.operator.OperatorAssertions.awaitCondition;
import static io.dbaoperator.operator.OperatorAssertions.awaitEvent;
import static io.dbaoperator.operator.OperatorAssertions.get;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import io.dbaoperator.api.backup.BackupPolicy;
import io.dbaoperator.api.backup.BackupPolicySpec;
import io.dbaoperator.api.backup.BackupRestore;
import io.dbaoperator.api.backup.BackupRestoreSpec;
import io.dbaoperator.api.backup.RestorePhase;
import io.dbaoperator.api.common.Condition;
import io.dbaoperator.api.common.LocalRef;
import io.dbaoperator.api.common.SecretRef;
import io.dbaoperator.api.disposal.DisposalJob;
import io.dbaoperator.api.disposal.DisposalJobSpec;
import io.dbaoperator.api.disposal.DisposalPhase;
import io.dbaoperator.api.migration.DatabaseMigration;
import io.dbaoperator.api.migration.DatabaseMigrationSpec;
import io.dbaoperator.api.migration.MigrationPhase;
import io.dbaoperator.api.tuning.QueryTuningRequest;
import io.dbaoperator.api.tuning.QueryTuningRequestSpec;
import io.dbaoperator.api.tuning.TuningPhase;
import io.dbaoperator.harness.OperatorHarness;
import io.dbaoperator.harness.OperatorTier;
import io.dbaoperator.operator.Fixtures.Standard;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;

/** One real object of each other kind through the operator: validated when right, an actionable reason when not. */
@OperatorTier
@QuarkusTest
@QuarkusTestResource(OperatorHarness.class)
class OtherKindsValidationTest {

    static final String NS = "kinds";
    static KubernetesClient client;

    @BeforeAll
    static void setUp() {
        client = Fixtures.namespace(NS, Standard.APP_DB, Standard.REPLICATION_DB, Standard.BACKUP_S3);
        Fixtures.secret(client, NS, "disposal-salt", Map.of("salt", "a-long-enough-salt-value"));
        BackupPolicy policy = new BackupPolicy();
        policy.getMetadata().setName("nightly");
        policy.getMetadata().setNamespace(NS);
        policy.setSpec(new BackupPolicySpec());
        policy.getSpec().database = Fixtures.db("app-db-replication");
        policy.getSpec().schedule = "0 2 * * *";
        policy.getSpec().storage = Fixtures.storage("backup-s3");
        client.resource(policy).createOr(r -> r.update());
    }

    static DatabaseMigration migration(String name) {
        DatabaseMigration m = new DatabaseMigration();
        m.getMetadata().setName(name);
        m.getMetadata().setNamespace(NS);
        DatabaseMigrationSpec spec = new DatabaseMigrationSpec();
        spec.database = Fixtures.db("app-db");
        spec.expand = new DatabaseMigrationSpec.SqlStep("alter table users add column email_lower text");
        spec.rollback = new DatabaseMigrationSpec.SqlStep("alter table users drop column email_lower");
        m.setSpec(spec);
        return m;
    }

    @Test
    void databaseMigration() {
        DatabaseMigration good = migration("add-email-lower");
        good.getSpec().preMigrationBackup = new DatabaseMigrationSpec.PreMigrationBackup();
        good.getSpec().preMigrationBackup.backupPolicyRef = new LocalRef("nightly");
        good.getSpec().paused = true; // validated and planned, nothing run: DatabaseMigrationTest runs migrations
        client.resource(good).create();
        Condition ok = awaitCondition(DatabaseMigration.class, NS, "add-email-lower", "Validated", "True");
        assertThat(ok.message).contains("app@" + Fixtures.host());
        awaitCondition(DatabaseMigration.class, NS, "add-email-lower", "Ready", "False");
        assertThat(get(DatabaseMigration.class, NS, "add-email-lower").getStatus().phase)
                .isEqualTo(MigrationPhase.Planning);

        DatabaseMigration missingPolicy = migration("no-policy");
        missingPolicy.getSpec().preMigrationBackup = new DatabaseMigrationSpec.PreMigrationBackup();
        missingPolicy.getSpec().preMigrationBackup.backupPolicyRef = new LocalRef("weekly");
        client.resource(missingPolicy).create();
        Condition bad = awaitCondition(DatabaseMigration.class, NS, "no-policy", "Validated", "False");
        assertThat(bad.reason).isEqualTo("ReferenceNotFound");
        assertThat(bad.message).contains("spec.preMigrationBackup.backupPolicyRef").contains("BackupPolicy weekly");
        assertThat(get(DatabaseMigration.class, NS, "no-policy").getStatus().phase).isEqualTo(MigrationPhase.Failed);
        awaitEvent(NS, "no-policy", "Warning", "ReferenceNotFound");
    }

    static BackupRestore restore(String name, String instance) {
        BackupRestore r = new BackupRestore();
        r.getMetadata().setName(name);
        r.getMetadata().setNamespace(NS);
        BackupRestoreSpec spec = new BackupRestoreSpec();
        spec.backupPolicyRef = new LocalRef("nightly");
        spec.target = new BackupRestoreSpec.RestoreTarget();
        spec.target.newInstance = new BackupRestoreSpec.NewInstance();
        spec.target.newInstance.name = instance;
        r.setSpec(spec);
        return r;
    }

    @Test
    void backupRestore() {
        // the references resolve, and the plan finds nothing to restore: refused before anyone is asked
        client.resource(restore("restore-yesterday", "app-restored")).create();
        Condition none = awaitCondition(BackupRestore.class, NS, "restore-yesterday", "Validated", "False");
        assertThat(none.reason).isEqualTo("BackupNotFound");
        assertThat(none.message).isEqualTo("the policy has no verified backup at s3://dba-test/it/kinds/nightly/base/");
        assertThat(get(BackupRestore.class, NS, "restore-yesterday").getStatus().phase).isEqualTo(RestorePhase.Failed);
        assertThat(get(BackupRestore.class, NS, "restore-yesterday").getStatus().approvalRequest).isNull();

        BackupRestore badTime = restore("bad-time", "app-restored-2");
        badTime.getSpec().targetTime = "yesterday at noon";
        client.resource(badTime).create();
        Condition c = awaitCondition(BackupRestore.class, NS, "bad-time", "Validated", "False");
        assertThat(c.reason).isEqualTo("InvalidSpec");
        assertThat(c.message).contains("RFC 3339");
    }

    static QueryTuningRequest tuning(String name, String query, List<String> params) {
        QueryTuningRequest q = new QueryTuningRequest();
        q.getMetadata().setName(name);
        q.getMetadata().setNamespace(NS);
        QueryTuningRequestSpec spec = new QueryTuningRequestSpec();
        spec.database = Fixtures.db("app-db");
        spec.query = query;
        spec.parameters = params;
        q.setSpec(spec);
        return q;
    }

    @Test
    void queryTuningRequest() {
        // valid and analysed; without HypoPG on the database nor a staging database, nothing can be costed
        io.dbaoperator.harness.TestPostgres.get().exec("app", "drop table if exists kinds_probe",
                "create table kinds_probe (id int primary key, customer_id int)",
                "insert into kinds_probe select g, g % 50 from generate_series(1, 5000) g", "analyze kinds_probe",
                "alter table kinds_probe owner to app");
        client.resource(tuning("slow-orders", "select * from kinds_probe where customer_id = $1", List.of("42")))
                .create();
        awaitCondition(QueryTuningRequest.class, NS, "slow-orders", "Validated", "True");
        awaitCondition(QueryTuningRequest.class, NS, "slow-orders", "Ready", "True");
        var st = get(QueryTuningRequest.class, NS, "slow-orders").getStatus();
        assertThat(st.phase).isEqualTo(TuningPhase.NoRecommendation);
        assertThat(st.message).contains("HypoPG is not installed").contains("no stagingDatabase");
        assertThat(st.analyzed.get(0).findings).anySatisfy(f -> assertThat(f).contains("Seq Scan on public.kinds_probe"));

        client.resource(tuning("missing-param", "select * from orders where customer_id = $1 and status = $2",
                List.of("42"))).create();
        Condition c = awaitCondition(QueryTuningRequest.class, NS, "missing-param", "Validated", "False");
        assertThat(c.reason).isEqualTo("InvalidSpec");
        assertThat(c.message).contains("$2").contains("1 parameter(s)");
    }

    static DisposalJob disposal(String name, DisposalJobSpec.ColumnStrategy.Strategy strategy) {
        DisposalJob d = new DisposalJob();
        d.getMetadata().setName(name);
        d.getMetadata().setNamespace(NS);
        DisposalJobSpec spec = new DisposalJobSpec();
        spec.database = Fixtures.db("app-db");
        DisposalJobSpec.Rule rule = new DisposalJobSpec.Rule();
        rule.table = "customers";
        rule.action = DisposalJobSpec.Action.Anonymize;
        rule.where = "closed_at < now() - interval '2 years'";
        rule.anonymize = new DisposalJobSpec.Anonymize();
        DisposalJobSpec.ColumnStrategy cs = new DisposalJobSpec.ColumnStrategy();
        cs.strategy = strategy;
        rule.anonymize.columns = Map.of("email", cs);
        spec.rules = List.of(rule);
        spec.report = new DisposalJobSpec.Report();
        spec.report.storage = Fixtures.storage("backup-s3");
        d.setSpec(spec);
        return d;
    }

    @Test
    void disposalJob() {
        io.dbaoperator.harness.TestPostgres.get().exec("app", "create table if not exists customers (id bigint "
                + "primary key, email text, closed_at timestamptz)", "alter table customers owner to app");
        DisposalJob good = disposal("anonymize-closed", DisposalJobSpec.ColumnStrategy.Strategy.Hash);
        good.getSpec().saltSecretRef = new SecretRef("disposal-salt");
        good.getSpec().dryRun = true; // validated and counted; DisposalJobTest disposes for real
        client.resource(good).create();
        Condition ok = awaitCondition(DisposalJob.class, NS, "anonymize-closed", "Validated", "True");
        assertThat(ok.message).contains("report bucket dba-test");
        awaitCondition(DisposalJob.class, NS, "anonymize-closed", "Ready", "True");
        assertThat(get(DisposalJob.class, NS, "anonymize-closed").getStatus().phase).isEqualTo(DisposalPhase.Completed);

        client.resource(disposal("no-salt", DisposalJobSpec.ColumnStrategy.Strategy.Fake)).create();
        Condition c = awaitCondition(DisposalJob.class, NS, "no-salt", "Validated", "False");
        assertThat(c.reason).isEqualTo("InvalidSpec");
        assertThat(c.message).contains("spec.saltSecretRef");

        DisposalJob badCron = disposal("bad-cron", DisposalJobSpec.ColumnStrategy.Strategy.Null);
        badCron.getSpec().schedule = "0 25 * * *"; // five fields (the API server checks that), hour 25 (we do)
        client.resource(badCron).create();
        assertThat(awaitCondition(DisposalJob.class, NS, "bad-cron", "Validated", "False").reason)
                .isEqualTo("InvalidSchedule");
    }
}
