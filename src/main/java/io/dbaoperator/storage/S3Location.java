package io.dbaoperator.storage;

import java.net.URI;

/**
 * A resolved S3 location with its credentials. {@link #toString()} never shows the secret key.
 */
public record S3Location(String bucket, String prefix, URI endpoint, String region, boolean pathStyle,
        String accessKeyId, String secretAccessKey, String serverSideEncryption, String kmsKeyId) {

    /** The key of {@code relative} under this location's prefix. */
    public String key(String relative) {
        return prefix == null || prefix.isEmpty() ? relative : prefix + "/" + relative;
    }

    public String url(String relative) {
        return "s3://" + bucket + "/" + key(relative);
    }

    @Override
    public String toString() {
        return "S3Location[s3://" + bucket + "/" + (prefix == null ? "" : prefix) + ", endpoint=" + endpoint
                + ", region=" + region + ", accessKeyId=" + accessKeyId + ", secretAccessKey=***]";
    }
}
