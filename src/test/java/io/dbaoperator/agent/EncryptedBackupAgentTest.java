package io.dbaoperator.agent;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Connection;
import java.sql.ResultSet;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Random;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import io.dbaoperator.backup.catalog.BackupCatalog;
import io.dbaoperator.backup.catalog.BackupRecord;
import io.dbaoperator.backup.catalog.RestoreRecord;
import io.dbaoperator.contract.AgentEnvironment;
import io.dbaoperator.contract.LogicalBackupArgs;
import io.dbaoperator.contract.LogicalRestoreArgs;
import io.dbaoperator.harness.RealParts;
import io.dbaoperator.harness.TestPostgres;
import io.dbaoperator.harness.TestS3;
import io.dbaoperator.backup.catalog.ClientEncryption;
import io.dbaoperator.storage.S3Clients;
import io.dbaoperator.storage.S3Location;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.GetObjectRequest;

/**
 * Client-side encryption through the agent, with the real pg_dump, pg_restore, PostgreSQL and S3 server: what lands
 * in the bucket is ciphertext (no pg_dump archive, no row in it), verified through decryption; after a key rotation
 * new backups use the new key and old ones restore while their key stays in the Secret; without it, or with another
 * key under the same id, the restore fails with the key id and the Secret named, never a key, and nothing is
 * deleted.
 */
@RealParts
class EncryptedBackupAgentTest {

    static final String NS = "encrypted-agent";
    static final String PASSWORD = "Enc-Owner-Pw-58c1";
    static final String K1 = key(11);
    static final String K2 = key(12);

    static String key(int seed) {
        byte[] k = new byte[32];
        new Random(seed).nextBytes(k);
        return Base64.getEncoder().encodeToString(k);
    }

    @BeforeAll
    static void setUp() {
        TestPostgres pg = TestPostgres.get();
        pg.createDatabase("enc_source", "enc_owner", PASSWORD);
        pg.exec("enc_source", "drop table if exists customers",
                "create table customers (id int primary key, email text not null)",
                "alter table customers owner to enc_owner",
                "insert into customers select g, 'person' || g || '@example.com' from generate_series(1, 2000) g");
        pg.exec("postgres", "do $$ begin if not exists (select from pg_roles where rolname = 'lr_restorer') then "
                + "create role lr_restorer login createdb; end if; end $$",
                "alter role lr_restorer password '" + LogicalRestoreAgentTest.RESTORER_PASSWORD + "'");
        dropCopies();
    }

    @AfterAll
    static void tearDown() {
        dropCopies();
    }

    static void dropCopies() {
        for (String db : LogicalRestoreAgentTest.databases("enc_copy%")) {
            TestPostgres.get().exec("postgres", "drop database if exists \"" + db + "\" with (force)");
        }
    }

    static S3Location location() {
        return new S3Location(TestS3.BUCKET, "encrypted", java.net.URI.create(TestS3.get().endpoint()), "us-east-1",
                true, TestS3.ACCESS_KEY_ID, TestS3.SECRET_ACCESS_KEY, null, null);
    }

    /** A Job's environment with the keys as envFrom gives them, and (for a backup) the current key id. */
    static Map<String, String> withKeys(Map<String, String> env, String current, Map<String, String> keys) {
        env.put(AgentEnvironment.S3_PREFIX, "encrypted");
        env.put(AgentEnvironment.ENCRYPTION_SECRET, "backup-keys");
        if (current != null) {
            env.put(AgentEnvironment.ENCRYPTION_CURRENT, current);
        }
        keys.forEach((id, k) -> env.put(AgentEnvironment.ENCRYPTION_KEY_PREFIX + id, k));
        return env;
    }

    static Map<String, String> backupEnv(String current, Map<String, String> keys) {
        Map<String, String> env = LogicalBackupAgentTest.env();
        env.put(AgentEnvironment.DB_PREFIX + "dbname", "enc_source");
        env.put(AgentEnvironment.DB_PREFIX + "user", "enc_owner");
        env.put(AgentEnvironment.DB_PREFIX + "password", PASSWORD);
        return withKeys(env, current, keys);
    }

    static LogicalRestoreAgentTest.Run restore(String id, String backupId, String target, Map<String, String> keys) {
        return LogicalRestoreAgentTest.agent(new LogicalRestoreArgs(NS, "sealed", id, backupId, List.of("enc_source"),
                target, false, List.of(), List.of(), 1, null, false, null, false).command(),
                withKeys(LogicalRestoreAgentTest.restoreEnv("[\"select count(*) = 2000 from customers\"]"), null,
                        keys));
    }

