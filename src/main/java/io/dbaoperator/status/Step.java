package io.dbaoperator.status;

import java.sql.SQLException;
import java.time.Duration;

/**
 * What a phase handler decided. A handler reads (status, informers, the database) and sets the status it wants;
 * it changes nothing outside status itself. What it wants done is an {@link Act}: the {@link PhaseMachine} stores
 * the decided status first (the pinned JSON Patch, with the decision's audit events) and only then runs the effect,
 * so "persist before act" holds by construction: a 409 on that write leaves the reconcile before the effect ran.
 */
public sealed interface Step {

    /**
     * Nothing more in this reconcile: the status as decided is written once, and the resource is looked at again
     * after {@code requeue} (null: only when something it watches changes).
     */
    record Rest(Duration requeue) implements Step {
    }

    /** The status holds the phase to go on in (another, or the same one changed): its handler decides now. */
    record Next() implements Step {
    }

    /** Store the decided status, then run {@code effect}; the step it returns is what happens next. */
    record Act(Effect effect) implements Step {
    }

    /** A side effect that runs once its decision is stored: a statement, a Job, an Event, a request to another kind. */
    @FunctionalInterface
    interface Effect {
        Step run() throws SQLException;
    }

    Next NEXT = new Next();
    Rest ON_EVENT = new Rest(null);

    static Step rest(Duration requeue) {
        return requeue == null ? ON_EVENT : new Rest(requeue);
    }

    static Step onEvent() {
        return ON_EVENT;
    }

    static Step next() {
        return NEXT;
    }

    static Step act(Effect effect) {
        return new Act(effect);
    }
}
