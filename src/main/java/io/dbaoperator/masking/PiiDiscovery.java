package io.dbaoperator.masking;

import java.math.BigInteger;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import io.dbaoperator.sql.Identifiers;

/**
 * Finds the columns of a database that look personal, from their names and from a sample of their values, the way a
 * data-protection review starts: e-mail addresses, phone numbers, IBANs (ISO 13616 check digits), payment card
 * numbers (13-19 digits passing the Luhn check), IP addresses (and inet columns), national-ID-like numbers (a US
 * SSN's shape), and free text that contains any of them. A column is reported when its name says so or when at
 * least {@link #SHARE} of its sampled non-null values match one kind ({@link #FREE_TEXT_SHARE} for values found
 * inside longer text). Evidence is counts and the rule that matched, never a value: the findings go into status,
 * reports and logs. Reads only: the catalog and at most {@code sampleRows} rows per table, by TABLESAMPLE SYSTEM.
 */
public final class PiiDiscovery {

    /** A share of sampled values that makes a column a finding. */
    static final double SHARE = 0.2;
    static final double FREE_TEXT_SHARE = 0.05;

    /** What a value, or a name, looks like. */
    public enum Kind {
        Email, Phone, Iban, CardNumber, IpAddress, NationalId, Name, Address, BirthDate
    }

    /** One column that looks personal, and why. */
    public record Finding(String schema, String table, String column, String type, Kind kind, String evidence) {

        public String qualifiedColumn() {
            return schema + "." + table + "." + column;
        }
    }

    private static final Map<Kind, Pattern> NAMES = new EnumMap<>(Map.of(
            Kind.Email, Pattern.compile("(^|_)(e_?mail|email_address|mail)(_|$)"),
            Kind.Phone, Pattern.compile("(^|_)(phone|mobile|telephone|tel|fax|msisdn)(_|$)"),
            Kind.Iban, Pattern.compile("(^|_)(iban|bank_account|account_number)(_|$)"),
            Kind.CardNumber, Pattern.compile("(^|_)(card_number|card_no|cc_number|pan|credit_card)(_|$)"),
            Kind.IpAddress, Pattern.compile("(^|_)(ip|ip_address|ip_addr|client_ip|remote_addr|remote_ip)(_|$)"),
            Kind.NationalId, Pattern.compile("(^|_)(ssn|national_id|tax_id|passport(_number)?|nin|personal_id)(_|$)"),
            Kind.Name, Pattern.compile("(^|_)(first_name|last_name|full_name|surname|given_name|family_name|"
                    + "maiden_name)(_|$)"),
            Kind.Address, Pattern.compile("(^|_)(address|street|postcode|postal_code|zip|zip_code)(_|$)"),
            Kind.BirthDate, Pattern.compile("(^|_)(birth_?date|date_of_birth|dob|birthday)(_|$)")));

    static final Pattern EMAIL = Pattern.compile("[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]+(\\.[A-Za-z0-9-]+)*\\.[A-Za-z]{2,}");
    static final Pattern PHONE = Pattern.compile("\\+?\\(?[0-9][0-9 ()./-]{6,18}[0-9]");
    static final Pattern IBAN = Pattern.compile("[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]){11,30}");
    static final Pattern CARD = Pattern.compile("[0-9](?:[ -]?[0-9]){12,18}");
    static final Pattern IPV4 = Pattern.compile("(?:(?:25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])\\.){3}"
            + "(?:25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])");
    static final Pattern SSN = Pattern.compile("[0-9]{3}-[0-9]{2}-[0-9]{4}");

    private PiiDiscovery() {
    }

    /** The kind a whole value is, or null: the most specific first (a card number is also digits). */
    static Kind kindOf(String value) {
        String v = value.strip();
        if (v.isEmpty() || v.length() > 64) {
            return null;
        }
        if (EMAIL.matcher(v).matches()) {
            return Kind.Email;
        }
        if (IBAN.matcher(v).matches() && ibanValid(v)) {
            return Kind.Iban;
        }
        if (CARD.matcher(v).matches() && luhn(v)) {
            return Kind.CardNumber;
        }
        if (SSN.matcher(v).matches()) {
            return Kind.NationalId;
        }
        if (IPV4.matcher(v).matches() || v.contains(":") && v.matches("[0-9a-fA-F:.]{3,45}") && v.chars()
                .filter(ch -> ch == ':').count() >= 2) {
            return Kind.IpAddress;
        }
        // E.164: at most 15 digits; written with a + or separators (a bare number is an id, an amount, a date)
        if (PHONE.matcher(v).matches() && digits(v) >= 8 && digits(v) <= 15 && (v.startsWith("+")
                || v.matches(".*[ ()./-].*"))) {
            return Kind.Phone;
        }
        return null;
    }

