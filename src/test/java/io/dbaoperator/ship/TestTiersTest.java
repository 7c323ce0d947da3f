package io.dbaoperator.ship;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;

/**
 * The fast tier ({@code ./mvnw -Pfast test}) leaves the operator tier out by its package, because Quarkus loads
 * each {@code @QuarkusTest} class and calls its test profile during discovery, before any tag filter: one elsewhere
 * would pull Quarkus (and the real parts its profile starts) into the fast tier. (The other tests that need a real part are left out by their {@code @RealParts} tag, and the harness
 * refuses to start one in the fast tier.)
 */
class TestTiersTest {

    static final Path TESTS = Path.of("src/test/java");
    static final Path OPERATOR_TIER = TESTS.resolve("io/dbaoperator/operator");

    @Test
    void everyQuarkusTestLivesInTheOperatorTiersPackage() throws IOException {
        List<Path> quarkusTests;
        try (Stream<Path> files = Files.walk(TESTS)) {
            quarkusTests = files.filter(f -> f.toString().endsWith(".java")).filter(TestTiersTest::isQuarkusTest)
                    .toList();
        }
        assertThat(quarkusTests).as("the operator tier's classes").hasSizeGreaterThan(10);
        assertThat(quarkusTests).as("@QuarkusTest classes outside %s", OPERATOR_TIER)
                .allMatch(f -> f.getParent().equals(OPERATOR_TIER));
    }

    @Test
    void theFastProfileLeavesThatPackageAndTheRealPartsTagOut() throws IOException {
        String pom = Files.readString(Path.of("pom.xml"));
        String fast = pom.substring(pom.indexOf("<id>fast</id>"), pom.indexOf("</profile>", pom.indexOf("<id>fast</id>")));
        assertThat(fast).contains("<exclude>" + TESTS.relativize(OPERATOR_TIER) + "/**</exclude>")
                .contains("<excludedGroups>real-parts</excludedGroups>")
                .contains("<dba.test.tier>fast</dba.test.tier>");
    }

    /**
     * The operator tier runs after package (its pods run the image built from it): every test class of its package
     * is {@code @OperatorTier}, which skips it anywhere but surefire's operator-tier execution; the test phase leaves
     * the package out and that execution, bound to integration-test, takes it in.
     */
    @Test
    void theOperatorTierRunsAfterPackageOnly() throws IOException {
        List<Path> classes;
        try (Stream<Path> files = Files.list(OPERATOR_TIER)) {
            classes = files.filter(f -> f.getFileName().toString().endsWith("Test.java")).toList();
        }
        assertThat(classes).hasSizeGreaterThan(10).allSatisfy(f -> assertThat(Files.readAllLines(f))
                .as("%s is @OperatorTier", f.getFileName()).contains("@OperatorTier"));
        String pom = Files.readString(Path.of("pom.xml"));
        String surefire = pom.substring(pom.indexOf("<artifactId>maven-surefire-plugin</artifactId>"),
                pom.indexOf("<artifactId>maven-failsafe-plugin</artifactId>"));
        String testPhase = surefire.substring(surefire.indexOf("<id>default-test</id>"),
                surefire.indexOf("</execution>", surefire.indexOf("<id>default-test</id>")));
        String operatorTier = surefire.substring(surefire.indexOf("<id>operator-tier</id>"),
                surefire.indexOf("</execution>", surefire.indexOf("<id>operator-tier</id>")));
        assertThat(testPhase).contains("<exclude>" + TESTS.relativize(OPERATOR_TIER) + "/**</exclude>");
        assertThat(operatorTier).contains("<phase>integration-test</phase>")
                .contains("<include>" + TESTS.relativize(OPERATOR_TIER) + "/**/*Test.java</include>")
                .contains("<dba.test.tier>operator</dba.test.tier>");
    }

    private static boolean isQuarkusTest(Path f) {
        try {
            return Files.readAllLines(f).stream().anyMatch(line -> line.strip().startsWith("@QuarkusTest")
                    && !line.strip().startsWith("@QuarkusTestResource"));
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
