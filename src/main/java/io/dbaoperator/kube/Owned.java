package io.dbaoperator.kube;

import java.util.List;
import java.util.Optional;

import io.fabric8.kubernetes.api.model.HasMetadata;

/**
 * The objects of one type that one primary resource made, as a handler sees them: listed, found by name, and
 * created so that the next reconcile finds them. {@link OwnedObjects} serves them from the controller's informer;
 * handler tests give an in-memory list.
 */
public interface Owned<R extends HasMetadata> {

    /** All of them, oldest first (by name, which for the operator's Jobs carries their time). */
    List<R> list();

    Optional<R> named(String name);

    /** Creates {@code object}, or returns the one of its (deterministic) name made already. */
    R create(R object);

    /** Deletes the one named {@code name} (and, in the background, what it owns: a Job's pods); gone already is fine. */
    void delete(String name);
}
