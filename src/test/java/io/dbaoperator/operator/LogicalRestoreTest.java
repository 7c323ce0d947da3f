package io.dbaoperator.operator;

import static io.dbaoperator.operator.OperatorAssertions.A_BACKUP;
import static io.dbaoperator.operator.OperatorAssertions.awaitCondition;
import static io.dbaoperator.operator.OperatorAssertions.get;
import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Connection;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

import io.dbaoperator.api.backup.BackupPolicy;
import io.dbaoperator.api.backup.BackupPolicySpec;
import io.dbaoperator.api.backup.BackupRestore;
import io.dbaoperator.api.backup.BackupRestoreSpec;
import io.dbaoperator.api.backup.BackupRestoreStatus;
import io.dbaoperator.api.backup.RestorePhase;
import io.dbaoperator.api.common.Condition;
import io.dbaoperator.api.common.LocalRef;
import io.dbaoperator.backup.BackupPolicyReconciler;
import io.dbaoperator.backup.RestoreJobs;
import io.dbaoperator.harness.OperatorHarness;
import io.dbaoperator.harness.OperatorTier;
import io.dbaoperator.harness.TestPostgres;
import io.dbaoperator.operator.Fixtures.Standard;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;

/**
 * A logical backup restored end to end, with the real pg_dump, pg_restore, PostgreSQL and S3 server, in Jobs of the
 * operator's image on the real node: the policy's dump is proven by a restore test in a scratch PostgreSQL inside
 * its Job; a BackupRestore into a new database waits for approval and then holds every row; into the same, now
 * non-empty, database it is refused untouched; with replace, the approval names what is replaced and the database
 * then holds the dump's data and nothing of what was there. The policy copies each backup to a second bucket
 * (spec.copies.offsite, by a copy Job): with the backup's objects deleted from the primary bucket, a restore plans
 * from the offsite copy, says so, and restores every row from there.
 */
