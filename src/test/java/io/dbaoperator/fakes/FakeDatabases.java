package io.dbaoperator.fakes;

import io.dbaoperator.postgres.Databases;
import io.dbaoperator.problem.Problem;
import io.dbaoperator.problem.Reason;

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

    /** A database that does not answer, as the real connector reports it. */
    public static Databases down() {
        return (settings, applicationName) -> {
            throw Problem.transientFault(Reason.DatabaseUnreachable, "cannot reach PostgreSQL at "
                    + settings.hosts() + " (ConnectException: Connection refused); the operator retries with backoff")
                    .exception();
        };
    }
}
