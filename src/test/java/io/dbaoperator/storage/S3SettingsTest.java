package io.dbaoperator.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

import io.dbaoperator.api.common.S3Storage;
import io.dbaoperator.api.common.SecretRef;

public class S3SettingsTest {

    /** A storage as a user writes it (also used where a spec needs one and nothing contacts it). */
    public static S3Storage storage() {
        S3Storage s = new S3Storage();
        s.bucket = "backups";
        s.prefix = "prod/pg";
        s.endpoint = "http://minio.storage:9000";
        s.pathStyle = true;
        s.credentials = new S3Storage.S3Credentials();
        s.credentials.secretRef = new SecretRef("backup-s3");
        return s;
    }

    @Test
    void validStorageResolves() {
        S3Location l = S3Settings.validate(storage(), "spec.storage");
        assertThat(l.url("shop/nightly/base/x")).isEqualTo("s3://backups/prod/pg/shop/nightly/base/x");
        assertThat(l.endpoint().getHost()).isEqualTo("minio.storage");
        assertThat(l.pathStyle()).isTrue();
    }

    @Test
    void invalidSettingsAreExplained() {
        S3Storage s = storage();
        s.bucket = "Bad_Bucket";
        assertThatThrownBy(() -> S3Settings.validate(s, "spec.storage")).hasMessageContaining("InvalidStorage")
                .hasMessageContaining("not a valid bucket name");
        S3Storage e = storage();
        e.endpoint = "ftp://x";
        assertThatThrownBy(() -> S3Settings.validate(e, "spec.storage")).hasMessageContaining("http:// or https://");
        S3Storage creds = storage();
        creds.endpoint = "https://key:secret@minio:9000";
        assertThatThrownBy(() -> S3Settings.validate(creds, "spec.storage"))
                .hasMessageContaining("must not carry credentials").hasMessageNotContaining("secret@");
        S3Storage p = storage();
        p.prefix = "/abs/";
        assertThatThrownBy(() -> S3Settings.validate(p, "spec.storage")).hasMessageContaining("prefix");
        S3Storage k = storage();
        k.kmsKeyId = "key";
        assertThatThrownBy(() -> S3Settings.validate(k, "spec.storage")).hasMessageContaining("aws:kms");
    }
}
