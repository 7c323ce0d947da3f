package io.dbaoperator.disposal;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import io.dbaoperator.api.disposal.DisposalJobSpec;
import io.dbaoperator.kube.Durations;
import io.dbaoperator.masking.Strategies;
import io.dbaoperator.masking.Strategies.Column;
import io.dbaoperator.problem.Problem;
import io.dbaoperator.problem.ProblemException;
import io.dbaoperator.problem.Reason;
import io.dbaoperator.sql.Identifiers;
import io.dbaoperator.sql.QualifiedName;
import io.dbaoperator.sql.SqlSyntaxException;

/**
 * Turns the rules into SQL against the live catalog, refusing anything it cannot do safely: an unknown table or
 * column, a predicate outside {@link SafePredicate}'s subset or that PostgreSQL cannot plan, a strategy that does not
 * fit the column's type, an anonymization without a single-column key to resume by, a NOT NULL column set to Null.
 * Identifiers come from the catalog and are always quoted; the salt is never part of the SQL text (it is set per
 * transaction with set_config and read with current_setting).
 */
public final class DisposalPlanner {

    static final String SALT_SETTING = Strategies.SALT_SETTING;

    private DisposalPlanner() {
    }

    /** A foreign key pointing at the rule's table. */
    public record Reference(String constraint, QualifiedName child, List<String> childColumns,
            List<String> parentColumns, char onDelete) {
        public String describe() {
            String action = switch (onDelete) {
                case 'c' -> "ON DELETE CASCADE";
                case 'n' -> "ON DELETE SET NULL";
                case 'd' -> "ON DELETE SET DEFAULT";
                case 'r' -> "ON DELETE RESTRICT";
                default -> "ON DELETE NO ACTION";
            };
            return constraint + " (" + child + "(" + String.join(", ", childColumns) + "), " + action + ")";
        }

        boolean blocks() {
            return onDelete == 'a' || onDelete == 'r';
        }
    }

    /**
     * One rule, ready to run.
     *
     * @param key the single-column key batches are ordered and resumed by; null means ctid (Delete only)
     * @param predicate SQL selecting the rows (already checked)
     * @param set the SET list for Anonymize, else null
     */
    public record RulePlan(String name, DisposalJobSpec.Rule rule, QualifiedName table, String key, String keyType,
            String predicate, String set, List<Reference> references) {

        public boolean delete() {
            return rule.action == DisposalJobSpec.Action.Delete;
        }
    }

    public static List<RulePlan> plan(Connection c, DisposalJobSpec spec) throws SQLException {
        List<RulePlan> plans = new ArrayList<>();
        int i = 0;
        for (DisposalJobSpec.Rule rule : spec.rules) {
            String field = "spec.rules[" + i++ + "]";
            plans.add(rule(c, rule, field));
        }
        return plans;
    }

