package io.dbaoperator.agent;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

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
import io.dbaoperator.storage.S3Clients;
import io.dbaoperator.storage.S3Location;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.GetObjectRequest;
import software.amazon.awssdk.services.s3.model.PutObjectRequest;

/**
 * {@code dba-agent logical-restore} against the real PostgreSQL, pg_restore and S3 server, the agent run in this JVM
 * with the environment a restore Job gives it (a role that may create databases, not a superuser): a dump restores
 * into a new database with every row; a database that is not empty is refused untouched unless its replacement was
 * approved, and then replaced; parallel jobs with a table subset and an owner; a failed check or a damaged dump
 * leaves no database behind; a restore test restores into a scratch instance of its own and keeps nothing.
 */
@RealParts
class LogicalRestoreAgentTest {

    static final String NS = "logical-restore-agent";
    static final String OWNER_PASSWORD = "Restore-Src-Pw-7d2a";
    static final String RESTORER_PASSWORD = "Restorer-Pw-41bc";
    static final String BACKUP = "20261206T020000Z";

    @BeforeAll
    static void setUp() {
        TestPostgres pg = TestPostgres.get();
        pg.createDatabase("lr_source", "lr_owner", OWNER_PASSWORD);
        pg.exec("lr_source", "drop table if exists orders, notes",
                "create table orders (id bigint primary key, customer text not null, total numeric(10,2))",
                "create index orders_customer on orders (customer)",
                "create table notes (id int primary key, body text)",
                "alter table orders owner to lr_owner", "alter table notes owner to lr_owner",
                "insert into orders select g, 'customer ' || g, g * 1.5 from generate_series(1, 3000) g",
                "insert into notes values (1, 'kept')");
        pg.exec("postgres", "do $$ begin if not exists (select from pg_roles where rolname = 'lr_restorer') then "
                + "create role lr_restorer login createdb password '" + RESTORER_PASSWORD + "'; end if; end $$",
                "do $$ begin if not exists (select from pg_roles where rolname = 'lr_app') then create role lr_app; "
                        + "end if; end $$",
                "grant lr_app to lr_restorer");
        dropAll();
        // the backup a logical policy's Job took, by the agent itself
        Map<String, String> env = LogicalBackupAgentTest.env();
        env.put(AgentEnvironment.DB_PREFIX + "dbname", "lr_source");
        env.put(AgentEnvironment.DB_PREFIX + "user", "lr_owner");
        env.put(AgentEnvironment.DB_PREFIX + "password", OWNER_PASSWORD);
        env.put(AgentEnvironment.S3_PREFIX, "logical-restore");
        Run run = agent(new LogicalBackupArgs(NS, "dumps", BACKUP, List.of("lr_source"), List.of(), List.of(), false,
                null, true, 0).command(), env);
        assertThat(run.exit()).as(run.err()).isZero();
    }

    @AfterAll
    static void tearDown() {
        dropAll();
    }

    static void dropAll() {
        for (String db : databases("lr_copy%")) {
            TestPostgres.get().exec("postgres", "drop database if exists \"" + db + "\" with (force)");
        }
    }

