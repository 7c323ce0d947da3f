package io.dbaoperator.backup;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Connection;
import java.sql.ResultSet;

import org.junit.jupiter.api.Test;

import io.dbaoperator.harness.RealParts;
import io.dbaoperator.harness.TestPostgres;

/** Where an archived WAL file ends, and how much WAL the server wrote past it: the RPO's evidence. */
@RealParts
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
        var db = new io.dbaoperator.postgres.ConnectionSettings(TestPostgres.get().host() + ":"
                + TestPostgres.get().port(), "postgres", TestPostgres.SUPERUSER, TestPostgres.SUPERUSER_PASSWORD,
                null, null);
        try (Connection c = TestPostgres.get().superuser("postgres")) {
            // other tests share this server and may write (or switch) WAL at any moment: bracket the reading
            long before = lsn(c);
            String current = walFile(c, "pg_current_wal_lsn()");
            String previous = walFile(c, "pg_current_wal_lsn() - 16777216");
            Long atRiskPastPrevious = ReplicationSlots.unarchivedBytes(db, previous);
            Long atRiskPastCurrent = ReplicationSlots.unarchivedBytes(db, current);
            long after = lsn(c);

            long previousEnd = ReplicationSlots.segmentEnd(previous, SEGMENT);
            long currentEnd = ReplicationSlots.segmentEnd(current, SEGMENT);
            // the segment being written has not been archived: what lies past the previous one is at risk
            assertThat(atRiskPastPrevious).isPositive().isBetween(before - previousEnd, after - previousEnd);
            // once the current segment is archived too, only WAL written since (in a later segment) is
            assertThat(atRiskPastCurrent).isBetween(0L, Math.max(0, after - currentEnd));
        }
    }

    private static long lsn(Connection c) throws Exception {
        try (ResultSet rs = c.createStatement().executeQuery(
                "select pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint")) {
            rs.next();
            return rs.getLong(1);
        }
    }

    private static String walFile(Connection c, String lsnExpression) throws Exception {
        try (ResultSet rs = c.createStatement().executeQuery("select pg_walfile_name(" + lsnExpression + ")")) {
            rs.next();
            return rs.getString(1);
        }
    }
}
