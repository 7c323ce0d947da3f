package io.dbaoperator.fakes;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;

import io.dbaoperator.kube.Owned;
import io.fabric8.kubernetes.api.model.HasMetadata;

/**
 * Owned objects in memory, for handler tests without a cluster: what the test puts here is what the informer
 * would serve, and what the handler creates is kept (once per name, as the API server would) and listed.
 */
public final class FakeOwned<R extends HasMetadata> implements Owned<R> {

    public final List<R> objects = new ArrayList<>();
    /** The names the handler created, in order. */
    public final List<String> created = new ArrayList<>();
    /** The names the handler deleted, in order. */
    public final List<String> deleted = new ArrayList<>();

    @Override
    public List<R> list() {
        return objects.stream().sorted(Comparator.comparing(r -> r.getMetadata().getName())).toList();
    }

    @Override
    public Optional<R> named(String name) {
        return objects.stream().filter(r -> r.getMetadata().getName().equals(name)).findFirst();
    }

    @Override
    public R create(R object) {
        Optional<R> existing = named(object.getMetadata().getName());
        if (existing.isPresent()) {
            return existing.get();
        }
        created.add(object.getMetadata().getName());
        objects.add(object);
        return object;
    }

    @Override
    public void delete(String name) {
        deleted.add(name);
        objects.removeIf(r -> r.getMetadata().getName().equals(name));
    }
}
