import java.io.InputStream;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;

import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.S3Configuration;
import software.amazon.awssdk.services.s3.model.CompletedMultipartUpload;
import software.amazon.awssdk.services.s3.model.CompletedPart;

/**
 * Baseline (b) of bench/backup: the plainest streaming pipeline into S3 with the same SDK the agent uses, stdin to a
 * multipart upload in 16 MiB parts, one after the other, nothing else (no checksums, no catalog, no verification).
 * Usage: java -cp <classpath> PlainStreamToS3.java <endpoint> <bucket> <key>
 */
public class PlainStreamToS3 {
    public static void main(String[] args) throws Exception {
        try (S3Client s3 = S3Client.builder().region(Region.US_EAST_1).endpointOverride(URI.create(args[0]))
                .serviceConfiguration(S3Configuration.builder().pathStyleAccessEnabled(true).build())
                .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create(
                        System.getenv("AWS_ACCESS_KEY_ID"), System.getenv("AWS_SECRET_ACCESS_KEY")))).build()) {
            String id = s3.createMultipartUpload(b -> b.bucket(args[1]).key(args[2])).uploadId();
            List<CompletedPart> parts = new ArrayList<>();
            byte[] buf = new byte[16 * 1024 * 1024];
            InputStream in = System.in;
            for (int n = 1;; n++) {
                int len = in.readNBytes(buf, 0, buf.length);
                if (len == 0 && n > 1) {
                    break;
                }
                final int number = n;
                String etag = s3.uploadPart(b -> b.bucket(args[1]).key(args[2]).uploadId(id).partNumber(number),
                        RequestBody.fromBytes(java.util.Arrays.copyOf(buf, len))).eTag();
                parts.add(CompletedPart.builder().partNumber(n).eTag(etag).build());
                if (len < buf.length) {
                    break;
                }
            }
            s3.completeMultipartUpload(b -> b.bucket(args[1]).key(args[2]).uploadId(id)
                    .multipartUpload(CompletedMultipartUpload.builder().parts(parts).build()));
        }
    }
}