    static String ruleName(DisposalJobSpec.Rule rule) {
        return rule.name != null ? rule.name : rule.table.toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9]+", "-");
    }

    private static RulePlan rule(Connection c, DisposalJobSpec.Rule rule, String field) throws SQLException {
        QualifiedName table;
        try {
            table = QualifiedName.parse(rule.table);
        } catch (SqlSyntaxException e) {
            throw invalid(field + ".table '" + rule.table + "' is not a table name");
        }
        Map<String, Column> columns = columns(c, table);
        if (columns.isEmpty()) {
            throw invalid(field + ".table: table " + table + " does not exist (or the Secret's role cannot see it)");
        }
        String predicate;
        if (rule.olderThan != null) {
            Column col = columns.get(rule.olderThan.column);
            if (col == null) {
                throw invalid(field + ".olderThan.column: " + table + " has no column " + rule.olderThan.column);
            }
            if (!col.type().startsWith("timestamp") && !col.type().equals("date")) {
                throw invalid(field + ".olderThan.column: " + rule.olderThan.column + " is " + col.type()
                        + ", not a timestamp or date");
            }
            Duration age = Durations.parse(field + ".olderThan.age", rule.olderThan.age);
            predicate = Identifiers.quote(rule.olderThan.column) + " < now() - interval '" + age.toSeconds()
                    + " seconds'";
        } else {
            try {
                SafePredicate.check(rule.where, columns.keySet());
            } catch (SqlSyntaxException e) {
                throw invalid(field + ".where refused at character " + (e.position() + 1) + ": " + e.getMessage());
            }
            predicate = "(" + rule.where + ")";
        }
        explain(c, table, predicate, field);
        String[] key = key(c, table);
        String set = null;
        if (rule.action == DisposalJobSpec.Action.Anonymize) {
            if (key == null) {
                throw invalid(field + ": Anonymize needs a single-column primary key (or unique NOT NULL column) on "
                        + table + ", to resume after an interruption without anonymizing a row twice");
            }
            set = setList(rule, columns, field);
        }
        return new RulePlan(ruleName(rule), rule, table, key == null ? null : key[0], key == null ? null : key[1],
                predicate, set, references(c, table));
    }

    /** PostgreSQL plans the predicate (types, operators) without running it, in a read-only transaction. */
    private static void explain(Connection c, QualifiedName table, String predicate, String field)
            throws SQLException {
        boolean auto = c.getAutoCommit();
        c.setAutoCommit(false);
        try (var s = c.createStatement()) {
            s.execute("SET TRANSACTION READ ONLY");
            s.execute("EXPLAIN SELECT 1 FROM " + table.quoted() + " WHERE " + predicate);
        } catch (SQLException e) {
            if (e.getSQLState() != null && (e.getSQLState().startsWith("42") || e.getSQLState().startsWith("22"))) {
                throw invalid(field + ": PostgreSQL refuses the predicate: " + e.getMessage().split("\n")[0]);
            }
            throw e;
        } finally {
            c.rollback();
            c.setAutoCommit(auto);
        }
    }

    /** A column as the catalog gives it. */
    public static Map<String, Column> columns(Connection c, QualifiedName table) throws SQLException {
        return Strategies.columns(c, table);
    }

    /** The single-column primary key, else a unique NOT NULL column: {name, type}; null when none. */
    private static String[] key(Connection c, QualifiedName table) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT a.attname, format_type(a.atttypid, a.atttypmod) "
                + "FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0] "
                + "WHERE i.indrelid = to_regclass(?) AND i.indisunique AND i.indisvalid AND i.indnatts = 1 "
                + "AND i.indpred IS NULL AND i.indexprs IS NULL AND a.attnotnull "
                + "ORDER BY i.indisprimary DESC LIMIT 1")) {
            ps.setString(1, table.quoted());
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? new String[] {rs.getString(1), rs.getString(2)} : null;
            }
        }
    }

    private static List<Reference> references(Connection c, QualifiedName table) throws SQLException {
        List<Reference> refs = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement("SELECT k.conname, n.nspname, r.relname, k.confdeltype, "
                + "array(SELECT attname FROM unnest(k.conkey) WITH ORDINALITY u(n, o) JOIN pg_attribute ON attrelid = "
                + "k.conrelid AND attnum = u.n ORDER BY o), array(SELECT attname FROM unnest(k.confkey) WITH "
                + "ORDINALITY u(n, o) JOIN pg_attribute ON attrelid = k.confrelid AND attnum = u.n ORDER BY o) "
                + "FROM pg_constraint k JOIN pg_class r ON r.oid = k.conrelid JOIN pg_namespace n ON n.oid = "
                + "r.relnamespace WHERE k.contype = 'f' AND k.confrelid = to_regclass(?) ORDER BY k.conname")) {
            ps.setString(1, table.quoted());
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    refs.add(new Reference(rs.getString(1), new QualifiedName(rs.getString(2), rs.getString(3)),
                            List.of((String[]) rs.getArray(5).getArray()), List.of((String[]) rs.getArray(6).getArray()),
                            rs.getString(4).charAt(0)));
                }
            }
        }
        return refs;
    }

    /** The SET list of an Anonymize rule; every expression keeps NULL as NULL. */
    static String setList(DisposalJobSpec.Rule rule, Map<String, Column> columns, String field) {
        return Strategies.setList(rule.anonymize.columns, columns, field + ".anonymize.columns");
    }

    static ProblemException invalid(String message) {
        return Problem.invalid(Reason.InvalidSpec, message).exception();
    }
}
