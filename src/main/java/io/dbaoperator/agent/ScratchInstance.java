package io.dbaoperator.agent;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import io.dbaoperator.postgres.PostgresTools;
import io.dbaoperator.problem.Problem;
import io.dbaoperator.problem.Reason;

/**
 * A private, throw-away PostgreSQL in the Job's scratch volume, for a logical restore test: initdb, then the server
 * on a Unix socket only (no TCP listener), trust for the agent on that socket, no fsync (nothing in it outlives the
 * Job). The server runs as {@link ServerUser} says.
 */
final class ScratchInstance {

    static final String SUPERUSER = "postgres";

    private final ServerUser user;
    private final Process server;
    private final Path data;
    private final Path socket;
    private final Map<String, String> env;

    private ScratchInstance(ServerUser user, Process server, Path data, Path socket, Map<String, String> env) {
        this.user = user;
        this.server = server;
        this.data = data;
        this.socket = socket;
        this.env = env;
    }

    static ScratchInstance start(Map<String, String> env, Path scratch) throws IOException, InterruptedException {
        ServerUser user = new ServerUser(env);
        Path data = scratch.resolve("pgdata");
        Path socket = RestoreCommand.socketDirectory(scratch);
        Files.createDirectories(data);
        user.own(scratch);
        user.own(socket);
        user.run(List.of(PostgresTools.binary("initdb", env).toString(), "-D", data.toString(), "--username",
                SUPERUSER, "--auth", "trust", "--encoding", "UTF8", "--locale", "C", "--no-sync"));
        Path log = scratch.resolve("postgres.log");
        Process server = user.start(List.of(PostgresTools.binary("postgres", env).toString(), "-D", data.toString(),
                "-c", "listen_addresses=", "-c", "port=5432", "-c", "unix_socket_directories=" + socket,
                "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
                "-c", "shared_buffers=128MB", "-c", "huge_pages=off", "-c", "logging_collector=off"), log);
        ScratchInstance instance = new ScratchInstance(user, server, data, socket, env);
        Psql psql = instance.psql();
        long deadline = System.nanoTime() + 60_000_000_000L;
        while (psql.tryQuery("postgres", "select 1") == null) {
            if (!server.isAlive() || System.nanoTime() > deadline) {
                instance.stop();
                throw Problem.invalid(Reason.RestoreFailed, "the scratch PostgreSQL of the restore test did not start: "
                        + BackupCommand.lastLines(Files.exists(log) ? Files.readString(log, StandardCharsets.UTF_8)
                                : "", 3)).exception();
            }
            Thread.sleep(100);
        }
        return instance;
    }

    Psql psql() {
        return new Psql(env, socket, SUPERUSER);
    }

    /** Stops the server; its data goes with the scratch volume, a socket directory outside it here. */
    void stop() throws IOException, InterruptedException {
        RestoreCommand.stop(user, server, data, env);
        if (!socket.startsWith(data.getParent())) {
            BackupVerifier.deleteRecursively(socket);
        }
    }
}
