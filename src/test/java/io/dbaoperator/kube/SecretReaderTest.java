package io.dbaoperator.kube;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import io.dbaoperator.fakes.FakeApiServer;
import io.dbaoperator.problem.ProblemException;
import io.fabric8.kubernetes.api.model.SecretBuilder;

class SecretReaderTest {

    private final FakeApiServer api = new FakeApiServer();

    @AfterEach
    void close() {
        api.close();
    }

    private void put(String name, String password) {
        api.client().secrets().inNamespace("ns").resource(new SecretBuilder().withNewMetadata().withName(name)
                .withNamespace("ns").endMetadata().withStringData(Map.of("password", password)).build())
                .createOr(r -> r.update());
    }

    @Test
    void aSecretReadIsUsedAgainWithinItsTimeAndReadAnewAfter() throws Exception {
        SecretReader secrets = new SecretReader(api.client(), "300ms");
        put("db", "first");
        assertThat(secrets.read("ns", "db", "spec.database").get("password")).isEqualTo("first");
        put("db", "rotated");
        assertThat(secrets.read("ns", "db", "spec.database").get("password")).as("within the time: the read before")
                .isEqualTo("first");
        Thread.sleep(350);
        assertThat(secrets.read("ns", "db", "spec.database").get("password")).isEqualTo("rotated");
    }

    @Test
    void aMissingSecretIsNotRememberedAndZeroReadsEveryTime() {
        SecretReader secrets = new SecretReader(api.client(), "1h");
        assertThatThrownBy(() -> secrets.read("ns", "late", "spec.database")).isInstanceOf(ProblemException.class)
                .hasMessageContaining("Secret late (spec.database) does not exist");
        put("late", "now-here");
        assertThat(secrets.read("ns", "late", "spec.database").get("password")).isEqualTo("now-here");

        SecretReader uncached = new SecretReader(api.client(), "0s");
        put("db", "first");
        assertThat(uncached.read("ns", "db", "x").get("password")).isEqualTo("first");
        put("db", "rotated");
        assertThat(uncached.read("ns", "db", "x").get("password")).isEqualTo("rotated");
    }
}
