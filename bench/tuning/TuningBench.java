import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import io.dbaoperator.tuning.CandidateSearch;
import io.dbaoperator.tuning.ExplainPlan;
import io.dbaoperator.tuning.HypoCosting;
import io.dbaoperator.tuning.IndexCandidates;
import io.dbaoperator.tuning.PlanAnalyzer;
import io.dbaoperator.tuning.QueryShape;
import io.dbaoperator.tuning.QueryText;
import io.dbaoperator.tuning.WorkloadSelection;

/** See run.sh. Prints a Markdown report on stdout. */
public class TuningBench {

    record Q(String name, String sql, List<String> params) {
    }

    /** A schema with its data (rows scaled by {@code n}) and the slow queries asked of it. */
    record Workload(String name, String description, java.util.function.LongFunction<List<String>> load,
            List<Q> queries, java.util.Map<String, List<String>> expressions) {
    }

    static final List<Q> SHOP = List.of(
            new Q("orders of a customer, newest first", "select id, total, created_at from orders where customer_id = $1 order by created_at desc limit 20", List.of("4242")),
            new Q("customer's orders in a range", "select id, total from orders where customer_id = $1 and created_at > $2", List.of("17", "2026-06-01")),
            new Q("open orders (partial)", "select id, customer_id from orders where status = 'open' and created_at > $1", List.of("2026-10-01")),
            new Q("cancelled orders of a customer (partial)", "select id from orders where status = 'cancelled' and customer_id = $1", List.of("9")),
            new Q("big orders in a day", "select id from orders where created_at between $1 and $2 and total > $3", List.of("2026-03-01", "2026-03-02", "900")),
            new Q("order items of an order", "select product_id, qty from order_items where order_id = $1", List.of("123456")),
            new Q("items of a product", "select order_id, qty from order_items where product_id = $1", List.of("77")),
            new Q("customer by email", "select id from customers where email = $1", List.of("c1234@example.com")),
            new Q("customers of a region signed up lately", "select id from customers where region = $1 and signup_at > $2", List.of("r7", "2026-09-01")),
            new Q("products of a category by price", "select id, price from products where category = $1 order by price limit 10", List.of("c3")),
            new Q("join: a customer's order items", "select oi.product_id from orders o join order_items oi on oi.order_id = o.id where o.customer_id = $1", List.of("4242")),
            new Q("join: orders of a rare region", "select o.id from customers c join orders o on o.customer_id = c.id where c.region = $1 and o.created_at > $2", List.of("r9", "2026-10-15")),
            new Q("latest orders overall", "select id from orders order by created_at desc limit 10", List.of()),
            new Q("orders by total range", "select id from orders where total between $1 and $2", List.of("500", "501")),
            new Q("open orders of a customer (multi-column)", "select id from orders where customer_id = $1 and status = $2", List.of("4242", "open")),
            new Q("product price lookup", "select price from products where id = $1", List.of("5")),
            new Q("count all orders (no index helps)", "select count(*) from orders", List.of()),
            new Q("status histogram (no index helps)", "select status, count(*) from orders group by status", List.of()),
            new Q("non-selective filter (no index helps)", "select avg(total) from orders where status <> $1", List.of("cancelled")),
            new Q("expression filter (no B-tree on columns helps)", "select id from orders where total + 1 = $1", List.of("43")),
            new Q("leading wildcard (no index helps)", "select id from customers where email like '%99@example.com'", List.of()),
            new Q("whole join aggregate (no index helps)", "select c.region, sum(o.total) from customers c join orders o on o.customer_id = c.id group by c.region", List.of()));

