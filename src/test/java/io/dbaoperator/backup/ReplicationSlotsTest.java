package io.dbaoperator.backup;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Connection;
import java.sql.ResultSet;

import org.junit.jupiter.api.Test;

import io.dbaoperator.harness.TestPostgres;

/** Where an archived WAL file ends, and how much WAL the server wrote past it: the RPO's evidence. */
class ReplicationSlotsTest {

    static final long SEGMENT = 16L * 1024 * 1024;

    @Test
    void aWalFileEndsWhereTheNextBegins() {
        assertThat(ReplicationSlots.segmentEnd("000000010000000000000001", SEGMENT)).isEqualTo(2 * SEGMENT);
        // the last of a log id's 256 segments ends where the next log id begins
        assertThat(ReplicationSlots.segmentEnd("0000000100000003000000FF", SEGMENT)).isEqualTo(4L << 32);
        assertThat(ReplicationSlots.segmentEnd("00000002000000030000000A", SEGMENT))
                .isEqualTo((3L << 32) + 11 * SEGMENT);
    }

    @Test
    void walWrittenPastTheLastArchivedSegmentIsCountedOnTheRealServer() throws Exception {
        String current;
        try (Connection c = TestPostgres.get().superuser("postgres");
                ResultSet rs = c.createStatement().executeQuery("select pg_walfile_name(pg_current_wal_lsn()), "
                        + "pg_walfile_name(pg_current_wal_lsn() - 16777216)")) {
            rs.next();
            current = rs.getString(1);
            String previous = rs.getString(2);
            var db = new io.dbaoperator.postgres.ConnectionSettings(TestPostgres.get().host() + ":"
                    + TestPostgres.get().port(), "postgres", TestPostgres.SUPERUSER, TestPostgres.SUPERUSER_PASSWORD,
                    null, null);
            // the segment being written has not been archived: what lies past the previous one is at risk
            assertThat(ReplicationSlots.unarchivedBytes(db, previous)).isPositive().isLessThanOrEqualTo(SEGMENT);
            // once the current segment is archived too, nothing is
            assertThat(ReplicationSlots.unarchivedBytes(db, current)).isZero();
        }
    }
}
