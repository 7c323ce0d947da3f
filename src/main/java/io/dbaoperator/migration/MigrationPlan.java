package io.dbaoperator.migration;

import java.util.List;

import io.dbaoperator.api.migration.DatabaseMigrationStatus.LintFinding;
import io.dbaoperator.api.migration.DatabaseMigrationStatus.PlannedStatement;
import io.dbaoperator.sql.Classification;
import io.dbaoperator.sql.Statement;

/**
 * A migration as planned: every statement of every step, classified, with the lint findings and the digest that an
 * approval pins.
 */
public record MigrationPlan(List<Planned> statements, List<LintFinding> findings, String digest) {

    /** Step names, in the order a migration runs them. */
    public static final String EXPAND = "expand";
    public static final String BACKFILL = "backfill";
    public static final String CONTRACT = "contract";
    public static final String ROLLBACK = "rollback";

    /**
     * One statement of one step.
     *
     * @param id the statement's key in the migration history, e.g. expand#2
     * @param checksum SHA-256 of its text: an applied statement whose text changed is refused
     */
    public record Planned(String step, String id, Statement statement, Classification classification,
            String checksum) {

        public PlannedStatement toStatus() {
            PlannedStatement p = new PlannedStatement();
            p.step = step;
            p.sql = statement.sql();
            p.lockLevel = classification.lock().sqlName();
            p.rewritesTable = classification.rewritesTable();
            p.destructive = classification.destructive();
            p.statementClass = classification.statementClass().label();
            p.classReason = classification.why();
            return p;
        }
    }

    public List<Planned> step(String step) {
        return statements.stream().filter(p -> p.step.equals(step)).toList();
    }

    public boolean destructive(String step) {
        return step(step).stream().anyMatch(p -> p.classification.destructive());
    }

    public boolean hasErrors() {
        return findings.stream().anyMatch(f -> "error".equals(f.severity));
    }

    public List<LintFinding> errors() {
        return findings.stream().filter(f -> "error".equals(f.severity)).toList();
    }
}