    /**
     * The second workload, designed apart from the first: a support desk (accounts on plans, tickets, their events,
     * agents), timestamps relative to now() and skewed towards recent days, and the shapes production queries have:
     * time windows relative to now(), equality plus a window, ORDER BY ... LIMIT, IN lists, IS NULL, a rare literal
     * for a partial index, joins whose selective side is the small table, and queries no index helps.
     */
    static final List<Q> SUPPORT = List.of(
            new Q("tickets opened in the last hour", "select id, subject from tickets where opened_at > now() - interval '1 hour'", List.of()),
            new Q("an account's tickets of the last 30 days", "select id, state from tickets where account_id = $1 and opened_at > now() - interval '30 days'", List.of("1234")),
            new Q("escalated tickets this week", "select id, account_id from tickets where state = 'escalated' and opened_at > now() - interval '7 days'", List.of()),
            new Q("urgent tickets, newest first", "select id, subject from tickets where priority = 'p1' order by opened_at desc limit 50", List.of()),
            new Q("open tickets of a few accounts (IN list)", "select id from tickets where account_id in (11, 12, 13, 14) and state = 'open'", List.of()),
            new Q("events of a ticket", "select kind, at from ticket_events where ticket_id = $1", List.of("424242")),
            new Q("a ticket's latest event", "select kind, at from ticket_events where ticket_id = $1 order by at desc limit 1", List.of("31337")),
            new Q("join: events of an account's tickets", "select e.kind, e.at from tickets t join ticket_events e on e.ticket_id = t.id where t.account_id = $1", List.of("1234")),
            new Q("join: enterprise accounts' tickets this quarter", "select t.id from accounts a join tickets t on t.account_id = a.id where a.plan = 'enterprise' and a.region = 'apac' and t.opened_at > now() - interval '90 days'", List.of()),
            new Q("an agent's open tickets", "select id from tickets where agent_id = $1 and state = 'open'", List.of("77")),
            new Q("one day, 400 days back", "select id from tickets where opened_at between now() - interval '400 days' and now() - interval '399 days'", List.of()),
            new Q("tickets opened today", "select id from tickets where opened_at >= date_trunc('day', now())", List.of()),
            new Q("account by domain", "select id from accounts where domain = $1", List.of("d4711.example")),
            new Q("unassigned open tickets", "select id from tickets where agent_id is null and state = 'open' and priority = 'p1'", List.of()),
            new Q("reopened lately", "select ticket_id from ticket_events where kind = 'reopened' and at > now() - interval '2 days'", List.of()),
            new Q("resolution time band", "select id from tickets where resolved_minutes between 600 and 601", List.of()),
            new Q("count all tickets (no index helps)", "select count(*) from tickets", List.of()),
            new Q("state histogram (no index helps)", "select state, count(*) from tickets group by state", List.of()),
            new Q("non-selective filter (no index helps)", "select avg(resolved_minutes) from tickets where priority <> 'p1'", List.of()),
            new Q("expression filter (no B-tree on columns helps)", "select id from accounts where lower(domain) = $1", List.of("d4711.example")),
            new Q("leading wildcard (no index helps)", "select id from tickets where subject like '%refund%'", List.of()),
            new Q("whole join aggregate (no index helps)", "select a.plan, count(*) from accounts a join tickets t on t.account_id = a.id group by a.plan", List.of()));

