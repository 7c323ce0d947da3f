package io.dbaoperator.postgres;

import java.sql.Connection;

/**
 * Where the controllers' database connections come from. Injected, so a phase handler can be unit-tested with a
 * fake (a database that is down, refuses the credentials, or is gone) without a PostgreSQL or the operator's runtime;
 * {@link #POSTGRES} is the real one.
 */
@FunctionalInterface
public interface Databases {

    /** PostgreSQL over JDBC ({@link PostgresConnector#open(ConnectionSettings, String)}). */
    Databases POSTGRES = PostgresConnector::open;

    /**
     * Opens a connection that reports {@code applicationName} in pg_stat_activity. A failure to connect is a
     * {@link io.dbaoperator.problem.ProblemException} already classified (unreachable, refused, no such database).
     */
    Connection open(ConnectionSettings settings, String applicationName);
}
