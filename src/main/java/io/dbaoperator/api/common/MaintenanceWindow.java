package io.dbaoperator.api.common;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;

import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.ValidationRule;
import io.fabric8.generator.annotation.Required;

/**
 * When steps that change production may run: a cron start, a duration, a time zone. Read-only work (planning,
 * rehearsal, dry runs, costing) runs at any time.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class MaintenanceWindow {

    public static final String UTC = "UTC";

    @Required
    @ValidationRule(value = Patterns.CRON_RULE, message = Patterns.CRON_MESSAGE)
    @JsonPropertyDescription("When a window opens: a five-field cron expression (minute hour day-of-month month "
            + "day-of-week), e.g. \"0 2 * * 6\" for Saturdays at 02:00.")
    public String schedule;

    @Required
    @Pattern(Patterns.DURATION)
    @JsonPropertyDescription("How long a window stays open, e.g. 2h.")
    public String duration;

    @Default(UTC)
    @JsonPropertyDescription("IANA time zone the schedule is read in.")
    public String timeZone = UTC;

    public MaintenanceWindow() {
    }

    public MaintenanceWindow(String schedule, String duration, String timeZone) {
        this.schedule = schedule;
        this.duration = duration;
        this.timeZone = timeZone;
    }
}
