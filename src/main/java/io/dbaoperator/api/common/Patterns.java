package io.dbaoperator.api.common;

/** Schema patterns shared by several kinds. */
public final class Patterns {

    /** A duration such as 500ms, 30s, 5m, 2h, 7d, or a sum such as 1h30m. */
    public static final String DURATION = "^([0-9]+(ms|s|m|h|d))+$";

    /** A size in bytes, with a binary suffix: 512Mi, 2Gi. */
    public static final String SIZE = "^[0-9]+(Ki|Mi|Gi|Ti)?$";

    /** A PostgreSQL LSN such as 0/16B3748. */
    public static final String LSN = "^[0-9A-Fa-f]{1,8}/[0-9A-Fa-f]{1,8}$";

    /** An SQL identifier, optionally schema-qualified (quoted when used, never concatenated raw). */
    public static final String QUALIFIED_NAME = "^[A-Za-z_][A-Za-z0-9_$]{0,62}(\\.[A-Za-z_][A-Za-z0-9_$]{0,62})?$";

    /** An unqualified SQL identifier. */
    public static final String NAME = "^[A-Za-z_][A-Za-z0-9_$]{0,62}$";

    /**
     * A CEL rule for a cron schedule: exactly five fields separated by spaces, as a Kubernetes CronJob reads them.
     * The API server refuses anything else; the values themselves (61 minutes, an unknown time zone) the operator
     * checks, failing the resource with reason InvalidSchedule.
     */
    public static final String CRON_RULE = "self.matches('^ *[^ ]+( +[^ ]+){4} *$')";

    /** What the API server answers when {@link #CRON_RULE} fails. */
    public static final String CRON_MESSAGE = "a schedule is five fields separated by spaces: minute hour "
            + "day-of-month month day-of-week, e.g. '0 2 * * *' (no @daily, no seconds field)";

    private Patterns() {
    }
}
