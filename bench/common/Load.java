import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongPredicate;

/**
 * A load of 4 clients for the benchmarks, in one of two profiles. <b>simple</b>: per transaction, UPDATE one row's
 * counter and read it back (or only read, for the lock-queue case): short, CPU-bound on this machine. <b>tpcb</b>:
 * pgbench's default TPC-B-like script (UPDATE the account, SELECT it, UPDATE its teller and its branch, INSERT into
 * history, one transaction) with synchronous_commit on: each commit waits for its WAL flush, and every transaction
 * updates one of {@code rows / 100,000} branch rows, so the clients also queue on those rows: commit-bound and
 * lock-bound, as an OLTP primary is. The tellers, branches and history tables are made by {@link #prepareTpcb}.
 * Records every transaction's latency, before and during the work under test, and how many committed in each
 * second. Errors are counted, never hidden.
 */
public final class Load {

    final AtomicBoolean stop = new AtomicBoolean();
    final AtomicLong errors = new AtomicLong();
    final List<Long> before = Collections.synchronizedList(new ArrayList<>());
    final List<Long> during = Collections.synchronizedList(new ArrayList<>());
    final ConcurrentHashMap<Long, AtomicLong> perSecond = new ConcurrentHashMap<>();
    volatile boolean measuring;
    final List<Thread> threads = new ArrayList<>();
    final String url;
    final String table;
    final String counter;
    final int rows;
    final boolean readOnly;
    final LongPredicate touchable;
    final boolean tpcb;

    /** @param touchable which ids the load may pick (e.g. only accounts that stay) */
    public Load(String url, String table, String counter, int rows, boolean readOnly, LongPredicate touchable) {
        this(url, table, counter, rows, readOnly, touchable, false);
    }

    /** @param tpcb the TPC-B-like profile (tables from {@link #prepareTpcb}) instead of the simple one */
    public Load(String url, String table, String counter, int rows, boolean readOnly, LongPredicate touchable,
            boolean tpcb) {
        this.url = url;
        this.table = table;
        this.counter = counter;
        this.rows = rows;
        this.readOnly = readOnly;
        this.touchable = touchable;
        this.tpcb = tpcb;
    }

    /** Branches as pgbench makes them: one per 100,000 accounts (at least one), ten tellers each. */
    static int branches(int rows) {
        return Math.max(1, rows / 100_000);
    }

    /** pgbench's tellers, branches and history beside the bench's accounts table (dropped and made anew). */
    public static void prepareTpcb(Connection c, int rows) throws SQLException {
        var s = c.createStatement();
        s.execute("DROP TABLE IF EXISTS tpcb_branches, tpcb_tellers, tpcb_history");
        s.execute("CREATE TABLE tpcb_branches (bid int PRIMARY KEY, bbalance int NOT NULL DEFAULT 0, filler char(88))");
        s.execute("CREATE TABLE tpcb_tellers (tid int PRIMARY KEY, bid int NOT NULL, tbalance int NOT NULL DEFAULT 0, "
                + "filler char(84))");
        s.execute("CREATE TABLE tpcb_history (tid int, bid int, aid bigint, delta int, mtime timestamp, "
                + "filler char(22))");
        s.execute("INSERT INTO tpcb_branches (bid) SELECT g FROM generate_series(1, " + branches(rows) + ") g");
        s.execute("INSERT INTO tpcb_tellers (tid, bid) SELECT g, (g - 1) / 10 + 1 FROM generate_series(1, "
                + branches(rows) * 10 + ") g");
        s.execute("VACUUM ANALYZE tpcb_branches, tpcb_tellers");
    }

    public void start() {
        for (int i = 0; i < 4; i++) {
            Thread t = new Thread(this::client);
            t.start();
            threads.add(t);
        }
    }

    /** From now on latencies count as "during". */
    public void measure(boolean on) {
        measuring = on;
    }

    /** One transaction of a client's profile, on the account {@code id}; autocommit is off unless read-only. */
    interface Transaction {
        void run(long id) throws SQLException;
    }

