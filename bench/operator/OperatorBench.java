import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import io.dbaoperator.api.backup.BackupPolicy;
import io.dbaoperator.api.backup.BackupRestore;
import io.dbaoperator.api.disposal.DisposalJob;
import io.dbaoperator.api.migration.DatabaseMigration;
import io.dbaoperator.api.tuning.QueryTuningRequest;
import io.dbaoperator.harness.TestPostgres;
import io.dbaoperator.harness.TestS3;
import io.dbaoperator.sandbox.Sandbox;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.client.CustomResource;
import io.fabric8.kubernetes.client.KubernetesClient;

/**
 * The operator's footprint (issue 9): the packaged operator, run as the image runs it (a 768 MiB memory limit,
 * MaxRAMPercentage as deploy/ sets it), against the sandbox's embedded stack. Creates resources of the five kinds
 * evenly across 10 namespaces, every one a real workload against the real PostgreSQL and S3, and reports how long
 * until each has status.observedGeneration, the reconciles per second meanwhile (the Java Operator SDK's own
 * counter), and the JVM's heap (after a full GC, by jcmd) and RSS (/proc) once it is at rest. Prints Markdown;
 * asserts nothing.
 *
 * Usage: OperatorBench workDir size [size...]     e.g. 1000 5000 (each size is the total, added to what exists)
 */
public class OperatorBench {

    static final int NAMESPACES = 10;
    static final Class<?>[] KINDS = {BackupPolicy.class, DatabaseMigration.class, BackupRestore.class,
            QueryTuningRequest.class, DisposalJob.class};
    static final HttpClient HTTP = HttpClient.newHttpClient();

    static Sandbox sandbox;
    static KubernetesClient client;

    public static void main(String[] args) throws Exception {
        Path work = Path.of(args[0]);
        List<String> jvm = List.of(System.getProperty("operator.jvm", "-XX:MaxRAM=768m -XX:MaxRAMPercentage=60")
                .split("\\s+"));
        Map<String, String> env = new java.util.HashMap<>(Map.of("QUARKUS_OPERATOR_SDK_NAMESPACES",
                "JOSDK_ALL_NAMESPACES", "QUARKUS_LOG_CATEGORY__IO_DBAOPERATOR__LEVEL", "WARN"));
        String perResource = System.getProperty("per-resource-reconciles", "false");
        env.put("DBA_METRICS_PER_RESOURCE_RECONCILES", perResource);
        if (System.getenv("MALLOC_ARENA_MAX") != null) { // as the image sets it
            env.put("MALLOC_ARENA_MAX", System.getenv("MALLOC_ARENA_MAX"));
        }
        sandbox = new Sandbox(work, jvm, env);
        Runtime.getRuntime().addShutdownHook(new Thread(sandbox::stop));
        sandbox.start();
        s3ForPods = sandbox.s3EndpointForPods();
        client = sandbox.client();
        prepareDatabase();
        for (int n = 0; n < NAMESPACES; n++) {
            prepareNamespace("bench-" + n);
        }
        System.out.printf("Operator JVM options: `%s`; per-resource reconcile metrics: %s; %d cores; %s%n%n",
                String.join(" ", jvm), perResource, Runtime.getRuntime().availableProcessors(),
                java.time.Instant.now());
        Thread.sleep(15_000);
        Reading idle = reading();
        System.out.println("| resources | all observed after (s) | reconciles | reconciles/s | heap after GC (MiB) "
                + "| RSS at rest (MiB) | RSS growth per added resource (KiB) | live heap growth per added resource "
                + "(KiB) | threads | operator CPU s per added resource |");
        System.out.println("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        System.out.printf("| 0 (idle, started) | - | %d | - | %.1f | %.1f | - | - | %d | - |%n", idle.reconciles,
                idle.heapMiB, idle.rssMiB, idle.threads);
        Reading previous = idle;
        int existing = 0;
        for (int i = 1; i < args.length; i++) {
            int total = Integer.parseInt(args[i]);
            long before = reconciles();
            Map<String, Long> requestsBefore = apiRequests();
            long t0 = System.nanoTime();
            create(existing, total);
            double createdAfter = (System.nanoTime() - t0) / 1e9;
            double observedAfter = awaitObserved(total, t0);
            String observedCell = observedAfter >= 0 ? String.format("%.1f", observedAfter)
                    : String.format("%d observed after %d", (long) -observedAfter, Long.getLong("observe.patience", 600));
            observedAfter = observedAfter >= 0 ? observedAfter : (System.nanoTime() - t0) / 1e9;
            long during = reconciles() - before;
            requestTables.add(requestTable(total, requestsBefore, apiRequests(), during));
            Thread.sleep(30_000); // at rest: the first wave of requeues has passed
            Reading rest = reading();
            System.out.printf("| %d | %s (created in %.1f) | %d | %.1f | %.1f | %.1f | %.1f | %.1f | %d | %.3f |%n",
                    total, observedCell, createdAfter, during, during / observedAfter, rest.heapMiB, rest.rssMiB,
                    (rest.rssMiB - previous.rssMiB) * 1024 / (total - existing),
                    (rest.heapMiB - previous.heapMiB) * 1024 / (total - existing), rest.threads,
                    (rest.cpuSeconds - previous.cpuSeconds) / (total - existing));
            existing = total;
            previous = rest;
        }
        System.out.println();
        requestTables.forEach(System.out::println);
        System.out.println("Phases at the end: " + phases());
        System.exit(0);
    }

