package io.dbaoperator.sql;

import java.util.ArrayList;
import java.util.List;

/**
 * Splits SQL text into tokens by PostgreSQL's lexical rules: -- and nested block comments, quoted identifiers with
 * doubled quotes, standard and E'' strings, dollar-quoted strings with tags, numbers, $n parameters, and operators.
 * A string or comment never ends a statement, so a ';' inside one is not a separator.
 */
public final class SqlLexer {

    private static final String OPERATOR_CHARS = "+-*/<>=~!@#%^&|`?";

    private final String sql;
    private int pos;

    private SqlLexer(String sql) {
        this.sql = sql;
    }

    /** Tokens of {@code sql}; throws {@link SqlSyntaxException} on an unterminated string, identifier or comment. */
    public static List<Token> tokenize(String sql) {
        return new SqlLexer(sql).run();
    }

    private List<Token> run() {
        List<Token> tokens = new ArrayList<>();
        while (true) {
            skipSpaceAndComments();
            if (pos >= sql.length()) {
                return tokens;
            }
            tokens.add(next());
        }
    }

    private void skipSpaceAndComments() {
        while (pos < sql.length()) {
            char c = sql.charAt(pos);
            if (Character.isWhitespace(c)) {
                pos++;
            } else if (c == '-' && peek(1) == '-') {
                while (pos < sql.length() && sql.charAt(pos) != '\n') {
                    pos++;
                }
            } else if (c == '/' && peek(1) == '*') {
                int start = pos;
                int depth = 0;
                do {
                    if (pos >= sql.length()) {
                        throw new SqlSyntaxException("unterminated /* comment", start);
                    }
                    if (sql.startsWith("/*", pos)) {
                        depth++;
                        pos += 2;
                    } else if (sql.startsWith("*/", pos)) {
                        depth--;
                        pos += 2;
                    } else {
                        pos++;
                    }
                } while (depth > 0);
            } else {
                return;
            }
        }
    }

    private Token next() {
        int start = pos;
        char c = sql.charAt(pos);
        if ((c == 'e' || c == 'E') && peek(1) == '\'') {
            pos++;
            return new Token(Token.Kind.STRING, quoted('\'', true, start), start, pos);
        }
        if (c == '\'') {
            return new Token(Token.Kind.STRING, quoted('\'', false, start), start, pos);
        }
        if (c == '"') {
            String name = quoted('"', false, start);
            if (name.isEmpty()) {
                throw new SqlSyntaxException("zero-length delimited identifier", start);
            }
            return new Token(Token.Kind.QUOTED_IDENTIFIER, name, start, pos);
        }
        if (c == '$') {
            if (Character.isDigit(peek(1))) {
                pos++;
                while (pos < sql.length() && Character.isDigit(sql.charAt(pos))) {
                    pos++;
                }
                return new Token(Token.Kind.PARAMETER, sql.substring(start, pos), start, pos);
            }
            int close = dollarTagEnd(pos);
            if (close > 0) {
                String tag = sql.substring(pos, close + 1);
                int bodyStart = close + 1;
                int bodyEnd = sql.indexOf(tag, bodyStart);
                if (bodyEnd < 0) {
                    throw new SqlSyntaxException("unterminated dollar-quoted string " + tag, start);
                }
                pos = bodyEnd + tag.length();
                return new Token(Token.Kind.STRING, sql.substring(bodyStart, bodyEnd), start, pos);
            }
        }
        if (Character.isDigit(c) || (c == '.' && Character.isDigit(peek(1)))) {
            while (pos < sql.length() && (Character.isLetterOrDigit(sql.charAt(pos)) || sql.charAt(pos) == '.'
                    || sql.charAt(pos) == '_')) {
                pos++;
            }
            return new Token(Token.Kind.NUMBER, sql.substring(start, pos), start, pos);
        }
        if (Character.isLetter(c) || c == '_' || c >= 0x80) {
            while (pos < sql.length() && (Character.isLetterOrDigit(sql.charAt(pos)) || sql.charAt(pos) == '_'
                    || sql.charAt(pos) == '$' || sql.charAt(pos) >= 0x80)) {
                pos++;
            }
            return new Token(Token.Kind.WORD, sql.substring(start, pos).toLowerCase(java.util.Locale.ROOT), start, pos);
        }
        if (c == ':' && peek(1) == ':') {
            pos += 2;
            return new Token(Token.Kind.SYMBOL, "::", start, pos);
        }
        if ("(),;.[]:".indexOf(c) >= 0) {
            pos++;
            return new Token(Token.Kind.SYMBOL, String.valueOf(c), start, pos);
        }
        if (OPERATOR_CHARS.indexOf(c) >= 0) {
            while (pos < sql.length() && OPERATOR_CHARS.indexOf(sql.charAt(pos)) >= 0
                    && !sql.startsWith("--", pos) && !sql.startsWith("/*", pos)) {
                pos++;
            }
            return new Token(Token.Kind.SYMBOL, sql.substring(start, pos), start, pos);
        }
        throw new SqlSyntaxException("unexpected character '" + c + "'", start);
    }

    /** Reads a quoted run ending at an undoubled {@code quote}; E-strings also end only at an unescaped quote. */
    private String quoted(char quote, boolean backslashEscapes, int start) {
        StringBuilder value = new StringBuilder();
        pos++;
        while (true) {
            if (pos >= sql.length()) {
                throw new SqlSyntaxException(quote == '"' ? "unterminated quoted identifier"
                        : "unterminated quoted string", start);
            }
            char c = sql.charAt(pos);
            if (backslashEscapes && c == '\\' && pos + 1 < sql.length()) {
                value.append(sql.charAt(pos + 1));
                pos += 2;
            } else if (c == quote) {
                if (peek(1) == quote) {
                    value.append(quote);
                    pos += 2;
                } else {
                    pos++;
                    return value.toString();
                }
            } else {
                value.append(c);
                pos++;
            }
        }
    }

    /** Index of the closing '$' of a dollar-quote tag starting at {@code at}, or -1. */
    private int dollarTagEnd(int at) {
        int i = at + 1;
        while (i < sql.length()) {
            char c = sql.charAt(i);
            if (c == '$') {
                return i;
            }
            boolean ok = Character.isLetter(c) || c == '_' || (i > at + 1 && Character.isDigit(c));
            if (!ok) {
                return -1;
            }
            i++;
        }
        return -1;
    }

    private char peek(int ahead) {
        return pos + ahead < sql.length() ? sql.charAt(pos + ahead) : '\0';
    }
}
