package io.dbaoperator.operator;

import static io.dbaoperator.operator.OperatorAssertions.A_BACKUP;
import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Connection;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

import io.dbaoperator.api.backup.BackupPolicySpec;
import io.dbaoperator.api.backup.BackupRestore;
import io.dbaoperator.api.backup.BackupRestoreSpec;
import io.dbaoperator.api.backup.BackupRestoreStatus;
import io.dbaoperator.api.backup.RestorePhase;
import io.dbaoperator.api.common.LocalRef;
import io.dbaoperator.api.common.SecretRef;
import io.dbaoperator.api.disposal.DisposalJobSpec;
import io.dbaoperator.api.disposal.DisposalJobSpec.ColumnStrategy.Strategy;
import io.dbaoperator.backup.RestoreJobs;
import io.dbaoperator.harness.OperatorHarness;
import io.dbaoperator.harness.OperatorTier;
import io.dbaoperator.harness.TestPostgres;
import io.dbaoperator.operator.Fixtures.Standard;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;

/**
 * A masked restore end to end (issue 36), with the real pg_dump, pg_restore, PostgreSQL and S3 server, in a Job of
 * the operator's image on the real node: a logical backup of a database holding personal data restored into a new
 * database that takes its name only once masked and checked; compared with production row by row, no original
 * value of a masked column is left, and keyed masking keeps the join between two tables and gives the same values
 * on a second restore; a copy whose rules leave a phone column unmasked is refused and never appears under the
 * target's name; bad rules are refused before the approval, nothing restored.
 */
