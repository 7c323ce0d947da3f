package io.dbaoperator.agent;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import io.dbaoperator.backup.catalog.BackupCatalog;
import io.dbaoperator.backup.catalog.BackupRecord;
import io.dbaoperator.contract.AgentEnvironment;
import io.dbaoperator.contract.LogicalBackupArgs;
import io.dbaoperator.harness.RealParts;
import io.dbaoperator.harness.TempDirs;
import io.dbaoperator.harness.TestPostgres;
import io.dbaoperator.harness.TestS3;
import io.dbaoperator.storage.S3Clients;
import io.dbaoperator.storage.S3Location;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.GetObjectRequest;
import software.amazon.awssdk.services.s3.model.ListMultipartUploadsRequest;
import software.amazon.awssdk.services.s3.model.PutObjectRequest;

/**
 * {@code dba-agent logical-backup} against the real PostgreSQL and S3 server, the agent run in this JVM with the
 * environment a Job gives it: each database's pg_dump streamed into the bucket and proven readable by
 * pg_restore --list; the dump restores into an empty database with every row; roles are dumped without their
 * password hashes; a damaged object fails verification; a database that does not exist fails the backup with
 * pg_dump's reason and leaves no object or unfinished upload behind.
 */
@RealParts
class LogicalBackupAgentTest {

    static final String NS = "logical-agent";
    static final String PASSWORD = "Logical-Owner-Pw-5c1e";
    static Path scratch;

    @BeforeAll
    static void setUp() throws Exception {
        TestPostgres pg = TestPostgres.get();
        pg.createDatabase("logical_a", "logical_owner", PASSWORD);
        pg.createDatabase("logical_b", "logical_owner", PASSWORD);
        pg.exec("logical_a", "drop table if exists orders",
                "create table orders (id bigint primary key, customer text not null, total numeric(10,2))",
                "alter table orders owner to logical_owner",
                "insert into orders select g, 'customer ' || g, g * 1.5 from generate_series(1, 5000) g");
        pg.exec("logical_b", "drop table if exists notes", "create table notes (id int primary key, body text)",
                "alter table notes owner to logical_owner", "insert into notes values (1, 'kept'), (2, 'also kept')");
        scratch = Files.createTempDirectory("dba-logical-agent-");
    }

    @AfterAll
    static void tearDown() {
        TestPostgres.get().exec("postgres", "drop database if exists logical_restored with (force)");
        TempDirs.delete(scratch);
    }

    static S3Location location() {
        return new S3Location(TestS3.BUCKET, "logical", java.net.URI.create(TestS3.get().endpoint()), "us-east-1",
                true, TestS3.ACCESS_KEY_ID, TestS3.SECRET_ACCESS_KEY, null, null);
    }

    /** The environment a Job of the policy gives the agent: its database Secret's keys and the bucket. */
    static Map<String, String> env() {
        TestPostgres pg = TestPostgres.get();
        Map<String, String> env = new HashMap<>(Map.of(AgentEnvironment.DB_PREFIX + "host", pg.host(),
                AgentEnvironment.DB_PREFIX + "port", String.valueOf(pg.port()),
                AgentEnvironment.DB_PREFIX + "dbname", "logical_a", AgentEnvironment.DB_PREFIX + "user",
                "logical_owner", AgentEnvironment.DB_PREFIX + "password", PASSWORD));
        env.putAll(Map.of(AgentEnvironment.S3_BUCKET, TestS3.BUCKET, AgentEnvironment.S3_PREFIX, "logical",
                AgentEnvironment.S3_ENDPOINT, TestS3.get().endpoint(), AgentEnvironment.S3_PATH_STYLE, "true",
                AgentEnvironment.S3_ACCESS_KEY_ID, TestS3.ACCESS_KEY_ID, AgentEnvironment.S3_SECRET_ACCESS_KEY,
                TestS3.SECRET_ACCESS_KEY));
        env.put("DBA_PG_BINDIR", pg.binDir().toString());
        return env;
    }

    record Run(int exit, String out, String err) {
    }

