package io.dbaoperator.api;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

import org.junit.jupiter.api.Test;

import io.dbaoperator.api.backup.BackupPolicy;
import io.dbaoperator.api.backup.BackupRestore;
import io.dbaoperator.api.disposal.DisposalJob;
import io.dbaoperator.api.migration.DatabaseMigration;
import io.dbaoperator.api.tuning.QueryTuningRequest;
import io.fabric8.crd.generator.annotation.AdditionalPrinterColumn;
import io.fabric8.crdv2.generator.CRDGenerator;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceColumnDefinition;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinitionVersion;
import io.fabric8.kubernetes.client.CustomResource;
import io.fabric8.kubernetes.client.utils.Serialization;

/**
 * crds/ is what users install; it must be exactly what the API classes generate. Run with -Dcrds.update=true to
 * rewrite crds/ after changing an API class. Printer columns keep the order declared on the class (the generator
 * sorts them by name, which would put AGE first).
 */
class CrdSyncTest {

    static final List<Class<? extends CustomResource<?, ?>>> KINDS = List.of(DatabaseMigration.class,
            BackupPolicy.class, BackupRestore.class, QueryTuningRequest.class, DisposalJob.class,
            io.dbaoperator.api.maintenance.DatabaseMaintenance.class);

    @Test
    void crdsDirectoryMatchesTheApiClasses() throws IOException {
        boolean update = Boolean.getBoolean("crds.update");
        for (Class<? extends CustomResource<?, ?>> kind : KINDS) {
            String plural = io.fabric8.kubernetes.api.model.HasMetadata.getPlural(kind);
            Path generated = generate(kind);
            String expected = render(kind, generated);
            io.dbaoperator.harness.TempDirs.delete(generated.getParent());
            Path released = Paths.get("crds/" + plural + ".dbaoperator.io.yaml");
            Path chart = Paths.get("helm/dba-operator/crds/" + plural + ".dbaoperator.io.yaml");
            if (update) {
                Files.createDirectories(released.getParent());
                Files.writeString(released, expected, StandardCharsets.UTF_8);
                Files.createDirectories(chart.getParent());
                Files.writeString(chart, expected, StandardCharsets.UTF_8); // the Helm chart ships the same CRDs
            }
            assertThat(released).as("crds/ copy of %s; run ./mvnw verify -Dcrds.update=true after changing the API",
                    kind.getSimpleName()).exists();
            assertThat(Files.readString(released)).as("crds/%s drifted from %s; run ./mvnw verify -Dcrds.update=true",
                    released.getFileName(), kind.getSimpleName()).isEqualTo(expected);
        }
    }

    @Test
    void everyCrdIsInCategoryDbaWithStatusSubresourceAndPhaseApprovalAgeColumns() throws IOException {
        for (Class<? extends CustomResource<?, ?>> kind : KINDS) {
            CustomResourceDefinition crd = Serialization.unmarshal(Files.readString(
                    Paths.get("crds/" + io.fabric8.kubernetes.api.model.HasMetadata.getPlural(kind) + ".dbaoperator.io.yaml")),
                    CustomResourceDefinition.class);
            assertThat(crd.getSpec().getNames().getCategories()).containsExactly("dba");
            assertThat(crd.getSpec().getNames().getShortNames()).hasSize(1);
            CustomResourceDefinitionVersion v = crd.getSpec().getVersions().get(0);
            assertThat(v.getName()).isEqualTo("v1alpha1");
            assertThat(v.getSubresources().getStatus()).isNotNull();
            List<String> columns = v.getAdditionalPrinterColumns().stream().map(CustomResourceColumnDefinition::getName)
                    .toList();
            assertThat(columns.get(0)).isEqualTo("Phase");
            assertThat(columns.get(columns.size() - 1)).isEqualTo("Age");
            assertThat(columns).hasSizeGreaterThanOrEqualTo(3);
            boolean gated = kind != BackupPolicy.class;
            assertThat(columns.contains("Approval")).as("%s approval column", kind.getSimpleName()).isEqualTo(gated);
        }
    }

    /** Runs the CRD generator (the one the operator SDK uses) on one kind; returns the generated file. */
    static Path generate(Class<? extends CustomResource<?, ?>> kind) throws IOException {
        Path dir = Files.createTempDirectory("crd-");
        new CRDGenerator().inOutputDir(dir.toFile()).forCRDVersions("v1").customResourceClasses(kind).generate();
        return dir.resolve(io.fabric8.kubernetes.api.model.HasMetadata.getPlural(kind) + ".dbaoperator.io-v1.yml");
    }

    static String render(Class<?> kind, Path generated) throws IOException {
        CustomResourceDefinition crd = Serialization.unmarshal(Files.readString(generated),
                CustomResourceDefinition.class);
        List<String> order = Arrays.stream(kind.getAnnotationsByType(AdditionalPrinterColumn.class))
                .map(AdditionalPrinterColumn::name).toList();
        for (CustomResourceDefinitionVersion v : crd.getSpec().getVersions()) {
            v.getAdditionalPrinterColumns().sort(Comparator.comparingInt(c -> order.indexOf(c.getName())));
        }
        return "# Generated from the API classes in src/main/java/io/dbaoperator/api by the build; do not edit.\n"
                + "# Regenerate with: ./mvnw verify -Dcrds.update=true\n" + Serialization.asYaml(crd);
    }
}
