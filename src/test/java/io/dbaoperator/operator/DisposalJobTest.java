package io.dbaoperator.operator;

import static io.dbaoperator.operator.OperatorAssertions.awaitEvent;
import static io.dbaoperator.operator.OperatorAssertions.get;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.HashMap;

import io.dbaoperator.api.disposal.DisposalJobStatus;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.dbaoperator.api.common.SecretRef;
import io.dbaoperator.api.disposal.DisposalJob;
import io.dbaoperator.api.disposal.DisposalJobSpec;
import io.dbaoperator.api.disposal.DisposalJobSpec.ColumnStrategy.Strategy;
import io.dbaoperator.api.disposal.DisposalPhase;
import io.dbaoperator.disposal.DisposalJobReconciler;
import io.dbaoperator.audit.AuditLog;
import io.dbaoperator.harness.FaultMatrix;
import io.dbaoperator.harness.OperatorHarness;
import io.dbaoperator.harness.OperatorTier;
import io.dbaoperator.harness.TestKubernetes;
import io.dbaoperator.harness.TestPostgres;
import io.dbaoperator.storage.S3Clients;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.GetObjectRequest;

/** DisposalJob against real PostgreSQL and S3: every test has its own database and looks at the rows themselves. */
@OperatorTier
@QuarkusTest
@QuarkusTestResource(OperatorHarness.class)
class DisposalJobTest {

    static final String NS = "disposal";
    static final String SALT = "a-salt-of-at-least-16-chars";
    static KubernetesClient client;

    @jakarta.inject.Inject
    AuditLog audit;

    @BeforeAll
    static void setUp() {
        client = Fixtures.namespace(NS);
        Fixtures.secret(client, NS, "salt", Map.of("salt", SALT));
        Fixtures.secret(client, NS, "report-s3", Fixtures.s3Keys());
    }

    // --- dry run, approval, delete, report ---

    @Test
    void theDryRunCountsExactlyNothingHappensBeforeApprovalThenExactlyTheExpiredRowsGoAndTheReportSaysSo()
            throws Exception {
        database("dsp_delete", 1000);
        String keptBefore = fingerprint("dsp_delete", "closed_at is null or closed_at > now() - interval '730 days'");
        DisposalJob job = job("expired", "dsp_delete", deleteOlderThan("customers", "closed_at", "730d"));
        job.getSpec().report = new DisposalJobSpec.Report();
        job.getSpec().report.storage = Fixtures.storage("report-s3");
        client.resource(job).create();

        awaitPhase("expired", DisposalPhase.AwaitingApproval);
        DisposalJob seen = get(DisposalJob.class, NS, "expired");
        long expected = scalar("dsp_delete", "select count(*) from customers where closed_at < now() - interval '730 days'");
        assertThat(expected).isEqualTo(250);
        assertThat(seen.getStatus().rules.get(0).matched).isEqualTo(expected);
        assertThat(seen.getStatus().rules.get(0).notes).anySatisfy(n -> assertThat(n)
                .contains("orders_customer_id_fkey").contains("ON DELETE NO ACTION").contains(": 0 referencing"));
        assertThat(seen.getStatus().approvalRequest.reason).contains("Delete 250 row(s) of customers");
        Thread.sleep(1500);
        assertThat(scalar("dsp_delete", "select count(*) from customers")).isEqualTo(1000);

        approve("expired", seen.getStatus().rulesDigest);
        awaitPhase("expired", DisposalPhase.Completed);
        assertThat(scalar("dsp_delete", "select count(*) from customers")).isEqualTo(750);
        assertThat(scalar("dsp_delete", "select count(*) from customers where closed_at < now() - interval '730 days'"))
                .isZero();
        assertThat(fingerprint("dsp_delete", "true")).as("every other row unchanged").isEqualTo(keptBefore);
        seen = get(DisposalJob.class, NS, "expired");
        assertThat(seen.getStatus().rowsAffected).isEqualTo(250);
        assertThat(seen.getStatus().reportLocation).startsWith("s3://").endsWith(seen.getStatus().runId + ".json");

        JsonNode report = report(seen.getStatus().reportLocation);
        assertThat(report.get("rulesDigest").asText()).isEqualTo(seen.getStatus().rulesDigest);
        assertThat(report.get("rules").get(0).get("matched").asLong()).isEqualTo(250);
        assertThat(report.get("rules").get(0).get("disposed").asLong()).isEqualTo(250);
        assertThat(report.get("rowsAffected").asLong()).isEqualTo(250);
        assertThat(report.get("approvedBy").asText()).isNotBlank();
        assertThat(report.get("dryRun").asBoolean()).isFalse();
    }

