package io.dbaoperator.api.tuning;

import java.util.List;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;

import io.dbaoperator.api.common.DatabaseRef;
import io.dbaoperator.api.common.Patterns;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.ValidationRule;

/** Which query to tune and how far the operator may go on its own. Immutable once created. */
@JsonInclude(JsonInclude.Include.NON_NULL)
@ValidationRule(value = "self == oldSelf", message = "a tuning request's spec is immutable once created; create a new QueryTuningRequest instead")
@ValidationRule(value = "(has(self.query) ? 1 : 0) + (has(self.queryId) ? 1 : 0) + (has(self.topSlowQueries) ? 1 : 0) + (has(self.indexHygiene) ? 1 : 0) == 1",
        message = "set exactly one of query, queryId, topSlowQueries or indexHygiene")
@ValidationRule(value = "!has(self.indexHygiene) || self.apply.policy != 'Automatic'",
        message = "dropping indexes always waits for a person: indexHygiene takes apply.policy RecommendOnly or AfterApproval")
@ValidationRule(value = "!has(self.indexHygiene) || !has(self.stagingDatabase)",
        message = "indexHygiene reviews the database's own usage statistics; stagingDatabase does not apply")
@ValidationRule(value = "!has(self.parameters) || has(self.query)", message = "parameters are only used with query")
public class QueryTuningRequestSpec {

    @Required
    @JsonPropertyDescription("The production database. Write statements are never executed there (plain EXPLAIN only).")
    public DatabaseRef database;

    @JsonPropertyDescription("Staging database with the same schema and representative data: indexes are built and "
            + "measured there before production.")
    public DatabaseRef stagingDatabase;

    @JsonPropertyDescription("The SQL text of the slow query, with $1, $2... placeholders for parameters.")
    public String query;

    @JsonPropertyDescription("Values for the query's $n placeholders, in order, as text (bound, never spliced in).")
    public List<String> parameters;

    @Pattern("^-?[0-9]+$")
    @JsonPropertyDescription("A queryid from pg_stat_statements.")
    public String queryId;

    @JsonPropertyDescription("Tune the slowest statements from pg_stat_statements instead of one query.")
    public TopSlowQueries topSlowQueries;

    @Default("{}")
    @JsonPropertyDescription("What happens with a recommendation.")
    public Apply apply = new Apply();

    @Default("30")
    @Min(1)
    @Max(99)
    @JsonPropertyDescription("Keep only indexes that cut the query's estimated cost by at least this percent.")
    public Integer minImprovementPercent = 30;

    @Default("30s")
    @Pattern(Patterns.DURATION)
    @JsonPropertyDescription("statement_timeout for EXPLAIN ANALYZE.")
    public String statementTimeout = "30s";

    @Default("5s")
    @Pattern(Patterns.DURATION)
    @JsonPropertyDescription("How long the search may cost candidate indexes with HypoPG, per statement (about 300 "
            + "candidates a second here); the most promising are costed first, and status says how many were.")
    public String searchBudget = "5s";

    @Default("14d")
    @Pattern(Patterns.DURATION)
    @JsonPropertyDescription("An applied index still unused after this long is reported as a candidate for removal.")
    public String unusedAfter = "14d";

    @Default("{}")
    @JsonPropertyDescription("What the follow-up does with the real gain it measures (pg_stat_statements, before and "
            + "after the index).")
    public FollowUp followUp = new FollowUp();

    @JsonPropertyDescription("Review the database's indexes instead of a query: unused, duplicate, prefix-redundant "
            + "and invalid ones, each with its evidence; DROP INDEX CONCURRENTLY after a person approves.")
    public IndexHygiene indexHygiene;

    @JsonPropertyDescription("When the steps that change production may run (read-only work runs at any time); "
            + "without it the namespace's (annotation dbaoperator.io/maintenance-window), else the operator's default "
            + "window (Helm value maintenanceWindow), else any time.")
    public io.dbaoperator.api.common.MaintenanceWindow maintenanceWindow;

    /** The closed loop after an index is applied. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static class FollowUp {
        public static final int MIN_GAIN_PERCENT = 10;

        @Default("" + MIN_GAIN_PERCENT)
        @Min(0)
        @Max(99)
        @JsonPropertyDescription("The statement's mean execution time must fall by at least this percent for the "
                + "index to count as a gain; less is reported as no gain, a rise by as much as a regression.")
        public Integer minGainPercent = MIN_GAIN_PERCENT;

        @Default("Report")
        @JsonPropertyDescription("Report: say so in status and an Event. ProposeRemoval: also propose DROP INDEX "
                + "CONCURRENTLY of an index that brought no gain or was unused, executed after a person approves.")
        public OnNoGain onNoGain = OnNoGain.Report;

        /** What a follow-up without gain leads to. */
        public enum OnNoGain {
            Report, ProposeRemoval
        }
    }

    /** Index hygiene review. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static class IndexHygiene {
        public static final String MIN_OBSERVATION = "7d";

        @Default(MIN_OBSERVATION)
        @Pattern(Patterns.DURATION)
        @JsonPropertyDescription("An index counts as unused only when the usage statistics cover at least this long "
                + "(since pg_stat_database.stats_reset, else the server's start) and it had no scan in it.")
        public String minObservation = MIN_OBSERVATION;

        @JsonPropertyDescription("Only indexes in these schemas; all user schemas when empty.")
        public List<String> schemas;
    }

    /** Top-N selection. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static class TopSlowQueries {
        @Default("5")
        @Min(1)
        @Max(50)
        @JsonPropertyDescription("How many statements to analyse.")
        public Integer limit = 5;

        @Default("100")
        @Min(0)
        @JsonPropertyDescription("Only statements whose mean execution time is at least this many milliseconds.")
        public Integer minMeanTimeMs = 100;

        @Default("3")
        @Min(1)
        @Max(20)
        @JsonPropertyDescription("Workload mode: at most this many new indexes in the set chosen for these statements.")
        public Integer maxIndexes = 3;

        @Default("2")
        @Min(1)
        @Max(10)
        @JsonPropertyDescription("At most this many new indexes on any one table.")
        public Integer maxIndexesPerTable = 2;

        @Default("2Gi")
        @Pattern(Patterns.SIZE)
        @JsonPropertyDescription("The estimated size of the whole set at most this (HypoPG's estimate).")
        public String maxTotalSize = "2Gi";

        @Default("10")
        @Min(0)
        @Max(100)
        @JsonPropertyDescription("Refuse any index that makes another of these statements more expensive by more than "
                + "this percent: a read's estimated plan cost, or a write's plan cost plus the index entries it must "
                + "now write.")
        public Integer maxRegressionPercent = 10;
    }

    /** Apply policy. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static class Apply {
        @Required
        @Default("AfterApproval")
        @JsonPropertyDescription("RecommendOnly: report only. AfterApproval: create the index after a person approves. "
                + "Automatic: create it without asking.")
        public Policy policy = Policy.AfterApproval;

        /** Policies. */
        public enum Policy {
            RecommendOnly, AfterApproval, Automatic
        }
    }
}
