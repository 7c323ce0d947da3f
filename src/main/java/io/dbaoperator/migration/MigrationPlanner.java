package io.dbaoperator.migration;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

import io.dbaoperator.api.migration.DatabaseMigrationSpec;
import io.dbaoperator.api.migration.DatabaseMigrationStatus.LintFinding;
import io.dbaoperator.api.migration.DatabaseMigrationStatus.PlannedStatement;
import io.dbaoperator.approval.PlanDigest;
import io.dbaoperator.migration.LintRule.Severity;
import io.dbaoperator.sql.Catalog;
import io.dbaoperator.sql.Classification;
import io.dbaoperator.sql.CommandClassifier;
import io.dbaoperator.sql.LockLevel;
import io.dbaoperator.sql.QualifiedName;
import io.dbaoperator.sql.SqlParser;
import io.dbaoperator.sql.SqlSyntaxException;
import io.dbaoperator.sql.Statement;
import io.dbaoperator.sql.StatementClass;

/**
 * Plans a migration: parses the SQL of every step, classifies each statement against the live catalog, and lints it.
 * Pure apart from the {@link Catalog} it is given, so every rule is testable without a database.
 */
public final class MigrationPlanner {

    private MigrationPlanner() {
    }

    /** Thrown for SQL that cannot be parsed; {@code position} is 0-based in the step's SQL. */
    public static final class PlanningException extends RuntimeException {
        private final String step;
        private final int position;

        PlanningException(String step, SqlSyntaxException cause) {
            super(cause.getMessage(), cause);
            this.step = step;
            this.position = cause.position();
        }

        public String step() {
            return step;
        }

        public int position() {
            return position;
        }
    }

    /** What expand creates: the tables (by name) and the columns (table.column, by name) it adds. */
    record ExpandAdds(Set<String> tables, Set<String> columns) {
        static ExpandAdds none() {
            return new ExpandAdds(new HashSet<>(), new HashSet<>());
        }

        void note(Statement s) {
            if (s instanceof Statement.CreateTable t) {
                tables.add(t.table().name());
            }
            if (s instanceof Statement.AlterTable t) {
                t.actions().stream().filter(Statement.AddColumn.class::isInstance)
                        .forEach(a -> columns.add(t.table().name() + "." + ((Statement.AddColumn) a).column()));
            }
        }
    }

    public static MigrationPlan plan(DatabaseMigrationSpec spec, Catalog catalog) {
        Map<String, String> overrides = overrides(spec.lint);
        List<MigrationPlan.Planned> planned = new ArrayList<>();
        List<LintFinding> findings = new ArrayList<>();
        Set<QualifiedName> created = new HashSet<>();
        Set<String> createdUniqueIndexes = new HashSet<>();
        ExpandAdds adds = ExpandAdds.none();
        addStep(MigrationPlan.EXPAND, spec.expand, catalog, planned, findings, created, createdUniqueIndexes, overrides,
                adds);
        if (spec.backfill != null) {
            planned.add(backfillStatement(spec, catalog, adds, findings));
        }
        // contract and rollback run against the expanded schema: what expand created exists then
        Set<QualifiedName> none = new HashSet<>();
        addStep(MigrationPlan.CONTRACT, spec.contract, catalog, planned, findings, none, createdUniqueIndexes,
                overrides, adds);
        addStep(MigrationPlan.ROLLBACK, spec.rollback, catalog, planned, findings, none, createdUniqueIndexes,
                overrides, adds);
        return new MigrationPlan(List.copyOf(planned), List.copyOf(findings), digest(spec, planned));
    }

