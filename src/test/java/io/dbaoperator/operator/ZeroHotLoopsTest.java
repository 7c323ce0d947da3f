package io.dbaoperator.operator;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.Test;

import io.dbaoperator.api.backup.BackupPolicy;
import io.dbaoperator.api.backup.BackupRestore;
import io.dbaoperator.api.disposal.DisposalJob;
import io.dbaoperator.api.migration.DatabaseMigration;
import io.dbaoperator.api.tuning.QueryTuningRequest;
import io.dbaoperator.harness.OperatorHarness;
import io.dbaoperator.harness.OperatorTier;
import io.dbaoperator.harness.TestKubernetes;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.Watch;
import io.fabric8.kubernetes.client.Watcher;
import io.fabric8.kubernetes.client.WatcherException;
import io.fabric8.kubernetes.client.CustomResource;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;

/**
 * No resource the operator tier left behind is rewritten in a loop: every resource of the five kinds, in whatever
 * phase the tests left it (refused, failed, waiting, completed, scheduled), is watched for a few seconds and none may
 * be modified more than about once a second. A reconcile whose own status write wakes it again (a condition whose
 * time moves on every pass) would show here as tens of writes a second; it once took the CPU from every class after
 * the one that left such a resource. Named to run last of the default profile's classes (Quarkus orders test classes
 * by profile, then by name), so that it sees what all of them left.
 */
@OperatorTier
@QuarkusTest
@QuarkusTestResource(OperatorHarness.class)
class ZeroHotLoopsTest {

    static final long WATCH_MS = 6000;

    /** Counts each resource's MODIFIED events into {@code modified}. */
    static <R extends CustomResource<?, ?>> Watch watch(KubernetesClient client, Class<R> kind,
            Map<String, AtomicInteger> modified) {
        return client.resources(kind).inAnyNamespace().watch(new Watcher<R>() {
            @Override
            public void eventReceived(Action action, R r) {
                if (action == Action.MODIFIED) {
                    modified.computeIfAbsent(kind.getSimpleName() + " " + r.getMetadata().getNamespace() + "/"
                            + r.getMetadata().getName(), k -> new AtomicInteger()).incrementAndGet();
                }
            }

            @Override
            public void onClose(WatcherException cause) {
            }
        });
    }

    @Test
    void noResourceIsRewrittenInALoop() throws Exception {
        KubernetesClient client = TestKubernetes.get().client();
        Map<String, AtomicInteger> modified = new ConcurrentHashMap<>();
        List<Class<? extends CustomResource<?, ?>>> kinds = List.of(DatabaseMigration.class, BackupPolicy.class,
                BackupRestore.class, QueryTuningRequest.class, DisposalJob.class,
                io.dbaoperator.api.maintenance.DatabaseMaintenance.class);
        List<Watch> watches = new java.util.ArrayList<>();
        int resources = 0;
        for (var kind : kinds) {
            resources += client.resources(kind).inAnyNamespace().list().getItems().size();
            watches.add(watch(client, kind, modified));
        }
        try {
            Thread.sleep(WATCH_MS);
        } finally {
            watches.forEach(Watch::close);
        }
        Map<String, Integer> hot = new java.util.TreeMap<>();
        modified.forEach((name, n) -> {
            if (n.get() > WATCH_MS / 1000) {
                hot.put(name, n.get());
            }
        });
        assertThat(resources).as("resources left by the tier to watch").isPositive();
        assertThat(hot).as("resources modified more than once a second over %d ms (of %d watched)", WATCH_MS,
                resources).isEmpty();
    }
}