    /**
     * The third workload, designed apart from both (issue 34): a multi-tenant SaaS (tenants, users, events with a
     * JSON payload, invoices), names under an ICU collation, fixed dates; the shapes the first two lack: predicates
     * on expressions (lower(), a JSON field, a cast to date or numeric), a prefix match on a non-C column, min()/max(),
     * GROUP BY and DISTINCT, keyset pagination, a sort mixing directions, rare values for partial indexes, covering
     * reads; and three no B-tree helps (JSON containment, a leading wildcard, a non-selective filter, a full count).
     */
    static final List<Q> SAAS = List.of(
            new Q("user by e-mail, any case (expression)", "select id from users where lower(email) = $1", List.of("u4711@acme17.example")),
            new Q("users of a tenant by name prefix (ICU column)", "select id, name from users where tenant_id = $1 and name like 'Ann%'", List.of("17")),
            new Q("a tenant's events of one JSON type", "select id, created_at from events where tenant_id = $1 and payload->>'type' = 'checkout'", List.of("42")),
            new Q("a user's latest event (max)", "select max(created_at) from events where user_id = $1", List.of("1234")),
            new Q("keyset page of a tenant's events", "select id, kind, created_at from events where tenant_id = $1 and (created_at, id) < ($2::timestamp, $3::bigint) order by created_at desc, id desc limit 50", List.of("42", "2026-06-01 00:00:00", "999999999")),
            new Q("a tenant's invoices, latest due first, smallest first (mixed order)", "select id from invoices where tenant_id = $1 order by due_date desc, amount_cents asc limit 20", List.of("42")),
            new Q("failed invoices this year (rare value)", "select id, tenant_id from invoices where status = 'failed' and due_date >= date '2026-01-01'", List.of()),
            new Q("events on a fixed day (cast to date)", "select count(*) from events where created_at::date = date '2026-03-15'", List.of()),
            new Q("a tenant's events per kind (group by)", "select kind, count(*) from events where tenant_id = $1 group by kind", List.of("42")),
            new Q("a tenant's open invoices (covering)", "select due_date, amount_cents from invoices where tenant_id = $1 and status = 'open'", List.of("42")),
            new Q("a tenant's earliest open invoice (min, rare value)", "select min(due_date) from invoices where tenant_id = $1 and status = 'open'", List.of("42")),
            new Q("large JSON amounts (cast to numeric)", "select id from events where (payload->>'amount')::numeric > 9990", List.of()),
            new Q("inactive users of a tenant (rare flag)", "select id from users where tenant_id = $1 and not active", List.of("42")),
            new Q("join: a tenant by slug, its recent events", "select e.id from tenants t join events e on e.tenant_id = t.id where t.slug = $1 and e.created_at > timestamp '2026-10-01'", List.of("t42")),
            new Q("users who logged in, a tenant's (distinct)", "select distinct user_id from events where tenant_id = $1 and kind = 'login'", List.of("42")),
            new Q("a tenant's users by name, first page (ICU order)", "select id, name from users where tenant_id = $1 order by name limit 20", List.of("42")),
            new Q("JSON containment (no B-tree helps)", "select id from events where payload @> '{\"type\": \"refund\"}'", List.of()),
            new Q("count all events (no index helps)", "select count(*) from events", List.of()),
            new Q("leading wildcard (no index helps)", "select id from users where email like '%@acme3.example'", List.of()),
            new Q("non-selective filter (no index helps)", "select avg(amount_cents) from invoices where status <> 'failed'", List.of()));

    /** Expressions the brute force also tries as keys, per table (its yardstick is not limited to columns). */
    static final java.util.Map<String, List<String>> SAAS_EXPRESSIONS = java.util.Map.of(
            "users", List.of("lower(email)"),
            "events", List.of("(payload->>'type')", "(created_at::date)", "((payload->>'amount')::numeric)"));

    static List<String> saasData(long events) {
        long tenants = Math.max(100, events / 100);
        long users = events / 10;
        return List.of(
                "create table tenants (id int primary key, slug text not null, plan text not null, created_on date not null)",
                "create table users (id bigint primary key, tenant_id int not null, email text not null, "
                        + "name text collate \"en-x-icu\" not null, role text not null, active boolean not null, "
                        + "last_login timestamp)",
                "create table events (id bigint primary key, tenant_id int not null, user_id bigint not null, "
                        + "kind text not null, payload jsonb not null, created_at timestamp not null)",
                "create table invoices (id bigint primary key, tenant_id int not null, status text not null, "
                        + "due_date date not null, amount_cents bigint not null, currency text not null)",
                "insert into tenants select g, 't' || g, (array['free','pro','enterprise'])[1 + (g % 3)], "
                        + "date '2020-01-01' + (g % 2000) from generate_series(1, " + tenants + ") g",
                // tenants by a power law; 3% inactive; names from a small pool of first names, ICU-collated
                "insert into users select g, 1 + floor(" + (tenants - 1) + " * power(random(), 2))::int, "
                        + "'u' || g || '@acme' || (g % 50) || '.example', (array['Ann','Bob','Émile','Zoë','Ánh',"
                        + "'Chen','Dmitri','Eva'])[1 + (g % 8)] || ' ' || g, (array['admin','member','viewer'])"
                        + "[1 + (g % 3)], random() > 0.03, timestamp '2026-11-01' - random() * interval '300 days' "
                        + "from generate_series(1, " + users + ") g",
                // kinds 60/25/10/5; JSON types from 40, checkout rare; two years of fixed dates
                "insert into events select g, 1 + floor(" + (tenants - 1) + " * power(random(), 2))::int, "
                        + "1 + floor(random() * " + (users - 1) + ")::bigint, case when r < 0.6 then 'view' when r < "
                        + "0.85 then 'click' when r < 0.95 then 'login' else 'purchase' end, jsonb_build_object("
                        + "'type', case when random() < 0.01 then 'checkout' else 'type' || floor(random() * 40)::int end, "
                        + "'amount', round((random() * 10000)::numeric, 2), 'ua', 'Mozilla/5.0 ' || (g % 97)), "
                        + "timestamp '2026-11-01' - random() * interval '730 days' "
                        + "from (select g, random() r from generate_series(1, " + events + ") g) s",
                // statuses 95/4.5/0.5
                "insert into invoices select g, 1 + floor(" + (tenants - 1) + " * power(random(), 2))::int, "
                        + "case when r < 0.95 then 'paid' when r < 0.995 then 'open' else 'failed' end, "
                        + "date '2026-11-01' - (random() * 900)::int, (random() * 100000)::bigint, "
                        + "(array['EUR','USD','GBP'])[1 + (g % 3)] "
                        + "from (select g, random() r from generate_series(1, " + events / 4 + ") g) s");
    }

