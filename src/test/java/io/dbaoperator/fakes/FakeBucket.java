package io.dbaoperator.fakes;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.reflect.Proxy;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import io.dbaoperator.storage.ObjectStores;
import software.amazon.awssdk.core.ResponseBytes;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.DeleteObjectRequest;
import software.amazon.awssdk.services.s3.model.DeleteObjectResponse;
import software.amazon.awssdk.services.s3.model.GetObjectRequest;
import software.amazon.awssdk.services.s3.model.GetObjectResponse;
import software.amazon.awssdk.services.s3.model.HeadBucketResponse;
import software.amazon.awssdk.services.s3.model.ListMultipartUploadsResponse;
import software.amazon.awssdk.services.s3.model.ListObjectsV2Request;
import software.amazon.awssdk.services.s3.model.ListObjectsV2Response;
import software.amazon.awssdk.services.s3.model.NoSuchKeyException;
import software.amazon.awssdk.services.s3.model.PutObjectRequest;
import software.amazon.awssdk.services.s3.model.PutObjectResponse;
import software.amazon.awssdk.services.s3.model.S3Object;
import software.amazon.awssdk.services.s3.paginators.ListObjectsV2Iterable;

/**
 * One bucket in memory, for handler tests without an S3 server: objects are put, read, listed by prefix (one page)
 * and deleted as S3 does; a missing key is the SDK's NoSuchKeyException. Multipart uploads are never in progress.
 * Anything else a handler asks fails the test, so a test shows what it relies on.
 */
public final class FakeBucket {

    /** Key to content, in key order (as S3 lists them). */
    public final Map<String, byte[]> objects = new TreeMap<>();
    /** The storage class of an object (as a HEAD shows it); absent: the store's default. */
    public final Map<String, String> storageClasses = new TreeMap<>();
    /** Each request's operation and key, in order ("putObject base/x/backup.json"). */
    public final List<String> requests = new ArrayList<>();

    public FakeBucket put(String key, String content) {
        objects.put(key, content.getBytes(java.nio.charset.StandardCharsets.UTF_8));
        return this;
    }

    public ObjectStores stores() {
        return location -> client();
    }

    private S3Client client() {
        S3Client[] self = new S3Client[1];
        self[0] = (S3Client) Proxy.newProxyInstance(S3Client.class.getClassLoader(), new Class<?>[] {S3Client.class},
                (proxy, method, args) -> switch (method.getName()) {
                    case "putObject" -> {
                        PutObjectRequest r = (PutObjectRequest) args[0];
                        requests.add("putObject " + r.key());
                        try (InputStream in = ((RequestBody) args[1]).contentStreamProvider().newStream()) {
                            objects.put(r.key(), in.readAllBytes());
                        } catch (IOException e) {
                            throw new UncheckedIOException(e);
                        }
                        yield PutObjectResponse.builder().build();
                    }
                    case "getObjectAsBytes" -> {
                        GetObjectRequest r = (GetObjectRequest) args[0];
                        requests.add("getObject " + r.key());
                        byte[] b = objects.get(r.key());
                        if (b == null) {
                            throw NoSuchKeyException.builder().message("The specified key does not exist.").build();
                        }
                        yield ResponseBytes.fromByteArray(GetObjectResponse.builder().build(), b);
                    }
                    case "headObject" -> {
                        var r = (software.amazon.awssdk.services.s3.model.HeadObjectRequest) args[0];
                        requests.add("headObject " + r.key());
                        byte[] b = objects.get(r.key());
                        if (b == null) {
                            throw NoSuchKeyException.builder().statusCode(404).message("Not Found").build();
                        }
                        yield software.amazon.awssdk.services.s3.model.HeadObjectResponse.builder()
                                .contentLength((long) b.length).storageClass(storageClasses.get(r.key())).build();
                    }
                    case "deleteObject" -> {
                        DeleteObjectRequest r = (DeleteObjectRequest) args[0];
                        requests.add("deleteObject " + r.key());
                        objects.remove(r.key());
                        yield DeleteObjectResponse.builder().build();
                    }
                    case "listObjectsV2Paginator" -> new ListObjectsV2Iterable(self[0], (ListObjectsV2Request) args[0]);
                    case "listObjectsV2" -> {
                        ListObjectsV2Request r = (ListObjectsV2Request) args[0];
                        String prefix = r.prefix() == null ? "" : r.prefix();
                        requests.add("listObjectsV2 " + prefix);
                        yield ListObjectsV2Response.builder().isTruncated(false).contents(objects.entrySet().stream()
                                .filter(e -> e.getKey().startsWith(prefix))
                                .map(e -> S3Object.builder().key(e.getKey()).size((long) e.getValue().length)
                                        .lastModified(Instant.now()).build())
                                .toList()).build();
                    }
                    case "listMultipartUploads" -> ListMultipartUploadsResponse.builder().isTruncated(false).build();
                    case "headBucket" -> HeadBucketResponse.builder().build();
                    case "close" -> null;
                    case "serviceName" -> "s3";
                    case "toString" -> "FakeBucket";
                    case "hashCode" -> System.identityHashCode(proxy);
                    case "equals" -> proxy == args[0];
                    default -> throw new UnsupportedOperationException("FakeBucket: S3Client." + method.getName());
                });
        return self[0];
    }
}
