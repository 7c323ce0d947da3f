package io.dbaoperator.harness;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * Marks a test class of the operator tier: the operator in Quarkus against the real control plane, its Jobs and
 * restored instances containers of the operator's image on the real node ({@link TestKubernetes}). The image is
 * built from the packaged application, so these classes run in surefire's {@code operator-tier} execution after
 * {@code package} (pom.xml), which sets {@value #PROPERTY}={@value #TIER}; anywhere else (a {@code -Dtest=} that also
 * selects them in the {@code test} phase, before there is a package) they are skipped, with the command that runs
 * them. Like {@link RealParts}, which it implies, the fast tier leaves them out.
 */
@Documented
@Retention(RetentionPolicy.RUNTIME)
@Target(ElementType.TYPE)
@Tag(RealParts.TAG)
@EnabledIfSystemProperty(named = OperatorTier.PROPERTY, matches = OperatorTier.TIER,
        disabledReason = "the operator tier runs after package, as its Jobs run the image built from it: "
                + "./mvnw verify -Dtest=THIS_CLASS -Dit.test=NONE")
public @interface OperatorTier {

    String PROPERTY = "dba.test.tier";
    String TIER = "operator";
}
