package io.dbaoperator.masking;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import io.dbaoperator.api.disposal.DisposalJobSpec;
import io.dbaoperator.api.disposal.DisposalJobSpec.ColumnStrategy.Strategy;
import io.dbaoperator.problem.Problem;
import io.dbaoperator.problem.ProblemException;
import io.dbaoperator.problem.Reason;
import io.dbaoperator.sql.Identifiers;
import io.dbaoperator.sql.QualifiedName;

/**
 * The masking strategies as SQL, shared by a DisposalJob's anonymize rules and a masked restore: Null, Hash (SHA-256
 * of the session's key and the value), Redact, Fake (type-aware, from the same keyed hash, so the same value gives
 * the same output everywhere the key is the same) and Partial; each checked against the column's type first, and
 * refused with the field and the reason when it does not fit.
 */
public final class Strategies {

    /** The session setting the key is read from (set with set_config, local to the transaction). */
    public static final String SALT_SETTING = "dba_operator.salt";
    private static final Pattern VARCHAR_LIMIT = Pattern.compile("character varying\\((\\d+)\\)|character\\((\\d+)\\)");

    private Strategies() {
    }

    /** A column as the catalog gives it. */
    public record Column(String name, String type, boolean notNull) {
        public boolean text() {
            return type.equals("text") || type.startsWith("character varying") || type.startsWith("character(")
                    || type.equals("citext") || type.equals("character");
        }

        public Integer limit() {
            Matcher m = VARCHAR_LIMIT.matcher(type);
            if (!m.matches()) {
                return null;
            }
            return Integer.parseInt(m.group(1) != null ? m.group(1) : m.group(2));
        }
    }

    /** The table's columns by name, in order; empty when there is no such table. */
    public static Map<String, Column> columns(Connection c, QualifiedName table) throws SQLException {
        Map<String, Column> columns = new LinkedHashMap<>();
        try (PreparedStatement ps = c.prepareStatement("SELECT a.attname, format_type(a.atttypid, a.atttypmod), "
                + "a.attnotnull FROM pg_attribute a WHERE a.attrelid = to_regclass(?) AND a.attnum > 0 "
                + "AND NOT a.attisdropped ORDER BY a.attnum")) {
            ps.setString(1, table.quoted());
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    columns.put(rs.getString(1), new Column(rs.getString(1), rs.getString(2), rs.getBoolean(3)));
                }
            }
        }
        return columns;
    }

    /** The SET list masking {@code strategies} (column -> strategy); every expression keeps NULL as NULL. */
    public static String setList(Map<String, DisposalJobSpec.ColumnStrategy> strategies, Map<String, Column> columns,
            String field) {
        List<String> sets = new ArrayList<>();
        for (var e : strategies.entrySet()) {
            Column col = columns.get(e.getKey());
            if (col == null) {
                throw invalid(field + ": the table has no column '" + e.getKey() + "'");
            }
            String q = Identifiers.quote(col.name());
            String expr = expression(col, e.getValue(), field + "." + e.getKey());
            Integer limit = col.limit();
            if (limit != null && col.text() && e.getValue().strategy != Strategy.Null) {
                expr = "left(" + expr + ", " + limit + ")";
            }
            sets.add(q + " = " + (e.getValue().strategy == Strategy.Null ? "NULL"
                    : "CASE WHEN " + q + " IS NULL THEN NULL ELSE " + expr + " END"));
        }
        return String.join(", ", sets);
    }

    /** A salted SHA-256 of the value, hex: the same value gives the same hash, so joins on it survive. */
    public static String hash(String quoted) {
        return "encode(sha256(convert_to(current_setting('" + SALT_SETTING + "') || " + quoted + "::text, 'UTF8')), "
                + "'hex')";
    }

    private static String expression(Column col, DisposalJobSpec.ColumnStrategy s, String field) {
        String q = Identifiers.quote(col.name());
        String name = col.name().toLowerCase(Locale.ROOT);
        switch (s.strategy) {
            case Null:
                if (col.notNull()) {
                    throw invalid(field + ": Null on a NOT NULL column; use Redact, Hash, Fake or Partial");
                }
                return "NULL";
            case Hash:
                requireText(col, field, "Hash");
                return hash(q);
            case Redact:
                requireText(col, field, "Redact");
                return "'[redacted]'";
            case Partial: {
                requireText(col, field, "Partial");
                int p = s.keepPrefix == null ? 0 : s.keepPrefix;
                int x = s.keepSuffix == null ? 0 : s.keepSuffix;
                return "CASE WHEN length(" + q + ") <= " + (p + x) + " THEN repeat('*', length(" + q + ")) ELSE left("
                        + q + ", " + p + ") || repeat('*', length(" + q + ") - " + (p + x) + ") || right(" + q + ", "
                        + x + ") END";
            }
            case Fake:
            default: {
                String h = hash(q);
                if (col.text()) {
                    if (name.contains("email") || name.contains("mail")) {
                        return "'user_' || left(" + h + ", 12) || '@example.invalid'";
                    }
                    if (name.contains("phone") || name.contains("mobile")) {
                        return "'+1 555 ' || lpad(((('x' || left(" + h + ", 7))::bit(28)::int) % 10000000)::text, 7, '0')";
                    }
                    if (name.contains("name")) {
                        return "'Person ' || upper(left(" + h + ", 6))";
                    }
                    return "'fake_' || left(" + h + ", 16)";
                }
                if (col.type().equals("integer") || col.type().equals("bigint") || col.type().equals("smallint")
                        || col.type().startsWith("numeric")) {
                    return "((('x' || left(" + h + ", 7))::bit(28)::int) % 30000)";
                }
                if (col.type().equals("date") || col.type().startsWith("timestamp")) {
                    return q + " - make_interval(days => ((('x' || left(" + h + ", 4))::bit(16)::int) % 365))";
                }
                throw invalid(field + ": Fake does not know type " + col.type() + "; use Null or Redact");
            }
        }
    }

    private static void requireText(Column col, String field, String strategy) {
        if (!col.text()) {
            throw invalid(field + ": " + strategy + " needs a text column, and " + col.name() + " is " + col.type());
        }
    }

    static ProblemException invalid(String message) {
        return Problem.invalid(Reason.InvalidSpec, message).exception();
    }
}
