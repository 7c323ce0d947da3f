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
import io.dbaoperator.harness.OperatorImage;
import io.dbaoperator.harness.OperatorInstall;
import io.dbaoperator.harness.OperatorProcess;
import io.dbaoperator.harness.RealNode;
import io.dbaoperator.harness.TempDirs;
import io.dbaoperator.harness.TestControlPlane;
import io.dbaoperator.harness.TestPostgres;
import io.dbaoperator.harness.TestS3;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.EnvVarBuilder;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;

/**
 * The sandbox: the real operator on an embedded stack, with no cloud and no registry: a real Kubernetes control
 * plane ({@link TestControlPlane}: etcd, kube-apiserver, kube-controller-manager, kube-scheduler, built from the Go
 * modules on first use) with deploy/ applied, a real node ({@link RealNode}: kubelet, containerd, kube-proxy) with
 * the operator's image built here ({@link OperatorImage}), a PostgreSQL from the local server binaries with
 * databases {@code app} and {@code staging}, and an S3 server, both outside the cluster and reached by pods at the
 * node's address. The operator runs as a Pod of deploy/'s Deployment, as deploy/'s ServiceAccount; its Jobs, WAL
 * archiver and restored instances are containers of the same image. The person at the keyboard is {@code alice}, a
 * cluster admin. Writes {@code kubeconfig} and {@code sandbox.env} into its work directory, prints
 * {@code sandbox ready}, and runs until Ctrl-C or SIGTERM, which stop every part. Needs root.
 * <p>
 * The exception, named: the tests that SIGKILL the operator at chosen moments (FaultMatrixIT, OperatorRestartIT)
 * and the operator bench, which reads its process's memory, run it as a process of this machine instead
 * ({@link Operator#PROCESS}), with the same identity and the same node for its pods.
 */
public final class Sandbox {

    public static final String NAMESPACE = "default";
    /** The sandbox's kubeconfig user (a client certificate in system:masters). */
    public static final String USER = "alice";
    public static final String APP_PASSWORD = "app-sandbox-password";
    public static final String REPLICATION_PASSWORD = "replication-sandbox-password";
    public static final String DUMPER_PASSWORD = "dumper-sandbox-password";
    public static final String RESTORER_PASSWORD = "restorer-sandbox-password";
    public static final String STAGING_PASSWORD = "staging-sandbox-password";
    public static final String DISPOSAL_SALT = "sandbox-salt-change-me-in-production";

    private final Path workDir;
    private final List<String> operatorJvmOptions;
    private final Map<String, String> operatorEnv;
    private final Operator as;
    private OperatorProcess operator;
    private RealNode node;
    private String image;
    /** Where pods reach the database and the S3 server: the node's address. */
    private String outside;
    private volatile boolean stopped;

    /** How the operator runs. */
    public enum Operator {
        /** A Pod of deploy/'s Deployment on the node, from the image: what users run. */
        POD,
        /** A process of this machine, for tests that SIGKILL it and benches that read its memory. */
        PROCESS
    }

    /** The sandbox as users run it: the operator a Pod. */
    public Sandbox(Path workDir) {
        this(workDir, Operator.POD);
    }

    public Sandbox(Path workDir, Operator as) {
        this(workDir, as, List.of("-Xmx512m", "-XX:TieredStopAtLevel=1"), Map.of());
    }

    /**
     * A sandbox whose operator runs with these JVM options and extra environment (bench/operator runs it as the
     * image does, with a container's memory limit).
     */
    public Sandbox(Path workDir, List<String> operatorJvmOptions, Map<String, String> operatorEnv) {
        this(workDir, Operator.PROCESS, operatorJvmOptions, operatorEnv);
    }

