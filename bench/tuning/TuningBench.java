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

import io.dbaoperator.tuning.ExplainPlan;
import io.dbaoperator.tuning.HypoCosting;
import io.dbaoperator.tuning.IndexCandidates;
import io.dbaoperator.tuning.PlanAnalyzer;
import io.dbaoperator.tuning.QueryText;

/** See run.sh. Prints a Markdown report on stdout. */
public class TuningBench {

    record Q(String name, String sql, List<String> params) {
    }

    /** A schema with its data (rows scaled by {@code n}) and the slow queries asked of it. */
    record Workload(String name, String description, java.util.function.LongFunction<List<String>> load,
            List<Q> queries) {
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
                    TuningBench::shopData, SHOP),
            new Workload("support", "accounts, agents, tickets, ticket_events; windows relative to now(), joins "
                    + "from the small side", TuningBench::supportData, SUPPORT));

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
        {
            long t0 = System.nanoTime();
            try (Statement st = c.createStatement()) {
                st.execute("create extension if not exists hypopg");
                for (String sql : w.load().apply(rows)) {
                    st.execute(sql);
                }
                st.execute("analyze");
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
                    + "| advisor % | brute-force best | brute % |");
            System.out.println("|---:|---|---:|---:|---|---:|---:|---:|---|---:|");
            List<double[]> helpable = new ArrayList<>();
            List<Double> improvements = new ArrayList<>();
            int improved = 0;
            int falsePositives = 0;
            int unhelpable = 0;
            for (int i = 0; i < queries.size(); i++) {
                Q q = queries.get(i);
                QueryText text = QueryText.of(q.sql());
                ExplainPlan before = text.explain(c, q.params(), true, 120_000);
                PlanAnalyzer.Analysis a = PlanAnalyzer.analyze(before, Map.of());
                List<IndexCandidates.Candidate> candidates = IndexCandidates.generate(a, Map.of(), text.literals());
                List<HypoCosting.Costed> costed = candidates.isEmpty() ? List.of()
                        : HypoCosting.cost(c, text, q.params(), candidates, 120_000);
                HypoCosting.Costed best = costed.stream().filter(x -> x.used() && x.improvementPercent() >= 30)
                        .max(Comparator.comparingDouble(HypoCosting.Costed::improvementPercent)).orElse(null);
                double[] brute = bruteForce(c, text, q.params(), before);
                String bruteIndex = brute[1] < 0 ? "-" : BRUTE_NAME;
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
                double baseCost = before.totalCost();
                boolean canHelp = brute[0] >= 30;
                if (canHelp) {
                    helpable.add(new double[] { best == null ? 0 : best.improvementPercent(), brute[0] });
                } else {
                    unhelpable++;
                    if (best != null) {
                        falsePositives++;
                    }
                }
                System.out.printf("| %d | %s | %.0f | %.1f | %s | %s | %s | %s | %s | %.1f |%n", i + 1, q.name(), baseCost,
                        before.executionMs(), best == null ? "none" : "`" + best.candidate().ddlBody() + "`",
                        afterCost == null ? "-" : String.format("%.0f", afterCost),
                        afterMs == null ? "-" : String.format("%.1f", afterMs),
                        best == null ? "-" : String.format("%.1f", best.improvementPercent()),
                        brute[0] >= 30 ? "`" + bruteIndex + "`" : "none >= 30%", brute[0]);
            }
            improvements.sort(Double::compare);
            double median = improvements.isEmpty() ? 0 : improvements.get(improvements.size() / 2);
            double ratio = helpable.stream().mapToDouble(h -> h[1] <= 0 ? 1 : Math.min(1, h[0] / h[1])).average()
                    .orElse(1);
            long reached90 = helpable.stream().filter(h -> h[0] >= 0.9 * h[1]).count();
            System.out.printf("%nImproved: %d of %d queries; median estimated improvement of those %.1f%%.%n", improved,
                    queries.size(), median);
            System.out.printf("Queries an index can help (brute force finds >= 30%%): %d; the advisor's improvement "
                    + "averages %.1f%% of the brute-force best, and reaches 90%% of it on %d of them (%.0f%%; "
                    + "target 90%%).%n", helpable.size(), 100 * ratio, reached90,
                    helpable.isEmpty() ? 100.0 : 100.0 * reached90 / helpable.size());
            System.out.printf("Queries no single- or two-column index helps: %d; the advisor recommended something "
                    + "for %d of them (target 0).%n", unhelpable, falsePositives);
            // the next workload brings its own tables (and HypoPG again, which lived in this schema)
            try (Statement st = c.createStatement()) {
                st.execute("drop schema public cascade");
                st.execute("create schema public");
            }
        }
    }

    static String BRUTE_NAME = "";

    /** The best single- or two-column index over the columns of the tables the plan reads, by HypoPG. */
    static double[] bruteForce(Connection c, QueryText text, List<String> params, ExplainPlan before) throws Exception {
        Set<String> tables = new LinkedHashSet<>();
        for (ExplainPlan.Node n : before.nodes()) {
            if (n.relation() != null) {
                tables.add(n.relation());
            }
        }
        double baseline = text.explain(c, params, false, 120_000).totalCost();
        double bestPct = 0;
        BRUTE_NAME = "";
        for (String table : tables) {
            List<String> cols = new ArrayList<>();
            try (PreparedStatement ps = c.prepareStatement("select column_name from information_schema.columns "
                    + "where table_schema = 'public' and table_name = ? order by ordinal_position")) {
                ps.setString(1, table);
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        cols.add(rs.getString(1));
                    }
                }
            }
            List<List<String>> sets = new ArrayList<>();
            for (String a : cols) {
                sets.add(List.of(a));
                for (String b : cols) {
                    if (!a.equals(b)) {
                        sets.add(List.of(a, b));
                    }
                }
            }
            for (List<String> set : sets) {
                String ddl = "create index on " + table + " (" + String.join(", ", set) + ")";
                long oid;
                try (PreparedStatement ps = c.prepareStatement("select indexrelid from hypopg_create_index(?)")) {
                    ps.setString(1, ddl);
                    try (ResultSet rs = ps.executeQuery()) {
                        rs.next();
                        oid = rs.getLong(1);
                    }
                }
                double cost = text.explain(c, params, false, 120_000).totalCost();
                try (Statement st = c.createStatement()) {
                    st.execute("select hypopg_reset()");
                }
                double pct = baseline <= 0 ? 0 : (baseline - cost) / baseline * 100;
                if (pct > bestPct + 0.05) {
                    bestPct = pct;
                    BRUTE_NAME = table + " (" + String.join(", ", set) + ")";
                }
            }
        }
        return new double[] { Math.round(bestPct * 10) / 10.0, bestPct > 0 ? 1 : -1 };
    }

    static String quote(String name) {
        return "\"" + name.replace("\"", "\"\"") + "\"";
    }
}
