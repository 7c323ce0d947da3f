package io.dbaoperator.api.common;

import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A kind's phase machine. Each phase names the phases it may move to ({@link #next}); one with none is terminal;
 * {@link #initial} says which may be written first. Controllers change a phase only through {@link #move}, which
 * refuses a move the table does not hold: the table, in each phase enum and its Javadoc, is every move there is.
 *
 * @param <P> the kind's phase enum
 */
public interface Phase<P extends Enum<P> & Phase<P>> {

    /** The phases this one may move to (a phase may always stay itself). */
    Set<P> next();

    /** Whether a resource without a phase yet may start in this one. */
    boolean initial();

    /** Nothing follows: the controller leaves a resource in this phase alone. */
    default boolean terminal() {
        return next().isEmpty();
    }

    /** A move the phase table does not allow: a defect in the controller, never the user's doing. */
    final class IllegalMove extends IllegalStateException {
        private static final long serialVersionUID = 1L;

        IllegalMove(String message) {
            super(message);
        }
    }

    /** Told of every move made (from is null for a resource's first phase). */
    interface Observer {
        void moved(Class<?> kind, Enum<?> from, Enum<?> to);
    }

    /** Who is told of every move: the transition metric, and the tests' coverage record. */
    List<Observer> OBSERVERS = new CopyOnWriteArrayList<>();

    /**
     * The phase after moving from {@code from} (null: none yet) to {@code to}; staying is always allowed and not
     * reported.
     *
     * @throws IllegalMove when the table does not hold the move
     */
    static <P extends Enum<P> & Phase<P>> P move(P from, P to) {
        if (from == to) {
            return to;
        }
        boolean allowed = from == null ? to.initial() : from.next().contains(to);
        if (!allowed) {
            throw new IllegalMove(to.getDeclaringClass().getSimpleName() + " cannot move from "
                    + (from == null ? "no phase" : from.name()) + " to " + to.name());
        }
        for (Observer o : OBSERVERS) {
            o.moved(to.getDeclaringClass(), from, to);
        }
        return to;
    }

    /** Builds a kind's table: {@code moves} maps each phase to where it may go; unlisted phases are terminal. */
    static <P extends Enum<P>> Map<P, Set<P>> table(Class<P> kind, Map<P, Set<P>> moves) {
        Map<P, Set<P>> table = new java.util.EnumMap<>(kind);
        for (P p : kind.getEnumConstants()) {
            Set<P> to = moves.get(p);
            table.put(p, to == null ? Set.of() : java.util.Collections.unmodifiableSet(EnumSet.copyOf(to)));
        }
        return java.util.Collections.unmodifiableMap(table);
    }
}
