package io.dbaoperator.sandbox;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;

import io.dbaoperator.harness.OperatorHarness;
import io.dbaoperator.harness.OperatorInstall;
import io.dbaoperator.harness.OperatorProcess;
import io.dbaoperator.harness.TempDirs;
import io.dbaoperator.harness.TestControlPlane;
import io.dbaoperator.harness.TestNode;
import io.dbaoperator.harness.TestPostgres;
import io.dbaoperator.harness.TestS3;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;

/**
 * The sandbox: the real operator (the packaged application, as its own process) on an embedded stack, with no
 * cloud and no Docker: a real Kubernetes control plane ({@link TestControlPlane}: etcd, kube-apiserver,
 * kube-controller-manager, kube-scheduler, built from the Go modules on first use) with deploy/ applied, a node that
 * runs the operator's pods as processes ({@link TestNode}), a PostgreSQL from the local server binaries with
 * databases {@code app} and {@code staging}, and an S3 server. The operator runs as deploy/'s ServiceAccount; the
 * person at the keyboard is {@code alice}, a cluster admin. Writes {@code kubeconfig} and {@code sandbox.env} into
 * its work directory, prints {@code sandbox ready}, and runs until Ctrl-C or SIGTERM, which stop every part.
 */
public final class Sandbox {

    public static final String NAMESPACE = "default";
    /** The sandbox's kubeconfig user (a client certificate in system:masters). */
    public static final String USER = "alice";
    public static final String APP_PASSWORD = "app-sandbox-password";
    public static final String REPLICATION_PASSWORD = "replication-sandbox-password";
    public static final String STAGING_PASSWORD = "staging-sandbox-password";
    public static final String DISPOSAL_SALT = "sandbox-salt-change-me-in-production";

    private final Path workDir;
    private final List<String> operatorJvmOptions;
    private final Map<String, String> operatorEnv;
    private OperatorProcess operator;
    private TestNode node;
    private volatile boolean stopped;

    public Sandbox(Path workDir) {
        this(workDir, List.of("-Xmx512m", "-XX:TieredStopAtLevel=1"), Map.of());
    }

    /**
     * A sandbox whose operator runs with these JVM options and extra environment (bench/operator runs it as the
     * image does, with a container's memory limit).
     */
    public Sandbox(Path workDir, List<String> operatorJvmOptions, Map<String, String> operatorEnv) {
        this.workDir = workDir;
        this.operatorJvmOptions = List.copyOf(operatorJvmOptions);
        this.operatorEnv = Map.copyOf(operatorEnv);
    }

    /**
     * The fixed S3 port of the sandbox, which docs/examples/backuppolicy.yaml names. It lies below Linux's ephemeral
     * range (32768-60999): a port in that range can be taken at any moment by an outgoing connection or a test's
     * free-port probe, which is how CI once found 39000 in use.
     */
    public static final int S3_PORT = 29000;

