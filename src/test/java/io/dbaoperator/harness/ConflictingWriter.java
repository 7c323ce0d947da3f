package io.dbaoperator.harness;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.fabric8.kubernetes.client.dsl.base.ResourceDefinitionContext;

/**
 * The operator's way to the API server in the {@code @QuarkusTest} tier, where a test can make a status write race a
 * concurrent writer. A forwarder on loopback (plain HTTP towards the operator, TLS towards kube-apiserver) passes
 * every byte on unchanged, the operator's bearer token with it, so the API server authenticates and authorizes
 * deploy/'s ServiceAccount as on a cluster. When an {@link Interference} rule picks a status write, the forwarder
 * first merge-patches an annotation in the operator's own domain onto the same object (as the cluster admin) and only
 * then hands the write on: a write pinned to the version it was decided on meets the API server's real 409, which
 * the operator must answer by deciding again.
 * <p>
 * It reads the requests (HTTP/1.1 as the fabric8 client speaks it: one request at a time per connection, bodies by
 * Content-Length or chunked); responses and upgraded connections (watches over WebSocket) are copied as bytes.
 * <p>
 * {@link #lagWatches} makes chosen watches late, as an informer's cache is under load: what the API server sends on
 * them reaches the operator that much later, in order. Requests and the other watches are not slowed.
 */
public final class ConflictingWriter implements AutoCloseable {

    /** Picks the status writes that meet a concurrent writer first. */
    public interface Interference {
        /**
         * @param objectPath the object's API path (its {@code /status} cut off)
         * @param statusWrite how many status writes this object has had since the rule was set, this one included
         * @param body the write's body as sent
         */
        boolean before(String objectPath, int statusWrite, String body);
    }

    public static final String ANNOTATION = "dbaoperator.io/test-concurrent-writer";
    private static final Interference NONE = (path, n, body) -> false;

    private final KubernetesClient admin;
    private final String upstreamHost;
    private final int upstreamPort;
    private final SSLContext tls;
    private final ServerSocket server;
    private final Set<Socket> open = ConcurrentHashMap.newKeySet();
    private final Map<String, AtomicInteger> statusWrites = new ConcurrentHashMap<>();
    private final AtomicInteger interfered = new AtomicInteger();
    private volatile Interference rule = NONE;
    private volatile WatchLag watchLag;

    /** What the API server sent, to be handed on at {@code dueNanos} ({@link System#nanoTime}). */
    private record Chunk(long dueNanos, byte[] bytes) {
        static final Chunk END = new Chunk(0, new byte[0]);
    }

    /** Watches whose request path {@code watches} accepts deliver what they receive {@code lag} late. */
    private record WatchLag(java.util.function.Predicate<String> watches, Duration lag) {
    }
    private volatile boolean closed;

    public ConflictingWriter(TestControlPlane cp) {
        this.admin = cp.admin();
        java.net.URI api = java.net.URI.create(cp.url());
        this.upstreamHost = api.getHost();
        this.upstreamPort = api.getPort();
        try {
            this.tls = trusting(Path.of(cp.caFile()));
            this.server = new ServerSocket(0, 64, InetAddress.getLoopbackAddress());
        } catch (IOException | java.security.GeneralSecurityException e) {
            throw new IllegalStateException("could not start the API forwarder: " + e.getMessage(), e);
        }
        Thread accept = new Thread(this::accept, "conflicting-writer");
        accept.setDaemon(true);
        accept.start();
    }

    /** The URL the operator is given as its API server. */
    public String url() {
        return "http://127.0.0.1:" + server.getLocalPort();
    }

    /** Makes chosen status writes race another writer; null stops it. Counts start again from zero. */
    public void interfere(Interference rule) {
        statusWrites.clear();
        this.rule = rule == null ? NONE : rule;
    }

    /**
     * Delays every watch whose request path (without its query) {@code watches} accepts, open or opened later, by
     * {@code lag}; null stops delaying (what is already delayed still arrives, in order).
     */
    public void lagWatches(java.util.function.Predicate<String> watches, Duration lag) {
        this.watchLag = watches == null ? null : new WatchLag(watches, lag);
    }

    /** How many status writes met the concurrent writer so far. */
    public int interfered() {
        return interfered.get();
    }

