package io.dbaoperator.status;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

import io.dbaoperator.api.common.Condition;
import io.dbaoperator.problem.Reason;

/**
 * Pure functions over condition lists. {@code lastTransitionTime} moves only when a condition's status changes, so
 * writing the same observation twice changes nothing (and so writes nothing).
 */
public final class Conditions {

    private Conditions() {
    }

    public static Optional<Condition> find(List<Condition> conditions, ConditionType type) {
        if (conditions == null) {
            return Optional.empty();
        }
        return conditions.stream().filter(c -> type.name().equals(c.type)).findFirst();
    }

    public static boolean isTrue(List<Condition> conditions, ConditionType type) {
        return find(conditions, type).map(c -> "True".equals(c.status)).orElse(false);
    }

    /** Returns a new list with {@code type} set; the others are kept in order. */
    public static List<Condition> set(List<Condition> conditions, ConditionType type, boolean status, Reason reason,
            String message, long generation, Instant now) {
        String statusText = status ? "True" : "False";
        List<Condition> result = new ArrayList<>();
        boolean replaced = false;
        for (Condition c : conditions == null ? List.<Condition> of() : conditions) {
            if (type.name().equals(c.type)) {
                String since = Objects.equals(c.status, statusText) && c.lastTransitionTime != null ? c.lastTransitionTime
                        : now.toString();
                result.add(new Condition(type.name(), statusText, reason.name(), message, since, generation));
                replaced = true;
            } else {
                result.add(c);
            }
        }
        if (!replaced) {
            result.add(new Condition(type.name(), statusText, reason.name(), message, now.toString(), generation));
        }
        return result;
    }

    /**
     * Returns a new list whose {@code type} condition is {@code earlier} (removed when empty): a decision taken back
     * within one reconcile, so that what is set next is compared with what was stored.
     */
    public static List<Condition> restore(List<Condition> conditions, ConditionType type, Optional<Condition> earlier) {
        List<Condition> result = new ArrayList<>();
        boolean placed = false;
        for (Condition c : conditions == null ? List.<Condition> of() : conditions) {
            if (type.name().equals(c.type)) {
                earlier.ifPresent(result::add);
                placed = true;
            } else {
                result.add(c);
            }
        }
        if (!placed) {
            earlier.ifPresent(result::add);
        }
        return result;
    }

    public static List<Condition> remove(List<Condition> conditions, ConditionType type) {
        List<Condition> result = new ArrayList<>(conditions == null ? List.of() : conditions);
        result.removeIf(c -> type.name().equals(c.type));
        return result;
    }
}
