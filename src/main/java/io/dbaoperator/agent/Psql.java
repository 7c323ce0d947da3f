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
 * psql on a restore's private socket (the JDBC driver has no Unix sockets), or over TCP to the instance a logical
 * restore writes into. SQL goes through stdin, never the command line, so nothing shows in the process list; the
 * password only through psql's environment; values reach SQL as psql variables ({@code :'name'} for a literal,
 * {@code :"name"} for an identifier), which psql quotes.
 */
final class Psql {

    record Result(int exitCode, String output) {
    }

    private final Map<String, String> env;
    private final String host;
    private final String port;
    private final String user;
    private final String password;
    private final String sslMode;

    Psql(Map<String, String> env, Path socket, String user) {
        this(env, socket.toString(), "5432", user, null, null);
    }

    private Psql(Map<String, String> env, String host, String port, String user, String password, String sslMode) {
        this.env = env;
        this.host = host;
        this.port = port;
        this.user = user;
        this.password = password;
        this.sslMode = sslMode;
    }

    /** psql to the server a Job's database Secret names (its first host), as the Secret's user. */
    static Psql tcp(Map<String, String> env, io.dbaoperator.postgres.ConnectionSettings db) {
        String[] hostPort = PostgresTools.firstHostAndPort(db);
        return new Psql(env, hostPort[0], hostPort[1], db.user(), db.password(), db.sslMode());
    }

    Psql as(String otherUser) {
        return new Psql(env, host, port, otherUser, password, sslMode);
    }

    /** The connection options of a libpq program (pg_restore) to the same server as the same user. */
    List<String> connectionOptions() {
        return List.of("--host", host, "--port", port, "--username", user, "--no-password");
    }

    /** The credentials a libpq program started beside psql needs, through its environment only. */
    void environment(ProcessBuilder pb) {
        pb.environment().keySet().removeIf(k -> k.startsWith("DBA_") || k.startsWith("PG"));
        pb.environment().put("PGCONNECT_TIMEOUT", "10");
        if (password != null) {
            pb.environment().put("PGPASSWORD", password);
        }
        if (sslMode != null) {
            pb.environment().put("PGSSLMODE", sslMode);
        }
    }

    /**
     * A database as a libpq connection string: psql and pg_restore read a --dbname holding "=" as one, so a plain
     * name would be misread if it held one; quoted, any name is just a name.
     */
    static String dbname(String database) {
        return "dbname='" + database.replace("\\", "\\\\").replace("'", "\\'") + "'";
    }

    /** Like {@link #query}, with psql variables. */
    String query(String database, String sql, Map<String, String> variables) throws IOException, InterruptedException {
        Result r = exec(database, sql + ";\n", null, variables);
        if (r.exitCode() != 0) {
            throw new IOException("psql: " + BackupCommand.lastLines(r.output(), 3));
        }
        return r.output();
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
        return exec(database, stdin, options, Map.of());
    }

    private Result exec(String database, String stdin, String options, Map<String, String> variables)
            throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of(PostgresTools.binary("psql", env).toString(), "-X", "-q",
                "-t", "-A", "-w", "-v", "ON_ERROR_STOP=1", "-h", host, "-p", port, "-U", user, "-d", dbname(database)));
        variables.forEach((k, v) -> command.addAll(List.of("-v", k + "=" + v)));
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
        environment(pb);
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