    private static SSLContext trusting(Path caFile) throws IOException, java.security.GeneralSecurityException {
        KeyStore trust = KeyStore.getInstance(KeyStore.getDefaultType());
        trust.load(null, null);
        try (InputStream in = Files.newInputStream(caFile)) {
            trust.setCertificateEntry("cluster-ca", CertificateFactory.getInstance("X.509").generateCertificate(in));
        }
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trust);
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(null, tmf.getTrustManagers(), null);
        return ctx;
    }

    private void accept() {
        while (!closed) {
            try {
                Socket client = server.accept();
                Thread t = new Thread(() -> serve(client), "conflicting-writer-conn");
                t.setDaemon(true);
                t.start();
            } catch (IOException e) {
                if (!closed) {
                    System.err.println("API forwarder: " + e.getMessage());
                }
            }
        }
    }

    private void serve(Socket client) {
        open.add(client);
        try (client; SSLSocket upstream = (SSLSocket) tls.getSocketFactory().createSocket(upstreamHost, upstreamPort)) {
            open.add(upstream);
            upstream.startHandshake();
            var watch = new java.util.concurrent.atomic.AtomicReference<String>();
            Thread back = new Thread(() -> copyBack(upstream, client, watch), "conflicting-writer-back");
            back.setDaemon(true);
            back.start();
            InputStream in = new java.io.BufferedInputStream(client.getInputStream());
            OutputStream out = upstream.getOutputStream();
            while (true) {
                Request r = Request.read(in);
                if (r == null) {
                    break;
                }
                if (r.isStatusWrite()) {
                    beforeStatusWrite(r);
                }
                if (r.upgrade) {
                    watch.set(r.path);
                }
                out.write(r.raw);
                out.flush();
                if (r.upgrade) {
                    in.transferTo(out); // a WebSocket now: bytes both ways until one side closes
                    break;
                }
            }
            // the client is done: closing the API server's side (below) ends the copy back too
        } catch (IOException e) {
            // a connection the client or the API server closed
        } finally {
            open.remove(client);
        }
    }

    /**
     * Copies the API server's answers to the client; once the connection is a watch that {@link #watchLag} picks,
     * each chunk is handed on {@code lag} after it arrived (by a second thread, so chunks that arrive together are
     * not delayed one after the other).
     */
    private void copyBack(Socket from, Socket to, java.util.concurrent.atomic.AtomicReference<String> watch) {
        var late = new java.util.concurrent.LinkedBlockingQueue<Chunk>();
        Thread deliver = new Thread(() -> {
            try {
                while (true) {
                    Chunk chunk = late.take();
                    if (chunk == Chunk.END) {
                        return;
                    }
                    long wait = chunk.dueNanos() - System.nanoTime();
                    if (wait > 0) {
                        Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
                    }
                    to.getOutputStream().write(chunk.bytes());
                    to.getOutputStream().flush();
                }
            } catch (IOException | InterruptedException e) {
                // closed
            }
        }, "conflicting-writer-late");
        deliver.setDaemon(true);
        deliver.start();
        try {
            InputStream in = from.getInputStream();
            byte[] buf = new byte[16384];
            int n;
            while ((n = in.read(buf)) >= 0) {
                WatchLag lag = watchLag;
                String path = watch.get();
                long due = System.nanoTime() + (lag != null && path != null && lag.watches().test(path)
                        ? lag.lag().toNanos() : 0);
                late.put(new Chunk(due, java.util.Arrays.copyOf(buf, n)));
            }
        } catch (IOException | InterruptedException e) {
            // closed
        } finally {
            late.add(Chunk.END);
            try {
                deliver.join(60_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            try {
                to.close();
                from.close();
            } catch (IOException e) {
                // closed
            }
            open.remove(from);
        }
    }

    private void beforeStatusWrite(Request r) {
        String object = r.path.substring(0, r.path.length() - "/status".length());
        int n = statusWrites.computeIfAbsent(object, k -> new AtomicInteger()).incrementAndGet();
        if (!rule.before(object, n, r.body())) {
            return;
        }
        int i = interfered.incrementAndGet();
        try {
            writeConcurrently(object, i);
        } catch (RuntimeException e) {
            // the object is gone or the server refused: the write goes on unraced, and the test sees the count
            System.err.println("conflicting writer: could not write " + object + ": " + e.getMessage());
            interfered.decrementAndGet();
        }
    }

    private void writeConcurrently(String object, int i) {
        // /apis/{group}/{version}/namespaces/{ns}/{plural}/{name}
        String[] seg = object.split("/");
        if (seg.length != 8 || !"apis".equals(seg[1]) || !"namespaces".equals(seg[4])) {
            throw new IllegalStateException("not a namespaced custom resource: " + object);
        }
        ResourceDefinitionContext kind = new ResourceDefinitionContext.Builder().withGroup(seg[2]).withVersion(seg[3])
                .withPlural(seg[6]).withNamespaced(true).build();
        admin.genericKubernetesResources(kind).inNamespace(seg[5]).withName(seg[7]).patch(
                PatchContext.of(PatchType.JSON_MERGE),
                "{\"metadata\":{\"annotations\":{\"" + ANNOTATION + "\":\"" + i + "\"}}}");
    }

    @Override
    public void close() {
        closed = true;
        try {
            server.close();
        } catch (IOException e) {
            // closed
        }
        for (Socket s : open) {
            try {
                s.close();
            } catch (IOException e) {
                // closed
            }
        }
    }

    /** One HTTP/1.1 request as read off the wire: its bytes unchanged, and what the forwarder looks at. */
    private static final class Request {
        final byte[] raw;
        final String method;
        final String path;
        final boolean upgrade;
        private final byte[] body;

        private Request(byte[] raw, String method, String path, boolean upgrade, byte[] body) {
            this.raw = raw;
            this.method = method;
            this.path = path;
            this.upgrade = upgrade;
            this.body = body;
        }

        boolean isStatusWrite() {
            return ("PATCH".equals(method) || "PUT".equals(method)) && path.endsWith("/status");
        }

        String body() {
            return new String(body, StandardCharsets.UTF_8);
        }

        /** The next request, or null when the client closed the connection between requests. */
        static Request read(InputStream in) throws IOException {
            ByteArrayOutputStream raw = new ByteArrayOutputStream();
            String requestLine = line(in, raw);
            if (requestLine == null) {
                return null;
            }
            long length = 0;
            boolean chunked = false;
            boolean upgrade = false;
            for (String header = line(in, raw); header != null && !header.isEmpty(); header = line(in, raw)) {
                int colon = header.indexOf(':');
                if (colon < 0) {
                    continue;
                }
                String name = header.substring(0, colon).trim().toLowerCase(Locale.ROOT);
                String value = header.substring(colon + 1).trim();
                switch (name) {
                    case "content-length" -> length = Long.parseLong(value);
                    case "transfer-encoding" -> chunked = value.toLowerCase(Locale.ROOT).contains("chunked");
                    case "upgrade" -> upgrade = value.toLowerCase(Locale.ROOT).contains("websocket");
                    default -> {
                    }
                }
            }
            ByteArrayOutputStream body = new ByteArrayOutputStream();
            if (chunked) {
                while (true) {
                    String size = line(in, raw);
                    if (size == null) {
                        throw new SocketException("connection closed inside a chunked body");
                    }
                    int semicolon = size.indexOf(';');
                    long n = Long.parseLong((semicolon < 0 ? size : size.substring(0, semicolon)).trim(), 16);
                    if (n == 0) {
                        for (String trailer = line(in, raw); trailer != null && !trailer.isEmpty();
                                trailer = line(in, raw)) {
                            // trailers pass through
                        }
                        break;
                    }
                    byte[] chunk = in.readNBytes((int) n);
                    raw.write(chunk);
                    body.write(chunk);
                    line(in, raw); // the CRLF after the chunk
                }
            } else if (length > 0) {
                byte[] bytes = in.readNBytes((int) length);
                raw.write(bytes);
                body.write(bytes);
            }
            String[] parts = requestLine.split(" ");
            String target = parts.length > 1 ? parts[1] : "";
            int query = target.indexOf('?');
            return new Request(raw.toByteArray(), parts[0], query < 0 ? target : target.substring(0, query), upgrade,
                    body.toByteArray());
        }

        /** One line without its CRLF (its bytes, CRLF included, appended to raw); null at the end of the stream. */
        private static String line(InputStream in, ByteArrayOutputStream raw) throws IOException {
            ByteArrayOutputStream line = new ByteArrayOutputStream();
            int b;
            while ((b = in.read()) != -1) {
                raw.write(b);
                if (b == '\n') {
                    byte[] bytes = line.toByteArray();
                    int end = bytes.length > 0 && bytes[bytes.length - 1] == '\r' ? bytes.length - 1 : bytes.length;
                    return new String(bytes, 0, end, StandardCharsets.ISO_8859_1);
                }
                line.write(b);
            }
            if (line.size() > 0) {
                throw new SocketException("connection closed inside a request line");
            }
            return null;
        }
    }
}
