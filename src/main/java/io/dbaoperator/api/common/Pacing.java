package io.dbaoperator.api.common;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;

import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Pattern;

/**
 * How batched background work (a backfill, a disposal) paces itself so that the application keeps its latency: the
 * batch size adapts to hold each batch near a target duration, between a floor and the configured batchSize (its
 * start and cap), and the work backs off while it makes the application wait.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class Pacing {

    @Default("100ms")
    @Pattern(Patterns.DURATION)
    @JsonPropertyDescription("Each batch is sized to take about this long (each is a transaction holding its rows' "
            + "locks for that time): a batch that took longer shrinks the next, one that took less grows it, never "
            + "above batchSize. e.g. 100ms.")
    public String targetBatchDuration = "100ms";

    @Min(1)
    @JsonPropertyDescription("The smallest batch; default: 1% of batchSize, at least 10 rows (at most batchSize).")
    public Integer minBatchSize;

    @Min(0)
    @JsonPropertyDescription("Pause longer between batches while more sessions than this run queries on the server "
            + "(pg_stat_activity, state active): set it to the database server's cores. Unset or 0: not watched. "
            + "The role needs pg_monitor (or pg_read_all_stats) to see other roles' sessions.")
    public Integer maxActiveSessions;
}
