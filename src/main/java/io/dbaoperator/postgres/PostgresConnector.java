package io.dbaoperator.postgres;

import java.io.IOException;
import java.net.ConnectException;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.Properties;

import io.dbaoperator.problem.Problem;
import io.dbaoperator.problem.ProblemException;
import io.dbaoperator.problem.Reason;


/** Opens JDBC connections from {@link ConnectionSettings} and turns connection failures into actionable problems. */
public final class PostgresConnector {

    public static final String APPLICATION_NAME = "dba-operator";
    private static final int CONNECT_TIMEOUT_SECONDS = 10;

    private PostgresConnector() {
    }

    public static Connection open(ConnectionSettings settings) {
        return open(settings, APPLICATION_NAME);
    }

    public static Connection open(ConnectionSettings settings, String applicationName) {
        Properties props = settings.properties(applicationName, CONNECT_TIMEOUT_SECONDS);
        if (settings.sslRootCert() != null) {
            props.setProperty("sslrootcert", writeRootCert(settings.sslRootCert()).toString());
        }
        try {
            return DriverManager.getConnection(settings.jdbcUrl(), props);
        } catch (SQLException e) {
            throw classify(e, settings).exception();
        }
    }

    /** Connects, runs {@code select 1}, and returns the server version, or throws a {@link ProblemException}. */
    public static String probe(ConnectionSettings settings) {
        try (Connection c = open(settings)) {
            return c.getMetaData().getDatabaseProductVersion();
        } catch (SQLException e) {
            throw classify(e, settings).exception();
        }
    }

    /** Maps a connection failure to a reason and a message that names the target but never the password. */
    public static Problem classify(SQLException e, ConnectionSettings settings) {
        String state = e.getSQLState() == null ? "" : e.getSQLState();
        String target = settings.describe();
        if (state.equals("28P01") || state.equals("28000")) {
            return Problem.invalid(Reason.AuthenticationFailed, "PostgreSQL refused the credentials for " + target
                    + " (SQLSTATE " + state + "): check the user and password in the Secret and pg_hba.conf");
        }
        if (state.equals("3D000")) {
            return Problem.invalid(Reason.DatabaseNotFound, "database " + settings.dbname() + " does not exist on "
                    + settings.hosts());
        }
        if (state.startsWith("08") || hasCause(e, ConnectException.class) || hasCause(e, UnknownHostException.class)) {
            return Problem.transientFault(Reason.DatabaseUnreachable, "cannot reach PostgreSQL at " + settings.hosts()
                    + " (" + rootMessage(e) + "); the operator retries with backoff");
        }
        return Problem.transientFault(Reason.DatabaseError, "PostgreSQL error on " + target + " (SQLSTATE " + state
                + ")");
    }

    private static boolean hasCause(Throwable t, Class<? extends Throwable> type) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (type.isInstance(c)) {
                return true;
            }
        }
        return false;
    }

    private static String rootMessage(Throwable t) {
        Throwable root = t;
        while (root.getCause() != null) {
            root = root.getCause();
        }
        return root.getClass().getSimpleName() + (root.getMessage() == null ? "" : ": " + root.getMessage());
    }

    private static Path writeRootCert(String pem) {
        try {
            Path file = Files.createTempFile("dba-operator-ca-", ".pem",
                    PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            Files.writeString(file, pem, StandardCharsets.UTF_8);
            file.toFile().deleteOnExit();
            return file;
        } catch (IOException e) {
            throw new IllegalStateException("cannot write the CA certificate to a temporary file", e);
        }
    }
}