    public static void main(String[] args) throws Exception {
        if (System.getProperty("s3.port") == null) {
            System.setProperty("s3.port", String.valueOf(S3_PORT));
        }
        Path dir = Paths.get(System.getProperty("sandbox.dir", "target/sandbox"));
        // the Kubernetes client's Vert.x cache in the work directory, not a /tmp/vertx-cache left behind
        System.setProperty("vertx.cacheDirBase", System.getProperty("vertx.cacheDirBase",
                dir.toAbsolutePath().resolve("vertx-cache").toString()));
        Sandbox sandbox = new Sandbox(dir);
        CountDownLatch stop = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            sandbox.stop();
            stop.countDown();
        }, "sandbox-stop"));
        long t0 = System.nanoTime();
        sandbox.start();
        System.out.printf("sandbox ready in %.1f s%n", (System.nanoTime() - t0) / 1e9);
        System.out.println("  source " + dir.resolve("sandbox.env") + "   # KUBECONFIG, PG*, STAGING_PG*, S3_* for kubectl, psql, aws");
        System.out.println("  kubectl get dba                        # then follow docs/getting-started.md");
        System.out.println("  operator log: " + dir.resolve("operator.log") + "   Ctrl-C stops everything");
        System.out.flush();
        stop.await();
    }

    public Path workDir() {
        return workDir;
    }

    public void start() throws IOException, InterruptedException {
        Files.createDirectories(workDir);
        TestPostgres pg = TestPostgres.get();
        pg.createDatabase("app", "app", APP_PASSWORD);
        pg.createDatabase("staging", "staging", STAGING_PASSWORD);
        pg.createDatabase(OperatorHarness.AUDIT_DB, OperatorHarness.AUDIT_USER, OperatorHarness.AUDIT_PASSWORD);
        pg.exec("postgres", "do $$ begin if not exists (select from pg_roles where rolname = 'app_replication') then "
                + "create role app_replication login replication; end if; end $$",
                "alter role app_replication password '" + REPLICATION_PASSWORD + "'");
        TestS3 s3 = TestS3.get();
        TestControlPlane cp = TestControlPlane.get();
        OperatorInstall.apply(cp);
        node = TestNode.start(cp);
        KubernetesClient client = cp.admin();
        secret(client, "app-db", Map.of("host", pg.host(), "port", String.valueOf(pg.port()), "dbname", "app",
                "user", "app", "password", APP_PASSWORD));
        secret(client, "app-db-replication", Map.of("host", pg.host(), "port", String.valueOf(pg.port()), "dbname",
                "app", "user", "app_replication", "password", REPLICATION_PASSWORD));
        secret(client, "staging-db", Map.of("host", pg.host(), "port", String.valueOf(pg.port()), "dbname", "staging",
                "user", "staging", "password", STAGING_PASSWORD));
        secret(client, "disposal-salt", Map.of("salt", DISPOSAL_SALT));
        secret(client, "backup-s3", Map.of("AWS_ACCESS_KEY_ID", TestS3.ACCESS_KEY_ID, "AWS_SECRET_ACCESS_KEY",
                TestS3.SECRET_ACCESS_KEY));

        // the person at the keyboard: alice, a cluster admin, who the admission policy names when she approves
        cp.user(USER, "system:masters").close();
        Path kubeconfig = workDir.resolve("kubeconfig").toAbsolutePath();
        TempDirs.delete(workDir.resolve("kubectl-cache"));
        Files.copy(cp.kubeconfigFile(USER), kubeconfig, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        Files.writeString(workDir.resolve("sandbox.env"), String.join("\n",
                "export KUBECONFIG=" + kubeconfig,
                // kubectl's discovery cache of its own: a cache of an earlier sandbox on the same port would be stale
                "export KUBECACHEDIR=" + workDir.resolve("kubectl-cache").toAbsolutePath(),
                "export PGHOST=" + pg.host(), "export PGPORT=" + pg.port(), "export PGUSER=app",
                "export PGPASSWORD=" + APP_PASSWORD, "export PGDATABASE=app",
                "export STAGING_PGHOST=" + pg.host(), "export STAGING_PGPORT=" + pg.port(),
                "export STAGING_PGUSER=staging", "export STAGING_PGPASSWORD=" + STAGING_PASSWORD,
                "export STAGING_PGDATABASE=staging",
                "export S3_ENDPOINT=" + s3.endpoint(), "export S3_BUCKET=" + TestS3.BUCKET,
                "export AWS_ACCESS_KEY_ID=" + TestS3.ACCESS_KEY_ID,
                "export AWS_SECRET_ACCESS_KEY=" + TestS3.SECRET_ACCESS_KEY, ""), StandardCharsets.UTF_8);
        startOperator(cp, pg);
        // what must be gone after a stop, for whoever checks (SandboxWalkthroughIT does)
        Files.writeString(workDir.resolve("pids"), "operator " + operator.pid() + "\ns3 " + s3.pid() + "\npostgres "
                + pg.serverPid() + "\nsandbox " + ProcessHandle.current().pid() + "\n"
                + cp.pids().stream().map(pid -> "control-plane-" + pid + " " + pid + "\n")
                        .collect(java.util.stream.Collectors.joining()), StandardCharsets.UTF_8);
    }

    private void startOperator(TestControlPlane cp, TestPostgres pg) throws IOException, InterruptedException {
        Map<String, String> env = new java.util.HashMap<>(OperatorInstall.operatorEnv(cp));
        env.put("QUARKUS_PROFILE", "sandbox");
        env.put("DBA_AUDIT_ENABLED", "true");
        env.put("DBA_AUDIT_JDBC_URL", pg.jdbcUrl(OperatorHarness.AUDIT_DB));
        env.put("DBA_AUDIT_USERNAME", OperatorHarness.AUDIT_USER);
        env.put("DBA_AUDIT_PASSWORD", OperatorHarness.AUDIT_PASSWORD);
        env.putAll(operatorEnv);
        operator = OperatorProcess.start(env, operatorJvmOptions, workDir.resolve("operator.log"));
    }

    /** A cluster-admin client of the sandbox's API server. */
    public KubernetesClient client() {
        return TestControlPlane.get().admin();
    }

    /** The sandbox's node (pods' volumes and processes). */
    public TestNode node() {
        return node;
    }

    /** The operator process's pid, for readings of its memory. */
    public long operatorPid() {
        return operator.pid();
    }

    /** The operator's HTTP port: /q/metrics, /q/health. */
    public int operatorHttpPort() {
        return operator.httpPort();
    }

    /**
     * Kills the operator process without warning (SIGKILL, as when its node dies) and starts a new one, for tests
     * of what survives a restart.
     */
    public synchronized void killAndRestartOperator() throws IOException, InterruptedException {
        operator.kill();
        startOperator(TestControlPlane.get(), TestPostgres.get());
    }

    /** Stops every part: the operator first, then the node's pods, the control plane, S3 and PostgreSQL. */
    public synchronized void stop() {
        if (stopped) {
            return;
        }
        stopped = true;
        if (operator != null) {
            operator.close();
        }
        if (node != null) {
            node.close();
        }
        TestControlPlane.shutdown();
        TestS3.shutdown();
        TestPostgres.shutdown();
        System.out.println("sandbox stopped");
    }

    private static void secret(KubernetesClient client, String name, Map<String, String> data) {
        client.secrets().inNamespace(NAMESPACE).resource(new SecretBuilder().withNewMetadata().withName(name)
                .withNamespace(NAMESPACE).endMetadata().withStringData(data).build()).createOr(r -> r.update());
    }
}
