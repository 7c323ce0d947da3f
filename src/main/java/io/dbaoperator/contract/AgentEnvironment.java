package io.dbaoperator.contract;

import java.net.URI;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import io.dbaoperator.api.common.DatabaseRef;
import io.dbaoperator.api.common.S3Storage;
import io.dbaoperator.postgres.ConnectionSettings;
import io.dbaoperator.postgres.DatabaseSecretParser;
import io.dbaoperator.storage.S3Location;
import io.fabric8.kubernetes.api.model.EnvFromSource;
import io.fabric8.kubernetes.api.model.EnvFromSourceBuilder;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.EnvVarBuilder;

/**
 * The contract between the operator's Jobs and the agent inside them. Secrets reach the agent only as references
 * (envFrom and secretKeyRef), so no secret value is ever written into a Job spec; the agent reads them back with the
 * same parser the operator uses.
 */
public final class AgentEnvironment {

    /** The agent's executable in the operator's image: a Job's command starts with it. */
    public static final String AGENT = "dba-agent";
    /** Prefix of the database Secret's keys (DBA_DB_uri, DBA_DB_host, ...). */
    public static final String DB_PREFIX = "DBA_DB_";
    public static final String SSLMODE_OVERRIDE = "DBA_SSLMODE";
    public static final String S3_BUCKET = "DBA_S3_BUCKET";
    public static final String S3_PREFIX = "DBA_S3_PREFIX";
    public static final String S3_ENDPOINT = "DBA_S3_ENDPOINT";
    public static final String S3_REGION = "DBA_S3_REGION";
    public static final String S3_PATH_STYLE = "DBA_S3_PATH_STYLE";
    public static final String S3_SSE = "DBA_S3_SSE";
    public static final String S3_KMS_KEY = "DBA_S3_KMS_KEY_ID";
    public static final String S3_ACCESS_KEY_ID = "DBA_S3_ACCESS_KEY_ID";
    public static final String S3_SECRET_ACCESS_KEY = "DBA_S3_SECRET_ACCESS_KEY";
    /**
     * The file a kept restore writes beside the data directory, and the restored instance's server reads as its
     * hba_file: who may connect to the new instance (the backup's own pg_hba.conf named the source's clients).
     */
    public static final String SERVED_HBA_FILE = "served-pg_hba.conf";
    /** A restore's checks, a JSON array of SQL statements that must each return true. */
    public static final String RESTORE_CHECKS = "DBA_RESTORE_CHECKS";
    /**
     * A masked restore's rules, a JSON array of {@code {"table": "schema.table", "columns": {"column": {"strategy":
     * "Fake", ...}}}}; absent: nothing is masked.
     */
    public static final String MASKING_RULES = "DBA_MASKING_RULES";
    /** The masking key (a secretKeyRef): Hash and Fake are keyed with it. */
    public static final String MASKING_KEY = "DBA_MASKING_KEY";
    /** Refuse or Warn: what a column that looks personal and no rule masks does to the restore. */
    public static final String MASKING_UNMASKED = "DBA_MASKING_UNMASKED";
    /** A new password for the restored superuser (a secretKeyRef), optional. */
    public static final String RESTORE_PASSWORD = "DBA_RESTORE_PASSWORD";

    /** Prefix of the encryption Secret's keys (DBA_ENC_KEY_k1, ...): every key id the Secret holds. */
    public static final String ENCRYPTION_KEY_PREFIX = "DBA_ENC_KEY_";
    /** The key id new objects are encrypted with. */
    public static final String ENCRYPTION_CURRENT = "DBA_ENC_CURRENT";
    /** The encryption Secret's name, for messages. */
    public static final String ENCRYPTION_SECRET = "DBA_ENC_SECRET";

    private AgentEnvironment() {
    }

    /** The encryption keys as references (envFrom the Secret), the key id and the Secret's name as values. */
    public static List<EnvFromSource> encryptionEnvFrom(io.dbaoperator.api.backup.BackupPolicySpec.Encryption e) {
        return e == null ? List.of() : List.of(new EnvFromSourceBuilder().withPrefix(ENCRYPTION_KEY_PREFIX)
                .withNewSecretRef().withName(e.secretRef.name).endSecretRef().build());
    }

    /** {@code writes}: the Job stores new objects, with the current key; a restore only reads. */
    public static List<EnvVar> encryptionEnv(io.dbaoperator.api.backup.BackupPolicySpec.Encryption e,
            boolean writes) {
        if (e == null) {
            return List.of();
        }
        return writes ? List.of(new EnvVar(ENCRYPTION_CURRENT, e.keyId, null), new EnvVar(ENCRYPTION_SECRET,
                e.secretRef.name, null)) : List.of(new EnvVar(ENCRYPTION_SECRET, e.secretRef.name, null));
    }

    /** Every Secret a Job reads through envFrom: the database's, and the encryption keys when there are any. */
    public static List<EnvFromSource> envFrom(DatabaseRef database,
            io.dbaoperator.api.backup.BackupPolicySpec.Encryption e) {
        List<EnvFromSource> all = new ArrayList<>(databaseEnvFrom(database));
        all.addAll(encryptionEnvFrom(e));
        return all;
    }

