package io.dbaoperator.harness;

import java.util.function.Consumer;

import io.fabric8.kubernetes.client.informers.ResourceEventHandler;

/** The harness's informer handlers: what a controller does when an object appears or changes, and when it goes. */
final class Informers {

    private Informers() {
    }

    /** Calls {@code onChange} for every added or updated object and {@code onDelete} for every deleted one. */
    static <T> ResourceEventHandler<T> handler(Consumer<T> onChange, Consumer<T> onDelete) {
        return new ResourceEventHandler<>() {
            @Override
            public void onAdd(T obj) {
                onChange.accept(obj);
            }

            @Override
            public void onUpdate(T oldObj, T newObj) {
                onChange.accept(newObj);
            }

            @Override
            public void onDelete(T obj, boolean deletedFinalStateUnknown) {
                onDelete.accept(obj);
            }
        };
    }
}