    static Run agent(LogicalBackupArgs args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int exit = AgentMain.run(args.command().subList(1, args.command().size()).toArray(String[]::new), env(),
                new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Run(exit, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    static int count(String db, String sql) throws Exception {
        try (Connection c = TestPostgres.get().superuser(db); ResultSet rs = c.createStatement().executeQuery(sql)) {
            rs.next();
            return rs.getInt(1);
        }
    }

    @Test
    void eachDatabaseIsDumpedIntoTheBucketVerifiedAndRestoresWithEveryRow() throws Exception {
        Run run = agent(new LogicalBackupArgs(NS, "nightly", "20261205T020000Z", List.of("logical_a", "logical_b"),
                List.of(), List.of(), true, null, true, 0));
        assertThat(run.exit()).as(run.err()).isZero();
        assertThat(run.out()).contains("\"state\":\"verified\"");
        try (S3Client s3 = S3Clients.create(location())) {
            BackupCatalog catalog = new BackupCatalog(s3, location(), NS, "nightly");
            BackupRecord r = catalog.read("20261205T020000Z");
            assertThat(r.state).isEqualTo(BackupRecord.State.verified);
            assertThat(r.method).isEqualTo("logical");
            assertThat(r.databases).containsExactly("logical_a", "logical_b");
            assertThat(r.serverVersion).startsWith("15");
            assertThat(r.objects).extracting(o -> o.name).containsExactly("logical_a.dump", "logical_b.dump",
                    LogicalBackupArgs.GLOBALS);
            assertThat(r.objects).allSatisfy(o -> assertThat(o.sha256).hasSize(64));
            assertThat(r.verification.method).isEqualTo("checksums+pg_restore --list");
            assertThat(r.verification.pgVerifybackupOutput).contains("logical_a.dump: ").contains(" TOC entries");
            assertThat(r.storedBytes).isEqualTo(r.objects.stream().mapToLong(o -> o.size).sum());

            // what a person restoring it does: pg_restore into an empty database; every row comes back
            Path dump = scratch.resolve("logical_a.dump");
            s3.getObject(GetObjectRequest.builder().bucket(TestS3.BUCKET).key(r.objects.get(0).key).build(), dump);
            TestPostgres pg = TestPostgres.get();
            pg.exec("postgres", "drop database if exists logical_restored with (force)",
                    "create database logical_restored");
            ProcessBuilder pb = new ProcessBuilder(pg.binDir().resolve("pg_restore").toString(), "--no-owner",
                    "--no-password", "--host", pg.host(), "--port", String.valueOf(pg.port()), "--username",
                    TestPostgres.SUPERUSER, "--dbname", "logical_restored", dump.toString()).redirectErrorStream(true);
            pb.environment().put("PGPASSWORD", TestPostgres.SUPERUSER_PASSWORD);
            Process restore = pb.start();
            String said = new String(restore.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(restore.waitFor(60, TimeUnit.SECONDS) && restore.exitValue() == 0).as(said).isTrue();
            assertThat(count("logical_restored", "select count(*) from orders")).isEqualTo(5000);
            assertThat(count("logical_restored", "select count(*) from orders where total = id * 1.5")).isEqualTo(5000);

            // roles without their password hashes: the dump names the role, never a SCRAM secret
            String globals = s3.getObjectAsBytes(GetObjectRequest.builder().bucket(TestS3.BUCKET)
                    .key(r.objects.get(2).key).build()).asUtf8String();
            assertThat(globals).contains("CREATE ROLE logical_owner").doesNotContain("SCRAM-SHA-256$")
                    .doesNotContain(PASSWORD);
        }
    }

    @Test
    void aDamagedDumpFailsVerification() throws Exception {
        Run run = agent(new LogicalBackupArgs(NS, "nightly", "20261205T030000Z", List.of("logical_b"), List.of(),
                List.of(), false, 0, true, 0));
        assertThat(run.exit()).as(run.err()).isZero();
        try (S3Client s3 = S3Clients.create(location())) {
            BackupRecord r = new BackupCatalog(s3, location(), NS, "nightly").read("20261205T030000Z");
            assertThat(r.compression).as("level 0: pg_dump stores it uncompressed").isEqualTo("none");
            byte[] stored = s3.getObjectAsBytes(GetObjectRequest.builder().bucket(TestS3.BUCKET)
                    .key(r.objects.get(0).key).build()).asByteArray();
            stored[stored.length / 2] ^= 0x5A;
            s3.putObject(PutObjectRequest.builder().bucket(TestS3.BUCKET).key(r.objects.get(0).key).build(),
                    RequestBody.fromBytes(stored));
            LogicalBackupCommand.verify(s3, location(), r, env());
            assertThat(r.verification.passed()).isFalse();
            assertThat(r.verification.checksumsMatch).isFalse();
            assertThat(r.verification.pgVerifybackupOutput).contains("logical_b.dump: SHA-256");

            // truncated: pg_restore itself cannot read it
            s3.putObject(PutObjectRequest.builder().bucket(TestS3.BUCKET).key(r.objects.get(0).key).build(),
                    RequestBody.fromBytes(java.util.Arrays.copyOf(stored, 20)));
            LogicalBackupCommand.verify(s3, location(), r, env());
            assertThat(r.verification.pgVerifybackupPassed).isFalse();
            assertThat(r.verification.pgVerifybackupOutput).contains("pg_restore --list exited with");
        }
    }

    @Test
    void aDatabaseThatDoesNotExistFailsWithPgDumpsReasonAndLeavesNothing() throws Exception {
        Run run = agent(new LogicalBackupArgs(NS, "nightly", "20261205T040000Z", List.of("logical_missing"),
                List.of(), List.of(), false, null, true, 0));
        assertThat(run.exit()).isEqualTo(1);
        assertThat(run.err()).contains("pg_dump exited with 1").contains("logical_missing");
        try (S3Client s3 = S3Clients.create(location())) {
            BackupCatalog catalog = new BackupCatalog(s3, location(), NS, "nightly");
            BackupRecord r = catalog.read("20261205T040000Z");
            assertThat(r.state).isEqualTo(BackupRecord.State.failed);
            assertThat(r.error).contains("does not exist");
            assertThat(r.objects).isEmpty();
            assertThat(s3.listObjectsV2(b -> b.bucket(TestS3.BUCKET).prefix(catalog.key("20261205T040000Z", "")))
                    .contents()).extracting(o -> o.key()).allMatch(k -> k.endsWith(BackupCatalog.RECORD));
            assertThat(s3.listMultipartUploads(ListMultipartUploadsRequest.builder().bucket(TestS3.BUCKET)
                    .prefix(catalog.key("20261205T040000Z", "")).build()).uploads()).isEmpty();
        }
    }
}
