package io.dbaoperator.disposal;

import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Set;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import io.dbaoperator.sql.SqlSyntaxException;

class SafePredicateTest {

    static final Set<String> COLUMNS = Set.of("id", "status", "closed_at", "email", "Mixed Case");

    @ParameterizedTest
    @ValueSource(strings = {
        "closed_at < now() - interval '2 years'",
        "status IN ('closed', 'deleted') AND NOT (email LIKE '%@keep.example')",
        "closed_at IS NOT NULL AND date_trunc('day', closed_at) < current_date - 30",
        "\"Mixed Case\" = 'x' OR id BETWEEN 1 AND 10",
        "lower(email) ILIKE 'test%' AND extract(year FROM closed_at) < 2020",
        "closed_at::date < '2020-01-01'::date"})
    void safeForms(String predicate) {
        assertThatCode(() -> SafePredicate.check(predicate, COLUMNS)).doesNotThrowAnyException();
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "id = 1; DROP TABLE users | ';' is not allowed",
        "id IN (SELECT id FROM other) | subqueries",
        "EXISTS (VALUES (1)) | not in the allow-list",
        "pg_sleep(10) IS NULL | pg_sleep() is not in the allow-list",
        "set_config('a', 'b', false) = 'b' | set_config() is not in the allow-list",
        "pg_catalog.now() < closed_at | 'pg_catalog' is neither a column",
        "ctid = '(0,1)' | 'ctid' is neither a column",
        "id = $1 | parameters",
        "\"secret\" = 'x' | not a column",
        "id::regclass IS NULL | cast to regclass",
        "(id = 1 | unbalanced"})
    void unsafeForms(String predicate, String why) {
        assertThatThrownBy(() -> SafePredicate.check(predicate, COLUMNS)).isInstanceOf(SqlSyntaxException.class)
                .hasMessageContaining(why);
    }
}