    /**
     * The plan that was made against the live catalog, digested and stored in status at planning time, rebuilt for
     * execution: the statements come from the (immutable) spec, each carrying the classification stored with it.
     * Re-planning against the catalog as it is now would classify differently once expand has run, and what a
     * person approved is the stored plan, so that is what runs. Empty when the stored plan does not match the spec
     * statement by statement or its digest does not match (status edited by hand): the caller plans again.
     */
    public static java.util.Optional<MigrationPlan> stored(DatabaseMigrationSpec spec, List<PlannedStatement> stored,
            List<LintFinding> findings, String digest) {
        if (stored == null || digest == null) {
            return java.util.Optional.empty();
        }
        MigrationPlan parsed;
        try {
            parsed = plan(spec, Catalog.EMPTY);
        } catch (PlanningException e) {
            return java.util.Optional.empty();
        }
        if (parsed.statements().size() != stored.size()) {
            return java.util.Optional.empty();
        }
        List<MigrationPlan.Planned> planned = new ArrayList<>();
        for (int i = 0; i < stored.size(); i++) {
            MigrationPlan.Planned p = parsed.statements().get(i);
            PlannedStatement s = stored.get(i);
            LockLevel lock = java.util.Arrays.stream(LockLevel.values()).filter(l -> l.sqlName().equals(s.lockLevel))
                    .findFirst().orElse(null);
            StatementClass statementClass = StatementClass.ofLabel(s.statementClass);
            if (!p.step().equals(s.step) || !p.statement().sql().equals(s.sql) || lock == null
                    || statementClass == null) {
                return java.util.Optional.empty();
            }
            Classification c = new Classification(lock, Boolean.TRUE.equals(s.rewritesTable),
                    p.classification().command(), statementClass, s.classReason, p.classification().transactional(),
                    p.classification().tables());
            planned.add(new MigrationPlan.Planned(p.step(), p.id(), p.statement(), c, p.checksum()));
        }
        MigrationPlan plan = new MigrationPlan(List.copyOf(planned), findings == null ? List.of() : List.copyOf(findings),
                digest(spec, planned));
        return plan.digest().equals(digest) ? java.util.Optional.of(plan) : java.util.Optional.empty();
    }

    private static String digest(DatabaseMigrationSpec spec, List<MigrationPlan.Planned> planned) {
        Map<String, Object> digestInput = new LinkedHashMap<>();
        digestInput.put("statements", planned.stream().map(MigrationPlan.Planned::toStatus).toList());
        digestInput.put("backfill", spec.backfill);
        digestInput.put("lockTimeout", spec.lockTimeout);
        digestInput.put("maxLockRetries", spec.maxLockRetries);
        digestInput.put("statementTimeout", spec.statementTimeout);
        return PlanDigest.of(digestInput);
    }

    /**
     * The backfill as one planned statement, so its definition is checksummed like SQL. It fills what expand adds
     * (additive); a backfill that sets a column holding data from before the migration overwrites it (destructive):
     * refused, unless approval.policy Always has a person approve the plan naming it before anything runs.
     */
    static MigrationPlan.Planned backfillStatement(DatabaseMigrationSpec spec, Catalog catalog, ExpandAdds adds,
            List<LintFinding> findings) {
        DatabaseMigrationSpec.Backfill b = spec.backfill;
        String sql = Backfill.describe(b);
        QualifiedName table = QualifiedName.parse(b.table);
        List<String> overwritten = BackfillColumns.assigned(b.set).stream()
                .filter(col -> !adds.columns().contains(table.name() + "." + col))
                .filter(col -> catalog.columnType(table, col).isPresent()).toList();
        Classification classification = new Classification(LockLevel.ROW_EXCLUSIVE, false, "update",
                StatementClass.ADDITIVE, "fills columns expand adds, in batches", true, List.of(table));
        if (!overwritten.isEmpty()) {
            String why = "overwrites existing column(s) " + String.join(", ", overwritten) + " of " + b.table
                    + ": their old values are lost";
            classification = classification.withClass(StatementClass.DESTRUCTIVE, why);
            boolean always = spec.approval != null
                    && spec.approval.policy == DatabaseMigrationSpec.ApprovalPolicy.Policy.Always;
            findings.add(finding(LintRule.BACKFILL_OVERWRITES_DATA, always ? Severity.warning : Severity.error,
                    MigrationPlan.BACKFILL, sql, LintRule.BACKFILL_OVERWRITES_DATA.advice() + " (" + why + ")"));
        }
        return new MigrationPlan.Planned(MigrationPlan.BACKFILL, MigrationPlan.BACKFILL,
                new Statement.Dml(sql, 0, "update", table, b.where != null), classification, PlanDigest.sha256(sql));
    }

