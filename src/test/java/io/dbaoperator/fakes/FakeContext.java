package io.dbaoperator.fakes;

import java.lang.reflect.Proxy;
import java.util.Optional;
import java.util.Set;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.processing.event.EventSourceRetriever;

/**
 * A JOSDK Context for handler tests: no secondary resource in any informer (so a dependent reads as absent), and
 * event sources that are looked up but never there. A handler that needs more than that fails the test.
 */
public final class FakeContext {

    private FakeContext() {
    }

    @SuppressWarnings("unchecked")
    public static <P extends HasMetadata> Context<P> empty() {
        EventSourceRetriever<P> sources = (EventSourceRetriever<P>) Proxy.newProxyInstance(
                EventSourceRetriever.class.getClassLoader(), new Class<?>[] {EventSourceRetriever.class},
                (p, m, a) -> switch (m.getName()) {
                    case "getEventSourceFor" -> null;
                    case "toString" -> "no event sources";
                    default -> throw new UnsupportedOperationException("EventSourceRetriever." + m.getName());
                });
        return (Context<P>) Proxy.newProxyInstance(Context.class.getClassLoader(), new Class<?>[] {Context.class},
                (p, m, a) -> switch (m.getName()) {
                    case "getSecondaryResources" -> Set.of();
                    case "getSecondaryResource" -> Optional.empty();
                    case "eventSourceRetriever" -> sources;
                    case "getClient", "getPrimaryResource" -> null;
                    case "toString" -> "an empty Context";
                    default -> throw new UnsupportedOperationException("Context." + m.getName());
                });
    }
}