    /** A kind found inside longer text (an e-mail address, a card number, an IBAN, a phone with a + prefix). */
    static Kind kindWithin(String text) {
        Matcher m = EMAIL.matcher(text);
        if (m.find()) {
            return Kind.Email;
        }
        m = CARD.matcher(text);
        while (m.find()) {
            if (luhn(m.group()) && digits(m.group()) >= 13) {
                return Kind.CardNumber;
            }
        }
        m = IBAN.matcher(text);
        while (m.find()) {
            if (ibanValid(m.group())) {
                return Kind.Iban;
            }
        }
        m = Pattern.compile("\\+[0-9][0-9 ()-]{7,16}[0-9]").matcher(text);
        return m.find() ? Kind.Phone : null;
    }

    /** The Luhn check of a card number (spaces and dashes ignored). */
    static boolean luhn(String number) {
        String d = number.replaceAll("[ -]", "");
        if (d.length() < 13 || d.length() > 19 || d.chars().distinct().count() == 1) {
            return false;
        }
        int sum = 0;
        for (int i = 0; i < d.length(); i++) {
            int n = d.charAt(d.length() - 1 - i) - '0';
            if (i % 2 == 1) {
                n *= 2;
                if (n > 9) {
                    n -= 9;
                }
            }
            sum += n;
        }
        return sum % 10 == 0;
    }

    /** ISO 13616: the country and check digits moved to the end, letters as numbers, mod 97 is 1. */
    static boolean ibanValid(String iban) {
        String s = iban.replace(" ", "").toUpperCase(Locale.ROOT);
        if (s.length() < 15 || s.length() > 34) {
            return false;
        }
        String moved = s.substring(4) + s.substring(0, 4);
        StringBuilder n = new StringBuilder();
        for (char ch : moved.toCharArray()) {
            n.append(Character.isDigit(ch) ? String.valueOf(ch) : String.valueOf(ch - 'A' + 10));
        }
        return new BigInteger(n.toString()).mod(BigInteger.valueOf(97)).intValue() == 1;
    }

    private static long digits(String v) {
        return v.chars().filter(Character::isDigit).count();
    }

    /** The kind a column's name says, or null. */
    static Kind byName(String column) {
        String name = column.toLowerCase(Locale.ROOT);
        for (var e : NAMES.entrySet()) {
            if (e.getValue().matcher(name).find()) {
                return e.getKey();
            }
        }
        return null;
    }

    /**
     * What a sample of one column's values says: the kind most values match whole, or are found within, when that
     * share reaches the threshold; with its evidence.
     */
    static Map.Entry<Kind, String> bySample(List<String> values) {
        if (values.isEmpty()) {
            return null;
        }
        Map<Kind, Integer> whole = new EnumMap<>(Kind.class);
        Map<Kind, Integer> within = new EnumMap<>(Kind.class);
        for (String v : values) {
            Kind k = kindOf(v);
            if (k != null) {
                whole.merge(k, 1, Integer::sum);
            } else if (v.length() > 12) {
                Kind w = kindWithin(v);
                if (w != null) {
                    within.merge(w, 1, Integer::sum);
                }
            }
        }
        var best = whole.entrySet().stream().max(Map.Entry.comparingByValue()).orElse(null);
        if (best != null && best.getValue() >= SHARE * values.size()) {
            return Map.entry(best.getKey(), best.getValue() + " of " + values.size() + " sampled values are "
                    + describe(best.getKey()));
        }
        var text = within.entrySet().stream().max(Map.Entry.comparingByValue()).orElse(null);
        if (text != null && text.getValue() >= Math.max(1, FREE_TEXT_SHARE * values.size())) {
            return Map.entry(text.getKey(), text.getValue() + " of " + values.size() + " sampled values contain "
                    + describe(text.getKey()) + " within free text");
        }
        return null;
    }

    static String describe(Kind k) {
        return switch (k) {
            case Email -> "e-mail addresses";
            case Phone -> "phone numbers";
            case Iban -> "IBANs (valid check digits)";
            case CardNumber -> "card numbers (passing the Luhn check)";
            case IpAddress -> "IP addresses";
            case NationalId -> "national-ID-like numbers (###-##-####)";
            case Name -> "personal names";
            case Address -> "addresses";
            case BirthDate -> "birth dates";
        };
    }

    /** A user column of the database, as the catalog lists it. */
    record Column(String schema, String table, String column, String type, double rows, boolean readable) {
    }

