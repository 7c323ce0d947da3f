package io.dbaoperator.storage;

import java.net.URI;
import java.net.URISyntaxException;

import io.dbaoperator.api.common.S3Storage;
import io.dbaoperator.problem.Problem;
import io.dbaoperator.problem.Reason;

/** Checks an {@link S3Storage} beyond what the schema can, before any credentials are read. */
public final class S3Settings {

    private S3Settings() {
    }

    /** The location without credentials, or an InvalidStorage problem. */
    public static S3Location validate(S3Storage storage, String usedFor) {
        if (storage == null || storage.bucket == null || storage.bucket.isBlank()) {
            throw invalid(usedFor + ".bucket is required");
        }
        if (!storage.bucket.matches("[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]") || storage.bucket.contains("..")) {
            throw invalid(usedFor + ".bucket '" + storage.bucket + "' is not a valid bucket name (3-63 lowercase "
                    + "letters, digits, '.' and '-')");
        }
        if (storage.credentials == null || storage.credentials.secretRef == null
                || storage.credentials.secretRef.name == null) {
            throw invalid(usedFor + ".credentials.secretRef.name is required");
        }
        String prefix = storage.prefix == null ? "" : storage.prefix;
        if (prefix.startsWith("/") || prefix.endsWith("/") || prefix.contains("//")) {
            throw invalid(usedFor + ".prefix must not start or end with '/' or contain '//'");
        }
        URI endpoint = null;
        if (storage.endpoint != null && !storage.endpoint.isBlank()) {
            try {
                endpoint = new URI(storage.endpoint);
            } catch (URISyntaxException e) {
                throw invalid(usedFor + ".endpoint is not a URL: " + e.getReason());
            }
            if (endpoint.getHost() == null || !("http".equals(endpoint.getScheme()) || "https".equals(endpoint.getScheme()))) {
                throw invalid(usedFor + ".endpoint must be an http:// or https:// URL with a host");
            }
            if (endpoint.getUserInfo() != null) {
                throw invalid(usedFor + ".endpoint must not carry credentials; use credentials.secretRef");
            }
        }
        String region = storage.region == null || storage.region.isBlank() ? "us-east-1" : storage.region;
        if (!region.matches("[a-z0-9-]+")) {
            throw invalid(usedFor + ".region '" + region + "' is not a region name such as eu-west-1");
        }
        String sse = storage.serverSideEncryption;
        if (sse != null && !sse.equals("AES256") && !sse.equals("aws:kms")) {
            throw invalid(usedFor + ".serverSideEncryption must be AES256 or aws:kms");
        }
        if (storage.kmsKeyId != null && !"aws:kms".equals(sse)) {
            throw invalid(usedFor + ".kmsKeyId is only used with serverSideEncryption aws:kms");
        }
        return new S3Location(storage.bucket, prefix, endpoint, region, Boolean.TRUE.equals(storage.pathStyle), null,
                null, sse, storage.kmsKeyId);
    }

    private static RuntimeException invalid(String message) {
        return Problem.invalid(Reason.InvalidStorage, message).exception();
    }
}
