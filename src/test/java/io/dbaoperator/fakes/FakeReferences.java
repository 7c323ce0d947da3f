package io.dbaoperator.fakes;

import java.util.HashMap;
import java.util.Map;

import io.dbaoperator.api.common.DatabaseRef;
import io.dbaoperator.api.common.S3Storage;
import io.dbaoperator.postgres.ConnectionSettings;
import io.dbaoperator.problem.Problem;
import io.dbaoperator.problem.Reason;
import io.dbaoperator.references.ReferenceChecks;
import io.dbaoperator.storage.S3Location;
import io.fabric8.kubernetes.api.model.HasMetadata;

/**
 * The validation step's references without a cluster, a database or a bucket: databases and objects are what the
 * test puts here; anything else is missing, with the real checks' reason.
 */
public final class FakeReferences extends ReferenceChecks {

    private final Map<String, Object> databases = new HashMap<>();
    private final Map<String, HasMetadata> objects = new HashMap<>();

    public FakeReferences() {
        super(new io.dbaoperator.kube.SharedCaches(null), null, FakeDatabases.unused());
    }

    /** Secret {@code secret} names a database that answers, as PostgreSQL 15, with or without REPLICATION. */
    public FakeReferences database(String secret, ConnectionSettings settings, boolean replication) {
        databases.put(secret, new CheckedDatabase(settings, "15.18", replication));
        return this;
    }

    /** Secret {@code secret} names a database that fails the check with {@code problem}. */
    public FakeReferences database(String secret, Problem problem) {
        databases.put(secret, problem);
        return this;
    }

    public FakeReferences object(HasMetadata object) {
        objects.put(object.getKind() + "/" + object.getMetadata().getName(), object);
        return this;
    }

    /** Connection settings a test can recognise: host {@code name}.db, database and user {@code name}. */
    public static ConnectionSettings settings(String name) {
        return new ConnectionSettings(name + ".db:5432", name, name, "not-a-real-password", null, null);
    }

    @Override
    public CheckedDatabase database(String namespace, DatabaseRef ref, String usedFor) {
        Object found = databases.get(ref.secretRef.name);
        if (found instanceof Problem p) {
            throw p.exception();
        }
        if (found == null) {
            throw Problem.invalid(Reason.SecretNotFound, usedFor + " refers to Secret " + ref.secretRef.name
                    + ", which does not exist in namespace " + namespace).exception();
        }
        return (CheckedDatabase) found;
    }

    @Override
    public S3Location storage(String namespace, S3Storage storage, String usedFor) {
        return new S3Location(storage.bucket, "", null, "us-east-1", true, "key", "secret", null, null);
    }

    /** The encryption Secret's data a test gives (base64 keys by id); none: the Secret does not exist. */
    public final java.util.Map<String, String> encryptionKeys = new java.util.HashMap<>();

    @Override
    public io.dbaoperator.backup.catalog.ClientEncryption.Keyring encryption(String namespace,
            io.dbaoperator.api.backup.BackupPolicySpec.Encryption e, boolean writes) {
        if (e == null) {
            return null;
        }
        if (encryptionKeys.isEmpty()) {
            throw Problem.invalid(Reason.SecretNotFound, "spec.encryption.secretRef refers to Secret "
                    + e.secretRef.name + ", which does not exist in namespace " + namespace).exception();
        }
        return io.dbaoperator.backup.catalog.ClientEncryption.Keyring.of(e.secretRef.name, writes ? e.keyId : null,
                encryptionKeys);
    }

    @Override
    public <T extends HasMetadata> T exists(String namespace, Class<T> kind, String name, String usedFor) {
        HasMetadata found = objects.get(kind.getSimpleName() + "/" + name);
        if (found == null) {
            throw Problem.invalid(Reason.ReferenceNotFound, usedFor + " refers to " + kind.getSimpleName() + " "
                    + name + ", which does not exist in namespace " + namespace).exception();
        }
        return kind.cast(found);
    }
}
