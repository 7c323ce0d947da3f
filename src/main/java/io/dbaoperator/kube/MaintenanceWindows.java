package io.dbaoperator.kube;

import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;

import org.eclipse.microprofile.config.inject.ConfigProperty;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.dbaoperator.api.common.MaintenanceWindow;
import io.dbaoperator.problem.Problem;
import io.dbaoperator.problem.Reason;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Namespace;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

/**
 * Maintenance windows: when the steps that change production may run (a migration's expand, backfill and
 * contract; a disposal's writes; a tuning request's CREATE or DROP INDEX CONCURRENTLY). The window in effect is the
 * resource's own {@code spec.maintenanceWindow}, else its namespace's (annotation {@value #NAMESPACE_ANNOTATION} on
 * the Namespace, a JSON object of the same three fields), else the operator's default (Helm value
 * {@code maintenanceWindow}, properties {@code dba.maintenance-window.*}), else none: always open. A namespace's
 * annotation is read at most every {@link #NAMESPACE_TTL} (a change is seen within that, or at the next
 * reconcile). A step outside its window waits with
 * condition Ready False, reason {@code OutsideMaintenanceWindow}, naming the next opening; a long step stops at its
 * next safe point once the window closes ({@link State#budget}) and resumes in the next one.
 * <p>
 * Windows are judged by the operator's clock ({@link #instant()}, the {@link InstantSource} bean: the system's, in
 * the tests one they can move forward to the next opening instead of waiting for a cron minute).
 */
@ApplicationScoped
public class MaintenanceWindows {

    /** The Namespace annotation holding a namespace's default window, e.g. {@code {"schedule":"0 2 * * 6",...}}. */
    public static final String NAMESPACE_ANNOTATION = "dbaoperator.io/maintenance-window";
    /** How long a namespace's annotation, once read, is used before it is read again. */
    public static final Duration NAMESPACE_TTL = Duration.ofSeconds(30);
    /** The longest a step waiting for a window sleeps: a namespace's window may change meanwhile. */
    static final Duration LONGEST_WAIT = Duration.ofMinutes(5);

