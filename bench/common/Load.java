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
 * A pgbench-style load of 4 clients for the benchmarks: per transaction, UPDATE one row's counter and read it back
 * (or only read, for the lock-queue case). Records every transaction's latency, before and during the work under
 * test, and how many committed in each second. Errors are counted, never hidden.
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

    /** @param touchable which ids the load may pick (e.g. only accounts that stay) */
    public Load(String url, String table, String counter, int rows, boolean readOnly, LongPredicate touchable) {
        this.url = url;
        this.table = table;
        this.counter = counter;
        this.rows = rows;
        this.readOnly = readOnly;
        this.touchable = touchable;
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

    void client() {
        try (Connection c = DriverManager.getConnection(url)) {
            PreparedStatement update = c.prepareStatement("UPDATE " + table + " SET " + counter + " = " + counter
                    + " + 1 WHERE id = ?");
            PreparedStatement read = c.prepareStatement("SELECT " + counter + " FROM " + table + " WHERE id = ?");
            while (!stop.get()) {
                long id;
                do {
                    id = ThreadLocalRandom.current().nextLong(1, rows + 1);
                } while (!touchable.test(id));
                long t0 = System.nanoTime();
                try {
                    if (!readOnly) {
                        c.setAutoCommit(false);
                        update.setLong(1, id);
                        update.executeUpdate();
                    }
                    read.setLong(1, id);
                    try (ResultSet rs = read.executeQuery()) {
                        rs.next();
                    }
                    if (!readOnly) {
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

    public static long max(List<Long> micros) {
        synchronized (micros) {
            return micros.stream().mapToLong(Long::longValue).max().orElse(0);
        }
    }
}
