package io.dbaoperator.masking;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.sql.Connection;
import java.sql.ResultSet;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import io.dbaoperator.api.disposal.DisposalJobSpec;
import io.dbaoperator.api.disposal.DisposalJobSpec.ColumnStrategy.Strategy;
import io.dbaoperator.harness.RealParts;
import io.dbaoperator.harness.TestPostgres;
import io.dbaoperator.problem.ProblemException;

/**
 * PII discovery and bulk masking on a real PostgreSQL: the columns that look personal found by name and by sampled
 * values, without a value in the evidence; a masked copy compared with the original row by row; keyed masking the
 * same across two tables and two runs, different under another key; bad rules refused before anything changes.
 */
@RealParts
class MaskingTest {

    static final String PROD = "masking_prod";
    static final String KEY = "a-key-of-at-least-16-characters";

    static final String[] SCHEMA = {
            "create table customers (id int primary key, email text not null, full_name text, phone text, "
                    + "card text, iban text, notes text, signup_ip inet, country text not null, "
                    + "date_of_birth date, balance int not null)",
            "insert into customers select g, 'user' || g || '@example.org', 'Person ' || g, '+49 30 9018' || lpad(g::text, 4, '0'), "
                    + "case when g % 2 = 0 then '4111 1111 1111 1111' else '5555-5555-5555-4444' end, "
                    + "'DE89 3704 0044 0532 0130 00', case when g % 10 = 0 then 'call back on +44 20 7946 0' || g % 10 "
                    + "|| '58' else 'no note' end, ('10.0.' || g % 250 || '.' || g % 200)::inet, "
                    + "(array['de','fr','uk'])[1 + g % 3], date '1980-01-01' + g, g from generate_series(1, 2000) g",
            "create table orders (id int primary key, customer_email text not null, total int not null, "
                    + "shipping_method text not null)",
            "insert into orders select g, 'user' || (1 + g % 2000) || '@example.org', g % 100, 'parcel' "
                    + "from generate_series(1, 5000) g" };

    @BeforeAll
    static void data() {
        TestPostgres pg = TestPostgres.get();
        pg.createDatabase(PROD, "app", "masking-pw");
        pg.exec(PROD, SCHEMA);
        pg.exec(PROD, "analyze");
    }

    @AfterAll
    static void drop() {
        for (String db : List.of(PROD, "masking_copy")) {
            TestPostgres.get().exec("postgres", "drop database if exists " + db + " with (force)");
        }
    }

    /** A fresh copy of production, as a restore gives it. */
    static void copy() {
        TestPostgres.get().exec("postgres", "drop database if exists masking_copy with (force)",
                "create database masking_copy template " + PROD);
    }

    static DisposalJobSpec.ColumnStrategy strategy(Strategy s) {
        DisposalJobSpec.ColumnStrategy c = new DisposalJobSpec.ColumnStrategy();
        c.strategy = s;
        return c;
    }

