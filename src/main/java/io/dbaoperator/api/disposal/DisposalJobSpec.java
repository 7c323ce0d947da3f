package io.dbaoperator.api.disposal;

import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;

import io.dbaoperator.api.common.DatabaseRef;
import io.dbaoperator.api.common.Patterns;
import io.dbaoperator.api.common.S3Storage;
import io.dbaoperator.api.common.SecretRef;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.Size;
import io.fabric8.generator.annotation.ValidationRule;

/**
 * What data leaves and how. The spec may change (a schedule runs on), but any change of the rules makes the next
 * run ask for approval again.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class DisposalJobSpec {

    @Required
    @JsonPropertyDescription("The database holding the data.")
    public DatabaseRef database;

    @ValidationRule(value = Patterns.CRON_RULE, message = Patterns.CRON_MESSAGE)
    @JsonPropertyDescription("Run on this cron schedule; without it the job runs once.")
    public String schedule;

    @Default("UTC")
    @JsonPropertyDescription("IANA time zone the schedule is read in.")
    public String timeZone = "UTC";

    @Required
    @Size(min = 1)
    @JsonPropertyDescription("The disposal rules, applied in order.")
    public List<Rule> rules;

    @Default("false")
    @JsonPropertyDescription("Only count what the rules match; never change data.")
    public Boolean dryRun = false;

    @Default("Analyze")
    @JsonPropertyDescription("Maintenance after disposal: None, Analyze, Vacuum (VACUUM ANALYZE) or Full (VACUUM FULL: "
            + "locks the table, use with care).")
    public Vacuum vacuum = Vacuum.Analyze;

    @Default("200ms")
    @Pattern(Patterns.DURATION)
    @JsonPropertyDescription("The least pause between batches, to leave room for the application (pacing "
            + "lengthens it while the application waits on the batches or the server is busy).")
    public String pauseBetweenBatches = "200ms";

    @Default("{}")
    @JsonPropertyDescription("How each rule's batches pace themselves: its batchSize is the first batch's size and the "
            + "largest; each batch is sized to take about targetBatchDuration, and the run backs off while its "
            + "batches make the application wait or the server is busy.")
    public io.dbaoperator.api.common.Pacing pacing = new io.dbaoperator.api.common.Pacing();

    @JsonPropertyDescription("Secret with key 'salt' used by the Hash and Fake strategies; required when a rule uses them.")
    public SecretRef saltSecretRef;

    @JsonPropertyDescription("Where the disposal report (JSON) is written. When omitted, to the operator's default "
            + "storage if it has one (Helm value storage.default); the audit store and status get it either way.")
    public Report report;

    /** Vacuum choices. */
    public enum Vacuum {
        None, Analyze, Vacuum, Full
    }

    /** Actions. */
    public enum Action {
        Delete, Anonymize
    }

    @JsonPropertyDescription("When the steps that change production may run (read-only work runs at any time); "
            + "without it the namespace's (annotation dbaoperator.io/maintenance-window), else the operator's default "
            + "window (Helm value maintenanceWindow), else any time.")
    public io.dbaoperator.api.common.MaintenanceWindow maintenanceWindow;

    /** One rule. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    @ValidationRule(value = "has(self.olderThan) != has(self.where)", message = "set exactly one of olderThan or where")
    @ValidationRule(value = "self.action != 'Anonymize' || (has(self.anonymize) && size(self.anonymize.columns) > 0)",
            message = "action Anonymize needs anonymize.columns")
    public static class Rule {
        @Pattern("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
        @JsonPropertyDescription("A name for the rule, used in status and the report; the table name when empty.")
        public String name;

        @Required
        @Pattern(Patterns.QUALIFIED_NAME)
        @JsonPropertyDescription("Table, optionally schema-qualified.")
        public String table;

        @JsonPropertyDescription("Rows whose column is older than the age are disposed of.")
        public OlderThan olderThan;

        @JsonPropertyDescription("A boolean SQL predicate selecting the rows. Parsed and restricted to a safe subset: "
                + "comparisons, AND/OR/NOT, IN, IS NULL, LIKE, allow-listed functions; no subqueries or ';'.")
        public String where;

        @Required
        @JsonPropertyDescription("Delete the rows, or Anonymize columns in place.")
        public Action action;

        @JsonPropertyDescription("How each column is anonymized (action Anonymize).")
        public Anonymize anonymize;

        @Default("1000")
        @Min(1)
        @Max(100000)
        @JsonPropertyDescription("Rows per batch; each batch is its own short transaction.")
        public Integer batchSize = 1000;

        @Default("false")
        @JsonPropertyDescription("Confirm that the rule may match every row of the table; without it such a rule fails.")
        public Boolean allowAll = false;

        @Default("false")
        @JsonPropertyDescription("Delete: also delete the rows of other tables whose foreign key (single-column, ON "
                + "DELETE NO ACTION) references the disposed rows, in the same batches. Without it such a delete is "
                + "refused, naming the constraint.")
        public Boolean deleteChildren = false;
    }

    /** Age-based selection. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static class OlderThan {
        @Required
        @Pattern(Patterns.NAME)
        @JsonPropertyDescription("A timestamp or date column.")
        public String column;

        @Required
        @Pattern(Patterns.DURATION)
        @JsonPropertyDescription("Retention period, e.g. 365d.")
        public String age;
    }

    /** Anonymization. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static class Anonymize {
        @Required
        @JsonPropertyDescription("Column name -> strategy.")
        public Map<String, ColumnStrategy> columns;
    }

    /** How one column is anonymized. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static class ColumnStrategy {
        @Required
        @JsonPropertyDescription("Null, Hash (salted SHA-256), Redact (fixed text), Fake (type-aware, deterministic per "
                + "value so joins survive) or Partial (keep a prefix/suffix).")
        public Strategy strategy;

        @Min(0)
        @JsonPropertyDescription("Partial: characters kept at the start.")
        public Integer keepPrefix;

        @Min(0)
        @JsonPropertyDescription("Partial: characters kept at the end.")
        public Integer keepSuffix;

        /** Strategies. */
        public enum Strategy {
            Null, Hash, Redact, Fake, Partial
        }
    }

    /** Report destination. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static class Report {
        @JsonPropertyDescription("S3 location of the report. When omitted, the operator's default storage (Helm value "
                + "storage.default), with its credentials Secret looked up in this namespace.")
        public S3Storage storage;
    }
}
