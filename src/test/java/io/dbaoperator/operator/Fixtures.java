package io.dbaoperator.operator;

import java.util.Map;

import io.dbaoperator.api.common.DatabaseRef;
import io.dbaoperator.api.common.S3Storage;
import io.dbaoperator.api.common.SecretRef;
import io.dbaoperator.harness.TestKubernetes;
import io.dbaoperator.harness.TestPostgres;
import io.dbaoperator.harness.TestS3;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;

/**
 * Secrets and references that tests create, pointing at the harness's real PostgreSQL and S3 as pods reach them: at
 * the node's address ({@link TestKubernetes#reach}), where the operator reaches them too.
 */
public final class Fixtures {

    /** A password that must never appear in any status, Event, log line or exception. */
    public static final String APP_PASSWORD = "Tr1cky-App-Passw0rd-9f3e";
    public static final String REPLICATION_PASSWORD = "Repl-Passw0rd-71cc";

    private Fixtures() {
    }

    /** The Secrets most test classes start from, each under its usual name. */
    public enum Standard {
        /** The app database as its owner. */
        APP_DB("app-db"),
        /** The app database as a role with REPLICATION (what backups need). */
        REPLICATION_DB("app-db-replication"),
        /** The harness's S3 keys. */
        BACKUP_S3("backup-s3");

        public final String secretName;

        Standard(String secretName) {
            this.secretName = secretName;
        }

        Map<String, String> keys() {
            return switch (this) {
                case APP_DB -> appDbKeys();
                case REPLICATION_DB -> replicationDbKeys();
                case BACKUP_S3 -> s3Keys();
            };
        }
    }

    /**
     * A test class's namespace, made once: the app database and its roles exist, and so do the {@code secrets} the
     * class names. Returns the client the class works with.
     */
    public static KubernetesClient namespace(String ns, Standard... secrets) {
        KubernetesClient client = TestKubernetes.get().namespace(ns);
        databases();
        for (Standard s : secrets) {
            secret(client, ns, s.secretName, s.keys());
        }
        return client;
    }

    /** The app database and its owner, plus a replication role. Idempotent. */
    public static void databases() {
        TestPostgres pg = TestPostgres.get();
        pg.createDatabase("app", "app", APP_PASSWORD);
        pg.exec("postgres", "do $$ begin if not exists (select from pg_roles where rolname = 'app_replication') then "
                + "create role app_replication login replication; end if; end $$",
                "alter role app_replication password '" + REPLICATION_PASSWORD + "'");
    }

    /** A Secret in {@code ns} (the namespace made first when the class has not made it yet). */
    public static Secret secret(KubernetesClient client, String ns, String name, Map<String, String> data) {
        TestKubernetes.get().namespace(ns);
        return client.secrets().inNamespace(ns).resource(new SecretBuilder().withNewMetadata().withName(name)
                .withNamespace(ns).endMetadata().withStringData(data).build()).createOr(r -> r.update());
    }

    public static Map<String, String> appDbKeys() {
        return dbKeys("app", "app", APP_PASSWORD);
    }

    /** A database Secret's keys for {@code db} on the harness's PostgreSQL, as pods reach it. */
    public static Map<String, String> dbKeys(String db, String user, String password) {
        TestPostgres pg = TestPostgres.get();
        return Map.of("host", host(), "port", String.valueOf(pg.port()), "dbname", db, "user", user,
                "password", password);
    }

    /** The host the harness's PostgreSQL is reached at from pods (and by the operator). */
    public static String host() {
        return TestKubernetes.get().reach(TestPostgres.get().port());
    }

    public static Map<String, String> replicationDbKeys() {
        TestPostgres pg = TestPostgres.get();
        return Map.of("uri", "postgresql://app_replication:" + REPLICATION_PASSWORD + "@" + host() + ":" + pg.port()
                + "/app");
    }

    public static Map<String, String> s3Keys() {
        return Map.of("AWS_ACCESS_KEY_ID", TestS3.ACCESS_KEY_ID, "AWS_SECRET_ACCESS_KEY", TestS3.SECRET_ACCESS_KEY);
    }

    public static DatabaseRef db(String secret) {
        return new DatabaseRef(secret);
    }

    /** The location {@link #storage} names, with the harness's keys, for reading what the operator wrote. */
    public static io.dbaoperator.storage.S3Location s3Location() {
        return new io.dbaoperator.storage.S3Location(TestS3.BUCKET, "it", java.net.URI.create(TestS3.get().endpoint()),
                "us-east-1", true, TestS3.ACCESS_KEY_ID, TestS3.SECRET_ACCESS_KEY, null, null);
    }

    /**
     * A BackupPolicy of {@code method} over the database of Secret {@code dbSecret}, storing in the harness's bucket
     * with Secret backup-s3, asked for a backup at once; returns when that backup succeeded and was verified.
     */
    public static void backedUpPolicy(KubernetesClient client, String ns, String name, String dbSecret,
            io.dbaoperator.api.backup.BackupPolicySpec.Method method) {
        var p = new io.dbaoperator.api.backup.BackupPolicy();
        p.getMetadata().setName(name);
        p.getMetadata().setNamespace(ns);
        p.getMetadata().setAnnotations(new java.util.HashMap<>(Map.of(
                io.dbaoperator.backup.BackupPolicyReconciler.BACKUP_NOW, "first")));
        p.setSpec(new io.dbaoperator.api.backup.BackupPolicySpec());
        p.getSpec().method = method;
        p.getSpec().database = db(dbSecret);
        p.getSpec().schedule = "0 3 * * *";
        p.getSpec().storage = storage("backup-s3");
        client.resource(p).create();
        OperatorAssertions.awaitCondition(io.dbaoperator.api.backup.BackupPolicy.class, ns, name,
                "LastBackupSucceeded", "True", OperatorAssertions.A_BACKUP);
    }

    public static S3Storage storage(String secret) {
        S3Storage s = new S3Storage();
        s.bucket = TestS3.BUCKET;
        s.prefix = "it";
        s.endpoint = TestKubernetes.get().forPods(TestS3.get().endpoint());
        s.pathStyle = true;
        s.credentials = new S3Storage.S3Credentials();
        s.credentials.secretRef = new SecretRef(secret);
        return s;
    }
}
