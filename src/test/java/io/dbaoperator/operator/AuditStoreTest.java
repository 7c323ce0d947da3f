package io.dbaoperator.operator;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import io.dbaoperator.api.migration.DatabaseMigration;
import io.dbaoperator.audit.AuditEvent;
import io.dbaoperator.audit.AuditLog;
import io.dbaoperator.harness.OperatorHarness;
import io.dbaoperator.harness.OperatorTier;
import io.dbaoperator.harness.TestPostgres;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import jakarta.inject.Inject;

/** The audit store: Flyway created the schema at start, and events land in it as rows. */
@OperatorTier
@QuarkusTest
@QuarkusTestResource(OperatorHarness.class)
class AuditStoreTest {

    @Inject
    AuditLog audit;

    @Test
    void flywayCreatedTheAuditAndKnowledgeBaseTables() throws Exception {
        try (Connection c = TestPostgres.get().superuser(OperatorHarness.AUDIT_DB);
                Statement st = c.createStatement();
                ResultSet rs = st.executeQuery("select table_name from information_schema.tables "
                        + "where table_schema = 'dba_operator' order by 1")) {
            List<String> tables = new java.util.ArrayList<>();
            while (rs.next()) {
                tables.add(rs.getString(1));
            }
            assertThat(tables).contains("audit_event", "query_plan_history", "index_impact", "flyway_schema_history");
        }
    }

    @Test
    void anApprovalIsStoredWithWhoWhatWhenAndOutcome() throws Exception {
        assertThat(audit.storesToDatabase()).isTrue();
        DatabaseMigration m = new DatabaseMigration();
        m.getMetadata().setName("audited");
        m.getMetadata().setNamespace("audit-ns");
        Instant at = Instant.now().truncatedTo(ChronoUnit.MILLIS);
        audit.record(m, new AuditEvent(at, "audit-ns", "DatabaseMigration", "audited", "uid-1", "approval", "contract",
                "alice", "approved", "sha256:abc", Map.of("schemaFingerprint", "sha256:def")));
        List<AuditEvent> history = audit.history("audit-ns", "DatabaseMigration", "audited");
        assertThat(history).singleElement().satisfies(e -> {
            assertThat(e.occurredAt()).isEqualTo(at);
            assertThat(e.actor()).isEqualTo("alice");
            assertThat(e.action()).isEqualTo("approval");
            assertThat(e.step()).isEqualTo("contract");
            assertThat(e.outcome()).isEqualTo("approved");
            assertThat(e.planDigest()).isEqualTo("sha256:abc");
            assertThat(e.details()).containsEntry("schemaFingerprint", "sha256:def");
        });
        try (Connection c = TestPostgres.get().superuser(OperatorHarness.AUDIT_DB);
                Statement st = c.createStatement();
                ResultSet rs = st.executeQuery("select count(*) from dba_operator.audit_event where name = 'audited' "
                        + "and details->>'schemaFingerprint' = 'sha256:def'")) {
            rs.next();
            assertThat(rs.getInt(1)).isEqualTo(1);
        }
    }
}
