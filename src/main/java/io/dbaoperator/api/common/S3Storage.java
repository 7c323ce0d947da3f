package io.dbaoperator.api.common;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;

import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Required;

/** An S3 (or S3-compatible: MinIO, Ceph RGW...) location with credentials from a Secret. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class S3Storage {

    @Required
    @Pattern("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
    @JsonPropertyDescription("Bucket name. The bucket must exist; the operator never creates buckets.")
    public String bucket;

    @Pattern("^[^/].*[^/]$|^$")
    @JsonPropertyDescription("Key prefix inside the bucket, without leading or trailing '/'. Objects are written under "
            + "<prefix>/<namespace>/<name>/.")
    public String prefix;

    @Pattern("^https?://.+")
    @JsonPropertyDescription("Endpoint URL for S3-compatible stores such as MinIO (e.g. https://minio.storage:9000). "
            + "Empty for AWS S3.")
    public String endpoint;

    @Default("us-east-1")
    @JsonPropertyDescription("Region of the bucket.")
    public String region = "us-east-1";

    @Default("false")
    @JsonPropertyDescription("Use path-style addressing (http://endpoint/bucket/key); needed by most S3-compatible stores.")
    public Boolean pathStyle = false;

    @Required
    @JsonPropertyDescription("Where the access keys come from.")
    public S3Credentials credentials;

    @Pattern("^(AES256|aws:kms)$")
    @JsonPropertyDescription("Server-side encryption to request for every object: AES256 or aws:kms.")
    public String serverSideEncryption;

    @JsonPropertyDescription("KMS key id when serverSideEncryption is aws:kms; the bucket's default key when empty.")
    public String kmsKeyId;

    /** Credentials for {@link S3Storage}. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static class S3Credentials {

        @Required
        @JsonPropertyDescription("Secret holding the access key id and secret access key.")
        public SecretRef secretRef;

        @Default("AWS_ACCESS_KEY_ID")
        @JsonPropertyDescription("Key in the Secret that holds the access key id.")
        public String accessKeyIdKey = "AWS_ACCESS_KEY_ID";

        @Default("AWS_SECRET_ACCESS_KEY")
        @JsonPropertyDescription("Key in the Secret that holds the secret access key.")
        public String secretAccessKeyKey = "AWS_SECRET_ACCESS_KEY";
    }
}