    private static LintFinding finding(LintRule rule, Severity severity, String step, String statement,
            String message) {
        LintFinding f = new LintFinding();
        f.rule = rule.id();
        f.severity = severity.name();
        f.step = step;
        f.statement = statement;
        f.message = message;
        return f;
    }

    private static void addStep(String step, DatabaseMigrationSpec.SqlStep sql, Catalog catalog,
            List<MigrationPlan.Planned> planned, List<LintFinding> findings, Set<QualifiedName> created,
            Set<String> createdUniqueIndexes, Map<String, String> overrides, ExpandAdds adds) {
        if (sql == null || sql.sql == null) {
            return;
        }
        List<Statement> statements;
        try {
            statements = SqlParser.parseScript(sql.sql);
        } catch (SqlSyntaxException e) {
            throw new PlanningException(step, e);
        }
        int n = 0;
        for (Statement s : statements) {
            n++;
            Classification c = Classification.of(s, catalog);
            if (s instanceof Statement.DropTable d && !d.tables().isEmpty() && created.containsAll(d.tables())
                    && !c.why().contains("CASCADE")) {
                c = c.withClass(StatementClass.ADDITIVE, "drops a table this step created, holding nothing yet");
            }
            planned.add(new MigrationPlan.Planned(step, step + "#" + n, s, c, PlanDigest.sha256(s.sql().strip())));
            new Linter(step, s, c, catalog, created, createdUniqueIndexes, overrides, findings, adds).lint();
            if (step.equals(MigrationPlan.EXPAND)) {
                adds.note(s);
            }
            if (s instanceof Statement.CreateTable t) {
                created.add(t.table());
            }
            if (s instanceof Statement.CreateIndex i && i.unique() && i.name() != null) {
                createdUniqueIndexes.add(i.name());
            }
        }
    }

    private static Map<String, String> overrides(DatabaseMigrationSpec.Lint lint) {
        Map<String, String> o = new LinkedHashMap<>();
        if (lint != null && lint.allow != null) {
            lint.allow.forEach(id -> o.put(id.trim().toLowerCase(Locale.ROOT), Severity.info.name()));
        }
        if (lint != null && lint.errors != null) {
            lint.errors.forEach(id -> o.put(id.trim().toLowerCase(Locale.ROOT), Severity.error.name()));
        }
        return o;
    }

    /** Rule ids in spec.lint.allow whose severity may not be lowered: they keep the approval gate closed. */
    public static List<String> lockedRules(DatabaseMigrationSpec.Lint lint) {
        if (lint == null || lint.allow == null) {
            return List.of();
        }
        return lint.allow.stream().filter(id -> LintRule.byId(id).map(r -> !r.overridable()).orElse(false)).toList();
    }

    /** Rule ids in spec.lint that no rule has. */
    public static List<String> unknownRules(DatabaseMigrationSpec.Lint lint) {
        List<String> unknown = new ArrayList<>();
        if (lint != null) {
            for (List<String> ids : java.util.Arrays.asList(lint.errors, lint.allow)) {
                if (ids != null) {
                    ids.stream().filter(id -> LintRule.byId(id).isEmpty()).forEach(unknown::add);
                }
            }
        }
        return unknown;
    }

