package io.dbaoperator.migration;

import java.util.Arrays;
import java.util.Locale;
import java.util.Optional;

/**
 * The lint rules, after squawk and strong_migrations. Each has a default severity: {@code error} stops the migration
 * in Failed before anything runs; {@code spec.lint.errors} raises a rule to error, {@code spec.lint.allow} lowers it
 * to info, except for the rules that keep the approval gate closed ({@link #overridable()} false).
 */
public enum LintRule {
    REQUIRE_CONCURRENT_INDEX_CREATION("require-concurrent-index-creation", Severity.error,
            "CREATE INDEX without CONCURRENTLY blocks writes to the table for the whole build; use CREATE INDEX "
                    + "CONCURRENTLY (the operator runs it outside a transaction)"),
    REQUIRE_CONCURRENT_INDEX_DELETION("require-concurrent-index-deletion", Severity.error,
            "DROP INDEX without CONCURRENTLY takes ACCESS EXCLUSIVE on the table; use DROP INDEX CONCURRENTLY"),
    ADDING_REQUIRED_FIELD("adding-required-field", Severity.error,
            "ADD COLUMN ... NOT NULL without a DEFAULT fails on a table with rows and breaks inserts of the running "
                    + "version; add the column nullable (or with a default), backfill it, then add a NOT VALID CHECK "
                    + "and validate it"),
    ADDING_FIELD_WITH_VOLATILE_DEFAULT("adding-field-with-volatile-default", Severity.error,
            "a volatile default (random(), gen_random_uuid(), now()-like clock functions, serial, identity or a stored "
                    + "generated column) rewrites the whole table under ACCESS EXCLUSIVE; add the column without it and "
                    + "backfill"),
    CHANGING_COLUMN_TYPE("changing-column-type", Severity.error,
            "this type change rewrites the table and its indexes under ACCESS EXCLUSIVE; add a new column, backfill "
                    + "it, and switch over instead"),
    CONSTRAINT_MISSING_NOT_VALID("constraint-missing-not-valid", Severity.error,
            "adding a CHECK or FOREIGN KEY constraint scans the table while holding its lock; add it NOT VALID, then "
                    + "VALIDATE CONSTRAINT in a separate statement (SHARE UPDATE EXCLUSIVE only)"),
    DISALLOWED_UNIQUE_CONSTRAINT("disallowed-unique-constraint", Severity.error,
            "adding a UNIQUE or PRIMARY KEY constraint builds its index under ACCESS EXCLUSIVE; first CREATE UNIQUE "
                    + "INDEX CONCURRENTLY, then ADD CONSTRAINT ... USING INDEX"),
    RENAMING_COLUMN("renaming-column", Severity.error,
            "renaming a column the application uses breaks the running version; add a new column, backfill, cut over, "
                    + "and drop the old one in contract"),
    RENAMING_TABLE("renaming-table", Severity.error,
            "renaming a table the application uses breaks the running version; create the new table (or a view) and "
                    + "cut over"),
    BAN_DROP_COLUMN("ban-drop-column", Severity.error,
            "dropping a column before cutover breaks the version still running; drop it in contract, after cutover"),
    BAN_DROP_TABLE("ban-drop-table", Severity.error,
            "dropping a table before cutover breaks the version still running; drop it in contract, after cutover"),
    BAN_TRUNCATE("ban-truncate", Severity.error,
            "TRUNCATE removes every row under ACCESS EXCLUSIVE and cannot be rolled back by the rollback SQL"),
    REQUIRE_LOCK_TIMEOUT("require-lock-timeout", Severity.error,
            "the SQL disables lock_timeout, so a long transaction would queue every reader behind this migration; "
                    + "leave lock_timeout to the operator (spec.lockTimeout)"),
    SETTING_NOT_NULLABLE_FIELD("setting-not-nullable-field", Severity.warning,
            "SET NOT NULL scans the whole table under ACCESS EXCLUSIVE unless a validated CHECK (column IS NOT NULL) "
                    + "exists; add that CHECK NOT VALID and validate it first"),
    ADDING_FOREIGN_KEY("adding-foreign-key-constraint", Severity.warning,
            "a foreign key locks the referenced table too (SHARE ROW EXCLUSIVE)"),
    UNBATCHED_DML("unbatched-dml", Severity.warning,
            "an UPDATE or DELETE on an existing table in one statement holds row locks on every row it touches and "
                    + "bloats the table at once; use spec.backfill, which works in short key-ordered batches"),
    TRANSACTION_CONTROL("transaction-control", Severity.error,
            "transaction or session control (BEGIN/COMMIT/ROLLBACK, PREPARE TRANSACTION, SET ROLE, cursors, LISTEN...) "
                    + "in migration SQL: the operator runs each statement in its own transaction with lock_timeout; "
                    + "remove them"),
    UNRECOGNISED_STATEMENT("unrecognised-statement", Severity.warning,
            "the planner does not recognise this statement (or this form of it), so it is treated as destructive: "
                    + "it may only run in contract, after a person approves it; it is assumed to take ACCESS "
                    + "EXCLUSIVE"),
    DESTRUCTIVE_IN_EXPAND("destructive-in-expand", Severity.error, false,
            "expand only adds (the version still running must keep working, and nothing in it waits for a person): "
                    + "move this statement to contract, where it runs after cutover and only once a person approves "
                    + "its exact text"),
    BACKFILL_OVERWRITES_DATA("backfill-overwrites-data", Severity.error, false,
            "the backfill sets a column that holds data from before this migration, so its old values are lost; a "
                    + "backfill fills what expand adds. To overwrite existing values knowingly set approval.policy: "
                    + "Always, so that a person approves the plan, naming this backfill, before anything runs"),
    ROLLBACK_DESTROYS_DATA("rollback-destroys-data", Severity.warning,
            "this rollback statement destroys data, and a rollback runs without asking (on a failure, or when a "
                    + "person requests it): it may drop only what expand adds"),
    ROLLBACK_DROPS_EXISTING("rollback-drops-existing", Severity.error, false,
            "the rollback drops a table or column that existed before this migration (expand does not create it): "
                    + "running it would destroy data the migration never added"),
    BAN_VACUUM_FULL("ban-vacuum-full", Severity.error,
            "VACUUM FULL takes ACCESS EXCLUSIVE and rewrites the table: reads and writes stop until it ends; plain "
                    + "VACUUM reclaims dead rows online, pg_repack returns the space online"),
    BAN_CLUSTER("ban-cluster", Severity.error,
            "CLUSTER takes ACCESS EXCLUSIVE and rewrites the table: reads and writes stop until it ends; pg_repack "
                    + "--order-by reorders a table online"),
    REQUIRE_CONCURRENT_REINDEX("require-concurrent-reindex", Severity.error,
            "REINDEX without CONCURRENTLY blocks writes to the table (SHARE) and every read that uses the index "
                    + "(ACCESS EXCLUSIVE on it); use REINDEX ... CONCURRENTLY"),
    BAN_LOCK_TABLE("ban-lock-table", Severity.error,
            "LOCK TABLE in a mode of SHARE or stronger (ACCESS EXCLUSIVE when no mode is named) stops writes, or "
                    + "reads too, until the transaction ends, and skips the operator's lock_timeout discipline; the "
                    + "statements take the locks they need themselves"),
    BAN_SET_TABLESPACE("ban-set-tablespace", Severity.error,
            "ALTER ... SET TABLESPACE (or SET LOGGED, SET ACCESS METHOD) copies the whole table under ACCESS "
                    + "EXCLUSIVE: reads and writes stop until it ends; pg_repack --tablespace moves a table online"),
    REQUIRE_CONCURRENT_REFRESH("require-concurrent-refresh", Severity.error,
            "REFRESH MATERIALIZED VIEW without CONCURRENTLY takes ACCESS EXCLUSIVE: reads of the view stop until it "
                    + "ends; use REFRESH MATERIALIZED VIEW CONCURRENTLY (it needs a unique index on the view)");