    static List<Masker.Rule> rules() {
        Map<String, DisposalJobSpec.ColumnStrategy> customers = new LinkedHashMap<>();
        customers.put("email", strategy(Strategy.Fake));
        customers.put("full_name", strategy(Strategy.Fake));
        customers.put("phone", strategy(Strategy.Redact));
        DisposalJobSpec.ColumnStrategy card = strategy(Strategy.Partial);
        card.keepSuffix = 4;
        customers.put("card", card);
        customers.put("iban", strategy(Strategy.Hash));
        customers.put("notes", strategy(Strategy.Redact));
        customers.put("date_of_birth", strategy(Strategy.Null));
        return List.of(new Masker.Rule("public.customers", customers),
                new Masker.Rule("public.orders", Map.of("customer_email", strategy(Strategy.Fake))));
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

    @Test
    void discoveryFindsThePersonalColumnsByNameAndValue_WithoutAValueInTheEvidence() throws Exception {
        try (Connection c = TestPostgres.get().superuser(PROD)) {
            List<PiiDiscovery.Finding> found = PiiDiscovery.discover(c, List.of("public"), 200);
            Map<String, PiiDiscovery.Kind> kinds = new HashMap<>();
            found.forEach(f -> kinds.put(f.table() + "." + f.column(), f.kind()));
            assertThat(kinds).containsEntry("customers.email", PiiDiscovery.Kind.Email)
                    .containsEntry("customers.phone", PiiDiscovery.Kind.Phone)
                    .containsEntry("customers.card", PiiDiscovery.Kind.CardNumber)
                    .containsEntry("customers.iban", PiiDiscovery.Kind.Iban)
                    .containsEntry("customers.notes", PiiDiscovery.Kind.Phone)
                    .containsEntry("customers.signup_ip", PiiDiscovery.Kind.IpAddress)
                    .containsEntry("customers.full_name", PiiDiscovery.Kind.Name)
                    .containsEntry("customers.date_of_birth", PiiDiscovery.Kind.BirthDate)
                    .containsEntry("orders.customer_email", PiiDiscovery.Kind.Email);
            assertThat(kinds).doesNotContainKeys("customers.id", "customers.country", "customers.balance",
                    "orders.total", "orders.shipping_method");
            assertThat(found).filteredOn(f -> f.column().equals("notes")).singleElement()
                    .satisfies(f -> assertThat(f.evidence()).contains("within free text"));
            assertThat(found).allSatisfy(f -> assertThat(f.evidence()).doesNotContain("@", "4111", "DE89", "+49"));
        }
    }

    @Test
    void aMaskedCopyKeepsNoOriginalValue_RowByRow_AndKeyedMaskingIsTheSameAcrossTablesAndRuns() throws Exception {
        copy();
        try (Connection c = TestPostgres.get().superuser("masking_copy")) {
            List<Masker.TablePlan> plans = Masker.plan(c, rules(), "spec.masking.rules");
            for (Masker.TablePlan p : plans) {
                Masker.Masked m = Masker.mask(c, p, KEY, 500);
                assertThat(m.leaked()).as(p.table().toString()).isZero();
                assertThat(m.checked()).isPositive();
                assertThat(m.rows()).isEqualTo(p.table().toString().contains("orders") ? 5000 : 2000);
            }
        }
        // against production, row by row: no masked column kept its value
        for (String col : List.of("email", "full_name", "phone", "card", "iban", "notes")) {
            Map<Integer, String> before = column(PROD, "select id, " + col + " from customers");
            Map<Integer, String> after = column("masking_copy", "select id, " + col + " from customers");
            assertThat(after).hasSameSizeAs(before);
            before.forEach((id, v) -> assertThat(after.get(id)).as(col + " of " + id).isNotEqualTo(v));
        }
        assertThat(column("masking_copy", "select id, card from customers where id = 2").get(2))
                .isEqualTo("***************1111");
        assertThat(column("masking_copy", "select count(*)::int, count(date_of_birth)::text from customers"))
                .containsEntry(2000, "0");
        // the columns no rule names are untouched
        assertThat(column("masking_copy", "select id, country || balance from customers"))
                .isEqualTo(column(PROD, "select id, country || balance from customers"));
        // deterministic: an order's masked e-mail is its customer's masked e-mail, so the join still matches
        assertThat(column("masking_copy", "select count(*)::int, '' from orders o join customers c on c.email = "
                + "o.customer_email")).containsKey(5000);
        Map<Integer, String> firstRun = column("masking_copy", "select id, email from customers");

        // a second refresh with the same key gives the same values; another key, others
        copy();
        try (Connection c = TestPostgres.get().superuser("masking_copy")) {
            for (Masker.TablePlan p : Masker.plan(c, rules(), "spec.masking.rules")) {
                Masker.mask(c, p, KEY, 100);
            }
        }
        assertThat(column("masking_copy", "select id, email from customers")).isEqualTo(firstRun);
        copy();
        try (Connection c = TestPostgres.get().superuser("masking_copy")) {
            for (Masker.TablePlan p : Masker.plan(c, rules(), "spec.masking.rules")) {
                Masker.mask(c, p, "another-key-of-16-characters", 100);
            }
        }
        assertThat(column("masking_copy", "select id, email from customers").get(1)).isNotEqualTo(firstRun.get(1));
    }

    @Test
    void badRulesAreRefusedWithTheReasonBeforeAnythingChanges() throws Exception {
        copy();
        try (Connection c = TestPostgres.get().superuser("masking_copy")) {
            assertThatThrownBy(() -> Masker.plan(c, List.of(new Masker.Rule("public.no_such_table",
                    Map.of("email", strategy(Strategy.Fake)))), "spec.masking.rules"))
                    .isInstanceOf(ProblemException.class).hasMessageContaining("spec.masking.rules[0].table")
                    .hasMessageContaining("no table public.no_such_table");
            assertThatThrownBy(() -> Masker.plan(c, List.of(new Masker.Rule("public.customers",
                    Map.of("mail", strategy(Strategy.Fake)))), "spec.masking.rules"))
                    .isInstanceOf(ProblemException.class).hasMessageContaining("no column 'mail'");
            assertThatThrownBy(() -> Masker.plan(c, List.of(new Masker.Rule("public.customers",
                    Map.of("balance", strategy(Strategy.Redact)))), "spec.masking.rules"))
                    .isInstanceOf(ProblemException.class).hasMessageContaining("Redact needs a text column");
            assertThatThrownBy(() -> Masker.plan(c, List.of(new Masker.Rule("public.customers",
                    Map.of("email", strategy(Strategy.Null)))), "spec.masking.rules"))
                    .isInstanceOf(ProblemException.class).hasMessageContaining("NOT NULL");
        }
        assertThat(column("masking_copy", "select id, email from customers"))
                .isEqualTo(column(PROD, "select id, email from customers"));
    }
}
