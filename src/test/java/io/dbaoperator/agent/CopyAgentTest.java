package io.dbaoperator.agent;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import io.dbaoperator.backup.catalog.BackupCatalog;
import io.dbaoperator.backup.catalog.BackupRecord;
import io.dbaoperator.contract.AgentEnvironment;
import io.dbaoperator.contract.CopyArgs;
import io.dbaoperator.contract.LogicalBackupArgs;
import io.dbaoperator.contract.LogicalRestoreArgs;
import io.dbaoperator.harness.RealParts;
import io.dbaoperator.harness.TestPostgres;
import io.dbaoperator.harness.TestS3;
import io.dbaoperator.storage.S3Clients;
import io.dbaoperator.storage.S3Location;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.GetObjectRequest;
import software.amazon.awssdk.services.s3.model.PutObjectRequest;

/**
 * {@code dba-agent copy} against the real PostgreSQL and S3 server: a verified backup is copied to a second bucket
 * (its own prefix), every object read back there and checked by SHA-256, the copy's catalog record written last, and
 * the primary's record names the copy; the primary's objects move to an archive class in place. With the primary's
 * objects deleted, the dump restores from the offsite copy with every row. A large object moves class by a
 * multipart copy; a damaged primary object is not copied and leaves nothing offsite.
 */
@RealParts
class CopyAgentTest {

    static final String NS = "copy-agent";
    static final String PASSWORD = "Copy-Src-Pw-9e1f";
    static final String RESTORER_PASSWORD = "Copy-Restorer-Pw-2b7c";

    @BeforeAll
    static void setUp() {
        TestPostgres pg = TestPostgres.get();
        pg.createDatabase("ca_source", "ca_owner", PASSWORD);
        pg.exec("ca_source", "drop table if exists orders",
                "create table orders (id bigint primary key, total numeric(10,2))", "alter table orders owner to ca_owner",
                "insert into orders select g, g * 2.5 from generate_series(1, 2000) g");
        pg.exec("postgres", "drop database if exists ca_restored with (force)",
                "do $$ begin if not exists (select from pg_roles where rolname = 'ca_restorer') then "
                        + "create role ca_restorer login createdb password '" + RESTORER_PASSWORD + "'; end if; end $$");
    }

    static S3Location primary() {
        return new S3Location(TestS3.BUCKET, "copy-primary", java.net.URI.create(TestS3.get().endpoint()), "us-east-1",
                true, TestS3.ACCESS_KEY_ID, TestS3.SECRET_ACCESS_KEY, null, null);
    }

    static S3Location offsite() {
        return new S3Location(TestS3.OFFSITE_BUCKET, "remote/copies", java.net.URI.create(TestS3.get().endpoint()),
                "us-east-1", true, TestS3.ACCESS_KEY_ID, TestS3.SECRET_ACCESS_KEY, null, null);
    }

    /** A copy Job's environment: the primary bucket as DBA_S3_*, the offsite one as DBA_OFFSITE_S3_*. */
    static Map<String, String> env() {
        Map<String, String> env = new HashMap<>(LogicalBackupAgentTest.env());
        env.put(AgentEnvironment.DB_PREFIX + "dbname", "ca_source");
        env.put(AgentEnvironment.DB_PREFIX + "user", "ca_owner");
        env.put(AgentEnvironment.DB_PREFIX + "password", PASSWORD);
        env.put(AgentEnvironment.S3_PREFIX, "copy-primary");
        S3Location o = offsite();
        env.putAll(Map.of(AgentEnvironment.OFFSITE + "S3_BUCKET", o.bucket(), AgentEnvironment.OFFSITE + "S3_PREFIX",
                o.prefix(), AgentEnvironment.OFFSITE + "S3_ENDPOINT", o.endpoint().toString(),
                AgentEnvironment.OFFSITE + "S3_PATH_STYLE", "true", AgentEnvironment.OFFSITE + "S3_ACCESS_KEY_ID",
                TestS3.ACCESS_KEY_ID, AgentEnvironment.OFFSITE + "S3_SECRET_ACCESS_KEY", TestS3.SECRET_ACCESS_KEY));
        return env;
    }

    record Run(int exit, String out, String err) {
    }

