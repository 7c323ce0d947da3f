package io.dbaoperator.migration;

import java.util.ArrayList;
import java.util.List;

import io.dbaoperator.sql.SqlParser;
import io.dbaoperator.sql.Token;

/** The columns a backfill's {@code set} assigns: {@code a = ..., b = ...} and {@code (a, b) = (...)}. */
final class BackfillColumns {

    private BackfillColumns() {
    }

    /** {@code column = expression}, both as written. */
    record Assignment(String column, String expression) {
    }

    /** The single-column assignments of {@code set}, as written; tuple targets ({@code (a, b) = ...}) are left out. */
    static List<Assignment> simple(String set) {
        List<Token> tokens = SqlParser.expression(set);
        List<Assignment> out = new ArrayList<>();
        int depth = 0;
        int segment = 0;
        for (int i = 0; i <= tokens.size(); i++) {
            boolean end = i == tokens.size();
            if (!end) {
                Token t = tokens.get(i);
                if (t.isSymbol("(")) {
                    depth++;
                } else if (t.isSymbol(")")) {
                    depth--;
                }
                end = depth == 0 && t.isSymbol(",");
            }
            if (end) {
                int last = i - 1;
                if (last - segment >= 2 && tokens.get(segment).isName() && tokens.get(segment + 1).isSymbol("=")) {
                    Token column = tokens.get(segment);
                    out.add(new Assignment(set.substring(column.start(), column.end()),
                            set.substring(tokens.get(segment + 2).start(), tokens.get(last).end())));
                }
                segment = i + 1;
            }
        }
        return out;
    }

    static List<String> assigned(String set) {
        List<Token> tokens = SqlParser.expression(set);
        List<String> columns = new ArrayList<>();
        int depth = 0;
        boolean target = true;
        for (int i = 0; i < tokens.size(); i++) {
            Token t = tokens.get(i);
            if (t.isSymbol("=") && depth == 0) {
                target = false;
            } else if (t.isSymbol(",") && depth == 0) {
                target = true;
            } else if (t.isSymbol("(")) {
                depth++;
            } else if (t.isSymbol(")")) {
                depth--;
            } else if (target && t.isName() && !(i + 1 < tokens.size() && tokens.get(i + 1).isSymbol("."))) {
                columns.add(t.text());
            }
        }
        return columns;
    }
}
