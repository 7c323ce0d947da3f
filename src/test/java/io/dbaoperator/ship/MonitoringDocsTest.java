package io.dbaoperator.ship;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * Every metric the alerts and the Grafana dashboard use is one docs/metrics.md documents (with how it is measured),
 * every alert of the plain manifests is also in the chart, and every alert has its runbook in docs/runbooks.md.
 */
class MonitoringDocsTest {

    static final Pattern METRIC = Pattern.compile("\\b((?:dba|backup|restore_test|wal_archiving|operator_sdk)_[a-z_]+"
            + "|index_hit_rate|query_latency_p99_ms|database_cpu_utilization)\\b");

    static Set<String> metrics(String text) {
        Set<String> names = new TreeSet<>();
        Matcher m = METRIC.matcher(text);
        while (m.find()) {
            names.add(m.group(1).replaceAll("_(sum|count|bucket|max)$", ""));
        }
        return names;
    }

    @Test
    void alertsAndDashboardUseOnlyDocumentedMetrics() throws Exception {
        String docs = Files.readString(Path.of("docs/metrics.md"));
        JsonNode dashboard = new ObjectMapper().readTree(Path.of("docs/grafana-dashboard.json").toFile());
        List<String> exprs = new ArrayList<>();
        dashboard.path("panels").forEach(p -> p.path("targets").forEach(t -> exprs.add(t.path("expr").asText())));
        assertThat(exprs).hasSizeGreaterThan(10);
        String rules = Files.readString(Path.of("deploy/monitoring/prometheusrule.yaml"));
        Set<String> used = metrics(String.join("\n", exprs) + "\n" + rules);
        assertThat(used).contains("index_hit_rate", "query_latency_p99_ms", "database_cpu_utilization",
                "backup_completion_time_seconds", "dba_approval_pending_oldest_seconds", "wal_archiving_up",
                "restore_test_passed", "dba_resources");
        for (String metric : used) {
            assertThat(docs).as("docs/metrics.md documents " + metric).contains("`" + metric);
        }
        Matcher alert = Pattern.compile("alert: (\\w+)").matcher(rules);
        String chart = Files.readString(Path.of("helm/dba-operator/templates/monitoring.yaml"));
        while (alert.find()) {
            assertThat(chart).as("the chart has alert " + alert.group(1)).contains("alert: " + alert.group(1));
            assertThat(docs).as("docs/metrics.md lists alert " + alert.group(1)).contains("`" + alert.group(1) + "`");
        }
    }

    @Test
    void everyAlertHasARunbook() throws Exception {
        String runbooks = Files.readString(Path.of("docs/runbooks.md"));
        Matcher alert = Pattern.compile("alert: (\\w+)").matcher(Files.readString(
                Path.of("deploy/monitoring/prometheusrule.yaml")));
        int alerts = 0;
        while (alert.find()) {
            alerts++;
            assertThat(runbooks).as("docs/runbooks.md has a section for " + alert.group(1))
                    .containsPattern("(?m)^### " + alert.group(1) + "$");
        }
        assertThat(alerts).isGreaterThanOrEqualTo(8);
        assertThat(runbooks).contains("## Approve a step", "## Reject a step", "## Roll back a migration",
                "## Restore a database");
    }
}
