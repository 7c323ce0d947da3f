package io.dbaoperator.sql;

/**
 * One lexical token of PostgreSQL SQL.
 *
 * @param kind what it is
 * @param text the identifier's name (lower-cased unless quoted), the string's value, or the symbol
 * @param start offset of its first character in the script
 * @param end offset after its last character
 */
public record Token(Kind kind, String text, int start, int end) {

    /** Token kinds, after PostgreSQL's lexical structure (SQL syntax, 4.1). */
    public enum Kind {
        /** A key word or unquoted identifier, folded to lower case. */
        WORD,
        /** A "quoted identifier", case kept. */
        QUOTED_IDENTIFIER,
        /** A string constant: '...', E'...', or $tag$...$tag$. */
        STRING,
        NUMBER,
        /** A positional parameter: $1. */
        PARAMETER,
        /** An operator or punctuation: ( ) , ; . :: [ ] and operator sequences. */
        SYMBOL
    }

    /** Whether this is the (unquoted) key word {@code word}. */
    public boolean is(String word) {
        return kind == Kind.WORD && text.equals(word);
    }

    public boolean isSymbol(String symbol) {
        return kind == Kind.SYMBOL && text.equals(symbol);
    }

    /** Whether it can name something: a word or a quoted identifier. */
    public boolean isName() {
        return kind == Kind.WORD || kind == Kind.QUOTED_IDENTIFIER;
    }
}
