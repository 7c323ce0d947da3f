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
        assertThat(Ranking.summary(history)).isEqualTo("order: 0 of 2 used, 0% of the estimated gain realized; "
                + "filter: 2 of 3 used, 67% of the estimated gain realized");
        assertThat(Ranking.kind("join key customer_id")).isEqualTo("join key");
        assertThat(Ranking.kind("proposed by the LLM advisor")).isEqualTo("llm");
        assertThat(Ranking.kind("partial: only rows where \"status\" = 'open', keyed on [x]")).isEqualTo("partial");
    }

    @Test
    void aKindWhoseIndexesWereUsedButBroughtLittleRealGainSinksBelowOneThatDelivered() {
        List<IndexRecommendation> recs = List.of(rec("order_idx", 90, "order: [created_at DESC]"),
                rec("filter_idx", 70, "filter: equality on [customer_id]"));
        // both kinds were used every time; measured, the order indexes delivered a tenth of their estimate
        List<Ranking.Outcome> history = List.of(new Ranking.Outcome("order", true, 0.1),
                new Ranking.Outcome("order", true, 0.1), new Ranking.Outcome("filter", true, 0.9),
                new Ranking.Outcome("filter", true, 1.0));
        // order: (0.2+1)/(2+2) = 0.3 -> 27; filter: (1.9+1)/(2+2) = 0.725 -> 50.75
        assertThat(Ranking.rank(recs, history)).extracting(r -> r.indexName)
                .containsExactly("filter_idx", "order_idx");
        assertThat(Ranking.summary(history)).isEqualTo("order: 2 of 2 used, 10% of the estimated gain realized; "
                + "filter: 2 of 2 used, 95% of the estimated gain realized");
    }

    @Test
    void theRealizedShareIsTheMeasuredGainOverTheEstimate_ZeroWhenUnused_OneWhenUsedButUnmeasured() {
        var m = new io.dbaoperator.api.tuning.QueryTuningRequestStatus.MeasuredGain();
        m.gainPercent = 40.0;
        assertThat(MeasuredGains.realized(m, true, 80.0)).isEqualTo(0.5);
        assertThat(MeasuredGains.realized(m, false, 80.0)).isZero();
        assertThat(MeasuredGains.realized(null, true, 80.0)).isEqualTo(1.0);
        m.gainPercent = -20.0;
        assertThat(MeasuredGains.realized(m, true, 80.0)).isZero();
        m.gainPercent = 95.0;
        assertThat(MeasuredGains.realized(m, true, 80.0)).isEqualTo(1.0);
    }
}
