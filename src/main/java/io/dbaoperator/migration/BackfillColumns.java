package io.dbaoperator.migration;

import java.util.ArrayList;
import java.util.List;

import io.dbaoperator.sql.SqlParser;
import io.dbaoperator.sql.Token;

/** The columns a backfill's {@code set} assigns: {@code a = ..., b = ...} and {@code (a, b) = (...)}. */
final class BackfillColumns {

    private BackfillColumns() {
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