    /** A client: the profile's transaction on random touchable accounts until stopped, each one timed. */
    void client() {
        try (Connection c = DriverManager.getConnection(url)) {
            Transaction tx = tpcb ? tpcb(c) : simple(c);
            boolean transactional = tpcb || !readOnly;
            while (!stop.get()) {
                long id;
                do {
                    id = ThreadLocalRandom.current().nextLong(1, rows + 1);
                } while (!touchable.test(id));
                long t0 = System.nanoTime();
                try {
                    if (transactional) {
                        c.setAutoCommit(false);
                    }
                    tx.run(id);
                    if (transactional) {
                        c.commit();
                        c.setAutoCommit(true);
                    }
                } catch (SQLException e) {
                    errors.incrementAndGet();
                    try {
                        c.rollback();
                        c.setAutoCommit(true);
                    } catch (SQLException ignored) {
                        // the next transaction reports it
                    }
                    continue;
                }
                long micros = (System.nanoTime() - t0) / 1000;
                (measuring ? during : before).add(micros);
                perSecond.computeIfAbsent(System.currentTimeMillis() / 1000, k -> new AtomicLong()).incrementAndGet();
            }
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    /** UPDATE the account's counter (unless read-only) and read it back. */
    Transaction simple(Connection c) throws SQLException {
        PreparedStatement update = c.prepareStatement("UPDATE " + table + " SET " + counter + " = " + counter
                + " + 1 WHERE id = ?");
        PreparedStatement read = c.prepareStatement("SELECT " + counter + " FROM " + table + " WHERE id = ?");
        return id -> {
            if (!readOnly) {
                update.setLong(1, id);
                update.executeUpdate();
            }
            read.setLong(1, id);
            try (ResultSet rs = read.executeQuery()) {
                rs.next();
            }
        };
    }

    /** pgbench's built-in tpcb-like script, with synchronous_commit on for the session whatever the server says. */
    Transaction tpcb(Connection c) throws SQLException {
        c.createStatement().execute("SET synchronous_commit = on");
        PreparedStatement account = c.prepareStatement("UPDATE " + table + " SET " + counter + " = " + counter
                + " + ? WHERE id = ?");
        PreparedStatement read = c.prepareStatement("SELECT " + counter + " FROM " + table + " WHERE id = ?");
        PreparedStatement teller = c.prepareStatement("UPDATE tpcb_tellers SET tbalance = tbalance + ? WHERE tid = ?");
        PreparedStatement branch = c.prepareStatement("UPDATE tpcb_branches SET bbalance = bbalance + ? "
                + "WHERE bid = ?");
        PreparedStatement history = c.prepareStatement("INSERT INTO tpcb_history (tid, bid, aid, delta, mtime) "
                + "VALUES (?, ?, ?, ?, CURRENT_TIMESTAMP)");
        int branches = branches(rows);
        return aid -> {
            ThreadLocalRandom r = ThreadLocalRandom.current();
            int bid = r.nextInt(1, branches + 1);
            int tid = r.nextInt(1, branches * 10 + 1);
            int delta = r.nextInt(-5000, 5001);
            account.setInt(1, delta);
            account.setLong(2, aid);
            account.executeUpdate();
            read.setLong(1, aid);
            try (ResultSet rs = read.executeQuery()) {
                rs.next();
            }
            teller.setInt(1, delta);
            teller.setInt(2, tid);
            teller.executeUpdate();
            branch.setInt(1, delta);
            branch.setInt(2, bid);
            branch.executeUpdate();
            history.setInt(1, tid);
            history.setInt(2, bid);
            history.setLong(3, aid);
            history.setInt(4, delta);
            history.executeUpdate();
        };
    }

    public void stop() throws InterruptedException {
        stop.set(true);
        for (Thread t : threads) {
            t.join();
        }
    }

    /** Seconds in [from, to] (epoch seconds) in which fewer than {@code fraction} of {@code tps} committed. */
    public long slowSeconds(long from, long to, double tps, double fraction) {
        long slow = 0;
        for (long s = from; s <= to; s++) {
            AtomicLong n = perSecond.get(s);
            if (n == null || n.get() < tps * fraction) {
                slow++;
            }
        }
        return slow;
    }

    public static String percentiles(List<Long> micros) {
        List<Long> sorted;
        synchronized (micros) {
            sorted = new ArrayList<>(micros);
        }
        if (sorted.isEmpty()) {
            return "-";
        }
        Collections.sort(sorted);
        return String.format("%.1f / %.1f / %.0f", sorted.get(sorted.size() / 2) / 1000.0,
                sorted.get((int) (sorted.size() * 0.99)) / 1000.0, sorted.get(sorted.size() - 1) / 1000.0);
    }

    /** The 99th percentile in microseconds, 0 when empty. */
    public static long p99(List<Long> micros) {
        List<Long> sorted;
        synchronized (micros) {
            sorted = new ArrayList<>(micros);
        }
        if (sorted.isEmpty()) {
            return 0;
        }
        Collections.sort(sorted);
        return sorted.get((int) (sorted.size() * 0.99));
    }

    public static long max(List<Long> micros) {
        synchronized (micros) {
            return micros.stream().mapToLong(Long::longValue).max().orElse(0);
        }
    }
}
