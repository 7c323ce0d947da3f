package io.dbaoperator.kube;

import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import io.dbaoperator.problem.Problem;
import io.dbaoperator.problem.Reason;


/** Durations as our specs write them: 500ms, 30s, 5m, 2h, 7d, or sums such as 1h30m. */
public final class Durations {

    private static final Pattern PART = Pattern.compile("([0-9]+)(ms|s|m|h|d)");

    private Durations() {
    }

    public static Duration parse(String field, String text) {
        if (text == null || !text.matches("^([0-9]+(ms|s|m|h|d))+$")) {
            throw Problem.invalid(Reason.InvalidSpec, field + " '" + text + "' is not a duration such as 500ms, 30s, "
                    + "5m, 2h or 7d").exception();
        }
        Duration total = Duration.ZERO;
        Matcher m = PART.matcher(text);
        while (m.find()) {
            long n = Long.parseLong(m.group(1));
            total = total.plus(switch (m.group(2)) {
                case "ms" -> Duration.ofMillis(n);
                case "s" -> Duration.ofSeconds(n);
                case "m" -> Duration.ofMinutes(n);
                case "h" -> Duration.ofHours(n);
                default -> Duration.ofDays(n);
            });
        }
        return total;
    }
}
