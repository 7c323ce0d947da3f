package io.dbaoperator.status;

import java.sql.SQLException;
import java.time.Duration;
import java.util.Collections;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

import io.dbaoperator.api.common.Phase;

/**
 * One kind's dispatcher: one handler per phase, called in turn until one rests. Handlers decide (they return a
 * {@link Step}); this class alone persists, so two rules hold for every kind without a handler saying so:
 * <ul>
 * <li>a phase declared {@link Builder#acts acting} (its handler changes a database, makes Jobs, asks another
 * resource) is entered only with its status stored: when the phase changed since the last write, the status is
 * persisted before the handler runs;
 * <li>an {@link Step.Act} is persisted before its effect runs.
 * </ul>
 * A persist that meets a 409 throws out of {@link #drive} with nothing run; the next reconcile decides again.
 *
 * @param <P> the kind's phase enum
 * @param <W> one reconcile's work: the resource, the status being decided, what it opened
 */
public final class PhaseMachine<P extends Enum<P> & Phase<P>, W> {

    /** Decides in one phase. */
    @FunctionalInterface
    public interface Handler<W> {
        Step decide(W work) throws SQLException;
    }

    /** Decides before every phase's handler: a Step to take instead, or null to go on to the phase's handler. */
    @FunctionalInterface
    public interface Guard<W> {
        Step before(W work) throws SQLException;
    }

    /** Steps one reconcile may take; more means a loop between handlers, and the rest waits for the next one. */
    public static final int MAX_STEPS = 20;
    static final Duration TOO_MANY_STEPS_RETRY = Duration.ofMillis(100);

    private final Map<P, Handler<W>> handlers;
    private final Set<P> acting;
    private final Function<W, P> phase;
    private final P initial;
    private final Guard<W> guard;

    private PhaseMachine(Builder<P, W> b) {
        this.handlers = Collections.unmodifiableMap(new EnumMap<>(b.handlers));
        this.acting = Collections.unmodifiableSet(EnumSet.copyOf(b.acting));
        this.phase = b.phase;
        this.initial = b.initial;
        this.guard = b.guard;
    }

    /** A machine for {@code kind}; {@code phase} reads the work's current phase, {@code initial} stands for none. */
    public static <P extends Enum<P> & Phase<P>, W> Builder<P, W> of(Class<P> kind, P initial, Function<W, P> phase) {
        return new Builder<>(kind, initial, phase);
    }

    /** The phases with a handler. */
    public Set<P> handled() {
        return handlers.keySet();
    }

    /** The phases entered only with their status stored. */
    public Set<P> acting() {
        return acting;
    }

    /** The handler of {@code p} (for tests that call one phase's decision alone). */
    public Handler<W> handler(P p) {
        return handlers.get(p);
    }

    /**
     * Runs handlers from the work's phase until one rests; a phase without a handler rests until something changes.
     *
     * @return when to look again (null: on events)
     */
    public Duration drive(W work, WriteAhead log) throws SQLException {
        for (int steps = 0; steps < MAX_STEPS; steps++) {
            Step step = guard == null ? null : guard.before(work);
            if (step == null) {
                P at = current(work);
                Handler<W> handler = handlers.get(at);
                if (handler == null) {
                    return null;
                }
                if (acting.contains(at) && at != log.storedPhase()) {
                    log.persist(); // decide, persist, act: the phase that enters the step is stored first
                }
                step = handler.decide(work);
            }
            while (step instanceof Step.Act act) {
                log.persist();
                step = act.effect().run();
            }
            if (step instanceof Step.Rest rest) {
                return rest.requeue();
            }
        }
        return TOO_MANY_STEPS_RETRY;
    }

    private P current(W work) {
        P p = phase.apply(work);
        return p == null ? initial : p;
    }

    /** Collects a kind's handlers. */
    public static final class Builder<P extends Enum<P> & Phase<P>, W> {
        private final Map<P, Handler<W>> handlers;
        private final Set<P> acting;
        private final Function<W, P> phase;
        private final P initial;
        private Guard<W> guard;

        private Builder(Class<P> kind, P initial, Function<W, P> phase) {
            this.handlers = new EnumMap<>(kind);
            this.acting = EnumSet.noneOf(kind);
            this.phase = phase;
            this.initial = initial;
        }

        /** A phase whose handler only decides (reads, waits, moves on). */
        public Builder<P, W> decides(P p, Handler<W> handler) {
            if (handlers.put(p, handler) != null) {
                throw new IllegalStateException("two handlers for phase " + p);
            }
            return this;
        }

        /** A phase whose handler changes something outside status: entered only with its status stored. */
        public Builder<P, W> acts(P p, Handler<W> handler) {
            decides(p, handler);
            acting.add(p);
            return this;
        }

        /** Checked before every handler (a pause, a rollback request, a maintenance window). */
        public Builder<P, W> guard(Guard<W> g) {
            this.guard = g;
            return this;
        }

        public PhaseMachine<P, W> build() {
            for (P p : handlers.keySet()) {
                if (p.terminal()) {
                    throw new IllegalStateException("terminal phase " + p + " has a handler");
                }
            }
            return new PhaseMachine<>(this);
        }
    }
}
