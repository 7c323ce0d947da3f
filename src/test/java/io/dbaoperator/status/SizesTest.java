package io.dbaoperator.status;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class SizesTest {

    @Test
    void bytesReadAsAPersonReadsThem() {
        assertThat(Sizes.human(null)).isNull();
        assertThat(Sizes.human(0L)).isEqualTo("0 B");
        assertThat(Sizes.human(1023L)).isEqualTo("1023 B");
        assertThat(Sizes.human(1536L)).isEqualTo("1.5 KiB");
        assertThat(Sizes.human(25L * 1024 * 1024 + 300 * 1024)).isEqualTo("25.3 MiB");
        assertThat(Sizes.human(1024L * 1024 - 1)).as("never 1024.0 KiB").isEqualTo("1.0 MiB");
        assertThat(Sizes.human(3L << 40)).isEqualTo("3.0 TiB");
        assertThat(Sizes.human(Long.MAX_VALUE)).isEqualTo("8.0 EiB");
    }
}