    static List<String> shopData(long orders) {
        return List.of(
                "create table customers (id bigint primary key, email text not null, region text not null, "
                        + "signup_at timestamptz not null)",
                "create table products (id bigint primary key, category text not null, price numeric not null)",
                "create table orders (id bigint primary key, customer_id bigint not null, status text not null, "
                        + "created_at timestamptz not null, total int not null)",
                "create table order_items (id bigint primary key, order_id bigint not null, product_id bigint "
                        + "not null, qty int not null)",
                // skew: regions r0 (half the customers) .. r9 (rare)
                "insert into customers select g, 'c' || g || '@example.com', 'r' || least(9, floor(-ln(random()) * 2)::int), "
                        + "timestamptz '2026-11-01' - random() * interval '700 days' from generate_series(1, " + orders / 10 + ") g",
                "insert into products select g, 'c' || (g % 50), (random() * 1000)::numeric(10,2) from generate_series(1, 10000) g",
                // customers by a power law, statuses 95/4/1, two years of orders
                "insert into orders select g, 1 + floor(" + (orders / 10 - 1) + " * power(random(), 3))::bigint, "
                        + "case when random() < 0.95 then 'shipped' when random() < 0.8 then 'open' else 'cancelled' end, "
                        + "timestamptz '2026-11-01' - random() * interval '730 days', (random() * 1000)::int "
                        + "from generate_series(1, " + orders + ") g",
                "insert into order_items select g, 1 + floor(random() * " + (orders - 1) + ")::bigint, "
                        + "1 + floor(10000 * power(random(), 2))::bigint, 1 + (random() * 5)::int "
                        + "from generate_series(1, " + orders / 2 + ") g");
    }

    static List<String> supportData(long tickets) {
        long accounts = tickets / 5;
        return List.of(
                "create table accounts (id bigint primary key, domain text not null, plan text not null, "
                        + "region text not null, created_at timestamptz not null)",
                "create table agents (id int primary key, team text not null)",
                "create table tickets (id bigint primary key, account_id bigint not null, agent_id int, "
                        + "state text not null, priority text not null, opened_at timestamptz not null, "
                        + "resolved_minutes int, subject text not null)",
                "create table ticket_events (id bigint primary key, ticket_id bigint not null, kind text not null, "
                        + "at timestamptz not null)",
                // plans 80/18/2, regions emea/amer/apac
                "insert into accounts select g, 'd' || g || '.example', case when random() < 0.8 then 'free' "
                        + "when random() < 0.9 then 'team' else 'enterprise' end, (array['emea','amer','apac'])"
                        + "[1 + floor(random() * 3)::int], now() - random() * interval '1000 days' "
                        + "from generate_series(1, " + accounts + ") g",
                "insert into agents select g, 't' || (g % 20) from generate_series(1, 2000) g",
                // accounts by a power law; states 84/10/5/1; priorities 2/18/80; recent days denser (random()^2)
                "insert into tickets select g, 1 + floor(" + (accounts - 1) + " * power(random(), 2.5))::bigint, "
                        + "case when random() < 0.03 then null else 1 + floor(random() * 2000)::int end, "
                        + "case when r < 0.84 then 'closed' when r < 0.94 then 'open' when r < 0.99 then 'pending' "
                        + "else 'escalated' end, case when p < 0.02 then 'p1' when p < 0.2 then 'p2' else 'p3' end, "
                        + "now() - power(random(), 2) * interval '730 days', (random() * 5000)::int, "
                        + "'ticket ' || g || case when random() < 0.01 then ' refund' else '' end "
                        + "from (select g, random() r, random() p from generate_series(1, " + tickets + ") g) s",
                "insert into ticket_events select g, 1 + floor(random() * " + (tickets - 1) + ")::bigint, "
                        + "case when random() < 0.7 then 'comment' when random() < 0.83 then 'status' else 'reopened' end, "
                        + "now() - power(random(), 2) * interval '730 days' from generate_series(1, " + 2 * tickets + ") g");
    }

