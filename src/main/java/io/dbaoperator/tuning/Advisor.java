package io.dbaoperator.tuning;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;

import io.dbaoperator.sql.SqlLexer;
import io.dbaoperator.sql.Token;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.Instance;

/**
 * Asks the {@link IndexAdvisor} when one is enabled, and turns its answer into candidates the same checks apply
 * to: each line must be {@code CREATE INDEX ON table (plain columns)} on a table the plan reads, naming columns
 * the table has; anything else is dropped and counted. A model that cannot be reached costs nothing but a line
 * in the status: the analyzer's own candidates go on.
 */
@ApplicationScoped
public class Advisor {

    private static final Logger LOG = Logger.getLogger(Advisor.class);

    private final boolean enabled;
    private final Instance<IndexAdvisor> advisor;

    public Advisor(@ConfigProperty(name = "dba.advisor.enabled", defaultValue = "false") boolean enabled,
            Instance<IndexAdvisor> advisor) {
        this.enabled = enabled;
        this.advisor = advisor;
    }

    public boolean enabled() {
        return enabled;
    }

    /** What the model proposed that passed the checks, and its rationale (or why there is none). */
    public record Advice(List<IndexCandidates.Candidate> candidates, String rationale, int rejected) {
    }

    public Advice advise(Connection c, QueryText query, PlanAnalyzer.Analysis analysis) {
        if (!enabled) {
            return new Advice(List.of(), null, 0);
        }
        try {
            Map<String, List<String>> columns = columns(c, analysis.needs().keySet());
            StringBuilder tables = new StringBuilder();
            columns.forEach((t, cols) -> tables.append(t).append(" (").append(String.join(", ", cols)).append("); "));
            String answer = advisor.get().advise(query.text(), String.join("; ", analysis.findings().stream()
                    .map(PlanAnalyzer.Finding::detail).toList()), tables.toString());
            return parse(answer, columns);
        } catch (RuntimeException | SQLException e) {
            LOG.warnf("the LLM advisor did not answer: %s", e.getMessage());
            return new Advice(List.of(), "the advisor did not answer: " + e.getMessage(), 0);
        }
    }

    /** The lines that are plain CREATE INDEX statements on known tables and columns. */
    static Advice parse(String answer, Map<String, List<String>> columns) {
        List<IndexCandidates.Candidate> out = new ArrayList<>();
        String rationale = null;
        int rejected = 0;
        for (String line : answer.split("\n")) {
            String l = line.strip();
            if (l.regionMatches(true, 0, "Rationale:", 0, 10)) {
                rationale = l.substring(10).strip();
                continue;
            }
            if (!l.regionMatches(true, 0, "CREATE INDEX", 0, 12)) {
                continue;
            }
            IndexCandidates.Candidate cand = candidate(l, columns);
            if (cand == null) {
                rejected++;
            } else {
                out.add(cand);
            }
        }
        return new Advice(out, rationale, rejected);
    }

    private static IndexCandidates.Candidate candidate(String ddl, Map<String, List<String>> columns) {
        List<Token> t;
        try {
            t = SqlLexer.tokenize(ddl);
        } catch (RuntimeException e) {
            return null;
        }
        int i = 0;
        while (i < t.size() && !t.get(i).is("on")) {
            i++;
        }
        i++;
        if (i >= t.size() || !t.get(i).isName()) {
            return null;
        }
        String schema = "public";
        String table = t.get(i).text();
        if (i + 2 < t.size() && t.get(i + 1).isSymbol(".") && t.get(i + 2).isName()) {
            schema = table;
            table = t.get(i + 2).text();
            i += 2;
        }
        i++;
        List<String> known = columns.get(schema + "." + table);
        if (known == null || i >= t.size() || !t.get(i).isSymbol("(")) {
            return null;
        }
        List<String> cols = new ArrayList<>();
        for (i++; i < t.size() && !t.get(i).isSymbol(")"); i++) {
            Token x = t.get(i);
            if (x.isSymbol(",")) {
                continue;
            }
            if (x.is("desc") && !cols.isEmpty()) {
                cols.set(cols.size() - 1, cols.get(cols.size() - 1) + " DESC");
                continue;
            }
            if (x.is("asc")) {
                continue;
            }
            if (!x.isName() || !known.contains(x.text())) {
                return null; // an expression or a column the table does not have
            }
            cols.add(x.text());
        }
        if (cols.isEmpty() || cols.size() > 4) {
            return null;
        }
        return IndexCandidates.Candidate.ofColumns(schema, table, cols, List.of(), null, "proposed by the LLM advisor");
    }

    private static Map<String, List<String>> columns(Connection c, Set<String> tables) throws SQLException {
        Map<String, List<String>> out = new LinkedHashMap<>();
        try (PreparedStatement ps = c.prepareStatement("select table_schema || '.' || table_name, column_name "
                + "from information_schema.columns where table_schema || '.' || table_name = any (?) "
                + "order by table_schema, table_name, ordinal_position")) {
            ps.setArray(1, c.createArrayOf("text", tables.toArray()));
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.computeIfAbsent(rs.getString(1), k -> new ArrayList<>()).add(rs.getString(2));
                }
            }
        }
        return out;
    }
}
