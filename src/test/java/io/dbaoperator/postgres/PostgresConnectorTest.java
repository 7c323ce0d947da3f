package io.dbaoperator.postgres;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import io.dbaoperator.harness.RealParts;
import io.dbaoperator.harness.TestPostgres;
import io.dbaoperator.problem.ProblemException;
import io.dbaoperator.problem.Reason;

/** Connections from Secret-shaped settings against a real PostgreSQL, and the reasons failures map to. */
@RealParts
class PostgresConnectorTest {

    static final String PASSWORD = "Conn-Test-Pw-5521";

    @BeforeAll
    static void setUp() {
        TestPostgres.get().createDatabase("conn_test", "conn_owner", PASSWORD);
    }

    static ConnectionSettings settings(String host, int port, String db, String password) {
        return new ConnectionSettings(host + ":" + port, db, "conn_owner", password, null, null);
    }

    static Reason reasonOf(ConnectionSettings s) {
        try {
            PostgresConnector.probe(s);
            return null;
        } catch (ProblemException e) {
            assertThat(e.getMessage()).doesNotContain(PASSWORD);
            return e.problem().reason();
        }
    }

    @Test
    void connectsWithTheApplicationName() throws Exception {
        TestPostgres pg = TestPostgres.get();
        ConnectionSettings s = settings(pg.host(), pg.port(), "conn_test", PASSWORD);
        assertThat(PostgresConnector.probe(s)).startsWith("15.");
        try (Connection c = PostgresConnector.open(s); Statement st = c.createStatement();
                ResultSet rs = st.executeQuery("select current_setting('application_name'), current_user")) {
            rs.next();
            assertThat(rs.getString(1)).isEqualTo("dba-operator");
            assertThat(rs.getString(2)).isEqualTo("conn_owner");
        }
    }

    @Test
    void failuresMapToActionableReasons() {
        TestPostgres pg = TestPostgres.get();
        assertThat(reasonOf(settings(pg.host(), pg.port(), "conn_test", "x" + PASSWORD)))
                .isEqualTo(Reason.AuthenticationFailed);
        assertThat(reasonOf(settings(pg.host(), pg.port(), "no_such_db", PASSWORD))).isEqualTo(Reason.DatabaseNotFound);
        assertThat(reasonOf(settings(pg.host(), 1, "conn_test", PASSWORD))).isEqualTo(Reason.DatabaseUnreachable);
        assertThat(reasonOf(settings("no-such-host.invalid", 5432, "conn_test", PASSWORD)))
                .isEqualTo(Reason.DatabaseUnreachable);
    }

    @Test
    void sslmodeRequireAgainstAServerWithoutTlsIsRefusedClearly() {
        TestPostgres pg = TestPostgres.get();
        ConnectionSettings s = settings(pg.host(), pg.port(), "conn_test", PASSWORD).withSslMode("require");
        assertThatThrownBy(() -> PostgresConnector.probe(s)).isInstanceOf(ProblemException.class)
                .hasMessageContaining("SSL").hasMessageNotContaining(PASSWORD);
    }
}
