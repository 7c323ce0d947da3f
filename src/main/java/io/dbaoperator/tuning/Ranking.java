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
 * join key, partial, the LLM advisor); an outcome is whether the applied index was used by the time its request
 * completed. The weight is Laplace-smoothed, {@code (used + 1) / (applied + 2)}: 0.5 with no history, so a fresh
 * cluster ranks by the planner's estimate alone, and a kind whose indexes keep ending unused sinks. Pure.
 */
public final class Ranking {

    private Ranking() {
    }

    /** One applied recommendation's fate. */
    public record Outcome(String kind, boolean used) {
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
        long used = history.stream().filter(o -> o.kind().equals(kind) && o.used()).count();
        return (used + 1.0) / (applied + 2.0);
    }

    /** The recommendations, best score first (a stable sort: equal scores keep the estimate's order). */
    public static List<IndexRecommendation> rank(List<IndexRecommendation> recs, List<Outcome> history) {
        List<IndexRecommendation> out = new ArrayList<>(recs);
        out.sort(Comparator.comparingDouble((IndexRecommendation r) -> -(r.improvementPercent == null ? 0
                : r.improvementPercent) * weight(history, kind(r.rationale))));
        return out;
    }

    /** "filter: 3 of 4 used; order: 0 of 2 used", or null without history. */
    public static String summary(List<Outcome> history) {
        if (history.isEmpty()) {
            return null;
        }
        Map<String, long[]> byKind = new LinkedHashMap<>();
        for (Outcome o : history) {
            long[] c = byKind.computeIfAbsent(o.kind(), k -> new long[2]);
            c[1]++;
            if (o.used()) {
                c[0]++;
            }
        }
        List<String> parts = new ArrayList<>();
        byKind.forEach((k, c) -> parts.add(k + ": " + c[0] + " of " + c[1] + " used"));
        return String.join("; ", parts);
    }
}