    @Test
    void aRunWhoseEveryStatusWriteMeetsAConflictOnceDeletesExactlyTheExpiredRowsOnceUnderItsApproval()
            throws Exception {
        database("dsp_conflicts", 1200);
        TestKubernetes.get().api().interfere(FaultMatrix.everyOtherStatusWrite(NS, "disposaljobs", "conflicts"));
        try {
            client.resource(job("conflicts", "dsp_conflicts", deleteOlderThan("customers", "closed_at", "730d")))
                    .create();
            awaitPhase("conflicts", DisposalPhase.AwaitingApproval);
            assertThat(scalar("dsp_conflicts", "select count(*) from customers")).isEqualTo(1200);
            approve("conflicts", null);
            awaitPhase("conflicts", DisposalPhase.Completed);
        } finally {
            TestKubernetes.get().api().interfere(null);
        }
        DisposalJob seen = get(DisposalJob.class, NS, "conflicts");
        assertThat(scalar("dsp_conflicts", "select count(*) from customers")).isEqualTo(900);
        assertThat(seen.getStatus().rowsAffected).isEqualTo(300);
        assertThat(seen.getStatus().approvals).extracting(a -> a.step).containsExactly("dispose");
        var approval = seen.getStatus().approvals.get(0);
        try (Connection c = TestPostgres.get().superuser("dsp_conflicts"); ResultSet rs = c.createStatement()
                .executeQuery("select rows_done, finished, approval, started_at from dba_operator.disposal_progress")) {
            assertThat(rs.next()).isTrue();
            assertThat(rs.getLong(1)).as("each batch once").isEqualTo(300);
            assertThat(rs.getBoolean(2)).isTrue();
            assertThat(rs.getString(3)).isEqualTo("dispose approved by " + approval.approvedBy + " at "
                    + approval.approvedAt + " for plan " + approval.planDigest);
            assertThat(java.time.Instant.parse(approval.approvedAt)).isBeforeOrEqualTo(rs.getTimestamp(4).toInstant());
            assertThat(rs.next()).as("one run").isFalse();
        }
        List<String> trail = audit.history(NS, "DisposalJob", "conflicts").stream().map(e -> e.action() + " "
                + e.outcome()).toList();
        assertThat(trail).containsExactly("approval approved", "disposal succeeded");
        FaultMatrix.record("DisposalJob", "every status write 409 once", "Completed; 300 of 1200 rows deleted, each "
                + "batch once; 1 approval, before the first batch");
    }

    // --- anonymization strategies ---

