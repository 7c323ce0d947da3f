package io.dbaoperator.backup.catalog;

import java.util.ArrayList;
import java.util.List;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;

/**
 * restores/&lt;restoreId&gt;.json: what a restore Job (a BackupRestore's, or a policy's scheduled restore test)
 * writes at each stage, and the only way the operator learns how the restore went (a Job never writes the custom
 * resource). It holds no secret: the restored instance's password reaches the Job as a secretKeyRef.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonIgnoreProperties(ignoreUnknown = true)
public class RestoreRecord {

    /** Where a restore is. */
    public enum State {
        /** The base backup streams from S3 into the data directory. */
        downloading,
        /** pg_restore writes a logical backup's dump into its database. */
        restoring,
        /** PostgreSQL replays WAL towards the target. */
        recovering,
        /** pg_amcheck and the checks run on the promoted instance. */
        verifying,
        /** Restored, promoted, verified, shut down cleanly. */
        succeeded,
        /** Something failed; {@link RestoreRecord#error} says what. */
        failed
    }

    public int formatVersion = 1;
    public String restoreId;
    public String backupId;
    public State state;
    public String error;
    public String errorReason;
    public String startedAt;
    public String completedAt;

    /** The target as asked: "time ...", "lsn ..." or "end of backup"; a logical restore's: "database ...". */
    public String target;
    /** "logical" for a pg_restore of a dump; absent for a physical restore. */
    public String method;
    /** A logical restore: the database it wrote (the target, or the temporary one it replaces the target with). */
    public String database;
    /** A logical restore: the tables it restored (schema.table; at most 500 listed), read back from the database. */
    public List<String> tables;
    public Integer tableCount;
    /** A logical restore: whether a database of the target's name existed and was replaced by the restored one. */
    public Boolean replacedExisting;
    /** Something a person should do after a restore that succeeded (e.g. a replaced database left to drop). */
    public String warning;
    public Long bytesTotal;
    public Long bytesDownloaded;
    public Integer walSegmentsFetched;

    /** Time of the last transaction replayed (null when recovery replayed none, e.g. to the end of the backup). */
    public String recoveredTime;
    public String recoveredLsn;
    public Integer timeline;
    /** The restored cluster's bootstrap superuser, the user of the instance's Secret. */
    public String superuser;

    public List<Check> checks = new ArrayList<>();
    /** What the restore does now when its state alone does not say it (masking); absent otherwise. */
    public String progressNote;
    /** A masked restore's evidence; absent when nothing was masked. */
    public Masking masking;
    public Timings timings = new Timings();

    /** One check's outcome; pg_amcheck is the check named "pg_amcheck". */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    @JsonIgnoreProperties(ignoreUnknown = true)
    /** What a masked restore masked, found and checked: counts and names, never a value. */
    public static class Masking {
        /** table -> column -> strategy. */
        public java.util.Map<String, java.util.Map<String, String>> rules = new java.util.LinkedHashMap<>();
        public List<MaskedTable> tables = new ArrayList<>();
        /** Every column the discovery found on the masked copy: "schema.table.column (Kind): evidence". */
        public List<String> findings = new ArrayList<>();
        /** Of those, the ones no rule masks. */
        public List<String> uncovered = new ArrayList<>();
        public String unmaskedColumns;
        /** Sampled original values checked after masking, and how many were still there (0, or the restore fails). */
        public long originalsChecked;
        public long originalsFound;
        /** A physical restore's copy: the databases dropped because no rule masks them. */
        public List<String> droppedDatabases = new ArrayList<>();
    }

    /** One masked table. */
    public static class MaskedTable {
        public String table;
        public long rows;
        public double seconds;
        public long bytesBefore;
        public long bytesAfter;
    }

    public static class Check {
        public String check;
        public boolean passed;
        public String message;

        public Check() {
        }

        public Check(String check, boolean passed, String message) {
            this.check = check;
            this.passed = passed;
            this.message = message;
        }
    }

    /** Seconds spent in each stage. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    @JsonIgnoreProperties(ignoreUnknown = true)
    public static class Timings {
        public Double downloadSeconds;
        public Double recoverySeconds;
        public Double verifySeconds;
        public Double totalSeconds;
    }

    /** Where the restore is, in one line for status.progress. */
    public String progress() {
        RestoreRecord r = this;
        switch (r.state) {
            case downloading:
                return "downloading backup " + r.backupId + ": " + (r.bytesTotal == null || r.bytesTotal == 0 ? ""
                        : (100 * r.bytesDownloaded / r.bytesTotal) + "%, ") + r.bytesDownloaded + " of "
                        + r.bytesTotal + " bytes";
            case restoring:
                if (r.progressNote != null) {
                    return r.progressNote;
                }
                return "pg_restore into " + r.database + (r.bytesTotal == null ? "" : " (" + r.bytesTotal
                        + " bytes of dump)");
            case recovering:
                return "replaying WAL towards " + r.target + (r.walSegmentsFetched == null ? ""
                        : ": " + r.walSegmentsFetched + " archived WAL file(s) fetched");
            case verifying:
                return "logical".equals(r.method) ? "restored " + r.tableCount + " table(s); running the checks"
                        : "recovered to " + r.recoveredLsn + "; running pg_amcheck and the checks";
            case succeeded:
                return "restored and verified in " + r.timings.totalSeconds + " s";
            default:
                return "failed: " + r.error;
        }
    }
}