    /** Tables every kind works on: users (migrations, tuning), customers (disposal). */
    static void prepareDatabase() {
        TestPostgres.get().exec("app", "drop table if exists users, customers cascade",
                "create table users (id bigint primary key, email text not null, created_at timestamptz default now())",
                "insert into users (id, email) select g, 'u' || g || '@example.com' from generate_series(1, 20000) g",
                "create table customers (id bigint primary key, email text, full_name text, closed_at timestamptz)",
                "insert into customers select g, 'c' || g, 'C ' || g, case when g % 4 = 0 then now() - interval "
                        + "'3 years' end from generate_series(1, 20000) g",
                "alter table users owner to app", "alter table customers owner to app", "analyze users",
                "analyze customers");
    }

    static void prepareNamespace(String ns) {
        client.namespaces().resource(new NamespaceBuilder().withNewMetadata().withName(ns).endMetadata().build())
                .createOr(r -> r.update());
        TestPostgres pg = TestPostgres.get();
        String host = sandbox.databaseHost(); // the node's address: the backups' pods reach the database there
        secret(ns, "app-db", Map.of("host", host, "port", String.valueOf(pg.port()), "dbname", "app", "user", "app",
                "password", Sandbox.APP_PASSWORD));
        secret(ns, "app-db-replication", Map.of("host", host, "port", String.valueOf(pg.port()), "dbname", "app",
                "user", "app_replication", "password", Sandbox.REPLICATION_PASSWORD));
        secret(ns, "backup-s3", Map.of("AWS_ACCESS_KEY_ID", TestS3.ACCESS_KEY_ID, "AWS_SECRET_ACCESS_KEY",
                TestS3.SECRET_ACCESS_KEY));
    }

    static void secret(String ns, String name, Map<String, String> data) {
        client.secrets().inNamespace(ns).resource(new SecretBuilder().withNewMetadata().withName(name)
                .withNamespace(ns).endMetadata().withStringData(data).build()).createOr(r -> r.update());
    }

