package io.dbaoperator.sandbox;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Starts the sandbox as its own process, exactly as the README does, runs every {@code bash} block of
 * docs/getting-started.md in order with the real kubectl, checks what a user would see after each step (phases,
 * conditions, rows), then stops the sandbox with SIGTERM and checks that no PostgreSQL, S3 or operator process is
 * left. Needs kubectl 1.24 or newer (for --subresource) on the PATH, and port 29000 free.
 */
class SandboxWalkthroughIT {

    static final Path WORK = Paths.get("target/sandbox"); // the default the docs source
    static Process sandbox;
    static Map<String, String> env;
    static long readyMillis;

    @BeforeAll
    static void startSandbox() throws Exception {
        Process version = new ProcessBuilder("kubectl", "version", "--client", "-o", "json").redirectErrorStream(true)
                .start();
        String v = new String(version.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        Matcher minor = Pattern.compile("\"minor\":\\s*\"(\\d+)").matcher(v);
        assertThat(version.waitFor() == 0 && minor.find() && Integer.parseInt(minor.group(1)) >= 24)
                .as("the walkthrough needs kubectl 1.24 or newer on the PATH (for patch --subresource); got: %s", v)
                .isTrue();
        Files.createDirectories(WORK);
        Path log = WORK.resolve("sandbox.out");
        long t0 = System.currentTimeMillis();
        sandbox = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Dsandbox.dir=" + WORK.toAbsolutePath(),
                "-cp", System.getProperty("java.class.path"), Sandbox.class.getName())
                .redirectErrorStream(true).redirectOutput(log.toFile()).start();
        // the image and the node are built on first use (cached after): minutes the first time
        long deadline = System.currentTimeMillis() + 600_000;
        while (!Files.readString(log).contains("sandbox ready")) {
            assertThat(sandbox.isAlive()).as("sandbox died: %s", Files.readString(log)).isTrue();
            assertThat(System.currentTimeMillis()).as("sandbox not ready in 600 s").isLessThan(deadline);
            Thread.sleep(200);
        }
        readyMillis = System.currentTimeMillis() - t0;
        System.out.printf("sandbox ready in %.1f s (as its own process)%n", readyMillis / 1000.0);
        env = new HashMap<>();
        for (String line : Files.readAllLines(WORK.resolve("sandbox.env"))) {
            if (line.startsWith("export ")) {
                String kv = line.substring("export ".length());
                env.put(kv.substring(0, kv.indexOf('=')), kv.substring(kv.indexOf('=') + 1));
            }
        }
    }

    @AfterAll
    static void stop() throws Exception {
        if (sandbox != null && sandbox.isAlive()) {
            sandbox.destroy(); // SIGTERM lets it stop its parts; SIGKILL would leave them running
            if (!sandbox.waitFor(60, TimeUnit.SECONDS)) {
                sandbox.destroyForcibly();
            }
        }
    }