@OperatorTier
@QuarkusTest
@QuarkusTestResource(OperatorHarness.class)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class MaskedRestoreTest {

    static final String NS = "masked-restore";
    static final String POLICY = "prod-dumps";
    static final String SOURCE_PASSWORD = "Mr-Source-Pw-7c1e";
    static final String RESTORER_PASSWORD = "Mr-Restorer-Pw-90d2";
    static final String KEY = "a-masking-key-of-32-characters-x";
    static KubernetesClient client;

    @BeforeAll
    static void setUp() {
        client = Fixtures.namespace(NS, Standard.BACKUP_S3);
        TestPostgres pg = TestPostgres.get();
        pg.createDatabase("mr_prod", "mr_prod", SOURCE_PASSWORD);
        pg.exec("mr_prod", "drop table if exists orders, customers",
                "create table customers (id int primary key, email text not null unique, full_name text not null, "
                        + "phone text, country text not null)",
                "create table orders (id int primary key, customer_email text not null, total int not null)",
                "alter table customers owner to mr_prod", "alter table orders owner to mr_prod",
                "insert into customers select g, 'customer' || g || '@shop.example', 'Customer ' || g, "
                        + "'+33 6 12 ' || lpad(g::text, 6, '0'), (array['fr','de'])[1 + g % 2] "
                        + "from generate_series(1, 300) g",
                "insert into orders select g, 'customer' || (1 + g % 300) || '@shop.example', g % 90 "
                        + "from generate_series(1, 600) g");
        pg.exec("postgres", "do $$ begin if not exists (select from pg_roles where rolname = 'mr_staging') then "
                + "create role mr_staging login createdb; end if; end $$",
                "alter role mr_staging password '" + RESTORER_PASSWORD + "'");
        for (String db : List.of("mr_staging_a", "mr_staging_b", "mr_refused", "mr_bad")) {
            pg.exec("postgres", "drop database if exists " + db + " with (force)");
        }
        Fixtures.secret(client, NS, "prod-db", Fixtures.dbKeys("mr_prod", "mr_prod", SOURCE_PASSWORD));
        Fixtures.secret(client, NS, "staging", Fixtures.dbKeys("postgres", "mr_staging", RESTORER_PASSWORD));
        Fixtures.secret(client, NS, "mask-key", Map.of("key", KEY));

        Fixtures.backedUpPolicy(client, NS, POLICY, "prod-db", BackupPolicySpec.Method.logical);
    }

    @AfterAll
    static void tearDown() {
        for (String db : List.of("mr_staging_a", "mr_staging_b", "mr_refused", "mr_bad", "mr_prod")) {
            TestPostgres.get().exec("postgres", "drop database if exists " + db + " with (force)");
        }
    }

    static DisposalJobSpec.ColumnStrategy strategy(Strategy s) {
        DisposalJobSpec.ColumnStrategy c = new DisposalJobSpec.ColumnStrategy();
        c.strategy = s;
        return c;
    }

    static BackupRestoreSpec.MaskingRule rule(String table, Map<String, Strategy> columns) {
        BackupRestoreSpec.MaskingRule r = new BackupRestoreSpec.MaskingRule();
        r.table = table;
        r.columns = new LinkedHashMap<>();
        columns.forEach((c, s) -> r.columns.put(c, strategy(s)));
        return r;
    }

    static BackupRestore restore(String name, String database, List<BackupRestoreSpec.MaskingRule> rules) {
        BackupRestore r = new BackupRestore();
        r.getMetadata().setName(name);
        r.getMetadata().setNamespace(NS);
        BackupRestoreSpec spec = new BackupRestoreSpec();
        spec.backupPolicyRef = new LocalRef(POLICY);
        spec.target = new BackupRestoreSpec.RestoreTarget();
        spec.target.database = new BackupRestoreSpec.DatabaseTarget();
        spec.target.database.databaseRef = Fixtures.db("staging");
        spec.target.database.name = database;
        spec.masking = new BackupRestoreSpec.Masking();
        spec.masking.rules = rules;
        spec.masking.keySecretRef = new SecretRef("mask-key");
        spec.checks = List.of("select count(*) = 300 from customers");
        r.setSpec(spec);
        return client.resource(r).create();
    }

    static List<BackupRestoreSpec.MaskingRule> fullRules() {
        Map<String, Strategy> customers = new LinkedHashMap<>();
        customers.put("email", Strategy.Fake);
        customers.put("full_name", Strategy.Fake);
        customers.put("phone", Strategy.Redact);
        return List.of(rule("customers", customers), rule("public.orders", Map.of("customer_email", Strategy.Fake)));
    }

    static Map<Integer, String> column(String db, String sql) throws Exception {
        Map<Integer, String> out = new HashMap<>();
        try (Connection c = TestPostgres.get().superuser(db); ResultSet rs = c.createStatement().executeQuery(sql)) {
            while (rs.next()) {
                out.put(rs.getInt(1), rs.getString(2));
            }
        }
        return out;
    }

    static long databases(String name) throws Exception {
        try (Connection c = TestPostgres.get().superuser("postgres"); ResultSet rs = c.createStatement()
                .executeQuery("select count(*) from pg_database where datname like '" + name + "%'")) {
            rs.next();
            return rs.getLong(1);
        }
    }

    static BackupRestoreStatus awaitPhase(String name, RestorePhase phase) {
        return OperatorAssertions.awaitPhase(BackupRestore.class, NS, name, phase, A_BACKUP);
    }

    @Test
    @Order(1)
    void aMaskedCopyIsServedOnlyOnceMasked_NoOriginalValueLeft_AndTheJoinOnTheMaskedEmailHolds() throws Exception {
        restore("staging-a", "mr_staging_a", fullRules());
        BackupRestoreStatus planned = awaitPhase("staging-a", RestorePhase.AwaitingApproval);
        assertThat(planned.approvalRequest.reason).contains("masked first by 2 rule(s) over 4 column(s)",
                "unmasked columns that look personal: Refuse");
        assertThat(client.batch().v1().jobs().inNamespace(NS).withName(RestoreJobs.jobName("staging-a")).get())
                .as("no Job before the approval").isNull();
        OperatorAssertions.approve(BackupRestore.class, NS, "staging-a", null);
        BackupRestoreStatus done = awaitPhase("staging-a", RestorePhase.Ready);
        // the key reached the agent from its Secret, never in the Job's spec
        assertThat(client.batch().v1().jobs().inNamespace(NS).withName(RestoreJobs.jobName("staging-a")).get()
                .getSpec().getTemplate().getSpec().getContainers().get(0).getEnv()).noneSatisfy(e -> assertThat(
                        String.valueOf(e.getValue())).contains(KEY));
        assertThat(done.masking.tables).hasSize(2).anySatisfy(t -> assertThat(t).startsWith("customers: 300 rows"));
        assertThat(done.masking.originalsChecked).isPositive();
        assertThat(done.masking.originalsFound).isZero();
        assertThat(done.masking.columnsFound).isGreaterThanOrEqualTo(4);
        assertThat(done.masking.uncovered).isEmpty();
        assertThat(done.masking.report).startsWith("s3://").endsWith(".json");
        assertThat(done.message).contains("masked 2 table(s) before it was served", "none left");

        // production against the copy, row by row
        for (String col : List.of("email", "full_name", "phone")) {
            Map<Integer, String> before = column("mr_prod", "select id, " + col + " from customers");
            Map<Integer, String> after = column("mr_staging_a", "select id, " + col + " from customers");
            assertThat(after).hasSameSizeAs(before);
            before.forEach((id, v) -> assertThat(after.get(id)).as(col + " of customer " + id).isNotEqualTo(v));
        }
        Map<Integer, String> emails = column("mr_prod", "select id, customer_email from orders");
        column("mr_staging_a", "select id, customer_email from orders").forEach((id, v) ->
                assertThat(v).as("order " + id).isNotEqualTo(emails.get(id)));
        assertThat(column("mr_staging_a", "select id, country from customers"))
                .isEqualTo(column("mr_prod", "select id, country from customers"));
        // keyed and deterministic: every order still finds its customer by the masked e-mail
        assertThat(column("mr_staging_a", "select count(*)::int, '' from orders o join customers c "
                + "on c.email = o.customer_email")).containsKey(600);
        assertThat(databases("mr_staging_a")).as("no temporary database left").isEqualTo(1);
    }

    @Test
    @Order(2)
    void aSecondRestoreWithTheSameKeyGivesTheSameMaskedValues() throws Exception {
        restore("staging-b", "mr_staging_b", fullRules());
        awaitPhase("staging-b", RestorePhase.AwaitingApproval);
        OperatorAssertions.approve(BackupRestore.class, NS, "staging-b", null);
        awaitPhase("staging-b", RestorePhase.Ready);
        assertThat(column("mr_staging_b", "select id, email from customers"))
                .isEqualTo(column("mr_staging_a", "select id, email from customers"));
    }

    @Test
    @Order(3)
    void aCopyWithAPersonalColumnNoRuleMasksIsRefusedAndNeverTakesTheTargetsName() throws Exception {
        restore("refused", "mr_refused", List.of(rule("customers", Map.of("email", Strategy.Fake, "full_name",
                Strategy.Fake)), rule("orders", Map.of("customer_email", Strategy.Fake))));
        awaitPhase("refused", RestorePhase.AwaitingApproval);
        OperatorAssertions.approve(BackupRestore.class, NS, "refused", null);
        BackupRestoreStatus failed = awaitPhase("refused", RestorePhase.Failed);
        assertThat(failed.message).contains("look personal and no masking rule covers them",
                "public.customers.phone (Phone)", "the copy is not served");
        assertThat(failed.conditions).anySatisfy(c -> assertThat(c.reason).isEqualTo("UnmaskedPersonalData"));
        assertThat(failed.masking.uncovered).containsExactly("public.customers.phone (Phone)");
        assertThat(failed.message).doesNotContain("+33");
        assertThat(databases("mr_refused")).as("neither the target nor the temporary copy").isZero();
    }

    @Test
    @Order(4)
    void badRulesAreRefusedBeforeTheApprovalAndNothingIsRestored() throws Exception {
        restore("bad-column", "mr_bad", List.of(rule("customers", Map.of("mail", Strategy.Fake))));
        BackupRestoreStatus failed = OperatorAssertions.awaitPhase(BackupRestore.class, NS, "bad-column",
                RestorePhase.Failed, Duration.ofSeconds(60));
        assertThat(failed.message).contains("spec.masking.rules[0]", "no column 'mail'");
        restore("bad-strategy", "mr_bad", List.of(rule("orders", Map.of("total", Strategy.Redact))));
        failed = OperatorAssertions.awaitPhase(BackupRestore.class, NS, "bad-strategy", RestorePhase.Failed,
                Duration.ofSeconds(60));
        assertThat(failed.message).contains("Redact needs a text column", "total is integer");
        for (String name : List.of("bad-column", "bad-strategy")) {
            assertThat(client.batch().v1().jobs().inNamespace(NS).withName(RestoreJobs.jobName(name)).get())
                    .isNull();
            assertThat(OperatorAssertions.get(BackupRestore.class, NS, name).getStatus().approvalRequest).isNull();
        }
        assertThat(databases("mr_bad")).isZero();
    }
}
