package io.dbaoperator.postgres;

import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;

/** The operator's {@link Databases}: PostgreSQL. */
public class DatabasesProducer {

    @Produces
    @Singleton
    Databases databases() {
        return Databases.POSTGRES;
    }
}