    static final List<Workload> WORKLOADS = List.of(
            new Workload("shop", "customers, products, orders, order_items; literal and parameter predicates",
                    TuningBench::shopData, SHOP, java.util.Map.of("orders", List.of("(total + 1)"),
                            "customers", List.of("lower(email)"))),
            new Workload("support", "accounts, agents, tickets, ticket_events; windows relative to now(), joins "
                    + "from the small side", TuningBench::supportData, SUPPORT, java.util.Map.of("accounts",
                            List.of("lower(domain)"))),
            new Workload("saas", "tenants, users, events (JSON), invoices; expressions, an ICU collation, "
                    + "aggregates, keyset pagination, rare values", TuningBench::saasData, SAAS, SAAS_EXPRESSIONS));

    public static void main(String[] args) throws Exception {
        String url = args[0];
        long rows = Long.parseLong(args[1]);
        List<String> only = args.length > 2 ? List.of(args[2].split(",")) : List.of();
        try (Connection c = DriverManager.getConnection(url)) {
            for (Workload w : WORKLOADS) {
                if (only.isEmpty() || only.contains(w.name())) {
                    run(c, w, rows);
                }
            }
        }
    }

    static void run(Connection c, Workload w, long rows) throws Exception {
        List<Q> queries = w.queries();
        long t0 = System.nanoTime();
        try (Statement st = c.createStatement()) {
            st.execute("create extension if not exists hypopg");
            for (String sql : w.load().apply(rows)) {
                st.execute(sql);
            }
            st.execute("analyze");
            // the load is not the workload: its inserts would count as write overhead in workload mode
            st.execute("select pg_stat_force_next_flush()"); // the load's counts reach shared memory first
            Thread.sleep(1500);
            st.execute("select pg_stat_reset()");
        }
        StringBuilder sizes = new StringBuilder();
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("select relname, reltuples::bigint "
                + "from pg_class where relkind = 'r' and relnamespace = 'public'::regnamespace order by relname")) {
            while (rs.next()) {
                sizes.append(sizes.length() == 0 ? "" : ", ").append(rs.getString(1)).append(' ').append(rs.getLong(2));
            }
        }
        System.out.printf("%n### Workload %s (%s)%n%nRun of %s, %d cores. Data: %s; loaded and analysed in %.0f s.%n%n",
                w.name(), w.description(), java.time.Instant.now().toString().substring(0, 19) + "Z",
                Runtime.getRuntime().availableProcessors(), sizes, (System.nanoTime() - t0) / 1e9);
        System.out.println("| # | query | baseline cost | baseline ms | recommendation | cost after | ms after "
                + "| advisor % | request (candidates costed) | brute-force best | brute % (tried) |");
        System.out.println("|---:|---|---:|---:|---|---:|---:|---:|---:|---|---:|");
        List<double[]> helpable = new ArrayList<>();
        List<Double> improvements = new ArrayList<>();
        List<Long> requestMs = new ArrayList<>();
        int improved = 0;
        int falsePositives = 0;
        int unhelpable = 0;
        CandidateSearch.Stats stats = new CandidateSearch.CatalogStats(c);
        List<IndexCandidates.Candidate> pool = new ArrayList<>();
        List<IndexCandidates.Candidate> perQueryBest = new ArrayList<>();
        List<WorkloadSelection.Statement> statements = new ArrayList<>();
        for (int i = 0; i < queries.size(); i++) {
            Q q = queries.get(i);
            QueryText text = QueryText.of(q.sql());
            long r0 = System.nanoTime();
            ExplainPlan before = text.explain(c, q.params(), true, 120_000);
            PlanAnalyzer.Analysis a = PlanAnalyzer.analyze(before, Map.of());
            List<IndexCandidates.Candidate> rules = IndexCandidates.generate(a, Map.of(), text.literals());
            List<IndexCandidates.Candidate> candidates = CandidateSearch.generate(QueryShape.of(before), stats,
                    CandidateSearch.literals(q.sql()), Map.of(), rules);
            CandidateSearch.Result found = CandidateSearch.cost(c, text, q.params(), candidates, 5_000, 120_000);
            List<HypoCosting.Costed> top = CandidateSearch.best(found.costed(), stats, 30, 5);
            long ms = (System.nanoTime() - r0) / 1_000_000;
            requestMs.add(ms);
            HypoCosting.Costed best = top.isEmpty() ? null : top.get(0);
            statements.add(new WorkloadSelection.Statement(i, text, q.params(), 1, 1));
            for (HypoCosting.Costed x : top) {
                if (pool.stream().noneMatch(p -> p.ddlBody().equals(x.candidate().ddlBody()))) {
                    pool.add(x.candidate());
                }
            }
            if (best != null && perQueryBest.stream().noneMatch(p -> p.ddlBody().equals(best.candidate().ddlBody()))) {
                perQueryBest.add(best.candidate());
            }
            Brute brute = bruteForce(c, text, q.params(), before, w.expressions());
            Double afterCost = null;
            Double afterMs = null;
            if (best != null) {
                try (Statement st = c.createStatement()) {
                    st.execute(best.candidate().plainDdl());
                    ExplainPlan after = text.explain(c, q.params(), true, 120_000);
                    afterCost = after.totalCost();
                    afterMs = after.executionMs();
                    st.execute("drop index " + quote(best.candidate().name()));
                }
                improved++;
                improvements.add(best.improvementPercent());
            }
            boolean canHelp = brute.percent() >= 30;
            if (canHelp) {
                helpable.add(new double[] { best == null ? 0 : best.improvementPercent(), brute.percent() });
            } else {
                unhelpable++;
                if (best != null) {
                    falsePositives++;
                }
            }
            System.out.printf("| %d | %s | %.0f | %.1f | %s | %s | %s | %s | %d ms (%d of %d) | %s | %.1f (%d) |%n",
                    i + 1, q.name(), before.totalCost(), before.executionMs(),
                    best == null ? "none" : "`" + best.candidate().ddlBody() + "`",
                    afterCost == null ? "-" : String.format("%.0f", afterCost),
                    afterMs == null ? "-" : String.format("%.1f", afterMs),
                    best == null ? "-" : String.format("%.1f", best.improvementPercent()), ms, found.costed().size(),
                    found.generated(), canHelp ? "`" + brute.index() + "`" : "none >= 30%", brute.percent(),
                    brute.tried());
        }
        improvements.sort(Double::compare);
        requestMs.sort(Long::compare);
        double median = improvements.isEmpty() ? 0 : improvements.get(improvements.size() / 2);
        double ratio = helpable.stream().mapToDouble(h -> h[1] <= 0 ? 1 : Math.min(1, h[0] / h[1])).average()
                .orElse(1);
        long reached90 = helpable.stream().filter(h -> h[0] >= 0.9 * h[1]).count();
        System.out.printf("%nImproved: %d of %d queries; median estimated improvement of those %.1f%%. Time per request "
                + "(EXPLAIN ANALYZE, generation, HypoPG search): median %d ms, max %d ms (budget 5000 ms).%n", improved,
                queries.size(), median, requestMs.get(requestMs.size() / 2), requestMs.get(requestMs.size() - 1));
        System.out.printf("Queries an index can help (brute force finds >= 30%%): %d; the advisor's improvement "
                + "averages %.1f%% of the brute-force best, and reaches 90%% of it on %d of them (%.0f%%; "
                + "target 90%%).%n", helpable.size(), 100 * ratio, reached90,
                helpable.isEmpty() ? 100.0 : 100.0 * reached90 / helpable.size());
        System.out.printf("Queries no index the brute force tries helps: %d; the advisor recommended something "
                + "for %d of them (target 0).%n", unhelpable, falsePositives);
        workloadFigure(c, statements, pool, perQueryBest);
        // the next workload brings its own tables (and HypoPG again, which lived in this schema)
        try (Statement st = c.createStatement()) {
            st.execute("drop schema public cascade");
            st.execute("create schema public");
        }
    }

    /**
     * Workload mode against the per-query bests taken together: the workload's estimated cost (each query once),
     * the number of indexes and their estimated size.
     */
    static void workloadFigure(Connection c, List<WorkloadSelection.Statement> statements,
            List<IndexCandidates.Candidate> pool, List<IndexCandidates.Candidate> perQueryBest) throws Exception {
        long t0 = System.nanoTime();
        var tables = new WorkloadSelection.CatalogTables(c);
        var choice = WorkloadSelection.choose(c, statements, pool, new WorkloadSelection.Budget(10, 3, 1L << 40, 10, 30),
                tables, 120_000, 120_000);
        long ms = (System.nanoTime() - t0) / 1_000_000;
        double together = 0;
        long size = 0;
        List<Long> oids = new ArrayList<>();
        try {
            for (IndexCandidates.Candidate cand : perQueryBest) {
                try (PreparedStatement ps = c.prepareStatement("select indexrelid, hypopg_relation_size(indexrelid) "
                        + "from hypopg_create_index(?)")) {
                    ps.setString(1, cand.plainDdl());
                    try (ResultSet rs = ps.executeQuery()) {
                        rs.next();
                        oids.add(rs.getLong(1));
                        size += rs.getLong(2);
                    }
                }
            }
            for (WorkloadSelection.Statement s : statements) {
                together += s.text().plan(c, s.parameters(), 120_000).totalCost();
            }
        } finally {
            try (Statement st = c.createStatement()) {
                st.execute("select hypopg_reset()");
            }
        }
        long chosenSize = choice.chosen().stream().mapToLong(WorkloadSelection.Chosen::sizeBytes).sum();
        System.out.printf("Workload mode (each query weighted once; maxIndexes 10, maxIndexesPerTable 3, regression "
                + "bound 10%%; %d candidates in the pool, chosen in %d ms): estimated cost %.0f -> %.0f (%.1f%% lower) "
                + "with %d indexes, %.1f MiB; the per-query best indexes taken together: %.0f with %d indexes, %.1f MiB. "
                + "Refused: %d.%n", pool.size(), ms, choice.costBefore(), choice.costAfter(), choice.improvementPercent(),
                choice.chosen().size(), chosenSize / 1048576.0, together, perQueryBest.size(), size / 1048576.0,
                choice.refused().size());
        choice.refused().stream().limit(5).forEach(r -> System.out.println("- refused: " + r));
        for (WorkloadSelection.Chosen ch : choice.chosen()) {
            System.out.printf("- `%s` (%.1f MiB) serves queries %s%n", ch.candidate().ddlBody(), ch.sizeBytes() / 1048576.0,
                    ch.serves().stream().map(x -> x + 1).toList());
        }
    }

    record Brute(double percent, String index, int tried) {
    }

    /**
     * The yardstick, by brute force with HypoPG over the tables the plan reads: every single- and two-key index
     * over their columns and the workload's expressions; every three-key index over those the query names; every
     * order of directions on keys the query names; text_pattern_ops on a text key when the query has a LIKE;
     * each also covering the other columns the query names (INCLUDE) and partial on each of the query's constant
     * equalities and negated flags.
     */
    static Brute bruteForce(Connection c, QueryText text, List<String> params, ExplainPlan before,
            java.util.Map<String, List<String>> expressions) throws Exception {
        Set<String> tables = new LinkedHashSet<>();
        for (ExplainPlan.Node n : before.nodes()) {
            if (n.relation() != null) {
                tables.add(n.relation());
            }
        }
        String sql = text.text().toLowerCase(java.util.Locale.ROOT);
        boolean like = sql.contains(" like ");
        double baseline = text.explain(c, params, false, 120_000).totalCost();
        double bestPct = 0;
        String bestIndex = "";
        int tried = 0;
        for (String table : tables) {
            List<String> cols = new ArrayList<>();
            Set<String> textCols = new java.util.HashSet<>();
            try (PreparedStatement ps = c.prepareStatement("select column_name, data_type from information_schema.columns "
                    + "where table_schema = 'public' and table_name = ? order by ordinal_position")) {
                ps.setString(1, table);
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        cols.add(rs.getString(1));
                        if (rs.getString(2).equals("text")) {
                            textCols.add(rs.getString(1));
                        }
                    }
                }
            }
            List<String> mentioned = cols.stream().filter(col -> java.util.regex.Pattern.compile("\\b" + col + "\\b")
                    .matcher(sql).find()).toList();
            List<String> exprs = expressions.getOrDefault(table, List.of());
            List<String> atoms = new ArrayList<>(cols);
            atoms.addAll(exprs);
            List<String> named = new ArrayList<>(mentioned);
            named.addAll(exprs);
            List<String> wheres = new ArrayList<>();
            var eq = java.util.regex.Pattern.compile("\\b([a-z_]+)\\s*=\\s*('[^']*')").matcher(sql);
            while (eq.find()) {
                if (cols.contains(eq.group(1))) {
                    wheres.add(eq.group(1) + " = " + eq.group(2));
                }
            }
            var not = java.util.regex.Pattern.compile("\\bnot ([a-z_]+)\\b").matcher(sql);
            while (not.find()) {
                if (cols.contains(not.group(1))) {
                    wheres.add("not " + not.group(1));
                }
            }
            Set<List<String>> lists = new LinkedHashSet<>();
            for (String x : atoms) {
                lists.add(List.of(x));
                for (String y : atoms) {
                    if (!x.equals(y)) {
                        lists.add(List.of(x, y));
                    }
                }
            }
            for (String x : named) {
                for (String y : named) {
                    for (String z : named) {
                        if (!x.equals(y) && !y.equals(z) && !x.equals(z)) {
                            lists.add(List.of(x, y, z));
                        }
                    }
                }
            }
            Set<List<String>> variants = new LinkedHashSet<>();
            for (List<String> l : lists) {
                variants.add(l);
                if (l.size() > 1 && named.containsAll(l)) {
                    for (int mask = 1; mask < 1 << (l.size() - 1); mask++) {
                        List<String> v = new ArrayList<>(l);
                        for (int b = 0; b < l.size() - 1; b++) {
                            if ((mask & 1 << b) != 0) {
                                v.set(b + 1, v.get(b + 1) + " desc");
                            }
                        }
                        variants.add(v);
                    }
                }
                String last = l.get(l.size() - 1);
                if (like && textCols.contains(last) && mentioned.contains(last)) {
                    List<String> v = new ArrayList<>(l);
                    v.set(v.size() - 1, last + " text_pattern_ops");
                    variants.add(v);
                }
            }
            for (List<String> keys : variants) {
                List<String> bare = keys.stream().map(k -> k.replace(" desc", "").replace(" text_pattern_ops", "")).toList();
                List<String> include = mentioned.stream().filter(col -> !bare.contains(col)).toList();
                List<String> incs = new ArrayList<>();
                incs.add("");
                if (!include.isEmpty() && include.size() <= 4) {
                    incs.add(" include (" + String.join(", ", include) + ")");
                }
                List<String> preds = new ArrayList<>();
                preds.add("");
                wheres.forEach(p -> preds.add(" where " + p));
                for (String inc : incs) {
                    for (String where : preds) {
                        String ddl = "create index on " + table + " (" + String.join(", ", keys) + ")" + inc + where;
                        long oid;
                        try (PreparedStatement ps = c.prepareStatement("select indexrelid from hypopg_create_index(?)")) {
                            ps.setString(1, ddl);
                            try (ResultSet rs = ps.executeQuery()) {
                                rs.next();
                                oid = rs.getLong(1);
                            }
                        } catch (java.sql.SQLException e) {
                            continue; // not immutable, or a class that does not fit
                        }
                        tried++;
                        double cost;
                        try {
                            cost = text.explain(c, params, false, 120_000).totalCost();
                        } catch (java.sql.SQLException e) {
                            continue; // HypoPG's EXPLAIN VERBOSE of some join plans fails ("invalid attnum")
                        } finally {
                            try (Statement st = c.createStatement()) {
                                st.execute("select hypopg_reset()");
                            }
                        }
                        double pct = baseline <= 0 ? 0 : (baseline - cost) / baseline * 100;
                        if (pct > bestPct + 0.05) {
                            bestPct = pct;
                            bestIndex = table + " (" + String.join(", ", keys) + ")" + inc + where;
                        }
                    }
                }
            }
        }
        return new Brute(Math.round(bestPct * 10) / 10.0, bestIndex, tried);
    }

    static String quote(String name) {
        return "\"" + name.replace("\"", "\"\"") + "\"";
    }
}
