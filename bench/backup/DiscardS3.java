import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.UUID;
import java.util.concurrent.Executors;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

/**
 * A sink for bench/backup that speaks just enough S3 for an upload (PutObject; CreateMultipartUpload, UploadPart,
 * CompleteMultipartUpload, AbortMultipartUpload) and throws every byte away, answering reads with nothing stored
 * (404, an empty listing). Not a test double: it only lets the bench measure what the uploader itself costs when
 * the store is not the bottleneck (the agent against the plain SDK pipe and pg_basebackup | wc -c). No signature
 * is checked. Usage: java DiscardS3.java <port>; prints "listening" when ready.
 */
public class DiscardS3 {
    public static void main(String[] args) throws IOException {
        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", Integer.parseInt(args[0])), 64);
        server.setExecutor(Executors.newFixedThreadPool(8));
        server.createContext("/", DiscardS3::handle);
        server.start();
        System.out.println("listening");
    }

    private static void handle(HttpExchange x) throws IOException {
        String method = x.getRequestMethod();
        String query = x.getRequestURI().getRawQuery() == null ? "" : x.getRequestURI().getRawQuery();
        long bytes = drain(x.getRequestBody());
        String[] path = x.getRequestURI().getPath().substring(1).split("/", 2);
        String bucket = path[0];
        String key = path.length > 1 ? path[1] : "";
        x.getResponseHeaders().add("x-amz-request-id", "discard");
        if (method.equals("POST") && query.startsWith("uploads")) {
            xml(x, 200, "<InitiateMultipartUploadResult><Bucket>" + bucket + "</Bucket><Key>" + key + "</Key><UploadId>"
                    + UUID.randomUUID() + "</UploadId></InitiateMultipartUploadResult>");
        } else if (method.equals("POST") && query.contains("uploadId=")) {
            xml(x, 200, "<CompleteMultipartUploadResult><Bucket>" + bucket + "</Bucket><Key>" + key + "</Key><ETag>"
                    + "\"discarded-1\"</ETag></CompleteMultipartUploadResult>");
        } else if (method.equals("PUT")) {
            x.getResponseHeaders().add("ETag", "\"" + Long.toHexString(bytes) + UUID.randomUUID().toString()
                    .replace("-", "") + "\"");
            x.sendResponseHeaders(200, -1);
        } else if (method.equals("DELETE")) {
            x.sendResponseHeaders(204, -1);
        } else if (method.equals("GET") && key.isEmpty()) {
            xml(x, 200, "<ListBucketResult><Name>" + bucket + "</Name><KeyCount>0</KeyCount><IsTruncated>false"
                    + "</IsTruncated></ListBucketResult>");
        } else if (method.equals("HEAD")) {
            x.sendResponseHeaders(key.isEmpty() ? 200 : 404, -1);
        } else {
            xml(x, 404, "<Error><Code>NoSuchKey</Code><Message>discarded</Message></Error>");
        }
        x.close();
    }

    private static long drain(InputStream in) throws IOException {
        byte[] buf = new byte[1 << 20];
        long total = 0;
        for (int n; (n = in.read(buf)) > 0;) {
            total += n;
        }
        return total;
    }

    private static void xml(HttpExchange x, int status, String body) throws IOException {
        byte[] b = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?>" + body).getBytes(StandardCharsets.UTF_8);
        x.getResponseHeaders().add("Content-Type", "application/xml");
        x.sendResponseHeaders(status, b.length);
        try (OutputStream out = x.getResponseBody()) {
            out.write(b);
        }
    }
}