    private record Linter(String step, Statement statement, Classification classification, Catalog catalog,
            Set<QualifiedName> created, Set<String> createdUniqueIndexes, Map<String, String> overrides,
            List<LintFinding> findings, ExpandAdds adds) {

        void lint() {
            byClass();
            byStatement();
        }

        /** The gate's rules: what a statement's class allows in this step. */
        private void byClass() {
            String why = " (" + classification.why() + ")";
            switch (classification.statementClass()) {
                case DESTRUCTIVE -> {
                    if (classification.why().endsWith(CommandClassifier.UNRECOGNISED)) {
                        report(LintRule.UNRECOGNISED_STATEMENT, null, why);
                    }
                    if (step.equals(MigrationPlan.EXPAND)) {
                        report(LintRule.DESTRUCTIVE_IN_EXPAND, null, why);
                    } else if (step.equals(MigrationPlan.ROLLBACK)) {
                        String existing = dropsExisting();
                        if (existing != null) {
                            report(LintRule.ROLLBACK_DROPS_EXISTING, null, " (" + existing + ")");
                        } else {
                            report(LintRule.ROLLBACK_DESTROYS_DATA, null, why);
                        }
                    }
                }
                case SESSION_CONTROL -> report(LintRule.TRANSACTION_CONTROL, null);
                case LOCK_HEAVY -> {
                    LintRule rule = lockRule();
                    if (rule != null) {
                        report(rule, null);
                    }
                }
                default -> {
                }
            }
        }

        /** The lock-heavy rule for the command; CREATE INDEX has its own (require-concurrent-index-creation). */
        private LintRule lockRule() {
            return switch (classification.command()) {
                case "vacuum" -> LintRule.BAN_VACUUM_FULL;
                case "cluster" -> LintRule.BAN_CLUSTER;
                case "reindex" -> LintRule.REQUIRE_CONCURRENT_REINDEX;
                case "lock" -> LintRule.BAN_LOCK_TABLE;
                case "refresh materialized view" -> LintRule.REQUIRE_CONCURRENT_REFRESH;
                case "create index" -> null;
                default -> LintRule.BAN_SET_TABLESPACE;
            };
        }

        /** A rollback DROP TABLE or DROP COLUMN of something that exists now and that expand does not create. */
        private String dropsExisting() {
            if (statement instanceof Statement.DropTable d) {
                return d.tables().stream().filter(t -> !adds.tables().contains(t.name()) && catalog.tableExists(t))
                        .map(t -> "table " + t + " exists and expand does not create it").findFirst().orElse(null);
            }
            if (statement instanceof Statement.AlterTable a) {
                return a.actions().stream().filter(Statement.DropColumn.class::isInstance)
                        .map(x -> ((Statement.DropColumn) x).column())
                        .filter(col -> !adds.tables().contains(a.table().name())
                                && !adds.columns().contains(a.table().name() + "." + col)
                                && catalog.columnType(a.table(), col).isPresent())
                        .map(col -> "column " + a.table() + "." + col + " exists and expand does not add it")
                        .findFirst().orElse(null);
            }
            return null;
        }

        /** The squawk-class rules, statement by statement. */
        private void byStatement() {
            if (statement instanceof Statement.CreateIndex s) {
                if (!s.concurrently() && existing(s.table())) {
                    report(LintRule.REQUIRE_CONCURRENT_INDEX_CREATION, null);
                }
            } else if (statement instanceof Statement.DropIndex s) {
                if (!s.concurrently()) {
                    report(LintRule.REQUIRE_CONCURRENT_INDEX_DELETION, null);
                }
            } else if (statement instanceof Statement.AlterTable s) {
                s.actions().forEach(a -> alter(s.table(), a));
            } else if (statement instanceof Statement.DropTable s) {
                if (s.tables().stream().anyMatch(this::existing) || !step.equals(MigrationPlan.EXPAND)) {
                    report(LintRule.BAN_DROP_TABLE, dropSeverity());
                }
            } else if (statement instanceof Statement.Truncate) {
                report(LintRule.BAN_TRUNCATE, null);
            } else if (statement instanceof Statement.SetVariable s) {
                if (s.name().equals("lock_timeout") && (s.value() == null || isZero(s.value()))) {
                    report(LintRule.REQUIRE_LOCK_TIMEOUT, null);
                }
            } else if (statement instanceof Statement.Dml s) {
                if (!s.verb().equals("insert") && !step.equals(MigrationPlan.ROLLBACK)
                        && (s.table() == null || existing(s.table()))) {
                    report(LintRule.UNBATCHED_DML, null);
                }
            }
        }

        private void alter(QualifiedName table, Statement.AlterAction action) {
            boolean existing = existing(table);
            if (action instanceof Statement.DropColumn) {
                report(LintRule.BAN_DROP_COLUMN, dropSeverity());
                return;
            }
            if (!existing) {
                return; // a table this migration creates has no readers to block yet
            }
            if (action instanceof Statement.AddColumn a) {
                if (a.notNull() && a.defaultExpression() == null && !a.identity() && !a.generatedStored()) {
                    report(LintRule.ADDING_REQUIRED_FIELD, null);
                }
                if (a.volatileDefault() || a.identity() || a.generatedStored()) {
                    report(LintRule.ADDING_FIELD_WITH_VOLATILE_DEFAULT, null);
                }
                if (a.unique() || a.primaryKey()) {
                    report(LintRule.DISALLOWED_UNIQUE_CONSTRAINT, null);
                }
                if (a.references() != null) {
                    report(LintRule.ADDING_FOREIGN_KEY, null);
                }
            } else if (action instanceof Statement.AlterColumnType a) {
                boolean rewrites = catalog.columnType(table, a.column())
                        .map(from -> io.dbaoperator.sql.TypeChanges.rewrites(from, a.type(), a.using())).orElse(true);
                if (rewrites) {
                    report(LintRule.CHANGING_COLUMN_TYPE, null, catalog.columnType(table, a.column())
                            .map(from -> " (" + a.column() + ": " + from + " -> " + a.type() + ")").orElse(""));
                }
            } else if (action instanceof Statement.AddConstraint a) {
                if ((a.kind().equals("CHECK") || a.kind().equals("FOREIGN KEY")) && !a.notValid()) {
                    report(LintRule.CONSTRAINT_MISSING_NOT_VALID, null);
                }
                if (a.kind().equals("FOREIGN KEY")) {
                    report(LintRule.ADDING_FOREIGN_KEY, null);
                }
                if (a.kind().equals("UNIQUE") || a.kind().equals("PRIMARY KEY") || a.kind().equals("EXCLUDE")) {
                    if (a.usingIndex() == null) {
                        report(LintRule.DISALLOWED_UNIQUE_CONSTRAINT, null);
                    } else if (!createdUniqueIndexes.contains(a.usingIndex()) && !catalog.indexExists(a.usingIndex(),
                            true)) {
                        report(LintRule.DISALLOWED_UNIQUE_CONSTRAINT, null, " (USING INDEX " + a.usingIndex()
                                + " names no valid unique index created before it)");
                    }
                }
            } else if (action instanceof Statement.SetNotNull a) {
                if (!catalog.hasNotNullCheck(table, a.column())) {
                    report(LintRule.SETTING_NOT_NULLABLE_FIELD, null);
                }
            } else if (action instanceof Statement.RenameColumn) {
                if (catalog.tableInUse(table)) {
                    report(LintRule.RENAMING_COLUMN, null);
                }
            } else if (action instanceof Statement.RenameTable) {
                if (catalog.tableInUse(table)) {
                    report(LintRule.RENAMING_TABLE, null);
                }
            }
        }

        /** Drops are what contract is for (still gated), and what rollback undoes expand with. */
        private Severity dropSeverity() {
            return switch (step) {
                case MigrationPlan.CONTRACT -> Severity.warning;
                case MigrationPlan.ROLLBACK -> Severity.info;
                default -> null;
            };
        }

        private boolean existing(QualifiedName table) {
            return !created.contains(table) && catalog.tableExists(table);
        }

        private static boolean isZero(String value) {
            String v = value.trim().replace("'", "");
            return v.equals("0") || v.matches("0+\\s*(ms|s|min)?");
        }

        private void report(LintRule rule, Severity stepSeverity) {
            report(rule, stepSeverity, "");
        }

        private void report(LintRule rule, Severity stepSeverity, String detail) {
            Severity severity = stepSeverity == null ? rule.defaultSeverity() : stepSeverity;
            String override = rule.overridable() ? overrides.get(rule.id()) : null;
            if (override != null) {
                severity = Severity.valueOf(override);
            }
            findings.add(finding(rule, severity, step, statement.sql(), rule.adviceIn(step) + detail));
        }
    }
}
