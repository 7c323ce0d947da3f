package io.dbaoperator.status;

import java.util.Locale;

/** Byte counts as a person reads them in status and printer columns (the API fields keep the bytes). */
public final class Sizes {

    private static final String[] UNITS = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};

    private Sizes() {
    }

    /** 1536 -> "1.5 KiB", 0 -> "0 B"; null for null. Powers of 1024, as kubectl and df -h show them. */
    public static String human(Long bytes) {
        if (bytes == null) {
            return null;
        }
        if (bytes < 1024) {
            return bytes + " B";
        }
        double v = bytes;
        int unit = 0;
        while (v >= 1024 && unit < UNITS.length - 1) {
            v /= 1024;
            unit++;
        }
        // 1023.96 KiB rounds to "1024.0 KiB" with one decimal: show the next unit instead
        if (Math.round(v * 10) >= 10240 && unit < UNITS.length - 1) {
            v /= 1024;
            unit++;
        }
        return String.format(Locale.ROOT, "%.1f %s", v, UNITS[unit]);
    }

    /** "512Mi", "2Gi", "4096" in bytes; anything else is refused as bad input naming {@code field}. */
    public static long parse(String size, String field) {
        var m = java.util.regex.Pattern.compile("([0-9]{1,15})(Ki|Mi|Gi|Ti)?").matcher(size == null ? "" : size);
        if (!m.matches()) {
            throw io.dbaoperator.problem.Problem.invalid(io.dbaoperator.problem.Reason.InvalidSpec, field + ": '"
                    + size + "' is not a size (e.g. 512Mi, 2Gi)").exception();
        }
        int shift = m.group(2) == null ? 0 : switch (m.group(2)) {
            case "Ki" -> 10;
            case "Mi" -> 20;
            case "Gi" -> 30;
            default -> 40;
        };
        return Long.parseLong(m.group(1)) << shift;
    }
}
