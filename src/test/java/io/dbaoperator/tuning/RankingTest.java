package io.dbaoperator.tuning;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;

import org.junit.jupiter.api.Test;

import io.dbaoperator.api.tuning.QueryTuningRequestStatus.IndexRecommendation;

/** Earlier recommendations' real use reorders new ones; without history the planner's estimate decides. */
class RankingTest {

    static IndexRecommendation rec(String name, double improvement, String rationale) {
        IndexRecommendation r = new IndexRecommendation();
        r.indexName = name;
        r.improvementPercent = improvement;
        r.rationale = rationale;
        return r;
    }

    @Test
    void indexesOfAKindThatEndedUnusedSinkBelowOnesThatWereUsed() {
        List<IndexRecommendation> recs = List.of(rec("order_idx", 90, "order: [created_at DESC]"),
                rec("filter_idx", 80, "filter: equality on [customer_id]"));
        assertThat(Ranking.rank(recs, List.of())).extracting(r -> r.indexName)
                .containsExactly("order_idx", "filter_idx");
        List<Ranking.Outcome> history = List.of(new Ranking.Outcome("order", false),
                new Ranking.Outcome("order", false), new Ranking.Outcome("filter", true),
                new Ranking.Outcome("filter", true), new Ranking.Outcome("filter", false));
        // order: (0+1)/(2+2) = 0.25 -> 22.5; filter: (2+1)/(3+2) = 0.6 -> 48
        assertThat(Ranking.rank(recs, history)).extracting(r -> r.indexName)
                .containsExactly("filter_idx", "order_idx");
        assertThat(Ranking.summary(history)).isEqualTo("order: 0 of 2 used; filter: 2 of 3 used");
        assertThat(Ranking.kind("join key customer_id")).isEqualTo("join key");
        assertThat(Ranking.kind("proposed by the LLM advisor")).isEqualTo("llm");
        assertThat(Ranking.kind("partial: only rows where \"status\" = 'open', keyed on [x]")).isEqualTo("partial");
    }
}