    @Test
    void eachAnonymizationStrategyGivesItsDocumentedResultOnExactlyTheMatchedRows() throws Exception {
        database("dsp_anon", 400);
        TestPostgres.get().exec("dsp_anon", "create table original as select * from customers");
        DisposalJobSpec.Rule rule = new DisposalJobSpec.Rule();
        rule.table = "customers";
        rule.where = "city = 'Paris' AND closed_at IS NOT NULL";
        rule.action = DisposalJobSpec.Action.Anonymize;
        rule.anonymize = new DisposalJobSpec.Anonymize();
        rule.anonymize.columns = new LinkedHashMap<>();
        rule.anonymize.columns.put("email", strategy(Strategy.Fake, null, null));
        rule.anonymize.columns.put("full_name", strategy(Strategy.Hash, null, null));
        rule.anonymize.columns.put("phone", strategy(Strategy.Partial, 3, 2));
        rule.anonymize.columns.put("note", strategy(Strategy.Null, null, null));
        rule.anonymize.columns.put("city", strategy(Strategy.Redact, null, null));
        rule.batchSize = 37;
        DisposalJob job = job("anon", "dsp_anon", rule);
        job.getSpec().saltSecretRef = new SecretRef("salt");
        client.resource(job).create();
        awaitPhase("anon", DisposalPhase.AwaitingApproval);
        long matched = scalar("dsp_anon", "select count(*) from customers where city = 'Paris' and closed_at is not null");
        assertThat(get(DisposalJob.class, NS, "anon").getStatus().rules.get(0).matched).isEqualTo(matched).isPositive();
        approve("anon", null);
        awaitPhase("anon", DisposalPhase.Completed);

        String h = "encode(sha256(convert_to('" + SALT + "' || o.%s, 'UTF8')), 'hex')";
        String join = " from customers c join original o using (id) where o.city = 'Paris' and o.closed_at is not null";
        assertThat(scalar("dsp_anon", "select count(*)" + join)).isEqualTo(matched);
        assertThat(scalar("dsp_anon", "select count(*)" + join + " and c.email = 'user_' || left("
                + h.formatted("email") + ", 12) || '@example.invalid'")).as("Fake email").isEqualTo(matched);
        assertThat(scalar("dsp_anon", "select count(*)" + join + " and c.full_name = " + h.formatted("full_name")))
                .as("Hash").isEqualTo(matched);
        assertThat(scalar("dsp_anon", "select count(*)" + join + " and c.phone = left(o.phone, 3) || "
                + "repeat('*', length(o.phone) - 5) || right(o.phone, 2)")).as("Partial").isEqualTo(matched);
        assertThat(scalar("dsp_anon", "select count(*)" + join + " and c.note is null")).as("Null").isEqualTo(matched);
        assertThat(scalar("dsp_anon", "select count(*)" + join + " and c.city = '[redacted]'")).as("Redact")
                .isEqualTo(matched);
        // deterministic: the same input gives the same output (joins on the anonymized value survive)
        assertThat(scalar("dsp_anon", "select count(distinct c.email) - count(distinct o.email)" + join)).isZero();
        // nothing else changed
        assertThat(scalar("dsp_anon", "select count(*) from customers c join original o using (id) "
                + "where not (o.city = 'Paris' and o.closed_at is not null) and row(c.*)::text <> row(o.*)::text"))
                .isZero();
        assertThat(scalar("dsp_anon", "select count(*) from customers")).isEqualTo(400);
    }

    // --- approval bound to the rules ---

