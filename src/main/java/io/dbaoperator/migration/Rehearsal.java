package io.dbaoperator.migration;

import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;

import io.dbaoperator.api.migration.DatabaseMigrationSpec;
import io.dbaoperator.postgres.ConnectionSettings;
import io.dbaoperator.postgres.Databases;
import io.dbaoperator.postgres.SqlStates;

/**
 * The whole migration on staging before production: expand, backfill, then the rollback (it must undo them: the
 * second expand would fail on what it left), then expand, backfill and contract again, so staging ends where
 * production will. Runs with the production lock discipline and its own history ids, so an interrupted rehearsal
 * resumes where it stopped.
 */
final class Rehearsal {

    /** A staging backfill gets this long before the rehearsal is called failed. */
    static final Duration BACKFILL_BUDGET = Duration.ofMinutes(10);

    /**
     * @param expandMs, backfillMs, contractMs how long each step took in the second pass (the one production will
     *        repeat); null when the rehearsal failed before it
     */
    record Result(boolean passed, String message, long millis, Long expandMs, Long backfillMs, Long contractMs) {

        static Result failed(String message, long millis) {
            return new Result(false, message, millis, null, null, null);
        }
    }

    private static final java.util.regex.Pattern TAKEN = java.util.regex.Pattern.compile("taken ([0-9TZ:.+-]+)");

    /**
     * The staging database the rehearsal ran on: its size, and, when a staging refresh made it, which backup it
     * holds and how old that backup was at {@code now} (from the comment the refresh wrote on the database).
     */
    record StagingCopy(long bytes, String describe) {
    }

    static StagingCopy stagingCopy(Databases databases, ConnectionSettings staging, java.time.Instant now) {
        try (Connection c = databases.open(staging, "dba-operator/rehearsal");
                java.sql.ResultSet rs = c.createStatement().executeQuery("select pg_database_size(d.oid), "
                        + "shobj_description(d.oid, 'pg_database') from pg_database d "
                        + "where d.datname = current_database()")) {
            rs.next();
            return new StagingCopy(rs.getLong(1), describe(rs.getString(2), now));
        } catch (SQLException e) {
            return null; // the rehearsal's own connection says why, if the database does not answer
        }
    }

    static String describe(String comment, java.time.Instant now) {
        if (comment == null || !comment.startsWith(io.dbaoperator.contract.StagingCopies.COMMENT_PREFIX)) {
            return "not a staging refresh's copy (its data's age is unknown)";
        }
        String what = comment.substring(io.dbaoperator.contract.StagingCopies.COMMENT_PREFIX.length());
        java.util.regex.Matcher m = TAKEN.matcher(what);
        if (m.find()) {
            try {
                Duration age = Duration.between(java.time.Instant.parse(m.group(1)), now);
                return what + "; its data was " + age.toDays() + " d " + age.toHoursPart() + " h "
                        + age.toMinutesPart() + " min old";
            } catch (java.time.format.DateTimeParseException unreadable) {
                return what;
            }
        }
        return what;
    }

    private final ConnectionSettings staging;
    private final MigrationStore.RunKey id;
    private final MigrationPlan plan;
    private final Databases databases;
    private final DatabaseMigrationSpec spec;
    private final StatementRunner.Settings settings;
    private final Duration pause;

    Rehearsal(Databases databases, ConnectionSettings staging, MigrationStore.RunKey id, MigrationPlan plan,
            DatabaseMigrationSpec spec, StatementRunner.Settings settings, Duration pause) {
        this.databases = databases;
        this.staging = staging;
        this.id = id;
        this.plan = plan;
        this.spec = spec;
        this.settings = settings;
        this.pause = pause;
    }

    Result run() throws SQLException {
        long start = System.nanoTime();
        try (Connection c = databases.open(staging, "dba-operator/rehearsal/" + id.migrationId())) {
            if (!SqlStates.tryAdvisoryLock(c, SqlStates.LOCK_MIGRATIONS)) {
                return Result.failed("another migration holds the staging database's advisory lock; try again", 0);
            }
            MigrationStore.ensureSchema(c);
            StatementRunner runner = new StatementRunner(settings);
            // keyed by the run too: a migration created anew under an old name rehearses afresh
            MigrationStore.RunKey first = new MigrationStore.RunKey(id.migrationId() + "@rehearsal/1", id.uid(),
                    plan.digest());
            MigrationStore.RunKey second = new MigrationStore.RunKey(id.migrationId() + "@rehearsal/2", id.uid(),
                    plan.digest());
            String stage = "expand";
            long expand;
            long backfill;
            long contract;
            try {
                step(c, runner, first, MigrationPlan.EXPAND);
                stage = "backfill";
                backfill(c, first);
                stage = "rollback";
                step(c, runner, first, MigrationPlan.ROLLBACK);
                stage = "expand after rollback (the rollback must undo expand completely)";
                long t = System.nanoTime();
                step(c, runner, second, MigrationPlan.EXPAND);
                expand = millis(t);
                stage = "backfill after rollback";
                t = System.nanoTime();
                backfill(c, second);
                backfill = millis(t);
                stage = "contract";
                t = System.nanoTime();
                step(c, runner, second, MigrationPlan.CONTRACT);
                contract = millis(t);
            } catch (StepFailedException e) {
                return Result.failed("on staging, " + stage + ": " + e.getMessage(), millis(start));
            }
            int statements = plan.statements().size();
            return new Result(true, "on staging: expand, backfill, rollback, expand, backfill and contract ran ("
                    + statements + " statements) in " + millis(start) + " ms", millis(start), expand, backfill,
                    contract);
        }
    }

    private void step(Connection c, StatementRunner runner, MigrationStore.RunKey historyId, String step)
            throws SQLException, StepFailedException {
        for (MigrationPlan.Planned p : plan.step(step)) {
            runner.run(c, historyId, p, null);
        }
    }

    private void backfill(Connection c, MigrationStore.RunKey historyId) throws SQLException, StepFailedException {
        if (spec.backfill == null) {
            return;
        }
        MigrationPlan.Planned planned = plan.step(MigrationPlan.BACKFILL).get(0);
        Backfill b = new Backfill(spec.backfill, settings.lockTimeout(), settings.maxLockRetries(), pause,
                Duration.ofDays(365));
        Backfill.Progress p = b.slice(c, historyId, planned, BACKFILL_BUDGET, () -> false);
        if (!p.finished()) {
            throw new StepFailedException(planned.id(), "the staging backfill did not finish within "
                    + BACKFILL_BUDGET.toMinutes() + " minutes (" + p.rowsDone() + " rows)", "timeout", 0, false);
        }
    }

    private static long millis(long start) {
        return (System.nanoTime() - start) / 1_000_000;
    }
}
