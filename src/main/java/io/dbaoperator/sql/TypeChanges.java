package io.dbaoperator.sql;

import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Whether ALTER COLUMN ... TYPE rewrites the table. PostgreSQL skips the rewrite (and keeps indexes) when the old
 * type is binary-coercible to the new one and no USING changes the values: widening or removing a varchar limit,
 * varchar to text, raising numeric precision at the same scale, cidr to inet. Everything else rewrites the table and
 * its indexes under ACCESS EXCLUSIVE.
 */
public final class TypeChanges {

    private static final Pattern SIZED = Pattern.compile("([a-z ]+?)\\s*(?:\\((\\d+)(?:\\s*,\\s*(\\d+))?\\))?");

    private TypeChanges() {
    }

    public static boolean rewrites(String from, String to, boolean using) {
        if (using) {
            return true;
        }
        Sized a = sized(from);
        Sized b = sized(to);
        if (a == null || b == null) {
            return true;
        }
        if (a.base.equals(b.base) && a.length == b.length && a.scale == b.scale) {
            return false;
        }
        boolean aVarchar = a.base.equals("character varying");
        boolean bVarchar = b.base.equals("character varying");
        if ((aVarchar || a.base.equals("text")) && b.base.equals("text")) {
            return false;
        }
        if ((aVarchar || a.base.equals("text")) && bVarchar && b.length < 0) {
            return false;
        }
        if (aVarchar && bVarchar) {
            return a.length < 0 || b.length < a.length;
        }
        if (a.base.equals("bit varying") && b.base.equals("bit varying")) {
            return b.length >= 0 && (a.length < 0 || b.length < a.length);
        }
        if (a.base.equals("numeric") && b.base.equals("numeric")) {
            return b.length >= 0 && (a.length < 0 || b.length < a.length || a.scale != b.scale);
        }
        return !(a.base.equals("cidr") && b.base.equals("inet"));
    }

    private record Sized(String base, int length, int scale) {
    }

    private static Sized sized(String type) {
        String t = type.trim().toLowerCase(Locale.ROOT).replaceAll("\\s+", " ");
        Matcher m = SIZED.matcher(t);
        if (!m.matches()) {
            return null;
        }
        String base = switch (m.group(1).trim()) {
            case "varchar" -> "character varying";
            case "decimal" -> "numeric";
            case "varbit" -> "bit varying";
            case "int", "int4" -> "integer";
            case "int8" -> "bigint";
            case "int2" -> "smallint";
            default -> m.group(1).trim();
        };
        int length = m.group(2) == null ? -1 : Integer.parseInt(m.group(2));
        int scale = m.group(3) == null ? (base.equals("numeric") && length >= 0 ? 0 : -1) : Integer.parseInt(m.group(3));
        return new Sized(base, length, scale);
    }
}