    /** The keys the Job was given, or null when its policy does not encrypt. */
    public static io.dbaoperator.backup.catalog.ClientEncryption.Keyring keyring(Map<String, String> env) {
        if (env.get(ENCRYPTION_SECRET) == null) {
            return null;
        }
        Map<String, String> keys = new HashMap<>();
        env.forEach((k, v) -> {
            if (k.startsWith(ENCRYPTION_KEY_PREFIX)) {
                keys.put(k.substring(ENCRYPTION_KEY_PREFIX.length()), v);
            }
        });
        return io.dbaoperator.backup.catalog.ClientEncryption.Keyring.of(env.get(ENCRYPTION_SECRET),
                env.get(ENCRYPTION_CURRENT), keys);
    }

    public static List<EnvFromSource> databaseEnvFrom(DatabaseRef ref) {
        return List.of(new EnvFromSourceBuilder().withPrefix(DB_PREFIX).withNewSecretRef()
                .withName(ref.secretRef.name).endSecretRef().build());
    }

    public static List<EnvVar> databaseEnv(DatabaseRef ref) {
        List<EnvVar> env = new ArrayList<>();
        if (ref.sslMode != null) {
            env.add(new EnvVar(SSLMODE_OVERRIDE, ref.sslMode, null));
        }
        return env;
    }

    /**
     * The second storage a copy Job writes to (spec.copies.offsite): the same variables as the primary's with
     * {@code DBA_OFFSITE_} in place of {@code DBA_}, e.g. DBA_OFFSITE_S3_BUCKET.
     */
    public static final String OFFSITE = "DBA_OFFSITE_";

    /** S3 settings as plain values, credentials as secretKeyRefs. {@code prefix} is the full key prefix. */
    public static List<EnvVar> s3Env(S3Storage storage, String prefix) {
        return s3Env(storage, prefix, "DBA_");
    }

    /** As {@link #s3Env(S3Storage, String)}, each variable's {@code DBA_} replaced by {@code names}. */
    public static List<EnvVar> s3Env(S3Storage storage, String prefix, String names) {
        List<EnvVar> env = s3EnvOf(storage, prefix);
        env.forEach(e -> e.setName(names + e.getName().substring("DBA_".length())));
        return env;
    }

    private static List<EnvVar> s3EnvOf(S3Storage storage, String prefix) {
        List<EnvVar> env = new ArrayList<>();
        env.add(new EnvVar(S3_BUCKET, storage.bucket, null));
        env.add(new EnvVar(S3_PREFIX, prefix, null));
        if (storage.endpoint != null) {
            env.add(new EnvVar(S3_ENDPOINT, storage.endpoint, null));
        }
        env.add(new EnvVar(S3_REGION, storage.region == null ? "us-east-1" : storage.region, null));
        env.add(new EnvVar(S3_PATH_STYLE, String.valueOf(Boolean.TRUE.equals(storage.pathStyle)), null));
        if (storage.serverSideEncryption != null) {
            env.add(new EnvVar(S3_SSE, storage.serverSideEncryption, null));
        }
        if (storage.kmsKeyId != null) {
            env.add(new EnvVar(S3_KMS_KEY, storage.kmsKeyId, null));
        }
        env.add(secretKeyRef(S3_ACCESS_KEY_ID, storage.credentials.secretRef.name, storage.credentials.accessKeyIdKey));
        env.add(secretKeyRef(S3_SECRET_ACCESS_KEY, storage.credentials.secretRef.name,
                storage.credentials.secretAccessKeyKey));
        return env;
    }

    /** An environment variable read from a Secret's key, never its value in the Job spec. */
    public static EnvVar secretKeyRef(String name, String secret, String key) {
        return new EnvVarBuilder().withName(name).withNewValueFrom().withNewSecretKeyRef(key, secret, false)
                .endValueFrom().build();
    }

    /** Reads the database settings the Job was given. */
    public static ConnectionSettings database(Map<String, String> env) {
        Map<String, String> data = new HashMap<>();
        env.forEach((k, v) -> {
            if (k.startsWith(DB_PREFIX)) {
                data.put(k.substring(DB_PREFIX.length()), v);
            }
        });
        return DatabaseSecretParser.parse("(job environment " + DB_PREFIX + "*)", data)
                .withSslMode(env.get(SSLMODE_OVERRIDE));
    }

    /** Reads the S3 location the Job was given, or null when it was given none. */
    public static S3Location s3(Map<String, String> env) {
        if (env.get(S3_BUCKET) == null) {
            return null;
        }
        return s3Of(env);
    }

    /** The offsite storage a copy Job was given ({@link #OFFSITE}), or null when it was given none. */
    public static S3Location offsite(Map<String, String> env) {
        Map<String, String> renamed = new HashMap<>();
        env.forEach((k, v) -> {
            if (k.startsWith(OFFSITE + "S3_")) {
                renamed.put("DBA_" + k.substring(OFFSITE.length()), v);
            }
        });
        return renamed.get(S3_BUCKET) == null ? null : s3Of(renamed);
    }

    private static S3Location s3Of(Map<String, String> env) {
        String endpoint = env.get(S3_ENDPOINT);
        return new S3Location(env.get(S3_BUCKET), env.getOrDefault(S3_PREFIX, ""),
                endpoint == null ? null : URI.create(endpoint), env.getOrDefault(S3_REGION, "us-east-1"),
                Boolean.parseBoolean(env.get(S3_PATH_STYLE)), env.get(S3_ACCESS_KEY_ID), env.get(S3_SECRET_ACCESS_KEY),
                env.get(S3_SSE), env.get(S3_KMS_KEY));
    }
}
