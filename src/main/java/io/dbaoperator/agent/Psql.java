package io.dbaoperator.agent;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import io.dbaoperator.postgres.PostgresTools;

/**
 * psql on the restore's private socket (the JDBC driver has no Unix sockets). SQL goes through stdin, never the
 * command line, so nothing shows in the process list.
 */
final class Psql {

    record Result(int exitCode, String output) {
    }

    private final Map<String, String> env;
    private final Path socket;
    private final String user;

    Psql(Map<String, String> env, Path socket, String user) {
        this.env = env;
        this.socket = socket;
        this.user = user;
    }

    Psql as(String otherUser) {
        return new Psql(env, socket, otherUser);
    }

    /** Runs one query; its value (tuples only, unaligned); throws with psql's words when it fails. */
    String query(String database, String sql) throws IOException, InterruptedException {
        Result r = exec(database, sql + ";\n", null);
        if (r.exitCode() != 0) {
            throw new IOException("psql: " + BackupCommand.lastLines(r.output(), 3));
        }
        return r.output();
    }

    /** Like {@link #query}, or null when the server does not answer (yet). */
    String tryQuery(String database, String sql) throws InterruptedException {
        try {
            Result r = exec(database, sql + ";\n", null);
            return r.exitCode() == 0 ? r.output().trim() : null;
        } catch (IOException e) {
            return null;
        }
    }

    /** A user's check: read-only, with a statement timeout, so it cannot change the restored data. */
    Result readOnly(String database, String sql) throws IOException, InterruptedException {
        String body = sql.strip();
        return exec(database, body.endsWith(";") ? body + "\n" : body + ";\n",
                "-c default_transaction_read_only=on -c statement_timeout=300000");
    }

    void run(String database, String script) throws IOException, InterruptedException {
        Result r = exec(database, script, null);
        if (r.exitCode() != 0) {
            throw new IOException("psql: " + BackupCommand.lastLines(r.output(), 3));
        }
    }

    private Result exec(String database, String stdin, String options) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of(PostgresTools.binary("psql", env).toString(), "-X", "-q",
                "-t", "-A", "-w", "-v", "ON_ERROR_STOP=1", "-h", socket.toString(), "-p", "5432", "-U", user, "-d",
                database));
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
        pb.environment().keySet().removeIf(k -> k.startsWith("DBA_") || k.startsWith("PG"));
        pb.environment().put("PGCONNECT_TIMEOUT", "5");
        if (options != null) {
            pb.environment().put("PGOPTIONS", options);
        }
        Process p = pb.start();
        try (OutputStream in = p.getOutputStream()) {
            in.write(stdin.getBytes(StandardCharsets.UTF_8));
        } catch (IOException closedEarly) {
            // psql gave up before reading (e.g. no server yet): its output says why
        }
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(6, TimeUnit.HOURS)) {
            p.destroyForcibly();
            return new Result(-1, "timed out");
        }
        return new Result(p.exitValue(), output);
    }
}
