package io.dbaoperator.kube;

import java.time.DateTimeException;
import java.time.ZoneId;
import java.time.ZonedDateTime;
import java.util.Optional;

import com.cronutils.model.Cron;
import com.cronutils.model.CronType;
import com.cronutils.model.definition.CronDefinitionBuilder;
import com.cronutils.model.time.ExecutionTime;
import com.cronutils.parser.CronParser;

import io.dbaoperator.problem.Problem;
import io.dbaoperator.problem.Reason;


/** A five-field cron schedule in a time zone, as Kubernetes CronJobs read it. */
public final class CronSchedule {

    private static final CronParser PARSER = new CronParser(CronDefinitionBuilder.instanceDefinitionFor(CronType.UNIX));

    private final ExecutionTime executionTime;
    private final ZoneId zone;

    private CronSchedule(ExecutionTime executionTime, ZoneId zone) {
        this.executionTime = executionTime;
        this.zone = zone;
    }

    /** Parses {@code expression} in {@code timeZone}, or throws an InvalidSchedule problem naming the field. */
    public static CronSchedule parse(String field, String expression, String timeZone) {
        if (expression == null || expression.isBlank()) {
            throw Problem.invalid(Reason.InvalidSchedule, field + " is empty").exception();
        }
        ZoneId zone;
        try {
            zone = ZoneId.of(timeZone == null || timeZone.isBlank() ? "UTC" : timeZone);
        } catch (DateTimeException e) {
            throw Problem.invalid(Reason.InvalidSchedule, "time zone '" + timeZone
                    + "' is not an IANA zone such as Europe/Paris or UTC").exception();
        }
        try {
            Cron cron = PARSER.parse(expression.trim());
            cron.validate();
            return new CronSchedule(ExecutionTime.forCron(cron), zone);
        } catch (IllegalArgumentException e) {
            throw Problem.invalid(Reason.InvalidSchedule, field + " '" + expression + "' is not a valid cron "
                    + "expression (minute hour day-of-month month day-of-week, e.g. \"0 2 * * *\"): "
                    + e.getMessage()).exception();
        }
    }

    public Optional<ZonedDateTime> next(ZonedDateTime after) {
        return executionTime.nextExecution(after.withZoneSameInstant(zone));
    }

    public Optional<ZonedDateTime> last(ZonedDateTime before) {
        return executionTime.lastExecution(before.withZoneSameInstant(zone));
    }
}