    static String value(String db, String sql) throws Exception {
        try (Connection c = TestPostgres.get().superuser(db); ResultSet rs = c.createStatement().executeQuery(sql)) {
            rs.next();
            return rs.getString(1);
        }
    }

    @Test
    void theBucketHoldsCiphertextAndAfterARotationOldBackupsRestoreOnlyWhileTheirKeyIsKept() throws Exception {
        var first = LogicalRestoreAgentTest.agent(new LogicalBackupArgs(NS, "sealed", "20261206T010000Z",
                List.of("enc_source"), List.of(), List.of(), false, 0, true, 0).command(),
                backupEnv("k1", Map.of("k1", K1)));
        assertThat(first.exit()).as(first.err()).isZero();
        var rotated = LogicalRestoreAgentTest.agent(new LogicalBackupArgs(NS, "sealed", "20261206T020000Z",
                List.of("enc_source"), List.of(), List.of(), false, 0, true, 0).command(),
                backupEnv("k2", Map.of("k1", K1, "k2", K2)));
        assertThat(rotated.exit()).as(rotated.err()).isZero();
        try (S3Client s3 = S3Clients.create(location())) {
            BackupCatalog catalog = new BackupCatalog(s3, location(), NS, "sealed");
            BackupRecord old = catalog.read("20261206T010000Z");
            assertThat(old.state).isEqualTo(BackupRecord.State.verified);
            assertThat(old.encryption).isEqualTo("AES-256-GCM key k1");
            assertThat(old.verification.pgVerifybackupOutput).contains("TOC entries");
            assertThat(catalog.read("20261206T020000Z").encryption).isEqualTo("AES-256-GCM key k2");
            byte[] stored = s3.getObjectAsBytes(GetObjectRequest.builder().bucket(TestS3.BUCKET)
                    .key(old.objects.get(0).key).build()).asByteArray();
            assertThat(ClientEncryption.isEncrypted(stored)).isTrue();
            String asText = new String(stored, java.nio.charset.StandardCharsets.ISO_8859_1);
            assertThat(asText).as("uncompressed (level 0) and still nothing readable").doesNotContain("PGDMP")
                    .doesNotContain("@example.com").doesNotContain("customers");
            assertThat(s3.getObjectAsBytes(GetObjectRequest.builder().bucket(TestS3.BUCKET).key(catalog.key(
                    "20261206T010000Z", BackupCatalog.RECORD)).build()).asUtf8String()).as("the catalog names the key "
                            + "id, never the key").contains("key k1").doesNotContain(K1).doesNotContain(K2);
        }

        var restored = restore("old-0000000e", "20261206T010000Z", "enc_copy_old", Map.of("k1", K1, "k2", K2));
        assertThat(restored.exit()).as(restored.err()).isZero();
        assertThat(value("enc_copy_old", "select count(*) from customers where email like '%@example.com'"))
                .isEqualTo("2000");

        var keyGone = restore("gone-0000000f", "20261206T010000Z", "enc_copy_gone", Map.of("k2", K2));
        assertThat(keyGone.exit()).isEqualTo(1);
        assertThat(keyGone.err()).contains("EncryptionKeyMissing", "encrypted with key k1", "backup-keys",
                "no longer holds").doesNotContain(K1).doesNotContain(K2);
        var impostor = restore("fake-00000010", "20261206T010000Z", "enc_copy_fake", Map.of("k1", K2));
        assertThat(impostor.exit()).isEqualTo(1);
        assertThat(impostor.err()).contains("EncryptionKeyMismatch", "does not decrypt with key k1")
                .doesNotContain(K2);
        assertThat(LogicalRestoreAgentTest.databases("enc_copy_%")).containsExactly("enc_copy_old");
        try (S3Client s3 = S3Clients.create(location())) {
            BackupCatalog catalog = new BackupCatalog(s3, location(), NS, "sealed");
            assertThat(catalog.read("20261206T010000Z").state).as("a failed restore deletes nothing")
                    .isEqualTo(BackupRecord.State.verified);
            RestoreRecord failed = catalog.readRestore("gone-0000000f");
            assertThat(failed.errorReason).isEqualTo("EncryptionKeyMissing");
        }
    }
}
