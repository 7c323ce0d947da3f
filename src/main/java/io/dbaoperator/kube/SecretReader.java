package io.dbaoperator.kube;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.HashMap;
import java.util.Map;

import io.dbaoperator.api.common.DatabaseRef;
import io.dbaoperator.api.common.S3Storage;
import io.dbaoperator.postgres.ConnectionSettings;
import io.dbaoperator.postgres.DatabaseSecretParser;
import io.dbaoperator.problem.Problem;
import io.dbaoperator.problem.Reason;
import io.dbaoperator.storage.S3Location;
import io.dbaoperator.storage.S3Settings;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.client.KubernetesClient;
import jakarta.enterprise.context.ApplicationScoped;

/**
 * Resolves the Secrets our resources reference into connection settings and S3 locations. Secrets are read by name
 * (the operator is not given list or watch on Secrets, so there is no informer of them), and a Secret read is used
 * again for {@code dba.secrets.cache-ttl} (5 s; 0s reads every time): a reconcile reads its database's Secret in
 * validation and again to act, and a burst of reconciles reads it once. An edited Secret is seen within that, which
 * is sooner than the retry that would use it; a missing one is never remembered.
 */
@ApplicationScoped
public class SecretReader {

    private record Read(Map<String, String> data, long at) {
    }

    private final KubernetesClient client;
    private final long ttlNanos;
    private final Map<String, Read> recent = new java.util.concurrent.ConcurrentHashMap<>();

    public SecretReader(KubernetesClient client) {
        this(client, "5s");
    }

    @jakarta.inject.Inject
    public SecretReader(KubernetesClient client,
            @org.eclipse.microprofile.config.inject.ConfigProperty(name = "dba.secrets.cache-ttl", defaultValue = "5s")
            String ttl) {
        this.client = client;
        this.ttlNanos = Durations.parse("dba.secrets.cache-ttl", ttl).toNanos();
    }

    /** The decoded data of a Secret, or a SecretNotFound problem. */
    public Map<String, String> read(String namespace, String name, String usedFor) {
        String key = namespace + "/" + name;
        long now = System.nanoTime();
        Read cached = recent.get(key);
        if (cached != null && now - cached.at() < ttlNanos) {
            return new HashMap<>(cached.data());
        }
        Secret secret = client.secrets().inNamespace(namespace).withName(name).get();
        if (secret == null) {
            recent.remove(key);
            throw Problem.invalid(Reason.SecretNotFound, "Secret " + name + " (" + usedFor + ") does not exist in "
                    + "namespace " + namespace + "; create it or fix the reference").exception();
        }
        Map<String, String> data = decode(secret);
        if (ttlNanos > 0) {
            // kept as decoded, never handed out: a later read gets a copy of exactly what this one returns
            recent.put(key, new Read(new HashMap<>(data), now));
            recent.values().removeIf(r -> now - r.at() >= ttlNanos); // nothing kept past its time
        }
        return data;
    }

    public static Map<String, String> decode(Secret secret) {
        Map<String, String> data = new HashMap<>();
        if (secret.getData() != null) {
            secret.getData().forEach((k, v) -> data.put(k,
                    v == null ? null : new String(Base64.getMimeDecoder().decode(v), StandardCharsets.UTF_8)));
        }
        if (secret.getStringData() != null) {
            data.putAll(secret.getStringData());
        }
        return data;
    }

    public ConnectionSettings connection(String namespace, DatabaseRef ref, String usedFor) {
        if (ref == null || ref.secretRef == null || ref.secretRef.name == null) {
            throw Problem.invalid(Reason.InvalidSpec, usedFor + ".secretRef.name is required").exception();
        }
        Map<String, String> data = read(namespace, ref.secretRef.name, usedFor);
        return DatabaseSecretParser.parse(ref.secretRef.name, data).withSslMode(ref.sslMode);
    }

    public S3Location s3(String namespace, S3Storage storage, String usedFor) {
        S3Location unresolved = S3Settings.validate(storage, usedFor);
        var creds = storage.credentials;
        Map<String, String> data = read(namespace, creds.secretRef.name, usedFor + " credentials");
        String keyId = data.get(creds.accessKeyIdKey);
        String secretKey = data.get(creds.secretAccessKeyKey);
        if (keyId == null || keyId.isBlank() || secretKey == null || secretKey.isBlank()) {
            throw Problem.invalid(Reason.SecretKeyMissing, "Secret " + creds.secretRef.name + " lacks key(s) "
                    + (keyId == null || keyId.isBlank() ? "'" + creds.accessKeyIdKey + "' " : "")
                    + (secretKey == null || secretKey.isBlank() ? "'" + creds.secretAccessKeyKey + "'" : "")
                    + " needed for " + usedFor + " credentials").exception();
        }
        return new S3Location(unresolved.bucket(), unresolved.prefix(), unresolved.endpoint(), unresolved.region(),
                unresolved.pathStyle(), keyId.trim(), secretKey.trim(), unresolved.serverSideEncryption(),
                unresolved.kmsKeyId());
    }
}