    /** Resources number from..to-1, kind i % 5, namespace (i / 5) % 10, so every kind is spread evenly. */
    static void create(int from, int to) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(8);
        List<Future<?>> done = new ArrayList<>();
        for (int i = from; i < to; i++) {
            int n = i;
            done.add(pool.submit(() -> {
                HasMetadata r = resource(n);
                client.resource(r).create();
                return null;
            }));
        }
        for (Future<?> f : done) {
            f.get();
        }
        pool.shutdown();
    }

    /** The S3 server as the policies' pods reach it (the node's address). */
    static String s3ForPods;

    static HasMetadata resource(int i) {
        String ns = "bench-" + (i / 5) % NAMESPACES;
        String policy = "bkp-" + (i / 5);
        String yaml = switch (i % 5) {
            case 0 -> """
                    apiVersion: dbaoperator.io/v1alpha1
                    kind: BackupPolicy
                    metadata: {name: %s, namespace: %s}
                    spec:
                      database: {secretRef: {name: app-db-replication}}
                      schedule: "0 2 * * *"
                      storage:
                        bucket: %s
                        prefix: bench
                        endpoint: %s
                        pathStyle: true
                        credentials: {secretRef: {name: backup-s3}}
                      retention: {keepLast: 7, maxAge: 30d}
                    """.formatted(policy, ns, TestS3.BUCKET, s3ForPods);
            case 1 -> """
                    apiVersion: dbaoperator.io/v1alpha1
                    kind: DatabaseMigration
                    metadata: {name: mig-%d, namespace: %s}
                    spec:
                      database: {secretRef: {name: app-db}}
                      expand: {sql: "alter table users add column note_%d text"}
                      rollback: {sql: "alter table users drop column if exists note_%d"}
                      approval: {policy: Always}
                    """.formatted(i, ns, i, i);
            case 2 -> """
                    apiVersion: dbaoperator.io/v1alpha1
                    kind: BackupRestore
                    metadata: {name: bkr-%d, namespace: %s}
                    spec:
                      backupPolicyRef: {name: %s}
                      target:
                        newInstance:
                          name: restored-%d
                          storage: {size: 1Gi}
                    """.formatted(i, ns, policy, i);
            case 3 -> """
                    apiVersion: dbaoperator.io/v1alpha1
                    kind: QueryTuningRequest
                    metadata: {name: qtr-%d, namespace: %s}
                    spec:
                      database: {secretRef: {name: app-db}}
                      query: select id, created_at from users where email = $1
                      parameters: ["u%d@example.com"]
                      apply: {policy: RecommendOnly}
                    """.formatted(i, ns, i);
            default -> """
                    apiVersion: dbaoperator.io/v1alpha1
                    kind: DisposalJob
                    metadata: {name: dsp-%d, namespace: %s}
                    spec:
                      database: {secretRef: {name: app-db}}
                      dryRun: true
                      rules:
                        - name: closed
                          table: customers
                          olderThan: {column: closed_at, age: 730d}
                          action: Delete
                    """.formatted(i, ns);
        };
        return (HasMetadata) client.getKubernetesSerialization().unmarshal(yaml, KINDS[i % 5]);
    }

    /**
     * Seconds from t0 until every resource has status.observedGeneration equal to its generation; negative (minus
     * the count observed) when the patience (system property observe.patience, seconds) runs out first.
     */
    static double awaitObserved(int total, long t0) throws InterruptedException {
        long deadline = t0 + Long.getLong("observe.patience", 600) * 1_000_000_000L;
        int observed = 0;
        while (System.nanoTime() < deadline) {
            observed = 0;
            for (Class<?> kind : KINDS) {
                observed += observedCount(kind);
            }
            if (observed >= total) {
                return (System.nanoTime() - t0) / 1e9;
            }
            Thread.sleep(1000);
        }
        return -observed;
    }

    static <T extends HasMetadata> List<T> listAll(Class<T> kind) {
        return client.resources(kind).inAnyNamespace().list().getItems();
    }

    static int observedCount(Class<?> kind) {
        int n = 0;
        for (Object o : listAll(kind.asSubclass(HasMetadata.class))) {
            CustomResource<?, ?> r = (CustomResource<?, ?>) o;
            Object status = r.getStatus();
            Long gen = r.getMetadata().getGeneration();
            if (status instanceof io.dbaoperator.api.common.OperatorStatus s && s.observedGeneration != null
                    && (gen == null || s.observedGeneration >= gen)) {
                n++;
            }
        }
        return n;
    }

    static Map<String, Integer> phases() {
        Map<String, Integer> count = new java.util.TreeMap<>();
        for (Class<?> kind : KINDS) {
            for (Object o : listAll(kind.asSubclass(HasMetadata.class))) {
                CustomResource<?, ?> r = (CustomResource<?, ?>) o;
                String phase = r.getStatus() == null ? "none"
                        : String.valueOf(client.getKubernetesSerialization().convertValue(r.getStatus(), Map.class)
                                .get("phase"));
                count.merge(kind.getSimpleName() + "/" + phase, 1, Integer::sum);
            }
        }
        return count;
    }

    record Reading(long reconciles, double heapMiB, double rssMiB, int threads, double cpuSeconds) {
    }

    /** The operator process's CPU time so far (user + system), from /proc/PID/stat. */
    static double cpuSeconds(long pid) throws IOException {
        String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
        String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        return (Long.parseLong(f[11]) + Long.parseLong(f[12])) / 100.0; // utime, stime in clock ticks (USER_HZ 100)
    }

    static Reading reading() throws Exception {
        long pid = sandbox.operatorPid();
        Process gc = new ProcessBuilder(jcmd(), String.valueOf(pid), "GC.run").redirectErrorStream(true).start();
        gc.getInputStream().readAllBytes();
        gc.waitFor();
        Thread.sleep(2000);
        Process info = new ProcessBuilder(jcmd(), String.valueOf(pid), "GC.heap_info").redirectErrorStream(true)
                .start();
        String heap = new String(info.getInputStream().readAllBytes());
        info.waitFor();
        Matcher used = Pattern.compile("used (\\d+)K").matcher(heap);
        long usedKiB = 0;
        while (used.find()) { // the first "used" of each generation/heap line; G1 prints one total line
            usedKiB = Math.max(usedKiB, Long.parseLong(used.group(1)));
            if (heap.contains("garbage-first")) {
                break;
            }
        }
        if (!heap.contains("garbage-first")) { // serial/parallel: young + old
            usedKiB = 0;
            Matcher gen = Pattern.compile("(?:def new generation|tenured generation|PSYoungGen|ParOldGen)\\s+total "
                    + "\\d+K, used (\\d+)K").matcher(heap);
            while (gen.find()) {
                usedKiB += Long.parseLong(gen.group(1));
            }
        }
        long rssKiB = 0;
        int threads = 0;
        for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
            if (line.startsWith("VmRSS:")) {
                rssKiB = Long.parseLong(line.replaceAll("\\D", ""));
            } else if (line.startsWith("Threads:")) {
                threads = Integer.parseInt(line.replaceAll("\\D", ""));
            }
        }
        if (System.getProperty("operator.jvm", "").contains("NativeMemoryTracking")) {
            Process nmt = new ProcessBuilder(jcmd(), String.valueOf(pid), "VM.native_memory", "summary")
                    .redirectErrorStream(true).start();
            System.err.println(new String(nmt.getInputStream().readAllBytes()));
            nmt.waitFor();
            Process histogram = new ProcessBuilder(jcmd(), String.valueOf(pid), "GC.class_histogram")
                    .redirectErrorStream(true).start();
            String[] lines = new String(histogram.getInputStream().readAllBytes()).split("\n");
            histogram.waitFor();
            System.err.println(String.join("\n", java.util.Arrays.copyOf(lines, Math.min(lines.length, 40))));
        }
        return new Reading(reconciles(), usedKiB / 1024.0, rssKiB / 1024.0, threads, cpuSeconds(pid));
    }

    static String jcmd() {
        return Path.of(System.getProperty("java.home"), "bin", "jcmd").toString();
    }

    static final List<String> requestTables = new java.util.ArrayList<>();

    /**
     * kube-apiserver's apiserver_request_total, summed by verb, resource (and subresource) and scope, without the
     * long-running WATCHes: every client's requests, the operator's among them.
     */
    static Map<String, Long> apiRequests() {
        Map<String, Long> out = new java.util.TreeMap<>();
        Matcher m = Pattern.compile("(?m)^apiserver_request_total\\{([^}]*)} ([0-9.eE+]+)$").matcher(
                client.raw("/metrics"));
        while (m.find()) {
            Map<String, String> labels = new java.util.HashMap<>();
            Matcher l = Pattern.compile("(\\w+)=\"([^\"]*)\"").matcher(m.group(1));
            while (l.find()) {
                labels.put(l.group(1), l.group(2));
            }
            String verb = labels.getOrDefault("verb", "?");
            if (verb.equals("WATCH")) {
                continue;
            }
            String sub = labels.getOrDefault("subresource", "");
            String key = verb + " " + labels.getOrDefault("resource", "?") + (sub.isEmpty() ? "" : "/" + sub)
                    + " (" + labels.getOrDefault("scope", "?") + ")";
            out.merge(key, (long) Double.parseDouble(m.group(2)), Long::sum);
        }
        return out;
    }

    /**
     * The requests the API server answered while {@code total} resources were created and observed, by kind of
     * request, largest first: the bench's own are the cluster-scoped LISTs (its observation), the POSTs of the
     * resources, namespaces and Secrets; the control plane's are leases, nodes and the like; the rest is the
     * operator's, per reconcile in the last column.
     */
    static String requestTable(int total, Map<String, Long> before, Map<String, Long> after, long reconciles) {
        StringBuilder t = new StringBuilder("API requests while " + total + " resources were created and observed ("
                + reconciles + " reconciles; WATCH not counted):\n\n| request (scope) | count | per reconcile |\n"
                + "|---|---:|---:|\n");
        long sum = 0;
        List<Map.Entry<String, Long>> rows = new java.util.ArrayList<>();
        for (var e : after.entrySet()) {
            long d = e.getValue() - before.getOrDefault(e.getKey(), 0L);
            if (d > 0) {
                rows.add(Map.entry(e.getKey(), d));
                sum += d;
            }
        }
        rows.sort(Map.Entry.<String, Long>comparingByValue().reversed());
        for (var r : rows.subList(0, Math.min(15, rows.size()))) {
            t.append(String.format("| %s | %d | %.2f |%n", r.getKey(), r.getValue(),
                    reconciles == 0 ? 0.0 : (double) r.getValue() / reconciles));
        }
        t.append(String.format("| all | %d | %.2f |%n", sum, reconciles == 0 ? 0.0 : (double) sum / reconciles));
        return t.toString();
    }

    /** The Java Operator SDK's reconciliations started, summed over kinds (and resources). */
    static long reconciles() throws IOException, InterruptedException {
        String body = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + sandbox.operatorHttpPort()
                + "/q/metrics")).build(), HttpResponse.BodyHandlers.ofString()).body();
        double sum = 0;
        Matcher m = Pattern.compile("(?m)^operator_sdk_reconciliations_started_total\\{[^}]*} ([0-9.eE+]+)$")
                .matcher(body);
        while (m.find()) {
            sum += Double.parseDouble(m.group(1));
        }
        return (long) sum;
    }
}
