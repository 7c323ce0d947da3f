package io.dbaoperator.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Optional;

import org.junit.jupiter.api.Test;

import io.dbaoperator.api.common.S3Storage;
import io.dbaoperator.api.common.SecretRef;
import io.dbaoperator.problem.ProblemException;

class StorageDefaultsTest {

    static StorageDefaults defaults(String bucket, String secret) {
        return new StorageDefaults(Optional.ofNullable(bucket), Optional.of("pg"), Optional.of("https://minio:9000"),
                "eu-west-3", true, Optional.ofNullable(secret), Optional.empty());
    }

    @Test
    void aResourceThatNamesAStorageUsesExactlyThatOne() {
        S3Storage own = new S3Storage();
        own.bucket = "team-bucket";
        own.credentials = new S3Storage.S3Credentials();
        own.credentials.secretRef = new SecretRef("team-s3");
        S3Storage used = defaults("fleet-bucket", "fleet-s3").resolve(own, "spec.storage");
        assertThat(used).isSameAs(own);
        assertThat(used.endpoint).as("never merged field by field").isNull();
    }

    @Test
    void aResourceWithoutOneGetsTheDefaultAsACopy() {
        StorageDefaults d = defaults("fleet-bucket", "fleet-s3");
        S3Storage used = d.resolve(null, "spec.storage");
        assertThat(used.bucket).isEqualTo("fleet-bucket");
        assertThat(used.prefix).isEqualTo("pg");
        assertThat(used.endpoint).isEqualTo("https://minio:9000");
        assertThat(used.region).isEqualTo("eu-west-3");
        assertThat(used.pathStyle).isTrue();
        assertThat(used.credentials.secretRef.name).isEqualTo("fleet-s3");
        used.bucket = "changed";
        assertThat(d.resolve(null, "spec.storage").bucket).as("each resource gets its own copy")
                .isEqualTo("fleet-bucket");
    }

    @Test
    void withoutADefaultAMissingStorageIsAClearRefusal() {
        assertThat(defaults(null, null).configured()).isFalse();
        assertThatThrownBy(() -> defaults(null, null).resolve(null, "spec.report.storage"))
                .isInstanceOf(ProblemException.class)
                .hasMessageContaining("spec.report.storage is not set and the operator has no default storage")
                .hasMessageContaining("storage.default.bucket");
        assertThatThrownBy(() -> defaults("fleet-bucket", null).resolve(null, "spec.storage"))
                .hasMessageContaining("names no credentials Secret");
    }
}
