package io.dbaoperator.postgres;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Connection;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;

import io.dbaoperator.harness.RealParts;
import io.dbaoperator.harness.TestPostgres;

/**
 * What the pacer reads inside a batch's transaction, on the real PostgreSQL: a session waiting on a row lock the
 * batch holds is counted as blocked by it, and as active; once the batch commits it is neither.
 */
@RealParts
class BatchPacerLoadTest {

    @Test
    void aSessionWaitingOnTheBatchsRowLockIsCountedUntilTheBatchCommits() throws Exception {
        TestPostgres pg = TestPostgres.get();
        pg.createDatabase("pacer_load", "pacer", "pacer-pw");
        pg.exec("pacer_load", "drop table if exists accounts", "create table accounts (id int primary key, n int)",
                "insert into accounts values (1, 0), (2, 0)");
        try (Connection batch = pg.superuser("pacer_load"); Connection app = pg.superuser("pacer_load")) {
            assertThat(BatchPacer.observe(batch).blockedByBatch()).isZero();
            batch.setAutoCommit(false);
            batch.createStatement().executeUpdate("update accounts set n = n + 1 where id = 1");
            CompletableFuture<Integer> waiting = CompletableFuture.supplyAsync(() -> {
                try {
                    return app.createStatement().executeUpdate("update accounts set n = n + 10 where id = 1");
                } catch (java.sql.SQLException e) {
                    throw new IllegalStateException(e);
                }
            });
            Awaitility.await().atMost(10, TimeUnit.SECONDS).until(() -> BatchPacer.observe(batch).blockedByBatch() == 1);
            BatchPacer.Load load = BatchPacer.observe(batch);
            assertThat(load.activeSessions()).as("the waiting UPDATE is an active session").isGreaterThanOrEqualTo(1);
            batch.commit();
            assertThat(waiting.get(10, TimeUnit.SECONDS)).isEqualTo(1);
            batch.setAutoCommit(true);
            assertThat(BatchPacer.observe(batch).blockedByBatch()).isZero();
        }
        pg.exec("pacer_load", "drop table accounts");
    }
}
