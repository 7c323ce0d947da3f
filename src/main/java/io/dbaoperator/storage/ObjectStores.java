package io.dbaoperator.storage;

import software.amazon.awssdk.services.s3.S3Client;

/**
 * Where the controllers' S3 clients come from. Injected, so a handler can be unit-tested with a bucket that does not
 * answer, without an S3 server or the operator's runtime; {@link #S3} is the real one.
 */
@FunctionalInterface
public interface ObjectStores {

    /** The AWS SDK's client for the location ({@link S3Clients#create}). */
    ObjectStores S3 = S3Clients::create;

    S3Client open(S3Location location);
}