    static List<String> databases(String like) {
        List<String> names = new ArrayList<>();
        try (Connection c = TestPostgres.get().superuser("postgres"); var ps = c.prepareStatement(
                "select datname from pg_database where datname like ? order by 1")) {
            ps.setString(1, like);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    names.add(rs.getString(1));
                }
            }
        } catch (java.sql.SQLException e) {
            throw new IllegalStateException(e);
        }
        return names;
    }

    static S3Location location() {
        return new S3Location(TestS3.BUCKET, "logical-restore", java.net.URI.create(TestS3.get().endpoint()),
                "us-east-1", true, TestS3.ACCESS_KEY_ID, TestS3.SECRET_ACCESS_KEY, null, null);
    }

    /** A restore Job's environment: the target instance's Secret (a role with CREATEDB), the bucket, the checks. */
    static Map<String, String> restoreEnv(String checksJson) {
        Map<String, String> env = new HashMap<>(LogicalBackupAgentTest.env());
        env.put(AgentEnvironment.DB_PREFIX + "dbname", "postgres");
        env.put(AgentEnvironment.DB_PREFIX + "user", "lr_restorer");
        env.put(AgentEnvironment.DB_PREFIX + "password", RESTORER_PASSWORD);
        env.put(AgentEnvironment.S3_PREFIX, "logical-restore");
        if (checksJson != null) {
            env.put(AgentEnvironment.RESTORE_CHECKS, checksJson);
        }
        return env;
    }

    record Run(int exit, String out, String err) {
    }

    static Run agent(List<String> command, Map<String, String> env) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int exit = AgentMain.run(command.subList(1, command.size()).toArray(String[]::new), env,
                new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Run(exit, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    static LogicalRestoreArgs into(String id, String target, boolean replace, List<String> tables, int jobs,
            String owner) {
        return new LogicalRestoreArgs(NS, "dumps", id, BACKUP, List.of("lr_source"), target, replace, List.of(),
                tables, jobs, owner, false, null, false);
    }

    static RestoreRecord record(String restoreId) {
        try (S3Client s3 = S3Clients.create(location())) {
            return new BackupCatalog(s3, location(), NS, "dumps").readRestore(restoreId);
        }
    }

    static String value(String db, String sql) throws Exception {
        try (Connection c = TestPostgres.get().superuser(db); ResultSet rs = c.createStatement().executeQuery(sql)) {
            rs.next();
            return rs.getString(1);
        }
    }

    @Test
    void aDumpRestoresIntoANewDatabaseWithEveryRowAndItsChecksPass() throws Exception {
        Run run = agent(into("new-1a2b3c4d", "lr_copy_new", false, List.of(), 1, null).command(),
                restoreEnv("[\"select count(*) = 3000 from orders\"]"));
        assertThat(run.exit()).as(run.err()).isZero();
        assertThat(value("lr_copy_new", "select count(*) from orders where total = id * 1.5")).isEqualTo("3000");
        assertThat(value("lr_copy_new", "select body from notes")).isEqualTo("kept");
        assertThat(value("lr_copy_new", "select indexname from pg_indexes where indexname = 'orders_customer'"))
                .isEqualTo("orders_customer");
        assertThat(value("lr_copy_new", "select tableowner from pg_tables where tablename = 'orders'"))
                .as("--no-owner: owned by the restoring role, not the source's").isEqualTo("lr_restorer");
        assertThat(databases("lr_copy_new%")).as("no temporary database left").containsExactly("lr_copy_new");
        RestoreRecord r = record("new-1a2b3c4d");
        assertThat(r.state).isEqualTo(RestoreRecord.State.succeeded);
        assertThat(r.method).isEqualTo("logical");
        assertThat(r.database).isEqualTo("lr_copy_new");
        assertThat(r.tableCount).isEqualTo(2);
        assertThat(r.tables).containsExactly("public.notes", "public.orders");
        assertThat(r.checks).singleElement().satisfies(c -> assertThat(c.passed).isTrue());
    }

    @Test
    void aDatabaseThatIsNotEmptyIsRefusedUntouchedUnlessItsReplacementWasApproved() throws Exception {
        TestPostgres pg = TestPostgres.get();
        pg.exec("postgres", "drop database if exists lr_copy_busy with (force)", "create database lr_copy_busy owner "
                + "lr_restorer");
        pg.exec("lr_copy_busy", "create table precious (id int)", "insert into precious values (42)");

        Run refused = agent(into("busy-00000001", "lr_copy_busy", false, List.of(), 1, null).command(),
                restoreEnv(null));
        assertThat(refused.exit()).isEqualTo(1);
        assertThat(refused.err()).contains("RestoreTargetNotEmpty").contains("holds 1 relation(s)");
        assertThat(value("lr_copy_busy", "select id from precious")).isEqualTo("42");
        assertThat(databases("lr_copy_busy%")).containsExactly("lr_copy_busy");
        assertThat(record("busy-00000001").errorReason).isEqualTo("RestoreTargetNotEmpty");

        Run replaced = agent(into("busy-00000002", "lr_copy_busy", true, List.of(), 1, null).command(),
                restoreEnv(null));
        assertThat(replaced.exit()).as(replaced.err()).isZero();
        assertThat(value("lr_copy_busy", "select count(*) from orders")).isEqualTo("3000");
        assertThat(value("lr_copy_busy", "select count(*) from pg_tables where tablename = 'precious'"))
                .isEqualTo("0");
        assertThat(databases("lr_copy_busy%")).as("the old one dropped, no temporary left")
                .containsExactly("lr_copy_busy");
    }

    @Test
    void parallelJobsRestoreATableSubsetOwnedByTheNamedRole() throws Exception {
        Run run = agent(into("par-0000000a", "lr_copy_subset", false, List.of("orders"), 3, "lr_app").command(),
                restoreEnv(null));
        assertThat(run.exit()).as(run.err()).isZero();
        assertThat(value("lr_copy_subset", "select count(*) from orders")).isEqualTo("3000");
        assertThat(value("lr_copy_subset", "select count(*) from pg_tables where tablename = 'notes'")).isEqualTo("0");
        assertThat(value("lr_copy_subset", "select tableowner from pg_tables where tablename = 'orders'"))
                .isEqualTo("lr_app");
        assertThat(record("par-0000000a").tables).containsExactly("public.orders");
    }

    @Test
    void aFailedCheckOrADamagedDumpLeavesNoDatabaseBehind() throws Exception {
        Run failed = agent(into("chk-0000000b", "lr_copy_checked", false, List.of(), 1, null).command(),
                restoreEnv("[\"select count(*) = 1 from orders\"]"));
        assertThat(failed.exit()).isEqualTo(1);
        assertThat(failed.err()).contains("RestoreCheckFailed").contains("returned f");
        assertThat(databases("lr_copy_checked%")).isEmpty();
        assertThat(record("chk-0000000b").error).contains("which this restore created, was dropped");

        // a copy of the backup whose dump is damaged in the bucket
        try (S3Client s3 = S3Clients.create(location())) {
            BackupCatalog catalog = new BackupCatalog(s3, location(), NS, "dumps");
            BackupRecord b = catalog.read(BACKUP);
            b.backupId = "20261206T030000Z";
            BackupRecord.StoredObject dump = b.objects.get(0);
            byte[] bytes = s3.getObjectAsBytes(GetObjectRequest.builder().bucket(TestS3.BUCKET).key(dump.key).build())
                    .asByteArray();
            bytes[bytes.length / 2] ^= 0x5A;
            dump.key = catalog.key(b.backupId, dump.name);
            s3.putObject(PutObjectRequest.builder().bucket(TestS3.BUCKET).key(dump.key).build(),
                    RequestBody.fromBytes(bytes));
            catalog.write(b);
        }
        var damaged = new LogicalRestoreArgs(NS, "dumps", "bad-0000000c", "20261206T030000Z", List.of("lr_source"),
                "lr_copy_damaged", false, List.of(), List.of(), 1, null, false, null, false);
        Run corrupt = agent(damaged.command(), restoreEnv(null));
        assertThat(corrupt.exit()).isEqualTo(1);
        assertThat(corrupt.err()).contains("BackupCorrupted").contains("does not match the catalog");
        assertThat(databases("lr_copy_damaged%")).isEmpty();
    }

    @Test
    void aRestoreTestRestoresIntoAScratchInstanceOfItsOwnAndKeepsNothing() throws Exception {
        Path tmp = Path.of(System.getProperty("java.io.tmpdir"));
        List<Path> before;
        try (var s = Files.list(tmp)) {
            before = s.filter(p -> p.getFileName().toString().startsWith("dba-logical-restore-")).toList();
        }
        var test = new LogicalRestoreArgs(NS, "dumps", "test-20261206t040000z", BACKUP, List.of(), null, false,
                List.of(), List.of(), 1, null, false, "lr_source", true);
        Run run = agent(test.command(), restoreEnv("[\"select count(*) = 3000 from orders\"]"));
        assertThat(run.exit()).as(run.err()).isZero();
        assertThat(run.out()).contains("2 table(s) in lr_source on scratch");
        RestoreRecord r = record("test-20261206t040000z");
        assertThat(r.state).isEqualTo(RestoreRecord.State.succeeded);
        assertThat(r.checks).singleElement().satisfies(c -> assertThat(c.passed).isTrue());
        try (var s = Files.list(tmp)) {
            assertThat(s.filter(p -> p.getFileName().toString().startsWith("dba-logical-restore-")).toList())
                    .as("the scratch instance's directory is gone").containsExactlyInAnyOrderElementsOf(before);
        }
        assertThat(ProcessHandle.allProcesses().filter(p -> p.info().commandLine().orElse("")
                .contains("dba-logical-restore-")).count()).as("its server stopped").isZero();
        assertThat(databases("lr_source%")).as("the source instance is not touched").containsExactly("lr_source");
    }
}