    /** Finding severities, weakest first. */
    public enum Severity {
        info, warning, error
    }

    private final String id;
    private final Severity severity;
    private final String advice;
    private final boolean overridable;

    LintRule(String id, Severity severity, String advice) {
        this(id, severity, true, advice);
    }

    LintRule(String id, Severity severity, boolean overridable, String advice) {
        this.id = id;
        this.severity = severity;
        this.overridable = overridable;
        this.advice = advice;
    }

    /**
     * Whether spec.lint may change its severity. The rules that keep the approval gate closed may not: a spec that
     * lowers one is refused, since the person writing the spec is not the person approving what it destroys.
     */
    public boolean overridable() {
        return overridable;
    }

    public String id() {
        return id;
    }

    public Severity defaultSeverity() {
        return severity;
    }

    public String advice() {
        return advice;
    }

    /**
     * The advice as it reads for a statement in {@code step}: a drop in contract is where it belongs (it waits for a
     * person), so it is not told to move to contract; one in rollback undoes expand.
     */
    public String adviceIn(String step) {
        boolean drop = this == BAN_DROP_COLUMN || this == BAN_DROP_TABLE;
        String what = this == BAN_DROP_COLUMN ? "column" : "table";
        if (drop && MigrationPlan.CONTRACT.equals(step)) {
            return "dropping a " + what + " loses its data: in contract it runs after cutover, and only once a person "
                    + "approves the contract's exact statements";
        }
        if (drop && MigrationPlan.ROLLBACK.equals(step)) {
            return "dropping a " + what + " in rollback undoes what expand added; it loses what was written to it since";
        }
        if (this == UNBATCHED_DML && MigrationPlan.CONTRACT.equals(step)) {
            return "an UPDATE or DELETE of an existing table in one statement holds row locks on every row it touches "
                    + "and bloats the table at once; in contract it runs after a person approves it, in one "
                    + "transaction: keep it small, or use a DisposalJob for batched deletion";
        }
        return advice;
    }

    public static Optional<LintRule> byId(String id) {
        return Arrays.stream(values()).filter(r -> r.id.equals(id.toLowerCase(Locale.ROOT).trim())).findFirst();
    }
}
