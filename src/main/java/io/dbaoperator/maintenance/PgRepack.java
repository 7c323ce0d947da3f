package io.dbaoperator.maintenance;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import io.dbaoperator.postgres.ConnectionSettings;
import io.dbaoperator.postgres.PostgresTools;
import io.dbaoperator.sql.Identifiers;

/**
 * Runs the pg_repack program on one table: the table is copied to a new file while a trigger logs the writes made
 * meanwhile, which are replayed before a swap; ACCESS EXCLUSIVE is held only for the trigger's creation and the
 * swap. The careful way:
 * <ul>
 * <li>{@code --no-kill-backend}: pg_repack's default cancels, then terminates, the sessions holding a lock it waits
 * for; here it gives up after {@code --wait-timeout} instead, and the task is tried again (the application's
 * sessions are never killed);</li>
 * <li>{@code --no-order}: the rows are copied as they are (no CLUSTER ordering), which is what removing bloat
 * needs;</li>
 * <li>the password reaches the program through its environment only ({@code PGPASSWORD}), never its arguments;</li>
 * <li>a pg_repack killed midway leaves its trigger on the table (every write then also writes a log row) and its
 * log and copy tables: {@link #tidy} removes them with the extension's own {@code repack.repack_drop} before each
 * attempt, under lock_timeout.</li>
 * </ul>
 */
public final class PgRepack {

    /** What one run of the program did: its exit status and its output (which never holds the password). */
    public record Result(int exit, String output) {
        /** It gave up waiting for a lock (nothing was changed; try again later). */
        public boolean timedOut() {
            return output.contains("timed out");
        }
    }

    /** The application_name its sessions show (pg_stat_activity). */
    static final String APPLICATION_NAME = "dba-operator/maintenance/repack";

    private PgRepack() {
    }

    /** Runs pg_repack on {@code schema.table}; waits at most {@code limit} for it. */
    public static Result run(ConnectionSettings db, String schema, String table, Duration waitTimeout,
            Duration limit, Map<String, String> env) throws IOException, InterruptedException {
        String[] hostPort = PostgresTools.firstHostAndPort(db);
        List<String> cmd = new ArrayList<>(List.of(PostgresTools.binary("pg_repack", env).toString(),
                "--no-kill-backend", "--no-order", "--no-superuser-check", "--elevel=WARNING",
                "--wait-timeout=" + Math.max(1, waitTimeout.toSeconds()), "--table="
                        + Identifiers.quote(schema) + "." + Identifiers.quote(table),
                "--host=" + hostPort[0], "--port=" + hostPort[1], "--username=" + db.user(), "--no-password",
                "--dbname=" + db.dbname()));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        PostgresTools.clientEnvironment(pb, db, APPLICATION_NAME);
        Process p = pb.start();
        p.getOutputStream().close();
        // the program's output is short (warnings and errors at most): read beside it, so it never blocks on a pipe
        CompletableFuture<byte[]> out = CompletableFuture.supplyAsync(() -> {
            try (InputStream in = p.getInputStream()) {
                return in.readAllBytes();
            } catch (IOException e) {
                return new byte[0];
            }
        });
        if (!p.waitFor(limit.toMillis(), TimeUnit.MILLISECONDS)) {
            // its trigger and copy stay behind until the next attempt's tidy
            p.destroy();
            p.waitFor(10, TimeUnit.SECONDS);
            return new Result(-1, "pg_repack did not finish within " + limit);
        }
        String text;
        try {
            text = new String(out.get(10, TimeUnit.SECONDS), StandardCharsets.UTF_8).strip();
        } catch (ExecutionException | TimeoutException e) {
            text = "";
        }
        return new Result(p.exitValue(), text.length() > 2000 ? text.substring(0, 2000) + "..." : text);
    }

    /**
     * Removes what a pg_repack of {@code schema.table} killed midway left: its trigger on the table, its log table,
     * its copy and its type ({@code repack.repack_drop}, which takes ACCESS EXCLUSIVE on the table briefly: under
     * lock_timeout by the caller). True when there was something to remove.
     */
    static boolean tidy(Connection c, String schema, String table) throws SQLException {
        long oid;
        try (PreparedStatement ps = c.prepareStatement("select c.oid from pg_class c join pg_namespace n on n.oid = "
                + "c.relnamespace where n.nspname = ? and c.relname = ? and (exists (select 1 from pg_trigger t "
                + "where t.tgrelid = c.oid and t.tgname = 'repack_trigger') or to_regclass('repack.log_' || "
                + "c.oid) is not null or to_regclass('repack.table_' || c.oid) is not null)")) {
            ps.setString(1, schema);
            ps.setString(2, table);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    return false;
                }
                oid = rs.getLong(1);
            }
        }
        try (PreparedStatement ps = c.prepareStatement("select repack.repack_drop(?::oid, 4)")) {
            ps.setLong(1, oid);
            ps.execute();
        }
        return true;
    }
}
