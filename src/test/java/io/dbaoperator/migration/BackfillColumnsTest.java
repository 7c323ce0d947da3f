package io.dbaoperator.migration;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class BackfillColumnsTest {

    @Test
    void singleColumnAssignmentsAreTakenAsWrittenAndTupleTargetsLeftOut() {
        assertThat(BackfillColumns.simple("email_lower = lower(email)"))
                .containsExactly(new BackfillColumns.Assignment("email_lower", "lower(email)"));
        assertThat(BackfillColumns.simple("\"Full Name\" = concat(first, ' ', last), n = coalesce(a, 1) + 2"))
                .containsExactly(new BackfillColumns.Assignment("\"Full Name\"", "concat(first, ' ', last)"),
                        new BackfillColumns.Assignment("n", "coalesce(a, 1) + 2"));
        assertThat(BackfillColumns.simple("(a, b) = (1, 2), c = (select max(x) from t where y = 1)"))
                .containsExactly(new BackfillColumns.Assignment("c", "(select max(x) from t where y = 1)"));
        assertThat(BackfillColumns.assigned("(a, b) = (1, 2), c = 3")).containsExactly("a", "b", "c");
    }

    @Test
    void theUnfilledQueryLooksOnlyAtTheBackfillsRowsAndAtNulls() {
        var spec = new io.dbaoperator.api.migration.DatabaseMigrationSpec.Backfill();
        spec.table = "public.users";
        spec.set = "email_lower = lower(email)";
        spec.where = "email_lower IS NULL OR id > 10";
        spec.keyColumn = "id";
        Backfill b = new Backfill(spec, java.time.Duration.ofSeconds(1), 1, java.time.Duration.ZERO, null);
        assertThat(b.unfilledSql()).isEqualTo("SELECT count(*) FROM (SELECT 1 FROM \"public\".\"users\" WHERE "
                + "(email_lower IS NULL OR id > 10) AND ((email_lower IS NULL AND (lower(email)) IS NOT NULL)) "
                + "LIMIT 1000) dba_unfilled");
        spec.set = "(a, b) = (1, 2)";
        assertThat(new Backfill(spec, java.time.Duration.ofSeconds(1), 1, java.time.Duration.ZERO, null)
                .unfilledSql()).as("nothing it can check").isNull();
    }
}
