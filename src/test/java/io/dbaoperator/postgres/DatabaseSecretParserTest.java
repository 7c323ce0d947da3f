package io.dbaoperator.postgres;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;

import org.junit.jupiter.api.Test;

import io.dbaoperator.problem.ProblemException;


class DatabaseSecretParserTest {

    @Test
    void readsTheKeysCloudNativePgWrites() {
        var s = DatabaseSecretParser.parse("app-db", Map.of("host", "app-rw", "port", "5433", "dbname", "app",
                "user", "app", "password", "s3cr3t", "username", "app"));
        assertThat(s.jdbcUrl()).isEqualTo("jdbc:postgresql://app-rw:5433/app");
        assertThat(s.user()).isEqualTo("app");
        assertThat(s.password()).isEqualTo("s3cr3t");
        assertThat(s.properties("x", 5).getProperty("password")).isEqualTo("s3cr3t");
        assertThat(s.toString()).doesNotContain("s3cr3t");
    }

    @Test
    void portDefaultsTo5432() {
        var s = DatabaseSecretParser.parse("db", Map.of("host", "h", "dbname", "d", "user", "u", "password", "p"));
        assertThat(s.hosts()).isEqualTo("h:5432");
    }

    @Test
    void readsAUriWithEncodedPasswordAndSslmode() {
        var s = DatabaseSecretParser.parse("db", Map.of("uri",
                "postgresql://app:p%40ss%3Aw0rd@app-rw.shop.svc:5432/app?sslmode=verify-full"));
        assertThat(s.hosts()).isEqualTo("app-rw.shop.svc:5432");
        assertThat(s.dbname()).isEqualTo("app");
        assertThat(s.user()).isEqualTo("app");
        assertThat(s.password()).isEqualTo("p@ss:w0rd");
        assertThat(s.sslMode()).isEqualTo("verify-full");
        assertThat(s.jdbcUrl()).doesNotContain("p@ss");
    }

    @Test
    void sslmodeKeyAndRefOverride() {
        var s = DatabaseSecretParser.parse("db", Map.of("host", "h", "dbname", "d", "user", "u", "password", "p",
                "sslmode", "require"));
        assertThat(s.sslMode()).isEqualTo("require");
        assertThat(s.withSslMode("verify-full").sslMode()).isEqualTo("verify-full");
        assertThat(s.withSslMode(null).sslMode()).isEqualTo("require");
    }

    @Test
    void missingKeysAreNamedNeverValues() {
        assertThatThrownBy(() -> DatabaseSecretParser.parse("app-db", Map.of("host", "h", "password", "hunter2")))
                .isInstanceOf(ProblemException.class)
                .hasMessageContaining("SecretKeyMissing")
                .hasMessageContaining("dbname, user")
                .hasMessageNotContaining("hunter2");
    }

    @Test
    void malformedUriIsRefusedWithoutEchoingIt() {
        assertThatThrownBy(() -> DatabaseSecretParser.parse("db", Map.of("uri", "mysql://u:hunter2@h/d")))
                .isInstanceOf(ProblemException.class)
                .hasMessageContaining("SecretInvalid")
                .hasMessageNotContaining("hunter2");
    }

    @Test
    void badSslmodeAndCertificateAreRefused() {
        assertThatThrownBy(() -> DatabaseSecretParser.parse("db", Map.of("host", "h", "dbname", "d", "user", "u",
                "password", "p", "sslmode", "sometimes"))).hasMessageContaining("sslmode");
        assertThatThrownBy(() -> DatabaseSecretParser.parse("db", Map.of("host", "h", "dbname", "d", "user", "u",
                "password", "p", "sslrootcert", "not a cert"))).hasMessageContaining("PEM");
    }
}
