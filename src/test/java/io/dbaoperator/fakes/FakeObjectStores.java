package io.dbaoperator.fakes;

import java.lang.reflect.Proxy;

import io.dbaoperator.storage.ObjectStores;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.services.s3.S3Client;

/** {@link ObjectStores} for handler tests that must not reach S3. */
public final class FakeObjectStores {

    private FakeObjectStores() {
    }

    /** A bucket that stopped answering: every request fails as a refused connection does in the SDK. */
    public static ObjectStores down() {
        return location -> (S3Client) Proxy.newProxyInstance(S3Client.class.getClassLoader(),
                new Class<?>[] {S3Client.class}, (proxy, method, args) -> switch (method.getName()) {
                    case "close" -> null;
                    case "serviceName" -> "s3";
                    case "toString" -> "S3 that does not answer";
                    default -> throw SdkClientException.create("Unable to execute HTTP request: Connect to "
                            + location.endpoint() + " failed: Connection refused");
                });
    }

    /** A handler that should decide without the bucket: opening one fails the test. */
    public static ObjectStores unused() {
        return location -> {
            throw new AssertionError("opened a client for bucket " + location.bucket()
                    + " where the handler should have decided without one");
        };
    }
}
