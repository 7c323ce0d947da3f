package io.dbaoperator.harness;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;

/**
 * Points the operator under test at the harness: the real API server of {@link TestKubernetes} as deploy/'s
 * ServiceAccount, and the audit store in the test PostgreSQL. One instance for the whole run (every operator test uses the same resource, so Quarkus starts once).
 */
public class OperatorHarness implements QuarkusTestResourceLifecycleManager {

    public static final String AUDIT_DB = "dba_operator";
    public static final String AUDIT_USER = "dba_operator";
    public static final String AUDIT_PASSWORD = "harness-audit-pw";

    /**
     * Every phase move the operator makes in this test run, one {@code kind from to} line each (emptied when the
     * run's first operator starts): what {@code PhaseCoverageIT} holds against the phase tables.
     */
    public static final Path PHASE_MOVES = Path.of("target/phase-transitions.txt");

    private boolean auditStore = true;
    private String defaultStoragePrefix;

    /**
     * {@code audit=false} runs the operator without its audit store, as a user may; {@code defaultStorage=PREFIX}
     * gives it an operator-wide default storage: the harness's bucket under that prefix, the S3 server as pods reach
     * it, keys from the Secret {@code fleet-s3} (the arguments of a profile's test resource, which runs where the
     * operator's parts run; a profile's own config would start them where Quarkus discovers the class).
     */
    @Override
    public void init(Map<String, String> initArgs) {
        auditStore = !"false".equals(initArgs.get("audit"));
        defaultStoragePrefix = initArgs.get("defaultStorage");
    }

    @Override
    public Map<String, String> start() {
        TestKubernetes kube = TestKubernetes.get();
        TestPostgres pg = TestPostgres.get();
        pg.createDatabase(AUDIT_DB, AUDIT_USER, AUDIT_PASSWORD);
        Map<String, String> config = new HashMap<>(kube.operatorConfig());
        config.put("dba.audit.enabled", String.valueOf(auditStore));
        config.put("dba.phase-transitions.record-file", phaseMoves().toAbsolutePath().toString());
        if (defaultStoragePrefix != null) {
            config.put("dba.storage.default.bucket", TestS3.BUCKET);
            config.put("dba.storage.default.prefix", defaultStoragePrefix);
            config.put("dba.storage.default.endpoint", kube.forPods(TestS3.get().endpoint()));
            config.put("dba.storage.default.path-style", "true");
            config.put("dba.storage.default.credentials-secret", "fleet-s3");
        }
        if (auditStore) {
            config.put("quarkus.datasource.jdbc.url", pg.jdbcUrl(AUDIT_DB));
            config.put("quarkus.datasource.username", AUDIT_USER);
            config.put("quarkus.datasource.password", AUDIT_PASSWORD);
        }
        return config;
    }

    /** Empties the record once per JVM (a system property: Quarkus may load this class again for a restart). */
    private static synchronized Path phaseMoves() {
        if (System.getProperty("dba.test.phase-moves-emptied") == null) {
            try {
                Files.createDirectories(PHASE_MOVES.getParent());
                Files.writeString(PHASE_MOVES, "");
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            System.setProperty("dba.test.phase-moves-emptied", "true");
        }
        return PHASE_MOVES;
    }

    @Override
    public void stop() {
        // shared parts stop with the JVM
    }
}