    static Run agent(List<String> command, Map<String, String> env, long singleCopyLimit, long partSize)
            throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        PrintStream o = new PrintStream(out, true, StandardCharsets.UTF_8);
        PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8);
        String[] args = command.subList(1, command.size()).toArray(String[]::new);
        int exit;
        if (args[0].equals(CopyArgs.COMMAND)) {
            try {
                exit = CopyCommand.run(CopyArgs.parse(args), env, o, singleCopyLimit, partSize);
            } catch (io.dbaoperator.problem.ProblemException p) {
                e.println(p.problem().reason() + ": " + p.problem().message());
                exit = 1;
            }
        } else {
            exit = AgentMain.run(args, env, o, e);
        }
        return new Run(exit, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    static String sha256(S3Client s3, String bucket, String key) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(s3.getObjectAsBytes(
                GetObjectRequest.builder().bucket(bucket).key(key).build()).asByteArray()));
    }

    @Test
    void aBackupIsCopiedOffsiteCheckedThereAndRestoresFromItOnceThePrimaryIsGone() throws Exception {
        String id = "20261206T050000Z";
        Run backup = agent(new LogicalBackupArgs(NS, "yearly", id, List.of("ca_source"), List.of(), List.of(), false,
                null, true, 0).command(), env(), 0, 0);
        assertThat(backup.exit()).as(backup.err()).isZero();

        Run copy = agent(new CopyArgs(NS, "yearly", id, true, "STANDARD_IA", "GLACIER_IR").command(), env(),
                CopyCommand.SINGLE_COPY_LIMIT, 512L << 20);
        assertThat(copy.exit()).as(copy.err()).isZero();

        try (S3Client s3 = S3Clients.create(primary()); S3Client o = S3Clients.create(offsite())) {
            BackupCatalog here = new BackupCatalog(s3, primary(), NS, "yearly");
            BackupCatalog there = new BackupCatalog(o, offsite(), NS, "yearly");
            BackupRecord original = here.read(id);
            BackupRecord copied = there.read(id);
            assertThat(copied).as("the copy's record, written once every object was checked").isNotNull();
            assertThat(copied.state).isEqualTo(BackupRecord.State.verified);
            assertThat(copied.copiedFrom).isEqualTo(here.url(id));
            assertThat(copied.storageClass).isEqualTo("STANDARD_IA");
            assertThat(copied.objects).hasSameSizeAs(original.objects);
            for (int i = 0; i < original.objects.size(); i++) {
                BackupRecord.StoredObject a = original.objects.get(i);
                BackupRecord.StoredObject b = copied.objects.get(i);
                assertThat(b.key).startsWith("remote/copies/" + NS + "/yearly/base/" + id + "/").endsWith(a.name);
                assertThat(sha256(o, TestS3.OFFSITE_BUCKET, b.key)).as("what the second store holds")
                        .isEqualTo(a.sha256).isEqualTo(b.sha256);
                assertThat(there.head(b.key).storageClass()).isEqualTo("STANDARD_IA");
                assertThat(here.head(a.key).storageClass()).as("moved to the archive class in place")
                        .isEqualTo("GLACIER_IR");
                assertThat(sha256(s3, TestS3.BUCKET, a.key)).as("the same bytes in the new class").isEqualTo(a.sha256);
            }
            assertThat(original.offsite.url).isEqualTo(there.url(id));
            assertThat(original.offsite.copiedAt).isEqualTo(copied.copiedAt);
            assertThat(original.storageClass).isEqualTo("GLACIER_IR");
            assertThat(original.archivedAt).isNotNull();
            assertThat(here.availability(original).readable()).isTrue();

            // the primary's objects are lost: the catalog says so, and the dump restores from the offsite copy
            for (BackupRecord.StoredObject a : original.objects) {
                s3.deleteObject(b -> b.bucket(TestS3.BUCKET).key(a.key));
            }
            assertThat(here.availability(original).missing()).containsExactly("ca_source.dump");
            assertThat(there.availability(copied).readable()).isTrue();
        }
        Map<String, String> fromOffsite = new HashMap<>(LogicalBackupAgentTest.env());
        fromOffsite.putAll(Map.of(AgentEnvironment.DB_PREFIX + "dbname", "postgres", AgentEnvironment.DB_PREFIX + "user",
                "ca_restorer", AgentEnvironment.DB_PREFIX + "password", RESTORER_PASSWORD,
                AgentEnvironment.S3_BUCKET, TestS3.OFFSITE_BUCKET, AgentEnvironment.S3_PREFIX, "remote/copies",
                AgentEnvironment.RESTORE_CHECKS, "[\"select count(*) = 2000 from orders\"]"));
        Run restore = agent(new LogicalRestoreArgs(NS, "yearly", "offsite-0000000a", id, List.of("ca_source"),
                "ca_restored", false, List.of(), List.of(), 1, null, false, null, false).command(), fromOffsite, 0, 0);
        assertThat(restore.exit()).as(restore.err()).isZero();
        try (var c = TestPostgres.get().superuser("ca_restored"); var rs = c.createStatement().executeQuery(
                "select count(*), sum(total) from orders where total = id * 2.5")) {
            rs.next();
            assertThat(rs.getLong(1)).isEqualTo(2000);
            assertThat(rs.getBigDecimal(2)).isEqualByComparingTo("5002500");
        } finally {
            TestPostgres.get().exec("postgres", "drop database if exists ca_restored with (force)");
        }
    }

    @Test
    void aLargeObjectMovesToTheArchiveClassByAMultipartCopyWithItsBytesUnchanged() throws Exception {
        String id = "20261206T060000Z";
        byte[] data = new byte[12 << 20];
        new Random(7).nextBytes(data);
        String sha = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
        try (S3Client s3 = S3Clients.create(primary())) {
            BackupCatalog here = new BackupCatalog(s3, primary(), NS, "large");
            String key = here.key(id, "base.tar");
            s3.putObject(PutObjectRequest.builder().bucket(TestS3.BUCKET).key(key).build(), RequestBody.fromBytes(data));
            BackupRecord r = new BackupRecord();
            r.backupId = id;
            r.namespace = NS;
            r.policy = "large";
            r.state = BackupRecord.State.verified;
            r.objects.add(new BackupRecord.StoredObject("base.tar", key, data.length, sha));
            here.write(r);

            // above a 1 MiB "single copy limit": three parts of 5 MiB at most, copied by the store itself
            Run run = agent(new CopyArgs(NS, "large", id, false, null, "STANDARD_IA").command(), env(), 1 << 20,
                    5L << 20);
            assertThat(run.exit()).as(run.err()).isZero();
            assertThat(here.head(key).storageClass()).isEqualTo("STANDARD_IA");
            assertThat(here.head(key).size()).isEqualTo(data.length);
            assertThat(sha256(s3, TestS3.BUCKET, key)).isEqualTo(sha);
            assertThat(here.read(id).storageClass).isEqualTo("STANDARD_IA");
            assertThat(s3.listMultipartUploads(b -> b.bucket(TestS3.BUCKET).prefix(here.key(id, ""))).uploads())
                    .as("no unfinished upload left").isEmpty();
        }
    }

    @Test
    void aDamagedPrimaryObjectIsNotCopiedAndLeavesNothingOffsite() throws Exception {
        String id = "20261206T070000Z";
        Run backup = agent(new LogicalBackupArgs(NS, "damaged", id, List.of("ca_source"), List.of(), List.of(), false,
                0, true, 0).command(), env(), 0, 0);
        assertThat(backup.exit()).as(backup.err()).isZero();
        try (S3Client s3 = S3Clients.create(primary()); S3Client o = S3Clients.create(offsite())) {
            BackupCatalog here = new BackupCatalog(s3, primary(), NS, "damaged");
            BackupRecord r = here.read(id);
            String key = r.objects.get(0).key;
            byte[] stored = s3.getObjectAsBytes(GetObjectRequest.builder().bucket(TestS3.BUCKET).key(key).build())
                    .asByteArray();
            stored[stored.length / 2] ^= 0x21;
            s3.putObject(PutObjectRequest.builder().bucket(TestS3.BUCKET).key(key).build(),
                    RequestBody.fromBytes(stored));

            Run copy = agent(new CopyArgs(NS, "damaged", id, true, null, null).command(), env(),
                    CopyCommand.SINGLE_COPY_LIMIT, 512L << 20);
            assertThat(copy.exit()).isEqualTo(1);
            assertThat(copy.err()).contains("BackupCorrupted").contains("does not match its catalog record");
            BackupCatalog there = new BackupCatalog(o, offsite(), NS, "damaged");
            assertThat(there.read(id)).as("no copy listed").isNull();
            assertThat(o.listObjectsV2(b -> b.bucket(TestS3.OFFSITE_BUCKET).prefix(there.key(id, ""))).contents())
                    .as("no object kept offsite").isEmpty();
            assertThat(o.listMultipartUploads(b -> b.bucket(TestS3.OFFSITE_BUCKET).prefix(there.key(id, "")))
                    .uploads()).as("the upload was aborted").isEmpty();
            assertThat(here.read(id).offsite).isNull();
        }
    }
}