    private Sandbox(Path workDir, Operator as, List<String> operatorJvmOptions, Map<String, String> operatorEnv) {
        this.workDir = workDir;
        this.as = as;
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
        System.out.println("  kubectl logs -n dba-operator deploy/dba-operator   # the operator's log; Ctrl-C stops "
                + "everything");
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
                "alter role app_replication password '" + REPLICATION_PASSWORD + "'",
                // the logical examples' roles: one that reads everything to dump it, one that may create databases
                // and restore as the application's role
                "do $$ begin if not exists (select from pg_roles where rolname = 'app_dumper') then "
                        + "create role app_dumper login in role pg_read_all_data; end if; end $$",
                "alter role app_dumper password '" + DUMPER_PASSWORD + "'",
                "do $$ begin if not exists (select from pg_roles where rolname = 'staging_restorer') then "
                        + "create role staging_restorer login createdb; end if; end $$",
                "alter role staging_restorer password '" + RESTORER_PASSWORD + "'", "grant app to staging_restorer");
        TestS3 s3 = TestS3.get();
        TestControlPlane cp = TestControlPlane.get();
        OperatorInstall.apply(cp);
        OperatorImage built = OperatorImage.get();
        image = built.name();
        node = RealNode.start(cp, built.archive());
        outside = node.expose(pg.port());
        node.forPods(s3.endpoint()); // S3 on port 29000 when run as the sandbox: docs/examples name it so
        KubernetesClient client = cp.admin();
        secret(client, "app-db", Map.of("host", outside, "port", String.valueOf(pg.port()), "dbname", "app",
                "user", "app", "password", APP_PASSWORD));
        secret(client, "app-db-replication", Map.of("host", outside, "port", String.valueOf(pg.port()), "dbname",
                "app", "user", "app_replication", "password", REPLICATION_PASSWORD));
        secret(client, "staging-db", Map.of("host", outside, "port", String.valueOf(pg.port()), "dbname", "staging",
                "user", "staging", "password", STAGING_PASSWORD));
        secret(client, "app-db-dumper", Map.of("host", outside, "port", String.valueOf(pg.port()), "dbname", "app",
                "user", "app_dumper", "password", DUMPER_PASSWORD));
        secret(client, "staging-restorer", Map.of("host", outside, "port", String.valueOf(pg.port()), "dbname",
                "postgres", "user", "staging_restorer", "password", RESTORER_PASSWORD));
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
        StringBuilder pids = new StringBuilder();
        if (operator != null) {
            pids.append("operator ").append(operator.pid()).append("\n");
        }
        pids.append("s3 ").append(s3.pid()).append("\npostgres ").append(pg.serverPid()).append("\nsandbox ")
                .append(ProcessHandle.current().pid()).append("\n");
        node.pids().forEach((name, pid) -> pids.append("node-").append(name).append(" ").append(pid).append("\n"));
        cp.pids().forEach(pid -> pids.append("control-plane-").append(pid).append(" ").append(pid).append("\n"));
        Files.writeString(workDir.resolve("pids"), pids, StandardCharsets.UTF_8);
    }

    private void startOperator(TestControlPlane cp, TestPostgres pg) throws IOException, InterruptedException {
        if (as == Operator.POD) {
            // the audit store's login in a Secret of the operator's namespace, referenced, never written into the spec
            cp.admin().secrets().inNamespace(OperatorInstall.NAMESPACE).resource(new SecretBuilder().withNewMetadata()
                    .withName("dba-audit").withNamespace(OperatorInstall.NAMESPACE).endMetadata()
                    .withStringData(Map.of("username", OperatorHarness.AUDIT_USER, "password",
                            OperatorHarness.AUDIT_PASSWORD)).build()).createOr(r -> r.update());
            List<EnvVar> env = new java.util.ArrayList<>(List.of(
                    new EnvVar("QUARKUS_PROFILE", "sandbox", null),
                    new EnvVar("DBA_AUDIT_ENABLED", "true", null),
                    new EnvVar("DBA_AUDIT_JDBC_URL", "jdbc:postgresql://" + outside + ":" + pg.port() + "/"
                            + OperatorHarness.AUDIT_DB, null),
                    new EnvVarBuilder().withName("DBA_AUDIT_USERNAME").withNewValueFrom().withNewSecretKeyRef()
                            .withName("dba-audit").withKey("username").endSecretKeyRef().endValueFrom().build(),
                    new EnvVarBuilder().withName("DBA_AUDIT_PASSWORD").withNewValueFrom().withNewSecretKeyRef()
                            .withName("dba-audit").withKey("password").endSecretKeyRef().endValueFrom().build(),
                    // postgres:15 is in no registry here; the operator's image has the server
                    new EnvVar("DBA_RESTORE_INSTANCE_IMAGE", image, null)));
            operatorEnv.forEach((k, v) -> env.add(new EnvVar(k, v, null)));
            OperatorInstall.runAsPods(cp, RealNode.NAME, image, 1, env);
            return;
        }
        Map<String, String> env = new java.util.HashMap<>(OperatorInstall.operatorEnv(cp));
        env.put("QUARKUS_PROFILE", "sandbox");
        env.put("DBA_AUDIT_ENABLED", "true");
        env.put("DBA_AUDIT_JDBC_URL", pg.jdbcUrl(OperatorHarness.AUDIT_DB));
        env.put("DBA_AUDIT_USERNAME", OperatorHarness.AUDIT_USER);
        env.put("DBA_AUDIT_PASSWORD", OperatorHarness.AUDIT_PASSWORD);
        env.put("DBA_AGENT_IMAGE", image);
        env.put("DBA_RESTORE_INSTANCE_IMAGE", image);
        env.putAll(operatorEnv);
        operator = OperatorProcess.start(env, operatorJvmOptions, workDir.resolve("operator.log"));
    }

    /** A cluster-admin client of the sandbox's API server. */
    public KubernetesClient client() {
        return TestControlPlane.get().admin();
    }

    /** The database's host as pods (and the Secrets) name it: the node's address. */
    public String databaseHost() {
        return outside;
    }

    /** The S3 server's endpoint as pods reach it (a resource's spec.storage.endpoint). */
    public String s3EndpointForPods() throws IOException {
        return node.forPods(TestS3.get().endpoint());
    }

    /** The sandbox's node. */
    public RealNode node() {
        return node;
    }

    /** The operator process's pid, for readings of its memory ({@link Operator#PROCESS} only). */
    public long operatorPid() {
        return process().pid();
    }

    /** The operator's HTTP port: /q/metrics, /q/health ({@link Operator#PROCESS} only). */
    public int operatorHttpPort() {
        return process().httpPort();
    }

    private OperatorProcess process() {
        if (operator == null) {
            throw new IllegalStateException("the operator runs as a Pod in this sandbox, not as a process");
        }
        return operator;
    }

    /**
     * Kills the operator process without warning (SIGKILL, as when its node dies) and starts a new one, for tests
     * of what survives a restart.
     */
    public synchronized void killAndRestartOperator() throws IOException, InterruptedException {
        process().kill();
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
