package io.dbaoperator.kube;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Predicate;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;

import io.dbaoperator.api.backup.BackupPolicy;
import io.dbaoperator.api.backup.BackupPolicySpec;
import io.dbaoperator.api.common.S3Storage;
import io.javaoperatorsdk.operator.api.reconciler.ResourceCache;
import io.javaoperatorsdk.operator.processing.event.ResourceID;

class SharedCachesTest {

    /** A controller's primary cache as the SDK hands it over: objects by namespace and name. */
    record MapCache(Map<ResourceID, BackupPolicy> objects) implements ResourceCache<BackupPolicy> {
        @Override
        public Optional<BackupPolicy> get(ResourceID id) {
            return Optional.ofNullable(objects.get(id));
        }

        @Override
        public Stream<ResourceID> keys() {
            return objects.keySet().stream();
        }

        @Override
        public Stream<BackupPolicy> list(Predicate<BackupPolicy> p) {
            return objects.values().stream().filter(p);
        }

        @Override
        public Stream<BackupPolicy> list(String namespace, Predicate<BackupPolicy> p) {
            return list(p).filter(o -> namespace.equals(o.getMetadata().getNamespace()));
        }
    }

    static BackupPolicy policy(String ns, String name, String bucket) {
        BackupPolicy p = new BackupPolicy();
        p.getMetadata().setNamespace(ns);
        p.getMetadata().setName(name);
        p.setSpec(new BackupPolicySpec());
        p.getSpec().storage = new S3Storage();
        p.getSpec().storage.bucket = bucket;
        return p;
    }

    @Test
    void aSharedKindIsReadFromTheControllersCacheAsACopyThatCanBeChangedWithoutChangingTheCache() {
        BackupPolicy cached = policy("a", "nightly", "from-the-cache");
        MapCache cache = new MapCache(Map.of(new ResourceID("nightly", "a"), cached,
                new ResourceID("other", "b"), policy("b", "other", "x")));
        SharedCaches caches = new SharedCaches(null);
        caches.share(BackupPolicy.class, cache);

        BackupPolicy read = caches.get(BackupPolicy.class, "a", "nightly");
        assertThat(read.getSpec().storage.bucket).isEqualTo("from-the-cache");
        // a restore resolves its default storage into the policy it read: the controller's object stays as it was
        read.getSpec().storage.bucket = "resolved";
        assertThat(cached.getSpec().storage.bucket).isEqualTo("from-the-cache");
        assertThat(caches.get(BackupPolicy.class, "a", "nightly").getSpec().storage.bucket)
                .isEqualTo("from-the-cache");

        assertThat(caches.get(BackupPolicy.class, "a", "missing")).isNull();
        List<BackupPolicy> inA = caches.list(BackupPolicy.class, "a");
        assertThat(inA).extracting(p -> p.getMetadata().getName()).containsExactly("nightly");
        assertThat(inA.get(0)).isNotSameAs(cached);
    }

    @Test
    void aKindNoControllerShared_withoutAClient_isNotThere() {
        SharedCaches caches = new SharedCaches(null);
        assertThat(caches.get(BackupPolicy.class, "a", "nightly")).isNull();
        assertThat(caches.list(BackupPolicy.class, "a")).isEmpty();
    }
}
