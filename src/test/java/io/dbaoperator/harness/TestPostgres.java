package io.dbaoperator.harness;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.TimeUnit;

/**
 * A real PostgreSQL server started from the machine's server binaries, shared by every test of the run. Password
 * authentication over TCP (so a wrong password is refused as in production), replication allowed (pg_basebackup).
 */
public final class TestPostgres {

    public static final String SUPERUSER = "postgres";
    public static final String SUPERUSER_PASSWORD = "harness-superuser-pw";

    private static TestPostgres instance;

    private final Path binDir;
    private final Path dataDir;
    private final int port;
    private final boolean asPostgresUser;

    private TestPostgres(Path binDir, Path dataDir, int port, boolean asPostgresUser) {
        this.binDir = binDir;
        this.dataDir = dataDir;
        this.port = port;
        this.asPostgresUser = asPostgresUser;
    }

    public static synchronized TestPostgres get() {
        if (instance == null) {
            RealParts.Guard.starting("PostgreSQL");
            instance = start();
            Runtime.getRuntime().addShutdownHook(new Thread(TestPostgres::shutdown));
        }
        return instance;
    }

    /** Stops the shared server, if it runs; idempotent. */
    public static synchronized void shutdown() {
        if (instance != null) {
            instance.stop();
            instance = null;
        }
    }

