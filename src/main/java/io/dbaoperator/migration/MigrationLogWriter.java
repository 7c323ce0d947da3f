package io.dbaoperator.migration;

import java.time.Instant;
import java.util.List;
import java.util.Map;

import io.dbaoperator.api.migration.DatabaseMigration;
import io.dbaoperator.api.migration.DatabaseMigrationStatus;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.api.model.OwnerReferenceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;

/**
 * The migration log, kept where a person looks: a ConfigMap owned by the migration (so it goes with it), one line
 * per statement from {@code dba_operator.migration_history}, and a summary in status.
 */
final class MigrationLogWriter {

    /** A ConfigMap holds at most 1 MiB; the log keeps the newest lines within this. */
    static final int MAX_BYTES = 900 * 1024;

    private MigrationLogWriter() {
    }

    static String configMapName(DatabaseMigration m) {
        return m.getMetadata().getName() + "-migration-log";
    }

    static String render(List<MigrationStore.Entry> entries) {
        StringBuilder out = new StringBuilder();
        for (MigrationStore.Entry e : entries) {
            out.append(e.startedAt()).append(' ').append(e.stepId()).append(' ').append(e.shown());
            if (e.attempts() > 1) {
                out.append(", ").append(e.attempts() - 1).append(" lock-timeout retr").append(e.attempts() > 2 ? "ies" : "y");
            }
            if (e.rowsDone() != null) {
                out.append(", ").append(e.rowsDone()).append(" rows");
            }
            if (e.approval() != null) {
                out.append(", under ").append(e.approval());
            }
            if (e.message() != null && !e.outcome().equals("applied")) {
                out.append(": ").append(e.message().replace('\n', ' '));
            }
            out.append("\n    ").append(e.statement().replace("\n", "\n    ")).append('\n');
        }
        String text = out.toString();
        if (text.length() > MAX_BYTES) {
            text = "(older lines cut; the whole log is in dba_operator.migration_history)\n"
                    + text.substring(text.length() - MAX_BYTES);
        }
        return text;
    }

    static void write(KubernetesClient client, DatabaseMigration m, DatabaseMigrationStatus status,
            List<MigrationStore.Entry> entries) {
        ConfigMap cm = new ConfigMapBuilder().withNewMetadata().withName(configMapName(m))
                .withNamespace(m.getMetadata().getNamespace())
                .withLabels(Map.of("app.kubernetes.io/managed-by", "dba-operator", "dbaoperator.io/migration",
                        m.getMetadata().getName()))
                .withOwnerReferences(new OwnerReferenceBuilder().withApiVersion(m.getApiVersion()).withKind(m.getKind())
                        .withName(m.getMetadata().getName()).withUid(m.getMetadata().getUid()).withController(true)
                        .withBlockOwnerDeletion(true).build())
                .endMetadata().withData(Map.of("migration.log", render(entries), "updatedAt", Instant.now().toString()))
                .build();
        client.configMaps().inNamespace(m.getMetadata().getNamespace()).resource(cm).createOr(r -> r.update());
        DatabaseMigrationStatus.MigrationLog log = new DatabaseMigrationStatus.MigrationLog();
        log.applied = (int) entries.stream().filter(e -> e.outcome().equals("applied")).count();
        int present = (int) entries.stream().filter(MigrationStore.Entry::present).count();
        log.alreadyPresent = present == 0 ? null : present;
        log.retries = entries.stream().mapToInt(e -> Math.max(0, e.attempts() - 1)).sum();
        log.configMap = configMapName(m);
        entries.stream().reduce((a, b) -> b).ifPresent(e -> log.last = e.stepId() + " " + e.shown());
        status.log = log;
    }
}
