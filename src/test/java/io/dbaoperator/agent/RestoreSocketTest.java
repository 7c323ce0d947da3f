package io.dbaoperator.agent;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;

import io.dbaoperator.harness.TempDirs;

/** The restore's private server socket fits the 107 bytes a Unix socket path may have, however deep TMPDIR is. */
class RestoreSocketTest {

    @Test
    void aDeepScratchDirectoryGetsAShortSocketDirectoryOfItsOwn() throws Exception {
        Path base = Files.createTempDirectory("dba-socket-test-");
        try {
            Path deep = Files.createDirectories(base.resolve("pods").resolve("2554e892-6d59-4b39-a39c-6c49d36b41ae")
                    .resolve("volumes").resolve("scratch").resolve("dba-restore-17196776312509715125"));
            Path socket = RestoreCommand.socketDirectory(deep);
            try {
                assertThat(Files.isDirectory(socket)).isTrue();
                assertThat(socket.startsWith(deep)).isFalse();
                assertThat((socket + "/.s.PGSQL.5432.lock").length()).isLessThanOrEqualTo(107);
            } finally {
                TempDirs.delete(socket);
            }
            Path shallow = Files.createDirectories(base.resolve("s"));
            assertThat(RestoreCommand.socketDirectory(shallow)).isEqualTo(shallow.resolve("socket")).isDirectory();
        } finally {
            TempDirs.delete(base);
        }
    }
}
