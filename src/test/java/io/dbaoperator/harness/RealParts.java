package io.dbaoperator.harness;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

import org.junit.jupiter.api.Tag;

/**
 * Marks a test class that needs a real part: PostgreSQL, the S3 server, the control plane, or the operator running
 * in Quarkus. The fast tier ({@code ./mvnw -Pfast test}) runs every other test class and leaves these out by their
 * tag, so a new plain unit test joins it without a list to edit. A test that needs a real part but forgets the tag
 * does not slow the fast tier down silently: there the harness refuses to start the part (see {@link Guard}).
 */
@Documented
@Retention(RetentionPolicy.RUNTIME)
@Target(ElementType.TYPE)
@Tag(RealParts.TAG)
public @interface RealParts {

    String TAG = "real-parts";

    /** Called by each real part's harness before it starts one. */
    final class Guard {

        /** Set by the fast profile in pom.xml. */
        static final String TIER_PROPERTY = "dba.test.tier";

        private Guard() {
        }

        static void starting(String part) {
            if ("fast".equals(System.getProperty(TIER_PROPERTY))) {
                throw new IllegalStateException("the fast tier starts no " + part
                        + ": a test that needs it is annotated @RealParts");
            }
        }
    }
}
