package io.dbaoperator.fakes;

import java.net.ConnectException;
import java.sql.SQLException;

import io.dbaoperator.postgres.Databases;
import io.dbaoperator.postgres.PostgresConnector;

/** {@link Databases} for handler tests that must not reach PostgreSQL. */
public final class FakeDatabases {

    private FakeDatabases() {
    }

    /** A handler that should decide without the database: opening one fails the test. */
    public static Databases unused() {
        return (settings, applicationName) -> {
            throw new AssertionError(applicationName + " opened a connection to " + settings.describe()
                    + " where the handler should have decided without one");
        };
    }

    /** A database that does not answer: the driver's refused connection, classified by the real connector. */
    public static Databases down() {
        return (settings, applicationName) -> {
            throw PostgresConnector.classify(new SQLException("Connection to " + settings.hosts() + " refused",
                    "08001", new ConnectException("Connection refused")), settings).exception();
        };
    }
}
