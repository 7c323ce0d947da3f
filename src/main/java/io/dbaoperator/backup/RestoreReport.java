package io.dbaoperator.backup;

import java.util.LinkedHashMap;
import java.util.Map;

import io.dbaoperator.api.backup.BackupRestoreStatus;
import io.dbaoperator.backup.catalog.RestoreRecord;

/** What a BackupRestore reports once restored: the message a person reads, and the audit record. */
final class RestoreReport {

    private RestoreReport() {
    }

    /** What was restored and checked, from status alone (so a restart says the same). */
    static String summary(BackupRestoreStatus st) {
        String backup = st.plan == null ? "?" : st.plan.backupId;
        String lsn = st.recovered == null ? "?" : st.recovered.lsn;
        String time = st.recovered == null || st.recovered.time == null ? ""
                : " (last transaction " + st.recovered.time + ")";
        int checks = st.checkResults == null ? 0 : st.checkResults.size();
        return "restored backup " + backup + " to " + lsn + time + "; " + checks + " check(s) passed";
    }

    /** The audit record of a restore that succeeded: what was restored, to where, and under which approval. */
    static Map<String, Object> auditDetails(BackupRestoreStatus st, RestoreRecord record) {
        Map<String, Object> d = new LinkedHashMap<>();
        d.put("backupId", record.backupId);
        d.put("target", record.target);
        d.put("recoveredLsn", record.recoveredLsn);
        if (record.recoveredTime != null) {
            d.put("recoveredTime", record.recoveredTime);
        }
        d.put("restoreSeconds", st.recovered.restoreSeconds);
        d.put("instance", st.instance.service);
        if (st.restoredUnder != null) {
            d.put("approval", st.restoredUnder);
        }
        return d;
    }
}
