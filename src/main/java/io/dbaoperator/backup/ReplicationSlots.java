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
}
