package io.dbaoperator.audit;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import javax.sql.DataSource;

import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.dbaoperator.kube.EventRecorder;
import io.fabric8.kubernetes.api.model.HasMetadata;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.Instance;

/**
 * The audit trail. Every event goes to the log (one structured line); with the audit datasource enabled
 * ({@code dba.audit.enabled}) it is also stored in {@code dba_operator.audit_event}, otherwise it is also recorded as a
 * Kubernetes Event on the object, so the trail survives without a database of our own.
 */
@ApplicationScoped
public class AuditLog {

    private static final Logger LOG = Logger.getLogger("io.dbaoperator.audit");
    private static final ObjectMapper JSON = new ObjectMapper();

    private final boolean enabled;
    private final Instance<DataSource> dataSource;
    private final EventRecorder events;

    public AuditLog(@ConfigProperty(name = "dba.audit.enabled", defaultValue = "false") boolean enabled,
            Instance<DataSource> dataSource, EventRecorder events) {
        this.enabled = enabled;
        this.dataSource = dataSource;
        this.events = events;
    }

    public boolean storesToDatabase() {
        return enabled;
    }

    public void record(HasMetadata resource, AuditEvent event) {
        record(resource, event, null);
    }

    /** Keys already stored by this process (uid|key), so a catch-up costs the store one insert per process. */
    private final java.util.Set<String> stored = java.util.concurrent.ConcurrentHashMap.newKeySet();

    /**
     * Records an event that a retry or a restart may produce again, once: {@code key} names the fact (e.g.
     * {@code approval/contract/2026-12-01T08:02:21Z}, {@code apply/expand#1}); a second event with the same key for
     * the same object is dropped. Without the audit store the key only guards this process.
     */
    public void recordOnce(HasMetadata resource, AuditEvent event, String key) {
        String seen = event.uid() + "|" + key;
        if (stored.contains(seen)) {
            return;
        }
        record(resource, event, key);
        if (stored.size() > 100_000) {
            stored.clear();
        }
        stored.add(seen);
    }

    private void record(HasMetadata resource, AuditEvent event, String key) {
        String details = toJson(event.details());
        LOG.infof("audit action=%s step=%s outcome=%s actor=%s object=%s/%s/%s digest=%s details=%s", event.action(),
                event.step(), event.outcome(), event.actor(), event.kind(), event.namespace(), event.name(),
                event.planDigest(), details);
        if (!enabled) {
            events.normal(resource, "Audit", event.action() + (event.step() == null ? "" : " " + event.step()) + " "
                    + event.outcome() + " by " + event.actor() + (event.planDigest() == null ? "" : " (plan "
                            + event.planDigest() + ")"));
            return;
        }
        try (Connection c = dataSource.get().getConnection();
                PreparedStatement ps = c.prepareStatement("insert into dba_operator.audit_event (occurred_at, namespace, "
                        + "kind, name, uid, action, step, actor, outcome, plan_digest, details, dedup_key) "
                        + "values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?::jsonb, ?) "
                        + "on conflict (uid, dedup_key) where dedup_key is not null do nothing")) {
            ps.setTimestamp(1, Timestamp.from(event.occurredAt()));
            ps.setString(2, event.namespace());
            ps.setString(3, event.kind());
            ps.setString(4, event.name());
            ps.setString(5, event.uid());
            ps.setString(6, event.action());
            ps.setString(7, event.step());
            ps.setString(8, event.actor());
            ps.setString(9, event.outcome());
            ps.setString(10, event.planDigest());
            ps.setString(11, details);
            ps.setString(12, key);
            ps.executeUpdate();
        } catch (SQLException e) {
            // The log line above already holds the event; a store outage must not stop the operator's work.
            LOG.errorf("audit store unavailable (SQLSTATE %s); event kept in the log only", e.getSQLState());
        }
    }

    /** The stored trail of one object, oldest first; empty without the audit datasource. */
    public List<AuditEvent> history(String namespace, String kind, String name) {
        if (!enabled) {
            return List.of();
        }
        List<AuditEvent> result = new ArrayList<>();
        try (Connection c = dataSource.get().getConnection();
                PreparedStatement ps = c.prepareStatement("select occurred_at, namespace, kind, name, uid, action, step, "
                        + "actor, outcome, plan_digest, details::text from dba_operator.audit_event "
                        + "where namespace = ? and kind = ? and name = ? order by occurred_at, id")) {
            ps.setString(1, namespace);
            ps.setString(2, kind);
            ps.setString(3, name);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    result.add(new AuditEvent(rs.getTimestamp(1).toInstant(), rs.getString(2), rs.getString(3),
                            rs.getString(4), rs.getString(5), rs.getString(6), rs.getString(7), rs.getString(8),
                            rs.getString(9), rs.getString(10), fromJson(rs.getString(11))));
                }
            }
        } catch (SQLException e) {
            throw new IllegalStateException("cannot read the audit store (SQLSTATE " + e.getSQLState() + ")", e);
        }
        return result;
    }

    private static String toJson(Map<String, Object> details) {
        try {
            return JSON.writeValueAsString(details == null ? Map.of() : details);
        } catch (JsonProcessingException e) {
            return "{}";
        }
    }

    private static Map<String, Object> fromJson(String text) {
        try {
            return JSON.readValue(text, new TypeReference<Map<String, Object>>() {
            });
        } catch (JsonProcessingException e) {
            return Map.of();
        }
    }
}
