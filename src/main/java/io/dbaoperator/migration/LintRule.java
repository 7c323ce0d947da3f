package io.dbaoperator.migration;

import java.util.Arrays;
import java.util.Locale;
import java.util.Optional;

/**
 * The lint rules, after squawk and strong_migrations. Each has a default severity: {@code error} stops the migration
 * in Failed before anything runs; {@code spec.lint.errors} raises a rule to error, {@code spec.lint.allow} lowers it
 * to info.
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
            "BEGIN/COMMIT/ROLLBACK in migration SQL: the operator runs each statement in its own transaction with "
                    + "lock_timeout; remove them"),
    UNRECOGNISED_STATEMENT("unrecognised-statement", Severity.info,
            "the planner does not model this statement; it is assumed to take ACCESS EXCLUSIVE");

    /** Finding severities, weakest first. */
    public enum Severity {
        info, warning, error
    }

    private final String id;
    private final Severity severity;
    private final String advice;

    LintRule(String id, Severity severity, String advice) {
        this.id = id;
        this.severity = severity;
        this.advice = advice;
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

    public static Optional<LintRule> byId(String id) {
        return Arrays.stream(values()).filter(r -> r.id.equals(id.toLowerCase(Locale.ROOT).trim())).findFirst();
    }
}