    /**
     * Every user column of the schemas (all but the system ones when empty) that looks personal, in catalog order.
     * Text-like columns are sampled ({@code sampleRows} non-null values at most); others are judged by name and
     * type (inet, cidr).
     */
    public static List<Finding> discover(Connection c, List<String> schemas, int sampleRows) throws SQLException {
        List<Column> columns = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement("select n.nspname, t.relname, a.attname, "
                + "format_type(a.atttypid, a.atttypmod), greatest(t.reltuples, 0), "
                + "has_column_privilege(t.oid, a.attnum, 'SELECT') from pg_attribute a "
                + "join pg_class t on t.oid = a.attrelid join pg_namespace n on n.oid = t.relnamespace "
                + "where t.relkind in ('r', 'p') and a.attnum > 0 and not a.attisdropped "
                + "and n.nspname not in ('pg_catalog', 'information_schema', 'pg_toast') "
                + "and n.nspname not like 'pg_temp%' and (cardinality(?::text[]) = 0 or n.nspname = any (?::text[])) "
                + "and not t.relispartition order by n.nspname, t.relname, a.attnum")) {
            String[] s = schemas == null ? new String[0] : schemas.toArray(String[]::new);
            ps.setArray(1, c.createArrayOf("text", s));
            ps.setArray(2, c.createArrayOf("text", s));
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    columns.add(new Column(rs.getString(1), rs.getString(2), rs.getString(3), rs.getString(4),
                            rs.getDouble(5), rs.getBoolean(6)));
                }
            }
        }
        // one sample per table, every readable text column at once: one pass over a few pages, not a scan per column
        Map<String, Map<String, List<String>>> samples = new java.util.HashMap<>();
        Map<String, List<Column>> byTable = new java.util.LinkedHashMap<>();
        for (Column col : columns) {
            if (text(col) && col.readable()) {
                byTable.computeIfAbsent(col.schema() + "." + col.table(), k -> new ArrayList<>()).add(col);
            }
        }
        for (var e : byTable.entrySet()) {
            samples.put(e.getKey(), sample(c, e.getValue(), sampleRows));
        }
        List<Finding> out = new ArrayList<>();
        for (Column col : columns) {
            Kind named = byName(col.column());
            boolean text = text(col);
            if (col.type().equals("inet") || col.type().equals("cidr")) {
                out.add(new Finding(col.schema(), col.table(), col.column(), col.type(), Kind.IpAddress, "type "
                        + col.type()));
                continue;
            }
            Map.Entry<Kind, String> sampled = text && col.readable() ? bySample(samples.get(col.schema() + "."
                    + col.table()).getOrDefault(col.column(), List.of())) : null;
            // a name alone counts for a column that can hold such values: text, or a date for a birth date
            boolean fits = text || named == Kind.BirthDate && (col.type().equals("date")
                    || col.type().startsWith("timestamp"));
            if (sampled != null) {
                out.add(new Finding(col.schema(), col.table(), col.column(), col.type(), sampled.getKey(),
                        sampled.getValue() + (named == null ? "" : "; the name says " + describe(named))));
            } else if (named != null && fits) {
                out.add(new Finding(col.schema(), col.table(), col.column(), col.type(), named, "the name says "
                        + describe(named) + (!text ? "" : col.readable() ? " (no sampled value matched a pattern)"
                                : " (not sampled: the role may not read it)")));
            }
        }
        return out;
    }

    private static boolean text(Column col) {
        return col.type().equals("text") || col.type().startsWith("character") || col.type().equals("citext")
                || col.type().equals("jsonb") || col.type().equals("json");
    }

    /**
     * Up to {@code n} rows of a table's text columns as text, the non-null values per column: the whole table when it
     * is small, else TABLESAMPLE SYSTEM, which reads only the pages it picks (BERNOULLI would read every page).
     */
    static Map<String, List<String>> sample(Connection c, List<Column> cols, int n) throws SQLException {
        Column first = cols.get(0);
        double percent = first.rows() <= 10L * n ? 100 : Math.min(100, Math.max(0.001, 300.0 * n / first.rows()));
        String from = Identifiers.quote(first.schema()) + "." + Identifiers.quote(first.table())
                + (percent >= 100 ? "" : " tablesample system (" + String.format(Locale.ROOT, "%.4f", percent)
                        + ") repeatable (42)");
        List<String> select = cols.stream().map(col -> Identifiers.quote(col.column()) + "::text").toList();
        Map<String, List<String>> out = new java.util.LinkedHashMap<>();
        cols.forEach(col -> out.put(col.column(), new ArrayList<>()));
        try (PreparedStatement ps = c.prepareStatement("select " + String.join(", ", select) + " from " + from
                + " limit " + n)) {
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    for (int i = 0; i < cols.size(); i++) {
                        String v = rs.getString(i + 1);
                        if (v != null) {
                            out.get(cols.get(i).column()).add(v);
                        }
                    }
                }
            }
        }
        return out;
    }
}