    /** The postmaster's process id (first line of postmaster.pid), or -1. */
    public long serverPid() {
        try {
            return Long.parseLong(Files.readAllLines(dataDir.resolve("postmaster.pid")).get(0).trim());
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }

    public int port() {
        return port;
    }

    public String host() {
        return "127.0.0.1";
    }

    public Path binDir() {
        return binDir;
    }

    public String jdbcUrl(String db) {
        return "jdbc:postgresql://127.0.0.1:" + port + "/" + db;
    }

    public Connection superuser(String db) throws SQLException {
        Properties p = new Properties();
        p.setProperty("user", SUPERUSER);
        p.setProperty("password", SUPERUSER_PASSWORD);
        return DriverManager.getConnection(jdbcUrl(db), p);
    }

    /** Runs statements as superuser in database {@code db}. */
    public void exec(String db, String... sql) {
        try (Connection c = superuser(db); Statement st = c.createStatement()) {
            for (String s : sql) {
                st.execute(s);
            }
        } catch (SQLException e) {
            throw new IllegalStateException("harness SQL failed: " + e.getMessage(), e);
        }
    }

    /** Creates (or resets the password of) a login role, and a database it owns. */
    public void createDatabase(String db, String owner, String password) {
        exec("postgres", "do $$ begin if not exists (select from pg_roles where rolname = '" + owner + "') then "
                + "create role \"" + owner + "\" login; end if; end $$",
                "alter role \"" + owner + "\" password '" + password + "'");
        try (Connection c = superuser("postgres"); Statement st = c.createStatement()) {
            var rs = st.executeQuery("select 1 from pg_database where datname = '" + db + "'");
            if (!rs.next()) {
                st.execute("create database \"" + db + "\" owner \"" + owner + "\"");
            }
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    private static TestPostgres start() {
        Path bin = findBinDir();
        boolean root = "root".equals(System.getProperty("user.name"));
        try {
            Path data = Files.createTempDirectory("dba-operator-pg-");
            int port = freePort();
            Path pwfile = data.resolve("pwfile");
            Path cluster = data.resolve("data");
            Files.writeString(pwfile, SUPERUSER_PASSWORD + "\n", StandardCharsets.UTF_8);
            TestPostgres pg = new TestPostgres(bin, cluster, port, root);
            if (root) {
                run(List.of("chown", "-R", "postgres:postgres", data.toString()));
            }
            pg.runAsOwner(List.of(bin.resolve("initdb").toString(), "-D", cluster.toString(), "-U", SUPERUSER,
                    "--pwfile=" + pwfile, "--auth-local=trust", "--auth-host=scram-sha-256", "--no-sync",
                    "-E", "UTF8", "--locale=C"));
            Files.writeString(cluster.resolve("postgresql.auto.conf"), String.join("\n",
                    "listen_addresses = '127.0.0.1'",
                    "port = " + port,
                    "unix_socket_directories = '" + data + "'",
                    "fsync = off", "synchronous_commit = off", "full_page_writes = off",
                    "wal_level = replica", "max_wal_senders = 10", "max_replication_slots = 10",
                    "max_connections = 200", "shared_buffers = 128MB",
                    "shared_preload_libraries = 'pg_stat_statements'",
                    "log_min_messages = warning", "logging_collector = off", ""), StandardCharsets.UTF_8);
            Files.writeString(cluster.resolve("pg_hba.conf"), String.join("\n",
                    "local all all trust",
                    "local replication all trust",
                    "host all all 127.0.0.1/32 scram-sha-256",
                    "host replication all 127.0.0.1/32 scram-sha-256", ""), StandardCharsets.UTF_8);
            if (root) {
                run(List.of("chown", "-R", "postgres:postgres", data.toString()));
            }
            pg.runAsOwner(List.of(bin.resolve("pg_ctl").toString(), "-D", cluster.toString(), "-l",
                    data.resolve("server.log").toString(), "-w", "-t", "60", "start"));
            return pg;
        } catch (IOException e) {
            throw new IllegalStateException("cannot start the test PostgreSQL: " + e.getMessage(), e);
        }
    }

    public void stop() {
        try {
            runAsOwner(List.of(binDir.resolve("pg_ctl").toString(), "-D", dataDir.toString(), "-m", "immediate",
                    "-w", "stop"));
        } catch (RuntimeException e) {
            // already stopped
        }
        TempDirs.delete(dataDir.getParent());
    }

    /** A streaming physical standby of the shared server, for tests that need a replica. */
    public class Standby implements AutoCloseable {
        private final Path dir;
        private final int standbyPort;

        private Standby(Path dir, int standbyPort) {
            this.dir = dir;
            this.standbyPort = standbyPort;
        }

        public Connection superuser() throws SQLException {
            return superuser("postgres");
        }

        public Connection connect(String db, String user, String password) throws SQLException {
            return DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + standbyPort + "/" + db, user,
                    password);
        }

        public Connection superuser(String db) throws SQLException {
            return DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + standbyPort + "/" + db, SUPERUSER,
                    SUPERUSER_PASSWORD);
        }

        @Override
        public void close() {
            runAsOwner(List.of(binDir.resolve("pg_ctl").toString(), "-D", dir.resolve("data").toString(), "-m",
                    "immediate", "-w", "stop"));
            TempDirs.delete(dir);
        }
    }

    /** Clones the server with pg_basebackup -R and starts the clone as a hot standby streaming from it. */
    public Standby startStandby() {
        try {
            Path dir = Files.createTempDirectory("dba-operator-standby-");
            if (asPostgresUser) {
                run(List.of("chown", "-R", "postgres:postgres", dir.toString()));
            }
            Path data = dir.resolve("data");
            runAsOwner(List.of(binDir.resolve("pg_basebackup").toString(), "-h", dataDir.getParent().toString(),
                    "-p", String.valueOf(port), "-U", SUPERUSER, "-D", data.toString(), "-R", "-X", "stream", "-c",
                    "fast"));
            int standbyPort = freePort();
            // appended after what -R wrote: the standby's own port and socket directory
            runAsOwner(List.of("sh", "-c", "printf \"port = " + standbyPort + "\\nunix_socket_directories = '" + dir
                    + "'\\nhot_standby_feedback = on\\n\" >> " + data.resolve("postgresql.auto.conf")));
            runAsOwner(List.of(binDir.resolve("pg_ctl").toString(), "-D", data.toString(), "-l",
                    dir.resolve("log").toString(), "-w", "start"));
            return new Standby(dir, standbyPort);
        } catch (IOException e) {
            throw new IllegalStateException("cannot start a standby: " + e.getMessage(), e);
        }
    }

    /**
     * Starts PostgreSQL on a data directory someone else produced (a restore), on a port of its own, as a person
     * checking a restored volume would; the settings of the directory are kept except where it listens.
     */
    public Standby startOn(Path data) {
        try {
            Path dir = Files.createTempDirectory("dba-operator-restored-");
            if (asPostgresUser) {
                run(List.of("chown", "-R", "postgres:postgres", dir.toString(), data.toString()));
            }
            int instancePort = freePort();
            runAsOwner(List.of(binDir.resolve("pg_ctl").toString(), "-D", data.toString(), "-l",
                    dir.resolve("log").toString(), "-w", "-t", "120", "-o", "-c port=" + instancePort
                            + " -c listen_addresses=127.0.0.1 -c unix_socket_directories=" + dir, "start"));
            return new Standby(data.getParent(), instancePort) {
                @Override
                public void close() {
                    runAsOwner(List.of(binDir.resolve("pg_ctl").toString(), "-D", data.toString(), "-m", "fast",
                            "-w", "stop"));
                    TempDirs.delete(dir); // its log and socket; the data directory is the volume's
                }
            };
        } catch (IOException e) {
            throw new IllegalStateException("cannot start PostgreSQL on " + data + ": " + e.getMessage(), e);
        }
    }

    private void runAsOwner(List<String> command) {
        List<String> full = new ArrayList<>();
        if (asPostgresUser) {
            full.addAll(List.of("runuser", "-u", "postgres", "--"));
        }
        full.addAll(command);
        run(full);
    }

    private static void run(List<String> command) {
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
            String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(120, TimeUnit.SECONDS) || p.exitValue() != 0) {
                throw new IllegalStateException("command failed: " + String.join(" ", command) + "\n" + output);
            }
        } catch (IOException e) {
            throw new IllegalStateException("cannot run " + command.get(0), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private static Path findBinDir() {
        String configured = System.getenv("PG_BINDIR");
        List<Path> candidates = new ArrayList<>();
        if (configured != null) {
            candidates.add(Paths.get(configured));
        }
        for (String v : List.of("17", "16", "15")) {
            candidates.add(Paths.get("/usr/lib/postgresql/" + v + "/bin"));
        }
        for (Path c : candidates) {
            if (Files.isExecutable(c.resolve("postgres")) && Files.isExecutable(c.resolve("initdb"))
                    && Files.isExecutable(c.resolve("pg_basebackup"))) {
                return c;
            }
        }
        throw new IllegalStateException("The tests need the PostgreSQL server binaries (postgres, initdb, pg_ctl, "
                + "pg_basebackup). Install them with: apt-get install -y postgresql-15 postgresql-15-hypopg "
                + "(or set PG_BINDIR to their directory). Looked in " + candidates);
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }
}
