package io.dbaoperator.operator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.List;

import io.dbaoperator.api.common.Condition;
import io.dbaoperator.api.common.OperatorStatus;
import io.dbaoperator.api.common.Phase;
import io.dbaoperator.harness.TestKubernetes;
import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.client.CustomResource;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.fabric8.kubernetes.client.utils.Serialization;

/** Waiting for what a user would see (phases, conditions, Events on our resources), and approving as a person does. */
public final class OperatorAssertions {

    /**
     * How long a whole base backup (pg_basebackup, upload, pg_verifybackup) may take in a test. It backs up the
     * shared test instance, which grows as the suite runs: on a busy 2-core CI machine one took 111 s of 120.
     */
    public static final Duration A_BACKUP = Duration.ofMinutes(5);

    private OperatorAssertions() {
    }

    /** Waits until the resource's condition {@code type} has {@code status}; returns it. */
    public static <R extends CustomResource<?, ? extends OperatorStatus>> Condition awaitCondition(Class<R> kind,
            String ns, String name, String type, String status) {
        return awaitCondition(kind, ns, name, type, status, Duration.ofSeconds(60));
    }

    public static <R extends CustomResource<?, ? extends OperatorStatus>> Condition awaitCondition(Class<R> kind,
            String ns, String name, String type, String status, Duration atMost) {
        Condition[] found = new Condition[1];
        await().atMost(atMost).pollInterval(Duration.ofMillis(200)).untilAsserted(() -> {
            R r = TestKubernetes.get().client().resources(kind).inNamespace(ns).withName(name).get();
            assertThat(r).as("%s %s/%s", kind.getSimpleName(), ns, name).isNotNull();
            assertThat(r.getStatus()).as("status of %s", name).isNotNull();
            Condition c = r.getStatus().conditions.stream().filter(x -> x.type.equals(type)).findFirst().orElse(null);
            assertThat(c).as("%s condition of %s", type, name).isNotNull();
            assertThat(c.status).as("%s of %s", type, Serialization.asJson(r)).isEqualTo(status);
            found[0] = c;
        });
        return found[0];
    }

    /**
     * Waits until the resource is in {@code phase} and returns its status. Gives up at once when it reaches a
     * terminal phase (nothing moves on from there) or one of {@code givesUpOn}, saying which and why.
     */
    @SafeVarargs
    public static <S extends OperatorStatus, R extends CustomResource<?, S>, P extends Enum<P> & Phase<P>> S awaitPhase(
            Class<R> kind, String ns, String name, P phase, Duration atMost, P... givesUpOn) {
        List<P> stops = List.of(givesUpOn);
        Object[] found = new Object[1];
        await().atMost(atMost).pollInterval(Duration.ofMillis(200)).untilAsserted(() -> {
            R r = get(kind, ns, name);
            assertThat(r).as("%s %s/%s", kind.getSimpleName(), ns, name).isNotNull();
            S st = r.getStatus();
            assertThat(st).as("status of %s", name).isNotNull();
            @SuppressWarnings("unchecked")
            P now = (P) st.getClass().getField("phase").get(st);
            if (now != null && now != phase && (now.terminal() || stops.contains(now))) {
                throw new IllegalStateException(kind.getSimpleName() + " " + name + " ended " + now
                        + " while waiting for " + phase + ": " + st.message);
            }
            assertThat(now).as("phase of %s: %s", name, st.message).isEqualTo(phase);
            found[0] = st;
        });
        @SuppressWarnings("unchecked")
        S st = (S) found[0];
        return st;
    }

    /** A person approves the resource's pending step (bound to {@code digest} when given), as kubectl patch does. */
    public static void approve(Class<? extends CustomResource<?, ?>> kind, String ns, String name, String digest) {
        String body = digest == null ? "{\"status\":{\"approved\":true}}"
                : "{\"status\":{\"approved\":true,\"approvedPlanDigest\":\"" + digest + "\"}}";
        TestKubernetes.get().client().resources(kind).inNamespace(ns).withName(name).subresource("status")
                .patch(PatchContext.of(PatchType.JSON_MERGE), body);
    }

    /**
     * Moves the operator's clock ({@link io.dbaoperator.harness.TestClock}) to read {@code lead} before {@code at},
     * and wakes the resource (a changed annotation is an event to its controller): it decides again on the moved
     * clock instead of sleeping out the wait it computed on the old one.
     */
    public static void clockJustBefore(Class<? extends CustomResource<?, ?>> kind, String ns, String name,
            java.time.Instant at, Duration lead) {
        io.dbaoperator.harness.TestClock.readsJustBefore(at, lead);
        TestKubernetes.get().client().resources(kind).inNamespace(ns).withName(name).patch(
                PatchContext.of(PatchType.JSON_MERGE), "{\"metadata\":{\"annotations\":{\"test.dbaoperator.io/"
                        + "clock\":\"" + io.dbaoperator.harness.TestClock.now() + "\"}}}");
    }

    /** A person rejects the resource's pending step. */
    public static void reject(Class<? extends CustomResource<?, ?>> kind, String ns, String name) {
        TestKubernetes.get().client().resources(kind).inNamespace(ns).withName(name).subresource("status")
                .patch(PatchContext.of(PatchType.JSON_MERGE), "{\"status\":{\"rejected\":true}}");
    }

    /**
     * A person's edit of a resource the operator also writes: read, change, write, and on a 409 (the operator wrote
     * between the read and the write) read and change again, as kubectl edit asks its user to.
     */
    public static <R extends CustomResource<?, ?>> R edit(Class<R> kind, String ns, String name,
            java.util.function.UnaryOperator<R> change) {
        for (int attempt = 1;; attempt++) {
            try {
                return TestKubernetes.get().client().resources(kind).inNamespace(ns).withName(name).edit(change);
            } catch (io.fabric8.kubernetes.client.KubernetesClientException e) {
                if (e.getCode() != 409 || attempt == 5) {
                    throw e;
                }
            }
        }
    }

    public static <R extends CustomResource<?, ?>> R get(Class<R> kind, String ns, String name) {
        return TestKubernetes.get().client().resources(kind).inNamespace(ns).withName(name).get();
    }

    public static List<Event> events(String ns, String name) {
        return TestKubernetes.get().client().v1().events().inNamespace(ns).list().getItems().stream()
                .filter(e -> name.equals(e.getInvolvedObject().getName())).toList();
    }

    /** Waits for an Event of this type and reason on the object. */
    public static void awaitEvent(String ns, String name, String type, String reason) {
        await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> assertThat(events(ns, name))
                .anySatisfy(e -> {
                    assertThat(e.getType()).isEqualTo(type);
                    assertThat(e.getReason()).isEqualTo(reason);
                }));
    }
}
