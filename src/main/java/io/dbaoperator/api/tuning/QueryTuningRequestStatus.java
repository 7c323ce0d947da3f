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
            + "Applying, Monitoring, Completed, Rejected or Failed.")
    public TuningPhase phase;

    @JsonPropertyDescription("Candidate indexes with their estimated effect, best first.")
    public List<IndexRecommendation> recommendations = new ArrayList<>();

    @JsonPropertyDescription("Best estimated cost reduction among the recommendations, in percent.")
    public Double bestImprovementPercent;

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
    }
}
