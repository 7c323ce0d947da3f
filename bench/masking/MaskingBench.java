import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import io.dbaoperator.api.disposal.DisposalJobSpec;
import io.dbaoperator.api.disposal.DisposalJobSpec.ColumnStrategy.Strategy;
import io.dbaoperator.masking.Masker;
import io.dbaoperator.masking.PiiDiscovery;

/** See run.sh. Prints a Markdown report on stdout. */
public class MaskingBench {

    static final String BIN = "/usr/lib/postgresql/15/bin/";
    static String port;

    static Connection connect(String db) throws Exception {
        return DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + port + "/" + db + "?user=postgres");
    }

    static double seconds(long t0) {
        return Math.round((System.nanoTime() - t0) / 1e8) / 10.0;
    }

    static long scalar(String db, String sql) throws Exception {
        try (Connection c = connect(db); ResultSet rs = c.createStatement().executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        }
    }

    static void run(Path work, String... command) throws Exception {
        run(work, true, command);
    }

    /** As the postgres user when this runs as root (pg_dump and pg_restore write into WORK, which it owns). */
    static void run(Path work, boolean asPostgres, String... command) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("runuser", "-u", "postgres", "--"));
        if (!asPostgres || !"root".equals(System.getProperty("user.name"))) {
            cmd.clear();
        }
        cmd.addAll(List.of(command));
        Process p = new ProcessBuilder(cmd).directory(work.toFile()).redirectErrorStream(true)
                .redirectOutput(work.resolve("commands.log").toFile()).start();
        // appending would need a stream per command: the last command's output is what a failure shows
        if (p.waitFor() != 0) {
            throw new IllegalStateException(String.join(" ", command) + " failed: "
                    + Files.readString(work.resolve("commands.log")));
        }
    }

    static DisposalJobSpec.ColumnStrategy strategy(Strategy s, Integer suffix) {
        DisposalJobSpec.ColumnStrategy c = new DisposalJobSpec.ColumnStrategy();
        c.strategy = s;
        c.keepSuffix = suffix;
        return c;
    }

    public static void main(String[] args) throws Exception {
        port = args[0];
        long rows = Long.parseLong(args[1]);
        Path work = Path.of(args[2]);
        String greenmask = args.length > 3 && !args[3].isBlank() ? args[3] : null;
        long t0 = System.nanoTime();
        try (Connection c = connect("bench"); Statement st = c.createStatement()) {
            st.execute("create table people (id bigint primary key, email text not null, full_name text not null, "
                    + "phone text, card text, city text not null, signup date not null)");
            st.execute("insert into people select g, 'person' || g || '@mail' || (g % 100) || '.example', "
                    + "(array['Ann','Bob','Chen','Dana','Emile','Fatima'])[1 + g % 6] || ' ' || (array['Smith','Mueller',"
                    + "'Garcia','Dubois','Rossi'])[1 + g % 5] || ' ' || g, '+33 6 ' || lpad((g % 100000000)::text, 8, '0'), "
                    + "case when g % 2 = 0 then '4111 1111 1111 1111' else '5555 5555 5555 4444' end, "
                    + "(array['Paris','Lyon','Berlin','Madrid'])[1 + g % 4], date '2020-01-01' + (g % 2000)::int "
                    + "from generate_series(1, " + rows + ") g");
            st.execute("vacuum analyze people");
        }
        long tableBytes = scalar("bench", "select pg_table_size('people')");
        System.out.printf("### bench/masking%n%nRun of %s, %d cores. Source: people, %d rows, %.0f MiB (table), 4 "
                + "personal columns (email, full_name, phone, card); loaded in %.0f s.%n%n",
                java.time.Instant.now().toString().substring(0, 19) + "Z", Runtime.getRuntime().availableProcessors(),
                rows, tableBytes / 1048576.0, seconds(t0));

        // the backup the operator restores: a custom-format dump, as a logical BackupPolicy takes (not timed)
        Path dump = work.resolve("bench.dump");
        run(work, BIN + "pg_dump", "-h", "127.0.0.1", "-p", port, "-U", "postgres", "-Fc", "-f", dump.toString(),
                "bench");

        // the operator's path: restore, mask, check, discover, serve
        long s0 = System.nanoTime();
        try (Connection c = connect("postgres")) {
            c.createStatement().execute("create database masked_copy_dba_restore");
        }
        run(work, BIN + "pg_restore", "-h", "127.0.0.1", "-p", port, "-U", "postgres", "--no-owner",
                "--exit-on-error", "-d", "masked_copy_dba_restore", dump.toString());
        double restore = seconds(s0);
        Map<String, DisposalJobSpec.ColumnStrategy> columns = new LinkedHashMap<>();
        columns.put("email", strategy(Strategy.Fake, null));
        columns.put("full_name", strategy(Strategy.Fake, null));
        columns.put("phone", strategy(Strategy.Redact, null));
        columns.put("card", strategy(Strategy.Partial, 4));
        long m0 = System.nanoTime();
        Masker.Masked masked;
        int findings;
        long uncovered;
        double discover;
        double rewrite;
        try (Connection c = connect("masked_copy_dba_restore")) {
            List<Masker.TablePlan> plans = Masker.plan(c, List.of(new Masker.Rule("public.people", columns)),
                    "rules");
            masked = Masker.mask(c, plans.get(0), "a-bench-masking-key-0123456789", 200);
            // as the agent's MaskingStep: the table rewritten, the originals' dead tuples gone from its files
            long w0 = System.nanoTime();
            c.createStatement().execute("VACUUM (FULL, ANALYZE) public.people");
            rewrite = seconds(w0);
            long d0 = System.nanoTime();
            List<PiiDiscovery.Finding> found = PiiDiscovery.discover(c, List.of(), 200);
            discover = seconds(d0);
            findings = found.size();
            uncovered = found.stream().filter(f -> !columns.containsKey(f.column())).count();
        }
        double mask = seconds(m0) - discover - rewrite;
        long r0 = System.nanoTime();
        try (Connection c = connect("postgres")) {
            c.createStatement().execute("alter database masked_copy_dba_restore rename to masked_copy");
        }
        double rename = seconds(r0);
        double total = seconds(s0);
        long after = scalar("masked_copy", "select pg_table_size('people')");
        System.out.println("| path | restore s | mask s (with the sample check) | rewrite s | discovery s | serve s "
                + "| total s | rows/s (mask) | rows/s (all) | table MiB before -> after |");
        System.out.println("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|");
        System.out.printf("| dba-operator (pg_restore, Masker's UPDATE, sample check, VACUUM FULL, PII discovery, "
                + "rename) | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f | %.0f | %.0f | %.0f -> %.0f |%n", restore, mask,
                rewrite, discover, rename, total,
                masked.rows() / Math.max(0.1, mask), rows / Math.max(0.1, total), masked.bytesBefore() / 1048576.0,
                after / 1048576.0);

        if (greenmask == null) {
            System.out.printf("| Greenmask | - | - | - | - | - | - | - | - | not run: no Greenmask binary given |%n");
        } else {
            Path gm = work.resolve("greenmask");
            Files.createDirectories(gm.resolve("storage"));
            String config = String.join("\n",
                    "common:", "  pg_bin_path: \"" + BIN + "\"", "  tmp_dir: \"" + gm + "\"",
                    "log:", "  level: \"warn\"", "  format: \"text\"",
                    "storage:", "  directory:", "    path: \"" + gm.resolve("storage") + "\"",
                    "dump:", "  pg_dump_options:",
                    "    dbname: \"host=127.0.0.1 port=" + port + " user=postgres dbname=bench\"",
                    "  transformation:", "    - schema: \"public\"", "      name: \"people\"", "      transformers:",
                    "        - name: \"RandomEmail\"", "          params:", "            column: \"email\"",
                    "            engine: \"hash\"",
                    "        - name: \"Hash\"", "          params:", "            column: \"full_name\"",
                    "            function: \"sha256\"", "            max_length: 12",
                    "            salt: \"0123456789abcdef0123456789abcdef\"",
                    "        - name: \"Replace\"", "          params:", "            column: \"phone\"",
                    "            value: \"[redacted]\"",
                    "        - name: \"Masking\"", "          params:", "            column: \"card\"",
                    "            type: \"credit_card\"",
                    "restore:", "  pg_restore_options:",
                    "    dbname: \"host=127.0.0.1 port=" + port + " user=postgres dbname=masked_gm\"", "");
            Files.writeString(gm.resolve("config.yml"), config);
            long g0 = System.nanoTime();
            run(work, false, greenmask, "--config", gm.resolve("config.yml").toString(), "dump");
            double gdump = seconds(g0);
            try (Connection c = connect("postgres")) {
                c.createStatement().execute("create database masked_gm");
            }
            long g1 = System.nanoTime();
            run(work, false, greenmask, "--config", gm.resolve("config.yml").toString(), "restore", "latest");
            double grestore = seconds(g1);
            long gAfter = scalar("masked_gm", "select pg_table_size('people')");
            long gRows = scalar("masked_gm", "select count(*) from people");
            System.out.printf("| Greenmask (dump with RandomEmail hash, Hash, Replace, Masking credit_card; restore) | %.1f "
                    + "(restore) | %.1f (dump with transformers) | - | - | - | %.1f | %.0f | %.0f | %.0f -> %.0f |%n",
                    grestore, gdump, gdump + grestore, gRows / Math.max(0.1, gdump), gRows / Math.max(0.1,
                            gdump + grestore), tableBytes / 1048576.0, gAfter / 1048576.0);
            // both really masked: no e-mail of the first 1000 rows kept
            System.out.printf("%nGreenmask's copy: %d rows, %d of the first 1000 e-mails unchanged; ",
                    gRows, sameEmails("masked_gm"));
        }
        System.out.printf("%sthe operator's copy: %d rows, %d of the first 1000 e-mails unchanged; its check found %d "
                + "of %d sampled originals; the discovery found %d personal column(s), %d not masked.%n",
                greenmask == null ? "\n" : "", masked.rows(), sameEmails("masked_copy"), masked.leaked(),
                masked.checked(), findings, uncovered);
    }

    static long sameEmails(String db) throws Exception {
        long same = 0;
        Map<Long, String> original = new java.util.HashMap<>();
        try (Connection c = connect("bench"); ResultSet rs = c.createStatement().executeQuery(
                "select id, email from people where id <= 1000")) {
            while (rs.next()) {
                original.put(rs.getLong(1), rs.getString(2));
            }
        }
        try (Connection c = connect(db); ResultSet rs = c.createStatement().executeQuery(
                "select id, email from people where id <= 1000")) {
            while (rs.next()) {
                if (rs.getString(2).equals(original.get(rs.getLong(1)))) {
                    same++;
                }
            }
        }
        return same;
    }
}
