package io.dbaoperator.tuning;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;

import org.junit.jupiter.api.Test;

/** What the analyzer reads out of conditions as EXPLAIN prints them (no database needed). */
class PredicatesTest {

    static List<String> read(String condition) {
        return Predicates.parse(condition).stream().map(c -> (c.qualifier() == null ? "" : c.qualifier() + ".")
                + c.column() + " " + c.operator() + " " + (c.join() ? c.otherQualifier() + "." + c.otherColumn()
                        : c.constant())).toList();
    }

    @Test
    void literalsParametersAndJoinKeys() {
        assertThat(read("((o.customer_id = $1) AND (o.created_at >= '2026-01-01'::date))"))
                .containsExactly("o.customer_id = $1", "o.created_at >= 2026-01-01");
        assertThat(read("(o.customer_id = c.id)")).containsExactly("o.customer_id = c.id");
        assertThat(read("((status = 'open') OR (status = 'new'))")).isEmpty();
        assertThat(read("(email ~~ '%@example.com')")).isEmpty();
    }

    @Test
    void timeWindowsRelativeToNowAreRangesAnIndexScanCanUse() {
        // ts > now() - interval '1 hour', as EXPLAIN prints it
        assertThat(read("(ts > (now() - '01:00:00'::interval))")).containsExactly("ts > (now() - '01:00:00'::interval)");
        // BETWEEN now() - 400 days AND now() - 399 days: the planner splits it into two bounds
        assertThat(read("((created_at >= (now() - '400 days'::interval)) AND (created_at <= (now() - "
                + "'399 days'::interval)))")).extracting(x -> x.substring(0, x.indexOf(' ', 12)))
                .containsExactly("created_at >=", "created_at <=");
        // equality plus a window on a second column: both read, in the order written
        assertThat(read("((status = 'shipped'::text) AND (created_at > (now() - '30 days'::interval)))"))
                .containsExactly("status = shipped", "created_at > (now() - '30 days'::interval)");
        assertThat(read("(day >= CURRENT_DATE)")).containsExactly("day >= CURRENT_DATE");
        assertThat(read("(created_at >= date_trunc('month'::text, now()))"))
                .containsExactly("created_at >= date_trunc('month'::text, now())");
        assertThat(read("(ts < ((CURRENT_DATE - 7))::timestamp with time zone)")).hasSize(1);
    }

    @Test
    void anExpressionOfAColumnOrAnUnknownFunctionIsNoBound() {
        // a function of another column is a join condition in disguise, not a constant bound
        assertThat(read("(a.ts > (b.ts - '01:00:00'::interval))")).isEmpty();
        assertThat(read("(ts > (now() - (\"Offset\" * '00:01:00'::interval)))")).isEmpty();
        // random() is volatile: no index scan can use it as a bound
        assertThat(read("(ts > (now() - (random() * '01:00:00'::interval)))")).isEmpty();
        assertThat(read("(ts > (now() - '01:00:00'::interval")).as("unbalanced").isEmpty();
    }
}