    @Test
    void aScheduledRerunWithUnchangedRulesDoesNotAskAgainAndAChangedRuleDoes() throws Exception {
        database("dsp_sched", 200);
        DisposalJob job = job("yearly", "dsp_sched", deleteOlderThan("customers", "closed_at", "730d"));
        job.getSpec().schedule = "0 0 1 1 *";
        client.resource(job).create();
        awaitPhase("yearly", DisposalPhase.AwaitingApproval);
        approve("yearly", null);
        awaitPhase("yearly", DisposalPhase.Scheduled);
        assertThat(get(DisposalJob.class, NS, "yearly").getStatus().nextRunAt).endsWith("-01-01T00:00:00Z");
        assertThat(scalar("dsp_sched", "select count(*) from customers")).isEqualTo(150);

        // more data expires; the next run (asked for now instead of waiting for New Year) needs no approval
        TestPostgres.get().exec("dsp_sched", "update customers set closed_at = now() - interval '5 years' where id <= 40 and id % 4 = 1");
        String firstRun = get(DisposalJob.class, NS, "yearly").getStatus().runId;
        Thread.sleep(1100); // run ids have second resolution
        annotate("yearly", "run-1");
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
            var st = get(DisposalJob.class, NS, "yearly").getStatus();
            assertThat(st.runId).isNotEqualTo(firstRun);
            assertThat(st.phase).isEqualTo(DisposalPhase.Scheduled);
        });
        assertThat(scalar("dsp_sched", "select count(*) from customers")).isLessThan(150);
        assertThat(get(DisposalJob.class, NS, "yearly").getStatus().approvals).hasSize(1);

        // a changed rule asks again before anything runs
        client.resources(DisposalJob.class).inNamespace(NS).withName("yearly").edit(j -> {
            j.getSpec().rules.get(0).olderThan.age = "365d";
            return j;
        });
        awaitPhase("yearly", DisposalPhase.AwaitingApproval);
        long before = scalar("dsp_sched", "select count(*) from customers");
        Thread.sleep(1500);
        assertThat(scalar("dsp_sched", "select count(*) from customers")).isEqualTo(before);
    }

    // --- bad input ---

    @Test
    void injectionAttemptsInTableColumnAndWhereAreRefusedAndNothingIsTouched() throws Exception {
        database("dsp_inject", 50);
        DisposalJob badTable = job("bad-table", "dsp_inject", deleteOlderThan("customers; drop table orders",
                "closed_at", "1d"));
        assertThatThrownBy(() -> client.resource(badTable).create()).isInstanceOf(KubernetesClientException.class)
                .hasMessageContaining("spec.rules[0].table");

        client.resource(job("no-table", "dsp_inject", deleteOlderThan("nope", "closed_at", "1d"))).create();
        assertThat(awaitRefused("no-table")).contains("table nope does not exist");
        client.resource(job("no-column", "dsp_inject", deleteOlderThan("customers", "gone_at", "1d"))).create();
        assertThat(awaitRefused("no-column")).contains("customers has no column gone_at");

        DisposalJobSpec.Rule column = new DisposalJobSpec.Rule();
        column.table = "customers";
        column.where = "id < 5";
        column.action = DisposalJobSpec.Action.Anonymize;
        column.anonymize = new DisposalJobSpec.Anonymize();
        column.anonymize.columns = Map.of("email\" = null; drop table orders; --", strategy(Strategy.Redact, null, null));
        client.resource(job("bad-column", "dsp_inject", column)).create();
        assertThat(awaitRefused("bad-column")).contains("has no column");

        Map<String, String> wheres = Map.of(
                "bad-where-1", "closed_at < now(); drop table orders",
                "bad-where-2", "id in (select customer_id from orders)",
                "bad-where-3", "pg_sleep(5) is null",
                "bad-where-4", "id = 1 or 1 = (select 1)");
        for (var e : wheres.entrySet()) {
            DisposalJobSpec.Rule r = new DisposalJobSpec.Rule();
            r.table = "customers";
            r.where = e.getValue();
            r.action = DisposalJobSpec.Action.Delete;
            client.resource(job(e.getKey(), "dsp_inject", r)).create();
        }
        assertThat(awaitRefused("bad-where-1")).contains("';' is not allowed");
        assertThat(awaitRefused("bad-where-2")).contains("subqueries are not allowed");
        assertThat(awaitRefused("bad-where-3")).contains("function pg_sleep() is not in the allow-list");
        assertThat(awaitRefused("bad-where-4")).contains("subqueries are not allowed");
        // refused while planning (after validation passed), each is looked at again every 5 minutes, not in a loop:
        // its status is not rewritten (a rewrite would wake it again, for ever)
        Map<String, String> versions = new java.util.TreeMap<>();
        for (String name : List.of("no-table", "bad-column", "bad-where-1", "bad-where-2")) {
            versions.put(name, get(DisposalJob.class, NS, name).getMetadata().getResourceVersion());
        }
        Thread.sleep(3000);
        for (String name : versions.keySet()) {
            assertThat(get(DisposalJob.class, NS, name).getMetadata().getResourceVersion()).as(name + " at rest")
                    .isEqualTo(versions.get(name));
        }
        assertThat(scalar("dsp_inject", "select count(*) from customers")).isEqualTo(50);
        assertThat(scalar("dsp_inject", "select count(*) from orders")).isPositive();
    }

    @Test
    void aRuleMatchingEveryRowNeedsAllowAll() throws Exception {
        database("dsp_all", 30);
        DisposalJobSpec.Rule rule = new DisposalJobSpec.Rule();
        rule.table = "orders";
        rule.where = "id > 0";
        rule.action = DisposalJobSpec.Action.Delete;
        client.resource(job("everything", "dsp_all", rule)).create();
        assertThat(awaitRefused("everything")).contains("matches every row").contains("allowAll");
        awaitEvent(NS, "everything", "Warning", "RuleRefused");
        // a refused rule is looked at again every 5 minutes, not in a loop: its status stays put
        String version = get(DisposalJob.class, NS, "everything").getMetadata().getResourceVersion();
        Thread.sleep(3000);
        assertThat(get(DisposalJob.class, NS, "everything").getMetadata().getResourceVersion()).isEqualTo(version);
        assertThat(OperatorAssertions.events(NS, "everything")).filteredOn(e -> "RuleRefused".equals(e.getReason()))
                .hasSize(1);
        rule.allowAll = true;
        client.resource(job("everything-meant", "dsp_all", rule)).create();
        awaitPhase("everything-meant", DisposalPhase.AwaitingApproval);
    }

    @Test
    void aDeleteThatAForeignKeyBlocksIsRefusedByNameUnlessChildrenGoToo() throws Exception {
        database("dsp_fk", 100);
        TestPostgres.get().exec("dsp_fk", "insert into orders (customer_id, total) select id, 10 from customers "
                + "where closed_at < now() - interval '730 days'");
        long orphansToBe = scalar("dsp_fk", "select count(*) from orders o join customers c on c.id = o.customer_id "
                + "where c.closed_at < now() - interval '730 days'");
        client.resource(job("blocked", "dsp_fk", deleteOlderThan("customers", "closed_at", "730d"))).create();
        assertThat(awaitRefused("blocked")).contains("orders_customer_id_fkey").contains("deleteChildren");

        DisposalJobSpec.Rule rule = deleteOlderThan("customers", "closed_at", "730d");
        rule.deleteChildren = true;
        long ordersBefore = scalar("dsp_fk", "select count(*) from orders");
        client.resource(job("with-children", "dsp_fk", rule)).create();
        awaitPhase("with-children", DisposalPhase.AwaitingApproval);
        approve("with-children", null);
        awaitPhase("with-children", DisposalPhase.Completed);
        assertThat(scalar("dsp_fk", "select count(*) from customers where closed_at < now() - interval '730 days'"))
                .isZero();
        assertThat(scalar("dsp_fk", "select count(*) from orders")).isEqualTo(ordersBefore - orphansToBe);
    }

    // --- a run interrupted midway ---

    @Test
    void aRunInterruptedMidwayResumesWithoutAnonymizingARowTwice() throws Exception {
        database("dsp_resume", 3000);
        TestPostgres.get().exec("dsp_resume", "update customers set closed_at = now() - interval '3 years'",
                "create table original as select * from customers");
        DisposalJobSpec.Rule rule = new DisposalJobSpec.Rule();
        rule.table = "customers";
        rule.olderThan = new DisposalJobSpec.OlderThan();
        rule.olderThan.column = "closed_at";
        rule.olderThan.age = "730d";
        rule.action = DisposalJobSpec.Action.Anonymize;
        rule.anonymize = new DisposalJobSpec.Anonymize();
        rule.anonymize.columns = Map.of("full_name", strategy(Strategy.Hash, null, null)); // twice would hash a hash
        rule.batchSize = 50;
        rule.allowAll = true;
        DisposalJob job = job("resume", "dsp_resume", rule);
        job.getSpec().saltSecretRef = new SecretRef("salt");
        job.getSpec().pauseBetweenBatches = "30ms";
        client.resource(job).create();
        awaitPhase("resume", DisposalPhase.AwaitingApproval);
        approve("resume", null);
        String hashed = "select count(*) from customers c join original o using (id) where c.full_name = "
                + "encode(sha256(convert_to('" + SALT + "' || o.full_name, 'UTF8')), 'hex')";
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(50)).until(() -> scalar("dsp_resume",
                hashed) >= 500);
        long killed = scalar("dsp_resume", "select count(pg_terminate_backend(pid)) from pg_stat_activity "
                + "where application_name like 'dba-operator/disposal/%' and datname = 'dsp_resume'");
        assertThat(killed).isPositive();
        awaitPhase("resume", DisposalPhase.Completed);
        assertThat(scalar("dsp_resume", hashed)).isEqualTo(3000);
        assertThat(get(DisposalJob.class, NS, "resume").getStatus().rowsAffected).isEqualTo(3000);
    }

    // --- helpers ---

    /**
     * customers(id, email, full_name, phone, city, note, closed_at): a quarter closed 3 years ago, a quarter
     * closed last month, the rest open; orders referencing only open customers.
     */
    @Test
    void anApprovalGivenOutsideTheWindowIsKeptAndTheRowsGoWhenTheWindowOpens() throws Exception {
        database("dsp_window", 400);
        DisposalJob job = job("windowed", "dsp_window", deleteOlderThan("customers", "closed_at", "730d"));
        // a window that opens 30 to 90 s from now (on the operator's clock) and stays open 2 minutes
        java.time.Instant opens = io.dbaoperator.harness.TestClock.now().plusSeconds(90)
                .truncatedTo(java.time.temporal.ChronoUnit.MINUTES);
        int minute = opens.atZone(java.time.ZoneOffset.UTC).getMinute();
        job.getSpec().maintenanceWindow = new io.dbaoperator.api.common.MaintenanceWindow(minute + " * * * *", "2m",
                "UTC");
        client.resource(job).create();
        // the dry run is read-only: it runs at once
        awaitPhase("windowed", DisposalPhase.AwaitingApproval);
        approve("windowed", get(DisposalJob.class, NS, "windowed").getStatus().rulesDigest);
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
            var st = get(DisposalJob.class, NS, "windowed").getStatus();
            assertThat(st.phase).isEqualTo(DisposalPhase.Disposing);
            assertThat(st.approvals).extracting(a -> a.step).containsExactly("dispose");
            assertThat(st.waitingForWindow).endsWith(":" + String.format("%02d", minute) + ":00Z");
            assertThat(st.conditions).anySatisfy(c -> assertThat(c.reason).isEqualTo("OutsideMaintenanceWindow"));
        });
        assertThat(scalar("dsp_window", "select count(*) from customers")).as("nothing before the window")
                .isEqualTo(400);
        // the operator's clock, not the test, waits: set 2 s before the opening
        try {
            OperatorAssertions.clockJustBefore(DisposalJob.class, NS, "windowed", opens, Duration.ofSeconds(2));
            Thread.sleep(1000);
            assertThat(scalar("dsp_window", "select count(*) from customers")).as("nor a second before it")
                    .isEqualTo(400);
            awaitPhase("windowed", DisposalPhase.Completed, Duration.ofSeconds(30));
        } finally {
            io.dbaoperator.harness.TestClock.reset();
        }
        assertThat(scalar("dsp_window", "select count(*) from customers")).isEqualTo(300);
        var done = get(DisposalJob.class, NS, "windowed").getStatus();
        assertThat(done.waitingForWindow).isNull();
        assertThat(done.approvals).as("the one approval, used in the window").hasSize(1);
    }

    @Test
    void aDryRunListsTheColumnsThatLookPersonalAndTheRuleThatCoversEach_WithoutAValue() throws Exception {
        database("dsp_pii", 400);
        TestPostgres.get().exec("dsp_pii", "create table payments (id int primary key, card text, paid_from inet)",
                "alter table payments owner to app",
                "insert into payments select g, '4111 1111 1111 1111', ('10.1.2.' || g % 250)::inet from generate_series(1, 50) g");
        DisposalJobSpec.Rule rule = new DisposalJobSpec.Rule();
        rule.name = "closed-customers";
        rule.table = "customers";
        rule.where = "closed_at IS NOT NULL";
        rule.action = DisposalJobSpec.Action.Anonymize;
        rule.anonymize = new DisposalJobSpec.Anonymize();
        rule.anonymize.columns = new LinkedHashMap<>();
        rule.anonymize.columns.put("email", strategy(Strategy.Fake, null, null));
        DisposalJob job = job("pii", "dsp_pii", rule);
        job.getSpec().saltSecretRef = new SecretRef("salt");
        job.getSpec().dryRun = true;
        job.getSpec().report = new DisposalJobSpec.Report();
        job.getSpec().report.storage = Fixtures.storage("report-s3");
        client.resource(job).create();
        awaitPhase("pii", DisposalPhase.Completed);
        DisposalJob seen = get(DisposalJob.class, NS, "pii");
        Map<String, DisposalJobStatus.PiiFinding> found = new HashMap<>();
        seen.getStatus().piiFindings.forEach(f -> found.put(f.column, f));
        assertThat(found.get("public.customers.email").kind).isEqualTo("Email");
        assertThat(found.get("public.customers.email").coveredBy).isEqualTo("closed-customers");
        assertThat(found.get("public.customers.email").evidence).contains("sampled values are e-mail addresses");
        assertThat(found.get("public.customers.phone").kind).isEqualTo("Phone");
        assertThat(found.get("public.customers.phone").coveredBy).isNull();
        assertThat(found.get("public.customers.full_name").kind).isEqualTo("Name");
        assertThat(found.get("public.payments.card").kind).isEqualTo("CardNumber");
        assertThat(found.get("public.payments.paid_from").kind).isEqualTo("IpAddress");
        assertThat(found).doesNotContainKeys("public.customers.city", "public.customers.id", "public.orders.total");
        assertThat(seen.getStatus().message).contains("look personal and no anonymize rule covers them")
                .contains("public.customers.phone (Phone)").doesNotContain("public.customers.email (");
        // nothing was changed, and no value is in status or the report
        assertThat(scalar("dsp_pii", "select count(*) from customers where email like 'c%@example.com'"))
                .isEqualTo(400);
        JsonNode report = report(seen.getStatus().reportLocation);
        assertThat(report.get("piiFindings")).hasSize(seen.getStatus().piiFindings.size());
        assertThat(report.toString()).doesNotContain("@example.com", "4111", "+33 6");
        assertThat(new ObjectMapper().writeValueAsString(seen.getStatus())).doesNotContain("@example.com", "4111");
    }

    static void database(String db, int rows) {
        TestPostgres pg = TestPostgres.get();
        pg.createDatabase(db, "app", Fixtures.APP_PASSWORD);
        pg.exec(db, "drop table if exists orders, customers, original cascade",
                "create table customers (id bigint primary key, email text not null, full_name text not null, "
                        + "phone varchar(20), city text, note text, closed_at timestamptz)",
                "create table orders (id bigint generated always as identity primary key, "
                        + "customer_id bigint references customers (id), total numeric)",
                "alter table customers owner to app", "alter table orders owner to app",
                "insert into customers select g, 'c' || g || '@example.com', 'Customer ' || g, "
                        + "'+33 6 12 34 ' || lpad((g % 100)::text, 2, '0'), case when g % 3 = 0 then 'Paris' "
                        + "else 'Lyon' end, 'note ' || g, case g % 4 when 0 then now() - interval '3 years' "
                        + "when 1 then now() - interval '1 month' end from generate_series(1, " + rows + ") g",
                "insert into orders (customer_id, total) select id, id * 1.5 from customers where closed_at is null",
                "analyze customers", "analyze orders");
        Map<String, String> keys = new HashMap<>(Fixtures.appDbKeys());
        keys.put("dbname", db);
        Fixtures.secret(client, NS, db.replace('_', '-') + "-db", keys);
    }

    static DisposalJobSpec.Rule deleteOlderThan(String table, String column, String age) {
        DisposalJobSpec.Rule rule = new DisposalJobSpec.Rule();
        rule.table = table;
        rule.olderThan = new DisposalJobSpec.OlderThan();
        rule.olderThan.column = column;
        rule.olderThan.age = age;
        rule.action = DisposalJobSpec.Action.Delete;
        rule.batchSize = 40;
        return rule;
    }

    static DisposalJobSpec.ColumnStrategy strategy(Strategy s, Integer prefix, Integer suffix) {
        DisposalJobSpec.ColumnStrategy c = new DisposalJobSpec.ColumnStrategy();
        c.strategy = s;
        c.keepPrefix = prefix;
        c.keepSuffix = suffix;
        return c;
    }

    @Test
    void aRejectedDisposalTouchesNoRow() throws Exception {
        database("dsp_nay", 200);
        client.resource(job("nay", "dsp_nay", deleteOlderThan("customers", "closed_at", "730d"))).create();
        awaitPhase("nay", DisposalPhase.AwaitingApproval);
        OperatorAssertions.reject(DisposalJob.class, NS, "nay");
        awaitPhase("nay", DisposalPhase.Rejected);
        assertThat(get(DisposalJob.class, NS, "nay").getStatus().rejection.step).isEqualTo("dispose");
        assertThat(scalar("dsp_nay", "select count(*) from customers")).isEqualTo(200);
    }

    static DisposalJob job(String name, String db, DisposalJobSpec.Rule rule) {
        DisposalJob job = new DisposalJob();
        job.getMetadata().setName(name);
        job.getMetadata().setNamespace(NS);
        DisposalJobSpec spec = new DisposalJobSpec();
        spec.database = Fixtures.db(db.replace('_', '-') + "-db");
        spec.rules = new java.util.ArrayList<>(List.of(rule));
        spec.pauseBetweenBatches = "0ms";
        job.setSpec(spec);
        return job;
    }

    static void approve(String name, String digest) {
        OperatorAssertions.approve(DisposalJob.class, NS, name, digest);
    }

    static void annotate(String name, String value) {
        client.resources(DisposalJob.class).inNamespace(NS).withName(name).patch(PatchContext.of(PatchType.JSON_MERGE),
                "{\"metadata\":{\"annotations\":{\"" + DisposalJobReconciler.RUN_NOW + "\":\"" + value + "\"}}}");
    }

    static void awaitPhase(String name, DisposalPhase phase) {
        awaitPhase(name, phase, Duration.ofSeconds(60));
    }

    static void awaitPhase(String name, DisposalPhase phase, Duration atMost) {
        OperatorAssertions.awaitPhase(DisposalJob.class, NS, name, phase, atMost);
    }

    /**
     * Waits for Failed and returns the reason given: a rule the catalog refuses fails validation (Validated=False),
     * a rule whose counts refuse it (every row, a blocking foreign key) fails Ready with reason RuleRefused.
     */
    static String awaitRefused(String name) {
        awaitPhase(name, DisposalPhase.Failed);
        var st = get(DisposalJob.class, NS, name).getStatus();
        assertThat(st.conditions).anySatisfy(c -> {
            assertThat(c.status).isEqualTo("False");
            assertThat(c.reason).isIn("InvalidSpec", "RuleRefused");
            assertThat(c.message).isEqualTo(st.message);
        });
        return st.message;
    }

    static long scalar(String db, String sql) throws SQLException {
        try (Connection c = TestPostgres.get().superuser(db); ResultSet rs = c.createStatement().executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        }
    }

    static String fingerprint(String db, String where) throws SQLException {
        try (Connection c = TestPostgres.get().superuser(db); ResultSet rs = c.createStatement().executeQuery(
                "select md5(string_agg(row(c.*)::text, ',' order by id)) from customers c where " + where)) {
            rs.next();
            return rs.getString(1);
        }
    }

    static JsonNode report(String url) throws Exception {
        String key = url.substring(("s3://" + io.dbaoperator.harness.TestS3.BUCKET + "/").length());
        try (S3Client s3 = S3Clients.create(Fixtures.s3Location())) {
            byte[] body = s3.getObjectAsBytes(GetObjectRequest.builder().bucket(io.dbaoperator.harness.TestS3.BUCKET)
                    .key(key).build()).asByteArray();
            return new ObjectMapper().readTree(body);
        }
    }
}
