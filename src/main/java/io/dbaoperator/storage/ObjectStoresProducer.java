package io.dbaoperator.storage;

import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;

/** The operator's {@link ObjectStores}: S3. */
public class ObjectStoresProducer {

    @Produces
    @Singleton
    ObjectStores objectStores() {
        return ObjectStores.S3;
    }
}
