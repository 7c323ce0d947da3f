package io.dbaoperator.tuning;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import io.dbaoperator.api.tuning.QueryTuningRequestStatus.IndexRecommendation;

/**
 * The learning loop (P-LEARN): recommendations are ranked by their estimated improvement weighted by how earlier
 * recommendations of the same kind fared once applied. A kind is the rule that proposed the index (filter, order,
 * join key, partial, the LLM advisor); an outcome is the share of its estimated improvement the applied index really
 * delivered, measured by the follow-up ({@link MeasuredGains#realized}: 0 when it stayed unused, the measured fall
 * of the statement's mean time over the estimate when pg_stat_statements could tell, 1 when it was used but could
 * not be measured). The weight is Laplace-smoothed, {@code (sum of realized + 1) / (applied + 2)}: 0.5 with no
 * history, so a fresh cluster ranks by the planner's estimate alone, and a kind whose indexes keep ending unused or
 * without real gain sinks. Pure.
 */
public final class Ranking {

    private Ranking() {
    }

    /** One applied recommendation's fate: {@code realized} in [0, 1], the share of its estimate delivered. */
    public record Outcome(String kind, boolean used, double realized) {

        public Outcome(String kind, boolean used) {
            this(kind, used, used ? 1 : 0);
        }
    }

    /** The rule a recommendation came from, read from its rationale. */
    public static String kind(String rationale) {
        if (rationale == null) {
            return "unknown";
        }
        if (rationale.startsWith("proposed by the LLM advisor")) {
            return "llm";
        }
        int colon = rationale.indexOf(':');
        String head = colon < 0 ? rationale : rationale.substring(0, colon);
        return head.startsWith("join key") ? "join key" : head.strip();
    }

    public static double weight(List<Outcome> history, String kind) {
        long applied = history.stream().filter(o -> o.kind().equals(kind)).count();
        double realized = history.stream().filter(o -> o.kind().equals(kind)).mapToDouble(Outcome::realized).sum();
        return (realized + 1.0) / (applied + 2.0);
    }

    /**
     * The recommendations, best score first. A stable sort on 5% steps of the score: scores closer than that keep
     * the search's order (96.5% and 96.3% lower cost are the same to the planner's estimate, and the search has
     * already chosen between them).
     */
    public static List<IndexRecommendation> rank(List<IndexRecommendation> recs, List<Outcome> history) {
        List<IndexRecommendation> out = new ArrayList<>(recs);
        out.sort(Comparator.comparingLong((IndexRecommendation r) -> -step((r.improvementPercent == null ? 0
                : r.improvementPercent) * weight(history, kind(r.rationale)))));
        return out;
    }

    /** The 5% step a non-negative value falls in. */
    static long step(double value) {
        return (long) Math.floor(Math.log1p(Math.max(0, value)) / Math.log(1.05));
    }

    /** "filter: 3 of 4 used, 70% of the estimated gain realized; order: 0 of 2 used, 0% ...", or null. */
    public static String summary(List<Outcome> history) {
        if (history.isEmpty()) {
            return null;
        }
        Map<String, double[]> byKind = new LinkedHashMap<>();
        for (Outcome o : history) {
            double[] c = byKind.computeIfAbsent(o.kind(), k -> new double[3]);
            c[1]++;
            c[2] += o.realized();
            if (o.used()) {
                c[0]++;
            }
        }
        List<String> parts = new ArrayList<>();
        byKind.forEach((k, c) -> parts.add(k + ": " + (long) c[0] + " of " + (long) c[1] + " used, "
                + Math.round(100 * c[2] / c[1]) + "% of the estimated gain realized"));
        return String.join("; ", parts);
    }
}
