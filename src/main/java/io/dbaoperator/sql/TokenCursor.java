package io.dbaoperator.sql;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The position of a {@link SqlParser} in one statement's tokens, and the moves a recursive-descent parser makes on
 * them: look ahead, accept a keyword sequence, read a (qualified) name, skip a parenthesised group, and point an
 * error at a token.
 */
abstract class TokenCursor {

    /** The whole script: a statement's text and an error's position are offsets into it. */
    final String script;
    final List<Token> tokens;
    /** Where the statement starts in the script. */
    final int offset;
    /** The next token to read. */
    int at;

    TokenCursor(String script, List<Token> tokens, int offset) {
        this.script = script;
        this.tokens = tokens;
        this.offset = offset;
    }

    final Token peek() {
        return at < tokens.size() ? tokens.get(at) : null;
    }

    /** Whether the next tokens are these words (or, for "(" and "*", these symbols). */
    final boolean peekIs(String... words) {
        for (int i = 0; i < words.length; i++) {
            if (at + i >= tokens.size()) {
                return false;
            }
            Token t = tokens.get(at + i);
            boolean match = Character.isLetter(words[i].charAt(0)) ? t.is(words[i]) : t.isSymbol(words[i]);
            if (!match) {
                return false;
            }
        }
        return true;
    }

    final boolean accept(String... words) {
        if (peekIs(words)) {
            at += words.length;
            return true;
        }
        return false;
    }

    final boolean acceptSymbol(String symbol) {
        if (at < tokens.size() && tokens.get(at).isSymbol(symbol)) {
            at++;
            return true;
        }
        return false;
    }

    final void expect(String word) {
        if (!accept(word)) {
            throw error("expected " + word.toUpperCase(Locale.ROOT));
        }
    }

    final String name() {
        Token t = peek();
        if (t == null || !t.isName()) {
            throw error("expected a name");
        }
        at++;
        return t.text();
    }

    final QualifiedName qualifiedName() {
        String first = name();
        if (acceptSymbol(".")) {
            return new QualifiedName(first, name());
        }
        return new QualifiedName(null, first);
    }

    final List<QualifiedName> nameList() {
        List<QualifiedName> names = new ArrayList<>();
        do {
            accept("only");
            names.add(qualifiedName());
            acceptSymbol("*");
        } while (acceptSymbol(","));
        return names;
    }

    /** Skips one token, or a whole parenthesised group. */
    final void skipBalanced() {
        if (peek().isSymbol("(")) {
            int depth = 0;
            do {
                Token t = tokens.get(at++);
                depth += t.isSymbol("(") ? 1 : t.isSymbol(")") ? -1 : 0;
            } while (depth > 0 && at < tokens.size());
            if (depth > 0) {
                throw error("unbalanced '('");
            }
        } else {
            at++;
        }
    }

    final void skipToActionEnd() {
        while (at < tokens.size() && !peek().isSymbol(",")) {
            skipBalanced();
        }
    }

    final boolean containsWord(String word) {
        return containsWord(tokens, word);
    }

    /** Whether {@code word} is one of the key words of {@code tokens} outside any parentheses. */
    static boolean containsWord(List<Token> tokens, String word) {
        int depth = 0;
        for (Token t : tokens) {
            depth += t.isSymbol("(") ? 1 : t.isSymbol(")") ? -1 : 0;
            if (depth == 0 && t.is(word)) {
                return true;
            }
        }
        return false;
    }

    final boolean volatileIn(int from, int to) {
        for (int i = from; i < to - 1; i++) {
            Token t = tokens.get(i);
            if (t.kind() == Token.Kind.WORD && SqlParser.VOLATILE_FUNCTIONS.contains(t.text()) && tokens.get(i + 1).isSymbol("(")) {
                return true;
            }
        }
        return false;
    }

    final String text(int fromToken, int toToken) {
        if (fromToken >= toToken) {
            return "";
        }
        return script.substring(tokens.get(fromToken).start(), tokens.get(toToken - 1).end());
    }

    final SqlSyntaxException error(String message) {
        return error(message, at);
    }

    final SqlSyntaxException error(String message, int tokenIndex) {
        int position = tokenIndex < tokens.size() ? tokens.get(tokenIndex).start() : tokens.get(tokens.size() - 1).end();
        return new SqlSyntaxException(message, position);
    }
}
