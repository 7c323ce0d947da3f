package io.dbaoperator.ship;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;

import io.dbaoperator.problem.Reason;
import io.dbaoperator.problem.Reason.Group;

/**
 * Each kind reports its own reasons and the common ones: a reason of another kind in a kind's package (a migration
 * saying RestoreFailed) is a copy-paste slip that a user would read in status. Outside the kinds' packages only the
 * common reasons are used.
 */
class ReasonGroupsTest {

    private static final Path SOURCES = Path.of("src/main/java/io/dbaoperator");
    private static final Pattern USE = Pattern.compile("\\bReason\\.([A-Z][A-Za-z]+)\\b");
    private static final Map<String, Set<Group>> KIND_PACKAGES = Map.of(
            "migration", EnumSet.of(Group.MIGRATION),
            "backup", EnumSet.of(Group.BACKUP, Group.RESTORE),
            "agent", EnumSet.of(Group.BACKUP, Group.RESTORE),
            "disposal", EnumSet.of(Group.DISPOSAL),
            "maintenance", EnumSet.of(Group.MAINTENANCE),
            "tuning", EnumSet.of(Group.TUNING));

    @Test
    void everyPackageReportsItsKindsReasonsAndTheCommonOnes() throws IOException {
        List<String> misplaced = new ArrayList<>();
        int uses = 0;
        try (Stream<Path> files = Files.walk(SOURCES)) {
            for (Path file : files.filter(f -> f.toString().endsWith(".java")).toList()) {
                String pkg = SOURCES.relativize(file).getName(0).toString();
                if (pkg.equals("problem")) {
                    continue;
                }
                Set<Group> allowed = EnumSet.of(Group.COMMON);
                allowed.addAll(KIND_PACKAGES.getOrDefault(pkg, Set.of()));
                Matcher m = USE.matcher(Files.readString(file));
                while (m.find()) {
                    if (m.group(1).equals("Group") || m.group(1).equals("Severity")) {
                        continue;
                    }
                    uses++;
                    Reason reason = Reason.valueOf(m.group(1));
                    if (reason.groups().stream().noneMatch(allowed::contains)) {
                        misplaced.add(SOURCES.relativize(file) + ": " + reason + " " + reason.groups());
                    }
                }
            }
        }
        assertThat(uses).as("reasons used in src/main").isGreaterThan(100);
        assertThat(misplaced).as("reasons reported outside their kind").isEmpty();
    }

    @Test
    void progressIsNormalAndProblemsAreWarnings() {
        assertThat(Reason.Validated.isProblem()).isFalse();
        assertThat(Reason.OutsideMaintenanceWindow.isProblem()).isFalse();
        assertThat(Reason.RestoreSucceeded.isProblem()).isFalse();
        assertThat(Reason.SecretNotFound.isProblem()).isTrue();
        assertThat(Reason.WalGap.isProblem()).isTrue();
        assertThat(Reason.InternalError.isProblem()).isTrue();
    }
}
