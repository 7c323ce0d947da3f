package io.dbaoperator.storage;

import java.time.Duration;

import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.client.config.ClientOverrideConfiguration;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.S3Configuration;
import software.amazon.awssdk.services.s3.model.HeadBucketRequest;
import software.amazon.awssdk.services.s3.model.S3Exception;

import io.dbaoperator.problem.Problem;
import io.dbaoperator.problem.Reason;


/**
 * S3 clients built per location: each resource names its own bucket, endpoint and credentials, so they cannot come
 * from one application-wide client.
 */
public final class S3Clients {

    private S3Clients() {
    }

    public static S3Client create(S3Location location) {
        var builder = S3Client.builder()
                .region(Region.of(location.region()))
                .credentialsProvider(StaticCredentialsProvider.create(
                        AwsBasicCredentials.create(location.accessKeyId(), location.secretAccessKey())))
                .serviceConfiguration(S3Configuration.builder().pathStyleAccessEnabled(location.pathStyle())
                        .checksumValidationEnabled(true).build())
                .httpClientBuilder(UrlConnectionHttpClient.builder()
                        .connectionTimeout(Duration.ofSeconds(10))
                        .socketTimeout(Duration.ofSeconds(60)))
                .overrideConfiguration(ClientOverrideConfiguration.builder()
                        .apiCallTimeout(Duration.ofMinutes(5)).build());
        if (location.endpoint() != null) {
            builder.endpointOverride(location.endpoint());
        }
        return builder.build();
    }

    /** Checks that the bucket exists and the credentials may use it; returns the problem when not. */
    public static Problem probe(S3Location location) {
        try (S3Client s3 = create(location)) {
            s3.headBucket(HeadBucketRequest.builder().bucket(location.bucket()).build());
            return null;
        } catch (S3Exception e) {
            int code = e.statusCode();
            if (code == 404) {
                return Problem.invalid(Reason.BucketNotFound, "bucket " + location.bucket() + " does not exist at "
                        + endpointName(location) + "; create it or fix storage.bucket");
            }
            if (code == 403 || code == 401) {
                return Problem.invalid(Reason.StorageAccessDenied, "access to bucket " + location.bucket()
                        + " was denied (HTTP " + code + ") for access key id " + location.accessKeyId()
                        + "; check the credentials Secret and the bucket policy");
            }
            return Problem.transientFault(Reason.StorageUnreachable, "S3 at " + endpointName(location)
                    + " answered HTTP " + code + " for bucket " + location.bucket());
        } catch (SdkClientException e) {
            return unreachable(location, e);
        }
    }

    /**
     * The problem of a request that did not reach S3 or got no answer (connection refused, a timeout): transient,
     * naming the endpoint and never the credentials.
     */
    public static Problem unreachable(S3Location location, SdkClientException e) {
        return Problem.transientFault(Reason.StorageUnreachable, "cannot reach S3 at " + endpointName(location)
                + ": " + e.getClass().getSimpleName() + "; the operator retries with backoff");
    }

    private static String endpointName(S3Location location) {
        return location.endpoint() == null ? "AWS S3 (" + location.region() + ")" : location.endpoint().toString();
    }
}