    private static final ObjectMapper JSON = new ObjectMapper()
            .configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, true);

    private final InstantSource clock;
    private final MaintenanceWindow fallback;
    /** A namespace's annotation value (null: none); empty when no Kubernetes is at hand. */
    private final Function<String, String> namespaceAnnotation;
    private final Map<String, Read> namespaces = new ConcurrentHashMap<>();

    private record Read(String value, Instant at) {
    }

    @Inject
    public MaintenanceWindows(@ConfigProperty(name = "dba.maintenance-window.schedule") Optional<String> schedule,
            @ConfigProperty(name = "dba.maintenance-window.duration") Optional<String> duration,
            @ConfigProperty(name = "dba.maintenance-window.time-zone", defaultValue = "UTC") String timeZone,
            KubernetesClient client, InstantSource clock) {
        this(schedule, duration, timeZone, ns -> annotationOf(client, ns), clock);
    }

    /** Without namespaces: the resource's own window, else the operator's; on the system's clock. */
    public MaintenanceWindows(Optional<String> schedule, Optional<String> duration, String timeZone) {
        this(schedule, duration, timeZone, ns -> null, InstantSource.system());
    }

    /**
     * With {@code namespaceAnnotation} giving a namespace's {@value #NAMESPACE_ANNOTATION} value (null: none), on
     * {@code clock}.
     */
    public MaintenanceWindows(Optional<String> schedule, Optional<String> duration, String timeZone,
            Function<String, String> namespaceAnnotation, InstantSource clock) {
        this.clock = clock;
        this.namespaceAnnotation = namespaceAnnotation;
        this.fallback = schedule.filter(s -> !s.isBlank()).map(s -> new MaintenanceWindow(s, duration
                .filter(d -> !d.isBlank()).orElseThrow(() -> new IllegalArgumentException(
                        "dba.maintenance-window.schedule is set but dba.maintenance-window.duration is not")),
                timeZone)).orElse(null);
        if (fallback != null) {
            at("dba.maintenance-window", fallback, clock.instant()); // a bad default fails at start, not per resource
        }
    }

    private static String annotationOf(KubernetesClient client, String namespace) {
        try {
            Namespace ns = client.namespaces().withName(namespace).get();
            return ns == null || ns.getMetadata().getAnnotations() == null ? null
                    : ns.getMetadata().getAnnotations().get(NAMESPACE_ANNOTATION);
        } catch (KubernetesClientException e) {
            if (e.getCode() == 403) {
                // an install without the rule to read Namespaces: its windows cannot be known, so the steps that
                // change production wait (and the Namespace is asked again at the next reconcile)
                throw Problem.transientFault(Reason.OutsideMaintenanceWindow, "cannot read namespace " + namespace
                        + " for its " + NAMESPACE_ANNOTATION + " annotation (403: the operator's role needs get on "
                        + "namespaces); steps that change production wait until it can").exception();
            }
            throw e;
        }
    }

    /** Where a step stands against its window at {@code at} (null: no window, always open). */
    public record State(boolean open, Instant opensAt, Instant closesAt, String window, Instant at) {

        /** How long a step that starts now may run: until the window closes (forever without a window). */
        public Duration budget(Instant now, Duration max) {
            if (closesAt == null) {
                return max;
            }
            Duration left = Duration.between(now, closesAt);
            return left.compareTo(max) < 0 ? left : max;
        }

        /**
         * Whether work estimated to take {@code estimate} would outlast the open window if it started now, while a
         * whole window would hold it (work longer than any window starts at once: waiting would never end).
         */
        public boolean startsTooLate(Instant now, Duration estimate) {
            return open && closesAt != null && now.plus(estimate).isAfter(closesAt)
                    && estimate.compareTo(Duration.between(opensAt, closesAt)) < 0;
        }

        /** "outside the maintenance window (0 2 * * * for 2h, UTC); the next opens at ...". */
        public String waiting() {
            return "outside the maintenance window (" + window + "); the next opens at " + opensAt;
        }
    }

    /**
     * How long to wait before looking again: until the next opening (a little after it), at most
     * {@link #LONGEST_WAIT} (the resource's own window wakes it when changed; a namespace's does not).
     */
    private static Duration until(Instant now, Instant opensAt) {
        if (opensAt == null) {
            return LONGEST_WAIT;
        }
        Duration d = Duration.between(now, opensAt).plusMillis(200);
        return d.isNegative() ? Duration.ofSeconds(1) : d.compareTo(LONGEST_WAIT) > 0 ? LONGEST_WAIT : d;
    }

    /**
     * A production step's decision against its window.
     *
     * @param go whether the step may start now
     * @param waiting when not: the condition message ("Expanding waits: ...")
     * @param opensAt when not: the opening it waits for (status {@code waitingForWindow})
     * @param requeue when not: how long to wait before deciding again
     */
    public record Gate(boolean go, String waiting, Instant opensAt, Duration requeue) {
    }

    /**
     * Pure: may {@code step} start at {@code now} in {@code window}? Not outside it; nor, when the step's DDL is
     * estimated to take {@code estimate} (null: not estimated), once the rest of the window is shorter than that
     * while a whole window would hold it: then it waits for the opening {@code stateAt} gives at this one's close.
     */
    public static Gate gate(String step, State window, Duration estimate, Instant now,
            Function<Instant, State> stateAt) {
        if (!window.open()) {
            return new Gate(false, step + " waits: " + window.waiting(), window.opensAt(),
                    until(now, window.opensAt()));
        }
        if (estimate != null && window.startsTooLate(now, estimate)) {
            Instant next = stateAt.apply(window.closesAt()).opensAt();
            return new Gate(false, step + " waits: it took " + estimate.toMillis() + " ms in the staging rehearsal, "
                    + "and this window (" + window.window() + ") closes at " + window.closesAt() + "; the next opens "
                    + "at " + next, next, until(now, next));
        }
        return new Gate(true, null, null, null);
    }

    /** Always open: no window applies. */
    public static final State ALWAYS = new State(true, null, null, "none", null);

    /**
     * The state for {@code resource}, whose own window is {@code own} (null: its namespace's default, else the
     * operator's, if any).
     */
    public State now(HasMetadata resource, MaintenanceWindow own) {
        return stateAt(resource, own, clock.instant());
    }

    /** Now, on the clock windows are judged by: what a step that checks its window's budget must use. */
    public Instant instant() {
        return clock.instant();
    }

    /** As {@link #now}, at {@code when}. */
    public State stateAt(HasMetadata resource, MaintenanceWindow own, Instant when) {
        if (own != null) {
            return at("spec.maintenanceWindow", own, when);
        }
        String namespace = resource.getMetadata().getNamespace();
        if (namespace != null) {
            String field = "namespace " + namespace + "'s " + NAMESPACE_ANNOTATION + " annotation";
            MaintenanceWindow ofNamespace = parse(field, namespaceValue(namespace));
            if (ofNamespace != null) {
                State s = at(field, ofNamespace, when);
                return new State(s.open(), s.opensAt(), s.closesAt(), s.window() + ", namespace " + namespace
                        + "'s default", s.at());
            }
        }
        return fallback == null ? ALWAYS : at("dba.maintenance-window", fallback, when);
    }

    private String namespaceValue(String namespace) {
        Instant now = clock.instant();
        Read r = namespaces.get(namespace);
        if (r == null || r.at().plus(NAMESPACE_TTL).isBefore(now)) {
            r = new Read(namespaceAnnotation.apply(namespace), now);
            namespaces.put(namespace, r);
        }
        return r.value();
    }

    /** Pure: a namespace annotation's window; null for none; a malformed one is an InvalidSchedule naming it. */
    static MaintenanceWindow parse(String field, String value) {
        if (value == null || value.isBlank()) {
            return null;
        }
        MaintenanceWindow w;
        try {
            w = JSON.readValue(value, MaintenanceWindow.class);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            String why = e instanceof com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException u
                    ? "unknown field " + u.getPropertyName() : "not such an object";
            throw Problem.invalid(Reason.InvalidSchedule, field + " must be a JSON object {\"schedule\": ..., "
                    + "\"duration\": ..., \"timeZone\": ...} (" + why + ")").exception();
        }
        if (w == null || w.schedule == null || w.duration == null) {
            throw Problem.invalid(Reason.InvalidSchedule, field + " needs both schedule and duration").exception();
        }
        return w;
    }

    /** Pure: the state of window {@code w} at {@code now}; an invalid schedule or duration is an InvalidSchedule. */
    public static State at(String field, MaintenanceWindow w, Instant now) {
        CronSchedule cron = CronSchedule.parse(field + ".schedule", w.schedule, w.timeZone);
        Duration length = Durations.parse(field + ".duration", w.duration);
        if (length.isZero() || length.isNegative()) {
            throw Problem.invalid(Reason.InvalidSchedule, field + ".duration must be longer than 0").exception();
        }
        String describe = w.schedule + " for " + w.duration + ", " + (w.timeZone == null ? "UTC" : w.timeZone);
        ZonedDateTime at = now.atZone(ZoneOffset.UTC);
        // the latest opening at or before now (a window opening this very second counts)
        Optional<ZonedDateTime> last = cron.last(at.plusSeconds(1));
        if (last.isPresent() && last.get().toInstant().isAfter(now)) {
            // the next opening is within the second: the window before it may still be open (a schedule that
            // fires more often than its windows last, e.g. * * * * * for 2m, at 12:00:59.5)
            last = cron.last(at);
        }
        if (last.isPresent() && last.get().toInstant().plus(length).isAfter(now)
                && !last.get().toInstant().isAfter(now)) {
            return new State(true, last.get().toInstant(), last.get().toInstant().plus(length), describe, now);
        }
        Instant next = cron.next(at).map(ZonedDateTime::toInstant).orElse(null);
        return new State(false, next, null, describe, now);
    }
}