    /** Runs a shell snippet in the project directory with sandbox.env sourced; returns its output. */
    static String sh(String script) throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder("bash", "-euo", "pipefail", "-c",
                "source " + WORK.toAbsolutePath().resolve("sandbox.env") + "\n"
                        // section 1 puts the plugin on PATH in the reader's terminal; each block here is a new shell
                        + "export PATH=\"$PWD/deploy/plugin:$PATH\"\n" + script).redirectErrorStream(true);
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as("exit code of:\n%s\noutput:\n%s", script, out).isZero();
        return out;
    }

    static String jsonpath(String resource, String path) throws Exception {
        return sh("kubectl get " + resource + " -o jsonpath='" + path + "'").trim();
    }

    static long count(String sql) throws Exception {
        try (Connection c = DriverManager.getConnection("jdbc:postgresql://" + env.get("PGHOST") + ":"
                + env.get("PGPORT") + "/" + env.get("PGDATABASE"), env.get("PGUSER"), env.get("PGPASSWORD"));
                ResultSet rs = c.createStatement().executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        }
    }

    @Test
    void theGettingStartedWalkthroughRunsVerbatimAndStoppingLeavesNothingBehind() throws Exception {
        String page = Files.readString(Paths.get("docs/getting-started.md"));
        Matcher m = Pattern.compile("```bash\\n(.*?)```", Pattern.DOTALL).matcher(page);
        List<String> blocks = new ArrayList<>();
        while (m.find()) {
            blocks.add(m.group(1));
        }
        assertThat(blocks).hasSizeGreaterThanOrEqualTo(6);
        for (String block : blocks) {
            String out = sh(block);
            if (block.contains("kubectl get dba") && !block.contains("apply")) {
                assertThat(out).contains("No resources found");
            }
            if (block.contains("insert into users") && !block.contains("STAGING_PG")) {
                assertThat(out.trim()).endsWith("5000");
                assertThat(count("select count(*) from orders")).isEqualTo(20000);
                assertThat(count("select count(*) from customers where closed_at is not null")).isEqualTo(500);
            }
            if (block.contains("backuppolicy.yaml")) {
                assertThat(out).contains("bkp/app-nightly: condition Validated is True");
                assertThat(out).containsPattern("app-nightly +Active +0 2 \\* \\* \\*");
                assertThat(jsonpath("bkp app-nightly", "{.status.conditions[?(@.type==\"Validated\")].reason}"))
                        .isEqualTo("Validated");
                assertThat(jsonpath("bkp app-nightly", "{.status.nextScheduleTime}")).endsWith(":00:00Z");
            }
            if (block.contains("backup-now") && block.contains("app-nightly")) {
                assertThat(out).contains("bkp/app-nightly: condition LastBackupSucceeded is True")
                        .contains("s3://dba-test/backups/default/app-nightly/base/");
                assertThat(out).as("-o wide shows the size in human units").containsPattern("SIZE")
                        .containsPattern("app-nightly +Active +0 2 \\* \\* \\* +\\S+ +[0-9.]+ (KiB|MiB|GiB) ");
                assertThat(jsonpath("bkp app-nightly", "{.status.lastBackup.verified}")).isEqualTo("true");
                assertThat(jsonpath("bkp app-nightly", "{.status.conditions[?(@.type==\"WalArchiving\")].reason}"))
                        .isIn("WalArchivingRunning", "WalArchiverStarting");
                assertThat(out).contains("app-nightly-wal-archiver");
                assertThat(out).containsPattern("app-nightly-\\d{8}t\\d{6}z");
            }
            if (block.contains("lastCopy.message")) {
                assertThat(out).contains("copied to s3://dba-offsite/dumps/default/app-dumps/base/",
                        "SHA-256 checked");
            }
            if (block.contains("kubectl dba status bkp")) {
                assertThat(out).contains("BackupPolicy/app-nightly: Active").contains("Validated\tTrue\tValidated\t");
                assertThat(out).contains("backuppolicy/app-nightly");
                assertThat(out).contains("status:").contains("phase: Active").contains("type: Validated")
                        .contains("lastBackup:");
            }
            if (block.contains("databasemigration.yaml")) {
                assertThat(out).contains("dbm/add-email-lower: phase AwaitingCutover")
                        .containsPattern("add-email-lower +AwaitingCutover +cutover");
            }
            if (block.contains("kubectl dba help")) {
                assertThat(out).contains("kubectl dba <command>");
            }
            if (block.contains("kubectl dba backups app-nightly")) {
                assertThat(out).as("how it was checked, and its size as a person reads it").containsPattern(
                        "\\d{8}T\\d{6}Z\tphysical\tverified\ttrue\tchecksums\\+pg_waldump\t[0-9.]+ (KiB|MiB|GiB)\t");
            }
            if (block.contains("kubectl dba plan dbm")) {
                assertThat(out).contains("expand\tACCESS EXCLUSIVE\tadditive\talter table users add column "
                        + "email_lower text").contains("expand\tSHARE UPDATE EXCLUSIVE\tadditive\tcreate index concurrently")
                        .contains("contract\tACCESS EXCLUSIVE\tdestructive\t")
                        .containsPattern("Passed \\d{8}T\\d{6}Z 5000 rows");
                assertThat(out.trim()).endsWith("5000");
            }
            if (block.contains("approvalRequest.command")) {
                assertThat(out).contains("cutover: kubectl patch dbm add-email-lower")
                        .contains("dbm/add-email-lower: phase AwaitingApproval")
                        .contains("contract: run contract on production");
            }
            if (block.contains("kubectl dba approve dbm")) {
                assertThat(out).contains("step:    contract").contains("approved dbm/add-email-lower for sha256:");
                assertThat(out).contains("dbm/add-email-lower: phase Completed").contains("cutover approved by alice")
                        .contains("contract approved by alice").contains("expand#2 applied").contains("5000 rows")
                        .contains("contract#1 applied");
                assertThat(out.trim()).endsWith("id,created_at,email_lower");
            }
            if (block.contains("no-way-back")) {
                assertThat(out).contains("spec.rollback: Required value").contains("immutable once created")
                        .doesNotContain("unexpected").contains("lock_timeout set before every DDL statement");
                assertThat(jsonpath("dbm add-email-lower", "{.spec.contract.sql}")).doesNotContain("drop table users");
            }
            if (block.contains("disposaljob.yaml")) {
                assertThat(out).contains("dsp/closed-customers: phase AwaitingApproval")
                        .contains("closed-accounts: Anonymize 500 rows of customers")
                        .contains("Anonymize 500 row(s) of customers");
            }
            if (block.contains("rowsAffected")) {
                assertThat(out).contains("dsp/closed-customers: phase Completed")
                        .contains("500 rows, report s3://dba-test/reports/disposal/");
                assertThat(out.trim()).endsWith("500");
                assertThat(jsonpath("dsp closed-customers", "{.status.backupsHoldDataUntil}")).isNotEmpty();
                assertThat(jsonpath("dsp closed-customers", "{.status.approvals[0].approvedBy}")).isEqualTo("alice");
            }
            if (block.contains("restore-test-now")) {
                assertThat(out).contains("bkp/app-nightly: condition RestoreTestPassed is True")
                        .containsPattern("backup \\d{8}T\\d{6}Z restored, promoted "
                        + "and checked in [0-9.]+ s \\(2 check\\(s\\) passed\\)");
            }
            if (block.contains("kubectl dba plan bkr app-before-incident")) {
                assertThat(out).contains("bkr/app-before-incident: phase AwaitingApproval")
                        .containsPattern("backup: +\\d{8}T\\d{6}Z \\(ended .*, [0-9.]+ (KiB|MiB|GiB)\\)")
                        .contains("wal:       none archived: recovery stops at the end of the backup")
                        .contains("recovery:  the end of backup").contains("instance:  app-restored")
                        .contains("step:    restore");
            }
            if (block.contains("kubectl dba approve bkr app-before-incident")) {
                assertThat(out).contains("approved bkr/app-before-incident for sha256:")
                        .contains("bkr/app-before-incident: phase Ready")
                        .contains("pg_amcheck: true").contains("select count(*) = 5000 from users: true")
                        .containsPattern("recovered to [0-9A-F]+/[0-9A-F]+ on timeline 2")
                        .contains("statefulset.apps/app-restored").contains("service/app-restored")
                        .contains("secret/app-restored");
                assertThat(jsonpath("bkr app-before-incident", "{.status.approvals[0].approvedBy}"))
                        .isEqualTo("alice");
            }
            if (block.contains("rollout status statefulset/app-restored")) {
                assertThat(out).contains("roll out complete");
                assertThat(out.trim()).as("the restored instance, served by its pod, has the backed-up rows")
                        .endsWith("5000");
            }
            if (block.contains("backuppolicy-logical.yaml")) {
                assertThat(out).contains("bkp/app-dumps: condition LastBackupSucceeded is True")
                        .containsPattern("\\d{8}T\\d{6}Z\tlogical\tverified\ttrue\tchecksums\\+pg_restore --list");
            }
            if (block.contains("kubectl dba plan bkr app-yesterday")) {
                assertThat(out).contains("bkr/app-yesterday: phase AwaitingApproval").contains("dump:      database app")
                        .contains("target:    new database app_yesterday on ").contains("step:    restore");
            }
            if (block.contains("kubectl dba approve bkr app-yesterday")) {
                assertThat(out).contains("approved bkr/app-yesterday for sha256:")
                        .contains("bkr/app-yesterday: phase Ready")
                        .contains("restored database app of backup").contains("1 check(s) passed");
                assertThat(out.trim()).as("the restored database holds the rows").endsWith("5000");
            }
            if (block.contains("kubectl dba approve bkr app-staging")) {
                assertThat(out).contains("approved bkr/app-staging for sha256:")
                        .contains("bkr/app-staging: phase Waiting").contains("serving:   app_staging_r1 (backup ")
                        .contains("last:      Served: copy app_staging_r1");
                List<String> lines = out.trim().lines().toList();
                assertThat(lines.subList(lines.size() - 2, lines.size()))
                        .as("rows of the served copy still holding one of production's addresses")
                        .containsExactly("0", "0");
                assertThat(count("select count(*) from customers where email like '%@example.com'"))
                        .as("production itself is untouched").isPositive();
            }
            if (block.contains("kubectl logs -l dbaoperator.io/backup-policy")) {
                assertThat(out).as("the backup pod's log, through the API server and the node")
                        .containsPattern("\\d{8}T\\d{6}Z");
            }
            if (block.contains("querytuningrequest.yaml")) {
                assertThat(out).contains("qtr/slow-orders-by-customer: phase AwaitingApproval")
                        .contains("Seq Scan on public.orders")
                        // the two equality columns in the order the planner's estimate prefers (either serves the query)
                        .containsPattern("built on staging: CREATE INDEX CONCURRENTLY \\\"dba_orders_"
                                + "(customer_id_status|status_customer_id)")
                        .containsPattern("% lower cost; staging [0-9.]+ ms -> [0-9.]+ ms");
            }
            if (block.contains("kubectl dba approve qtr")) {
                assertThat(out).contains("approved qtr/slow-orders-by-customer for sha256:")
                        .contains("qtr/slow-orders-by-customer: phase Monitoring");
                assertThat(out.trim()).containsPattern("dba_orders_(customer_id_status|status_customer_id)\\w*$");
            }
            if (block.contains("kubectl delete -f docs/examples/")) {
                assertThat(out).contains("\"add-email-lower\" deleted").contains("No resources found");
                assertThat(out).as("the policy's replication slot went with it").contains("replication slot left: 0");
                assertThat(out).as("what the page says stays").containsPattern("default/add-email-lower: \\d+ step\\(s\\) "
                        + "recorded").containsPattern("dba_orders_(customer_id_status|status_customer_id)\\w*\\s*$");
            }
        }
        Map<String, Long> pids = new HashMap<>();
        for (String line : Files.readAllLines(WORK.resolve("pids"))) {
            String[] kv = line.split(" ");
            pids.put(kv[0], Long.parseLong(kv[1]));
        }
        assertThat(pids.keySet()).as("the operator is a Pod of the node: its containers go with the node")
                .contains("s3", "postgres", "node-containerd", "node-kubelet", "node-kube-proxy")
                .doesNotContain("operator");
        pids.forEach((what, pid) -> assertThat(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false))
                .as("%s running before the stop", what).isTrue());
        sandbox.destroy(); // SIGTERM, as `kill` or a service manager sends
        assertThat(sandbox.waitFor(60, TimeUnit.SECONDS)).as("sandbox stops on SIGTERM").isTrue();
        assertThat(Files.readString(WORK.resolve("sandbox.out"))).contains("sandbox stopped");
        pids.forEach((what, pid) -> org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(10))
                .untilAsserted(() -> assertThat(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false))
                        .as("%s (pid %d) left behind after the stop", what, pid).isFalse()));
    }
}
