package io.dbaoperator.api.tuning;

import java.util.ArrayList;
import java.util.List;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;

import io.dbaoperator.api.common.GatedStatus;

/** Observed state of a QueryTuningRequest. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class QueryTuningRequestStatus extends GatedStatus {

    @JsonPropertyDescription("Pending, Analyzing, TestingOnStaging, Recommended, NoRecommendation, AwaitingApproval, "
            + "Applying, Monitoring, AwaitingRemovalApproval, Removing, Completed, Rejected or Failed.")
    public TuningPhase phase;

    @JsonPropertyDescription("Candidate indexes with their estimated effect, best first.")
    public List<IndexRecommendation> recommendations = new ArrayList<>();

    @JsonPropertyDescription("Best estimated cost reduction among the recommendations, in percent of the query's "
            + "estimated cost (the Improvement % column).")
    public Double bestImprovementPercent;

    @JsonPropertyDescription("The statements analysed, with what their plans showed.")
    public List<AnalyzedQuery> analyzed = new ArrayList<>();

    @JsonPropertyDescription("How the recommendations were ranked, and the evidence from earlier applied ones.")
    public String ranking;

    @JsonPropertyDescription("The LLM advisor's rationale, when one is configured (its proposals are costed like "
            + "the others and never applied on its word).")
    public String advisorRationale;

    @JsonPropertyDescription("How the candidates were costed: hypopg on production, hypopg on staging, or a real "
            + "build on staging.")
    public String costingMethod;

    @JsonPropertyDescription("Workload mode (spec.topSlowQueries): the set of indexes chosen for the statements "
            + "together, its estimated effect on each and on the whole workload, and the indexes refused.")
    public WorkloadChoice workload;

    @JsonPropertyDescription("Index hygiene (spec.indexHygiene): the indexes worth dropping, with their evidence and "
            + "the statement that recreates each.")
    public List<IndexFinding> indexFindings = new ArrayList<>();

    @JsonPropertyDescription("Index hygiene: since when the usage statistics were collected (RFC 3339), and whether "
            + "that covers spec.indexHygiene.minObservation.")
    public String observedSince;

    @JsonPropertyDescription("While a step that changes production waits for its maintenance window: when the next "
            + "one opens (RFC 3339); absent otherwise.")
    public String waitingForWindow;

    @Override
    public Enum<?> phase() {
        return phase;
    }

    /** One recommended index. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static class IndexRecommendation {
        @JsonPropertyDescription("Deterministic index name.")
        public String indexName;
        @JsonPropertyDescription("The CREATE INDEX CONCURRENTLY statement.")
        public String ddl;
        @JsonPropertyDescription("Plan cost before.")
        public Double costBefore;
        @JsonPropertyDescription("Plan cost with the (hypothetical) index.")
        public Double costAfter;
        @JsonPropertyDescription("Why this index: the plan node and predicate it serves.")
        public String rationale;
        @JsonPropertyDescription("Estimated cost reduction, in percent.")
        public Double improvementPercent;
        @JsonPropertyDescription("The table it indexes (schema.table).")
        public String table;
        @JsonPropertyDescription("Which analysed statement it serves (index into status.analyzed).")
        public Integer query;
        @JsonPropertyDescription("EXPLAIN ANALYZE on staging without and with the index built for real.")
        public StagingTest staging;
        @JsonPropertyDescription("When it was created on production (RFC 3339).")
        public String appliedAt;
        @JsonPropertyDescription("The approval the index was created under: approver, time and plan digest.")
        public String appliedUnder;
        @JsonPropertyDescription("How the creation went: time, attempts, an INVALID leftover dropped.")
        public String applied;
        @JsonPropertyDescription("Its real use on production since it was created (pg_stat_user_indexes).")
        public Usage usage;
        @JsonPropertyDescription("The statement's real mean execution time before and after (pg_stat_statements).")
        public MeasuredGain measured;
        @JsonPropertyDescription("Whether this index is in the set to apply: the best one for a single statement, the "
                + "chosen set in workload mode; the others are shown for comparison only.")
        public Boolean selected;
        @JsonPropertyDescription("Workload mode: the analysed statements (indexes into status.analyzed) whose estimated "
                + "cost it lowers.")
        public List<Integer> serves;
        @JsonPropertyDescription("HypoPG's estimate of its size, in bytes.")
        public Long estimatedSizeBytes;
        @JsonPropertyDescription("Workload mode: its estimated write overhead, in planner cost units per statistics "
                + "period (index entries the table's inserts and non-HOT updates write).")
        public Double writeOverhead;
        @JsonPropertyDescription("When it was dropped again after the follow-up found no gain (RFC 3339).")
        public String removedAt;
        @JsonPropertyDescription("The approval the removal ran under.")
        public String removedUnder;
    }

    /** Workload mode's choice. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static class WorkloadChoice {
        @JsonPropertyDescription("The workload's estimated cost without the set: each statement's plan cost times its "
                + "calls.")
        public Double costBefore;
        @JsonPropertyDescription("With the set, its write overhead included.")
        public Double costAfter;
        @JsonPropertyDescription("The estimated fall of the workload's cost, in percent.")
        public Double improvementPercent;
        @JsonPropertyDescription("The indexes of the set (names; their statements are in status.recommendations).")
        public List<String> indexes = new ArrayList<>();
        @JsonPropertyDescription("Their total estimated size, in bytes.")
        public Long totalSizeBytes;
        @JsonPropertyDescription("Each statement's estimated cost without and with the set.")
        public List<StatementCost> statements = new ArrayList<>();
        @JsonPropertyDescription("Candidates refused, each with why: a regression of another statement, the size budget.")
        public List<String> refused = new ArrayList<>();
        @JsonPropertyDescription("The budget it was chosen under, and the search's time.")
        public String budget;
    }

    /** One statement's cost in workload mode. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static class StatementCost {
        @JsonPropertyDescription("Index into status.analyzed.")
        public Integer query;
        @JsonPropertyDescription("Its calls (pg_stat_statements), the weight of its cost.")
        public Double calls;
        @JsonPropertyDescription("Estimated cost per call without the set (a write's index entries included).")
        public Double costBefore;
        @JsonPropertyDescription("With the set.")
        public Double costAfter;
    }

    /** The closed loop's measurement. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static class MeasuredGain {
        @JsonPropertyDescription("The statement's pg_stat_statements queryid.")
        public String queryId;
        @JsonPropertyDescription("Calls counted before the index was created.")
        public Long callsBefore;
        @JsonPropertyDescription("Mean execution time before the index, in ms.")
        public Double meanMsBefore;
        @JsonPropertyDescription("pg_stat_statements' total execution time when the index was created, in ms.")
        public Double totalMsAtApply;
        @JsonPropertyDescription("Calls during the follow-up.")
        public Long callsAfter;
        @JsonPropertyDescription("Mean execution time during the follow-up, in ms.")
        public Double meanMsAfter;
        @JsonPropertyDescription("How much the mean fell, in percent (negative: it rose).")
        public Double gainPercent;
        @JsonPropertyDescription("improved, no gain, regression, unused, or not measured (with why).")
        public String verdict;
    }

    /** One index the hygiene review proposes to drop. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static class IndexFinding {
        @JsonPropertyDescription("The index (schema.name).")
        public String index;
        @JsonPropertyDescription("Its table (schema.name).")
        public String table;
        @JsonPropertyDescription("Invalid, Duplicate, Redundant or Unused.")
        public String finding;
        @JsonPropertyDescription("Why: scans, size, the writes it costs.")
        public String evidence;
        @JsonPropertyDescription("The index that serves what this one does (Duplicate, Redundant).")
        public String coveredBy;
        @JsonPropertyDescription("Index scans since the statistics began.")
        public Long scans;
        @JsonPropertyDescription("Size in bytes.")
        public Long sizeBytes;
        @JsonPropertyDescription("The definition as pg_get_indexdef gave it.")
        public String definition;
        @JsonPropertyDescription("The statement that drops it.")
        public String drop;
        @JsonPropertyDescription("The statement that builds it again, as it was.")
        public String recreate;
        @JsonPropertyDescription("When it was dropped (RFC 3339).")
        public String droppedAt;
        @JsonPropertyDescription("What became of it: dropped, already gone, or kept (with why).")
        public String outcome;
    }

    /** One analysed statement. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static class AnalyzedQuery {
        @JsonPropertyDescription("The statement (shortened).")
        public String query;
        @JsonPropertyDescription("Its pg_stat_statements queryid, when it came from there.")
        public String queryId;
        @JsonPropertyDescription("How it was explained: ANALYZE (executed, rolled back), plain, or generic (no values).")
        public String explain;
        @JsonPropertyDescription("Planner cost of the statement as it is.")
        public Double cost;
        @JsonPropertyDescription("Execution time in ms when it was executed.")
        public Double executionMs;
        @JsonPropertyDescription("What an index could help with in its plan.")
        public List<String> findings = new ArrayList<>();
        @JsonPropertyDescription("The candidate search: how many candidates were generated and costed, in how long, "
                + "against which budget; and how many PostgreSQL refused (an expression that is not immutable).")
        public String search;
    }

    /** Before/after on staging. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static class StagingTest {
        @JsonPropertyDescription("Planner cost on staging without the index.")
        public Double costBefore;
        @JsonPropertyDescription("Planner cost on staging with the index built.")
        public Double costAfter;
        @JsonPropertyDescription("Execution time on staging without the index, in ms (EXPLAIN ANALYZE).")
        public Double msBefore;
        @JsonPropertyDescription("Execution time on staging with the index, in ms (EXPLAIN ANALYZE).")
        public Double msAfter;
        @JsonPropertyDescription("Whether the staging plan used the index.")
        public Boolean used;
    }

    /** Observed use of an applied index. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static class Usage {
        @JsonPropertyDescription("Index scans since it was created (pg_stat_user_indexes.idx_scan).")
        public Long idxScan;
        @JsonPropertyDescription("Size of the index in bytes.")
        public Long sizeBytes;
        @JsonPropertyDescription("When these figures were read (RFC 3339).")
        public String checkedAt;
        @JsonPropertyDescription("True when it was still unused after spec.unusedAfter: a candidate for removal.")
        public Boolean unused;
    }
}