@OperatorTier
@QuarkusTest
@QuarkusTestResource(OperatorHarness.class)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class LogicalRestoreTest {

    static final String NS = "logical-restore";
    static final String POLICY = "dumps";
    static final String SOURCE_PASSWORD = "Lr-Source-Pw-60af";
    static final String RESTORER_PASSWORD = "Lr-Restorer-Pw-2e91";
    static KubernetesClient client;

    @BeforeAll
    static void setUp() {
        client = Fixtures.namespace(NS, Standard.BACKUP_S3);
        TestPostgres pg = TestPostgres.get();
        pg.createDatabase("lr_shop", "lr_shop", SOURCE_PASSWORD);
        pg.exec("lr_shop", "drop table if exists orders", "create table orders (id int primary key, item text not null)",
                "alter table orders owner to lr_shop",
                "insert into orders select g, 'item ' || g from generate_series(1, 500) g");
        pg.exec("postgres", "do $$ begin if not exists (select from pg_roles where rolname = 'lr_staging') then "
                + "create role lr_staging login createdb; end if; end $$",
                "alter role lr_staging password '" + RESTORER_PASSWORD + "'",
                "drop database if exists lr_shop_copy with (force)");
        Fixtures.secret(client, NS, "shop-db", Fixtures.dbKeys("lr_shop", "lr_shop", SOURCE_PASSWORD));
        Fixtures.secret(client, NS, "staging", Fixtures.dbKeys("postgres", "lr_staging", RESTORER_PASSWORD));

        BackupPolicy p = new BackupPolicy();
        p.getMetadata().setName(POLICY);
        p.getMetadata().setNamespace(NS);
        p.getMetadata().setAnnotations(new HashMap<>(Map.of(BackupPolicyReconciler.BACKUP_NOW, "first")));
        p.setSpec(new BackupPolicySpec());
        p.getSpec().method = BackupPolicySpec.Method.logical;
        p.getSpec().database = Fixtures.db("shop-db");
        p.getSpec().schedule = "0 3 * * *";
        p.getSpec().storage = Fixtures.storage("backup-s3");
        p.getSpec().verification.restoreTest = new BackupPolicySpec.RestoreTest();
        p.getSpec().verification.restoreTest.schedule = "0 4 * * 0";
        p.getSpec().verification.restoreTest.checks = List.of("select count(*) = 500 from orders");
        p.getSpec().copies = new BackupPolicySpec.Copies();
        p.getSpec().copies.offsite = new BackupPolicySpec.Offsite();
        p.getSpec().copies.offsite.storage = Fixtures.storage("backup-s3");
        p.getSpec().copies.offsite.storage.bucket = io.dbaoperator.harness.TestS3.OFFSITE_BUCKET;
        p.getSpec().copies.offsite.storage.prefix = "offsite";
        client.resource(p).create();
        awaitCondition(BackupPolicy.class, NS, POLICY, "LastBackupSucceeded", "True", A_BACKUP);
    }

    @AfterAll
    static void tearDown() {
        TestPostgres.get().exec("postgres", "drop database if exists lr_shop_copy with (force)",
                "drop database if exists lr_shop_far with (force)");
    }

    static BackupRestore restore(String name, boolean replace) {
        BackupRestore r = new BackupRestore();
        r.getMetadata().setName(name);
        r.getMetadata().setNamespace(NS);
        BackupRestoreSpec spec = new BackupRestoreSpec();
        spec.backupPolicyRef = new LocalRef(POLICY);
        spec.target = new BackupRestoreSpec.RestoreTarget();
        spec.target.database = new BackupRestoreSpec.DatabaseTarget();
        spec.target.database.databaseRef = Fixtures.db("staging");
        spec.target.database.name = name.equals("far") ? "lr_shop_far" : "lr_shop_copy";
        spec.target.database.replace = replace;
        spec.logical = new BackupRestoreSpec.LogicalRestore();
        spec.logical.jobs = replace ? 2 : 1; // the second restore downloads the dump and restores in parallel
        spec.checks = List.of("select count(*) = 500 from orders");
        r.setSpec(spec);
        return client.resource(r).create();
    }

    static BackupRestoreStatus awaitPhase(String name, RestorePhase phase) {
        return OperatorAssertions.awaitPhase(BackupRestore.class, NS, name, phase, A_BACKUP);
    }

    static String value(String db, String sql) throws Exception {
        try (Connection c = TestPostgres.get().superuser(db); ResultSet rs = c.createStatement().executeQuery(sql)) {
            rs.next();
            return rs.getString(1);
        }
    }

    @Test
    @Order(1)
    void theDumpIsProvenByARestoreTestInAScratchInstanceOfItsJob() throws Exception {
        client.resources(BackupPolicy.class).inNamespace(NS).withName(POLICY).edit(x -> {
            x.getMetadata().getAnnotations().put("dbaoperator.io/restore-test-now", "1");
            return x;
        });
        Condition passed = awaitCondition(BackupPolicy.class, NS, POLICY, "RestoreTestPassed", "True", A_BACKUP);
        assertThat(passed.message).contains("restored into a scratch instance (1 table(s) in lr_shop)",
                "1 check(s) passed");
        assertThat(value("postgres", "select count(*) from pg_database where datname like 'lr_shop%'"))
                .as("nothing restored into the instance").isEqualTo("1");
    }

    @Test
    @Order(2)
    void aDumpRestoresIntoANewDatabaseOnlyAfterApprovalWithEveryRow() throws Exception {
        restore("copy", false);
        BackupRestoreStatus planned = awaitPhase("copy", RestorePhase.AwaitingApproval);
        String backupId = get(BackupPolicy.class, NS, POLICY).getStatus().lastBackup.backupId;
        assertThat(planned.plan.backupId).isEqualTo(backupId);
        assertThat(planned.plan.sourceDatabase).isEqualTo("lr_shop");
        assertThat(planned.plan.target).startsWith("new database lr_shop_copy on ");
        assertThat(planned.approvalRequest.reason).contains("into new database lr_shop_copy");
        assertThat(client.batch().v1().jobs().inNamespace(NS).withName(RestoreJobs.jobName("copy")).get())
                .as("no Job before the approval").isNull();

        OperatorAssertions.approve(BackupRestore.class, NS, "copy", null);
        BackupRestoreStatus done = awaitPhase("copy", RestorePhase.Ready);
        assertThat(done.database.name).isEqualTo("lr_shop_copy");
        assertThat(done.database.tables).isEqualTo(1);
        assertThat(done.database.replaced).isFalse();
        assertThat(done.checkResults).singleElement().satisfies(c -> assertThat(c.passed).isTrue());
        assertThat(value("lr_shop_copy", "select count(*) from orders where item = 'item ' || id")).isEqualTo("500");
        assertThat(value("lr_shop_copy", "select tableowner from pg_tables where tablename = 'orders'"))
                .as("owned by the restoring role (--no-owner)").isEqualTo("lr_staging");
        assertThat(client.batch().v1().jobs().inNamespace(NS).withName(RestoreJobs.jobName("copy")).get()
                .getMetadata().getAnnotations()).containsKey("dbaoperator.io/approval");
    }

    @Test
    @Order(3)
    void aDatabaseThatIsNotEmptyIsRefusedUntouchedAndReplacedOnlyWhenTheApprovalNamesIt() throws Exception {
        TestPostgres.get().exec("lr_shop_copy", "create table notes (id int)", "insert into notes values (7)");
        restore("again", false);
        BackupRestoreStatus refused = OperatorAssertions.awaitPhase(BackupRestore.class, NS, "again",
                RestorePhase.Failed, Duration.ofSeconds(60));
        assertThat(refused.message).contains("lr_shop_copy", "holds 2 relation(s)", "spec.target.database.replace");
        assertThat(client.batch().v1().jobs().inNamespace(NS).withName(RestoreJobs.jobName("again")).get()).isNull();
        assertThat(value("lr_shop_copy", "select id from notes")).isEqualTo("7");

        restore("replace", true);
        BackupRestoreStatus planned = awaitPhase("replace", RestorePhase.AwaitingApproval);
        assertThat(planned.plan.target).startsWith("replace database lr_shop_copy on ");
        assertThat(planned.plan.replaces).startsWith("2 relation(s), ");
        assertThat(planned.approvalRequest.reason).contains("replacing what it holds now (2 relation(s), ");
        OperatorAssertions.approve(BackupRestore.class, NS, "replace", null);
        BackupRestoreStatus done = awaitPhase("replace", RestorePhase.Ready);
        assertThat(done.database.replaced).isTrue();
        assertThat(value("lr_shop_copy", "select count(*) from orders")).isEqualTo("500");
        assertThat(value("lr_shop_copy", "select count(*) from pg_tables where tablename = 'notes'"))
                .as("what was there is gone with the database it was in").isEqualTo("0");
        assertThat(value("postgres", "select string_agg(datname, ',') from pg_database where datname like "
                + "'lr_shop_copy%'")).as("no temporary or replaced database left").isEqualTo("lr_shop_copy");
    }

    @Test
    @Order(4)
    void withItsObjectsGoneFromThePrimaryBucketTheBackupRestoresFromItsOffsiteCopy() throws Exception {
        TestPostgres.get().exec("postgres", "drop database if exists lr_shop_far with (force)");
        String backupId = get(BackupPolicy.class, NS, POLICY).getStatus().lastBackup.backupId;
        org.awaitility.Awaitility.await().atMost(A_BACKUP).pollInterval(Duration.ofSeconds(1)).until(() -> {
            var st = get(BackupPolicy.class, NS, POLICY).getStatus();
            return st.lastCopy != null && Boolean.TRUE.equals(st.lastCopy.succeeded)
                    && backupId.equals(st.lastCopy.backupId);
        });
        var policy = get(BackupPolicy.class, NS, POLICY).getStatus();
        assertThat(policy.lastCopy.message).contains("copied to s3://" + io.dbaoperator.harness.TestS3.OFFSITE_BUCKET
                + "/offsite/" + NS + "/" + POLICY + "/base/" + backupId, "SHA-256 checked");
        assertThat(policy.backups.get(0).offsiteCopiedAt).isNotNull();
        var listed = KubectlPluginTest.pluginIn(NS, "backups", POLICY);
        assertThat(listed.output()).contains("OFFSITE COPY").containsPattern(backupId + "\\tlogical\\tverified\\t.*\\t"
                + java.util.regex.Pattern.quote(policy.backups.get(0).offsiteCopiedAt));

        // the primary copy is lost: every object of the backup deleted from the bucket, its record kept
        io.dbaoperator.storage.S3Location here = new io.dbaoperator.storage.S3Location(
                io.dbaoperator.harness.TestS3.BUCKET, "it", java.net.URI.create(io.dbaoperator.harness.TestS3.get()
                        .endpoint()), "us-east-1", true, io.dbaoperator.harness.TestS3.ACCESS_KEY_ID,
                io.dbaoperator.harness.TestS3.SECRET_ACCESS_KEY, null, null);
        try (var s3 = io.dbaoperator.storage.S3Clients.create(here)) {
            var catalog = new io.dbaoperator.backup.catalog.BackupCatalog(s3, here, NS, POLICY);
            for (var o : catalog.read(backupId).objects) {
                s3.deleteObject(b -> b.bucket(here.bucket()).key(o.key));
            }
        }

        restore("far", false);
        BackupRestoreStatus planned = awaitPhase("far", RestorePhase.AwaitingApproval);
        assertThat(planned.plan.backupId).isEqualTo(backupId);
        assertThat(planned.plan.copy).isEqualTo("offsite");
        assertThat(planned.plan.copyLocation).startsWith("s3://" + io.dbaoperator.harness.TestS3.OFFSITE_BUCKET
                + "/offsite/");
        assertThat(planned.plan.copyReason).contains("[lr_shop.dump] are gone from the primary bucket");
        assertThat(planned.approvalRequest.reason).contains("from its offsite copy");
        OperatorAssertions.approve(BackupRestore.class, NS, "far", null);
        BackupRestoreStatus done = awaitPhase("far", RestorePhase.Ready);
        assertThat(done.database.name).isEqualTo("lr_shop_far");
        assertThat(value("lr_shop_far", "select count(*) from orders where item = 'item ' || id")).isEqualTo("500");
        assertThat(client.batch().v1().jobs().inNamespace(NS).withName(RestoreJobs.jobName("far")).get().getSpec()
                .getTemplate().getSpec().getContainers().get(0).getEnv()).filteredOn(e -> e.getName()
                        .equals("DBA_S3_BUCKET")).singleElement().satisfies(e -> assertThat(e.getValue())
                                .as("the Job read the offsite bucket").isEqualTo(io.dbaoperator.harness.TestS3
                                        .OFFSITE_BUCKET));
    }
}
