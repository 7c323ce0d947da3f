package io.dbaoperator.postgres;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** Finds the PostgreSQL client programs (pg_basebackup, pg_verifybackup, pg_receivewal, pg_amcheck). */
public final class PostgresTools {

    private PostgresTools() {
    }

    /** {@code DBA_PG_BINDIR}, else the newest /usr/lib/postgresql/N/bin, else the PATH. */
    public static Path binary(String name, Map<String, String> env) {
        List<Path> candidates = new ArrayList<>();
        if (env.get("DBA_PG_BINDIR") != null) {
            candidates.add(Paths.get(env.get("DBA_PG_BINDIR")));
        }
        for (String v : List.of("18", "17", "16", "15")) {
            candidates.add(Paths.get("/usr/lib/postgresql/" + v + "/bin"));
        }
        for (String dir : env.getOrDefault("PATH", "/usr/bin:/bin").split(":")) {
            candidates.add(Paths.get(dir));
        }
        for (Path dir : candidates) {
            Path p = dir.resolve(name);
            if (Files.isExecutable(p)) {
                return p;
            }
        }
        throw new IllegalStateException(name + " not found (set DBA_PG_BINDIR, or install the PostgreSQL client "
                + "programs, e.g. postgresql-client-15)");
    }

    /** Gives a libpq client program (pg_basebackup, pg_receivewal) the credentials, through its environment only. */
    public static void clientEnvironment(ProcessBuilder pb, ConnectionSettings db, String applicationName) {
        pb.environment().put("PGPASSWORD", db.password() == null ? "" : db.password());
        pb.environment().put("PGAPPNAME", applicationName);
        pb.environment().put("PGDATABASE", db.dbname());
        if (db.sslMode() != null) {
            pb.environment().put("PGSSLMODE", db.sslMode());
        }
    }

    /** The first host and port of a libpq host list ("h1:5432,h2:5432"). */
    public static String[] firstHostAndPort(ConnectionSettings settings) {
        String first = settings.hosts().split(",")[0];
        int colon = first.lastIndexOf(':');
        return colon < 0 ? new String[] { first, "5432" }
                : new String[] { first.substring(0, colon), first.substring(colon + 1) };
    }

    /** The WAL segment file holding {@code lsn} on {@code timeline} (16 MiB segments). */
    public static String walFileName(int timeline, String lsn) {
        String[] parts = lsn.split("/");
        long hi = Long.parseLong(parts[0], 16);
        long lo = Long.parseLong(parts[1], 16);
        long segment = ((hi << 32) | lo) / (16L * 1024 * 1024);
        long segmentsPerXLogId = 0x100000000L / (16L * 1024 * 1024);
        return String.format("%08X%08X%08X", timeline, segment / segmentsPerXLogId, segment % segmentsPerXLogId);
    }

    /** The segment after {@code walFile} on the same timeline (16 MiB segments: 256 per log id). */
    public static String nextWalFile(String walFile) {
        long log = Long.parseLong(walFile.substring(8, 16), 16);
        long seg = Long.parseLong(walFile.substring(16, 24), 16) + 1;
        if (seg >= 0x100000000L / (16L * 1024 * 1024)) {
            seg = 0;
            log++;
        }
        return String.format("%s%08X%08X", walFile.substring(0, 8), log, seg);
    }

    /** An LSN as a number, for comparisons. */
    public static long lsn(String lsn) {
        String[] parts = lsn.split("/");
        return (Long.parseLong(parts[0], 16) << 32) | Long.parseLong(parts[1], 16);
    }
}
