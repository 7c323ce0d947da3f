package io.dbaoperator.backup;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;

import org.jboss.logging.Logger;

import io.dbaoperator.postgres.ConnectionSettings;
import io.dbaoperator.postgres.PostgresConnector;

/** Replication slots the operator created: a forgotten slot makes the server keep WAL until its disk fills. */
final class ReplicationSlots {

    private static final Logger LOG = Logger.getLogger(ReplicationSlots.class);

    private ReplicationSlots() {
    }

    /** What became of a slot we asked to drop. */
    enum Drop {
        DROPPED, ABSENT, ACTIVE, FAILED
    }

    /** Drops the slot unless something still streams from it. */
    static Drop drop(ConnectionSettings db, String slot) {
        try (Connection c = PostgresConnector.open(db);
                PreparedStatement ps = c.prepareStatement("select active from pg_replication_slots where slot_name = ?")) {
            ps.setString(1, slot);
            var rs = ps.executeQuery();
            if (!rs.next()) {
                return Drop.ABSENT;
            }
            if (rs.getBoolean(1)) {
                return Drop.ACTIVE;
            }
            return dropIfInactive(db, slot) ? Drop.DROPPED : Drop.ACTIVE;
        } catch (SQLException | RuntimeException e) {
            LOG.warnf("could not look at replication slot %s: %s", slot, e.getClass().getSimpleName());
            return Drop.FAILED;
        }
    }

    /** Whether the slot exists; false when the server cannot be asked (looked at again on a later reconcile). */
    static boolean exists(ConnectionSettings db, String slot) {
        try (Connection c = PostgresConnector.open(db);
                PreparedStatement ps = c.prepareStatement("select 1 from pg_replication_slots where slot_name = ?")) {
            ps.setString(1, slot);
            return ps.executeQuery().next();
        } catch (SQLException | RuntimeException e) {
            return false;
        }
    }

    /** Drops the slot if it exists and nothing streams from it; true when one was dropped. */
    static boolean dropIfInactive(ConnectionSettings db, String slot) {
        try (Connection c = PostgresConnector.open(db);
                PreparedStatement ps = c.prepareStatement("select pg_drop_replication_slot(slot_name) "
                        + "from pg_replication_slots where slot_name = ? and not active")) {
            ps.setString(1, slot);
            return ps.executeQuery().next();
        } catch (SQLException e) {
            LOG.warnf("could not drop replication slot %s (SQLSTATE %s); it keeps WAL on the server until dropped",
                    slot, e.getSQLState());
            return false;
        }
    }

    /** Where a WAL file ends, as an LSN in bytes: 000000010000000A000000FF with 16 MiB segments is A/100000000. */
    static long segmentEnd(String walFile, long segmentBytes) {
        long log = Long.parseLong(walFile.substring(8, 16), 16);
        long seg = Long.parseLong(walFile.substring(16, 24), 16);
        return log * 0x100000000L + (seg + 1) * segmentBytes;
    }

    /**
     * WAL the server wrote past the end of the last archived segment, in bytes (0 when none), or null when the
     * server cannot be asked: what a point-in-time recovery would lose now.
     */
    static Long unarchivedBytes(ConnectionSettings db, String lastArchivedSegment) {
        try (Connection c = PostgresConnector.open(db);
                var rs = c.createStatement().executeQuery("select "
                        + "pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint, "
                        + "setting::bigint from pg_settings where name = 'wal_segment_size'")) {
            rs.next();
            return Math.max(0, rs.getLong(1) - segmentEnd(lastArchivedSegment, rs.getLong(2)));
        } catch (SQLException | RuntimeException e) {
            LOG.debugf("could not read the WAL position: %s", e.getClass().getSimpleName());
            return null;
        }
    }
}
