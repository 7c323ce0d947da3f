package io.dbaoperator.sql;

import java.util.regex.Pattern;

/** Quoting identifiers for SQL the operator composes. Values are always bound, never quoted here. */
public final class Identifiers {

    private static final Pattern PLAIN = Pattern.compile("[a-z_][a-z0-9_$]*");

    private Identifiers() {
    }

    /** "name", with embedded quotes doubled: safe for any name, and case-preserving. */
    public static String quote(String name) {
        if (name == null || name.isEmpty() || name.indexOf('\0') >= 0) {
            throw new IllegalArgumentException("invalid identifier");
        }
        return '"' + name.replace("\"", "\"\"") + '"';
    }

    /** Quoted only when it would not read back as itself unquoted (upper case, spaces, key words aside). */
    public static String quoteIfNeeded(String name) {
        return PLAIN.matcher(name).matches() ? name : quote(name);
    }
}
