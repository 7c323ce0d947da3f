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

    static final List<Q> QUERIES = List.of(
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

    public static void main(String[] args) throws Exception {
        String url = args[0];
        long orders = Long.parseLong(args[1]);
        try (Connection c = DriverManager.getConnection(url)) {
            long t0 = System.nanoTime();
            load(c, orders);
            System.out.printf("Run of %s, %d cores. Data: customers %d, orders %d, order_items %d, products %d; loaded "
                    + "and analysed in %.0f s.%n%n", java.time.Instant.now().toString().substring(0, 19) + "Z",
                    Runtime.getRuntime().availableProcessors(), orders / 10, orders, orders / 2, 10000,
                    (System.nanoTime() - t0) / 1e9);
            System.out.println("| # | query | baseline cost | baseline ms | recommendation | cost after | ms after "
                    + "| advisor % | brute-force best | brute % |");
            System.out.println("|---:|---|---:|---:|---|---:|---:|---:|---|---:|");
            List<double[]> helpable = new ArrayList<>();
            List<Double> improvements = new ArrayList<>();
            int improved = 0;
            int falsePositives = 0;
            int unhelpable = 0;
            for (int i = 0; i < QUERIES.size(); i++) {
                Q q = QUERIES.get(i);
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
                    QUERIES.size(), median);
            System.out.printf("Queries an index can help (brute force finds >= 30%%): %d; the advisor's improvement "
                    + "averages %.1f%% of the brute-force best, and reaches 90%% of it on %d of them.%n",
                    helpable.size(), 100 * ratio, reached90);
            System.out.printf("Queries no single- or two-column index helps: %d; the advisor recommended something "
                    + "for %d of them.%n", unhelpable, falsePositives);
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

    static void load(Connection c, long orders) throws Exception {
        try (Statement st = c.createStatement()) {
            for (String sql : List.of(
                    "create extension if not exists hypopg",
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
                            + "from generate_series(1, " + orders / 2 + ") g",
                    "analyze")) {
                st.execute(sql);
            }
        }
    }
}
