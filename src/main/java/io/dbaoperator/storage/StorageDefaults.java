package io.dbaoperator.storage;

import java.util.Optional;

import org.eclipse.microprofile.config.inject.ConfigProperty;

import io.dbaoperator.api.common.S3Storage;
import io.dbaoperator.api.common.SecretRef;
import io.dbaoperator.problem.Problem;
import io.dbaoperator.problem.Reason;
import jakarta.enterprise.context.ApplicationScoped;

/**
 * The operator-wide S3 location (Helm value {@code storage.default}, properties {@code dba.storage.default.*}) that
 * a BackupPolicy without {@code spec.storage} and a DisposalJob without {@code spec.report.storage} use. A resource
 * that names a storage uses exactly that one: the default is never merged field by field, so what a resource says
 * is the whole truth about where its data goes. The credentials Secret is looked up in the resource's namespace,
 * like every other reference, because the Jobs that write there run in it.
 */
@ApplicationScoped
public class StorageDefaults {

    private final S3Storage fallback;

    public StorageDefaults(@ConfigProperty(name = "dba.storage.default.bucket") Optional<String> bucket,
            @ConfigProperty(name = "dba.storage.default.prefix") Optional<String> prefix,
            @ConfigProperty(name = "dba.storage.default.endpoint") Optional<String> endpoint,
            @ConfigProperty(name = "dba.storage.default.region", defaultValue = "us-east-1") String region,
            @ConfigProperty(name = "dba.storage.default.path-style", defaultValue = "false") boolean pathStyle,
            @ConfigProperty(name = "dba.storage.default.credentials-secret") Optional<String> credentialsSecret,
            @ConfigProperty(name = "dba.storage.default.server-side-encryption") Optional<String> sse) {
        this.fallback = of(bucket.filter(b -> !b.isBlank()).orElse(null), prefix.orElse(null),
                endpoint.filter(e -> !e.isBlank()).orElse(null), region, pathStyle,
                credentialsSecret.filter(s -> !s.isBlank()).orElse(null), sse.filter(s -> !s.isBlank()).orElse(null));
    }

    private static S3Storage of(String bucket, String prefix, String endpoint, String region, boolean pathStyle,
            String credentialsSecret, String sse) {
        if (bucket == null) {
            return null;
        }
        S3Storage s = new S3Storage();
        s.bucket = bucket;
        s.prefix = prefix == null || prefix.isBlank() ? null : prefix;
        s.endpoint = endpoint;
        s.region = region;
        s.pathStyle = pathStyle;
        s.serverSideEncryption = sse;
        if (credentialsSecret != null) {
            s.credentials = new S3Storage.S3Credentials();
            s.credentials.secretRef = new SecretRef(credentialsSecret);
        }
        return s;
    }

    public boolean configured() {
        return fallback != null;
    }

    /**
     * The storage a resource uses: its own when it names one, else the operator's default; a clear refusal when
     * neither exists. {@code field} is the resource's field, for the message.
     */
    public S3Storage resolve(S3Storage own, String field) {
        if (own != null) {
            return own;
        }
        if (fallback == null) {
            throw Problem.invalid(Reason.InvalidStorage, field + " is not set and the operator has no default storage: "
                    + "set " + field + ", or give the operator one (Helm value storage.default.bucket, property "
                    + "dba.storage.default.bucket)").exception();
        }
        if (fallback.credentials == null) {
            throw Problem.invalid(Reason.InvalidStorage, field + " is not set and the operator's default storage names "
                    + "no credentials Secret (Helm value storage.default.credentialsSecret)").exception();
        }
        return copy(fallback);
    }

    private static S3Storage copy(S3Storage s) {
        S3Storage c = of(s.bucket, s.prefix, s.endpoint, s.region, Boolean.TRUE.equals(s.pathStyle),
                s.credentials == null ? null : s.credentials.secretRef.name, s.serverSideEncryption);
        c.kmsKeyId = s.kmsKeyId;
        return c;
    }
}
