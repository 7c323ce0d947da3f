package io.dbaoperator.agent;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HashMap;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.zip.GZIPInputStream;

import io.dbaoperator.backup.catalog.BackupCatalog;
import software.amazon.awssdk.core.ResponseBytes;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.GetObjectRequest;
import software.amazon.awssdk.services.s3.model.GetObjectResponse;

/**
 * Serves archived WAL to a recovering PostgreSQL, as pgBackRest's asynchronous archive-get does. PostgreSQL's
 * restore_command is a small shell script ({@link #script()}) that leaves a request file ({@code <name>.want}) in
 * the spool and waits for the agent to answer with the file itself or with {@code <name>.none} (not archived: the
 * end of the archive, or a timeline history that does not exist). The agent fetches from S3 (checking the SHA-256
 * the archiver stored with each segment, and decompressing), and keeps the next few segments fetched ahead, so
 * replay does not wait on one round trip per 16 MiB. The spool never holds more than {@code ahead} segments.
 */
final class WalSpool {

    private final S3Client s3;
    private final String bucket;
    private final BackupCatalog catalog;
    private final Path dir;
    private final int ahead;
    private final ServerUser user;
    private Map<String, BackupCatalog.WalObject> archived = new HashMap<>();
    private List<String> segments = List.of();
    private final Set<String> delivered = new HashSet<>();
    private String highestRequested;
    private int fetched;
    /** The Job's keys, for archived WAL that was stored encrypted; null when it was given none. */
    private final io.dbaoperator.backup.catalog.ClientEncryption.Keyring keys;

    WalSpool(S3Client s3, String bucket, BackupCatalog catalog, Path dir, int ahead, ServerUser user,
            io.dbaoperator.backup.catalog.ClientEncryption.Keyring keys) {
        this.keys = keys;
        this.user = user;
        this.s3 = s3;
        this.bucket = bucket;
        this.catalog = catalog;
        this.dir = dir;
        this.ahead = ahead;
        relist();
    }

    private void relist() {
        Map<String, BackupCatalog.WalObject> byName = new HashMap<>();
        for (BackupCatalog.WalObject o : catalog.walObjects()) {
            String name = o.segment() != null ? o.segment() : o.name();
            byName.put(name, o);
        }
        archived = byName;
        segments = byName.keySet().stream().filter(n -> n.length() == 24).sorted().toList();
    }

    /** The restore_command: {@code <script> %f %p}. Waits up to 10 minutes for one file. */
    Path script() throws IOException {
        Path script = dir.resolve("restore-wal.sh");
        String spool = dir.toString().replace("'", "'\\''");
        Files.writeString(script, String.join("\n",
                "#!/bin/sh",
                "# restore_command of a dba-operator restore: asks the agent for one WAL file and waits for it",
                "s='" + spool + "'",
                "f=\"$1\"; p=\"$2\"",
                "[ -f \"$s/$f\" ] || : > \"$s/$f.want\"",
                "n=0",
                "while [ ! -f \"$s/$f\" ]; do",
                "  if [ -f \"$s/$f.none\" ]; then rm -f \"$s/$f.none\" \"$s/$f.want\"; exit 1; fi",
                "  n=$((n+1)); if [ $n -gt 3000 ]; then echo \"restore-wal: no answer for $f\" >&2; exit 1; fi",
                "  sleep 0.2",
                "done",
                "mv \"$s/$f\" \"$p\" && rm -f \"$s/$f.want\"",
                ""), StandardCharsets.UTF_8);
        script.toFile().setExecutable(true, false);
        return script;
    }

    int fetched() {
        return fetched;
    }

    /** Answers every pending request, then fetches ahead of the highest segment asked for. */
    void serve() throws IOException {
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir, "*.want")) {
            for (Path want : files) {
                String name = want.getFileName().toString().replaceFirst("\\.want$", "");
                if (Files.exists(dir.resolve(name)) || Files.exists(dir.resolve(name + ".none"))) {
                    continue;
                }
                if (!archived.containsKey(name)) {
                    relist(); // the archiver may have shipped it since
                }
                if (archived.containsKey(name)) {
                    fetch(name);
                } else {
                    Files.createFile(dir.resolve(name + ".none"));
                }
                if (name.length() == 24 && (highestRequested == null || name.compareTo(highestRequested) > 0)) {
                    highestRequested = name;
                }
            }
        }
        if (highestRequested == null) {
            return;
        }
        int queued = 0;
        for (String next : segments) {
            if (next.compareTo(highestRequested) <= 0 || next.regionMatches(0, highestRequested, 0, 8) == false) {
                continue;
            }
            if (queued++ >= ahead) {
                break;
            }
            if (!delivered.contains(next) && !Files.exists(dir.resolve(next))) {
                fetch(next);
            }
        }
    }

    private void fetch(String name) throws IOException {
        BackupCatalog.WalObject o = archived.get(name);
        ResponseBytes<GetObjectResponse> bytes = s3.getObjectAsBytes(GetObjectRequest.builder().bucket(bucket)
                .key(o.key()).build());
        String expected = bytes.response().metadata().get("sha256");
        if (expected != null && !expected.equals(sha256(bytes.asByteArray()))) {
            throw new IOException("archived WAL file " + o.name() + " does not match the SHA-256 stored with it: the "
                    + "archive is corrupted at this segment");
        }
        Path tmp = dir.resolve(name + ".tmp");
        InputStream stored = new ByteArrayInputStream(bytes.asByteArray());
        if (io.dbaoperator.backup.catalog.ClientEncryption.isEncrypted(bytes.asByteArray())) {
            if (keys == null) {
                throw io.dbaoperator.problem.Problem.invalid(io.dbaoperator.problem.Reason.EncryptionKeyMissing,
                        "archived WAL file " + o.name() + " is encrypted, and this Job has no keys: the policy's "
                                + "spec.encryption names the Secret that holds them").exception();
            }
            stored = keys.decrypt(stored, o.key());
        }
        try (InputStream in = o.name().endsWith(".gz") ? new GZIPInputStream(stored) : stored) {
            Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
        }
        try {
            user.own(tmp); // the server writes to and renames what it restores
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
        Files.move(tmp, dir.resolve(name), StandardCopyOption.ATOMIC_MOVE);
        delivered.add(name);
        fetched++;
    }

    private static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
