package io.dbaoperator.backup;

import java.time.DayOfWeek;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneId;
import java.time.ZonedDateTime;
import java.time.temporal.IsoFields;
import java.time.temporal.TemporalAdjusters;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import io.dbaoperator.backup.catalog.BackupRecord;

/**
 * Which backups retention keeps, by which rule, and which it removes. A backup is kept if any rule keeps it:
 * <ul>
 * <li>the newest verified backup, always, whatever the settings;</li>
 * <li>{@code pinned}: the backup ids listed;</li>
 * <li>backups in progress (running, uploaded: verification runs);</li>
 * <li>{@code keepLast}: the newest N verified backups;</li>
 * <li>{@code maxAge}: every backup taken at most maxAge ago (failed ones too, so their reason can be read);</li>
 * <li>{@code keepDaily}, {@code keepWeekly}, {@code keepMonthly}, {@code keepYearly}: calendar buckets (a day, an
 * ISO week starting Monday, a month, a year) in the policy's time zone, by when the backup was taken; the newest
 * verified backup of each bucket is its keeper, for the N newest buckets that have a verified backup (a day with
 * no backup does not use up one of the N, as in restic and borg). An unverified backup never keeps a bucket.</li>
 * </ul>
 * Everything else goes. Pure: the time and the time zone are arguments.
 */
public final class BackupRetention {

    private BackupRetention() {
    }

    /** The policy's retention, parsed. A calendar count of null or 0 turns that rule off. */
    public record Rules(int keepLast, Duration maxAge, Integer keepDaily, Integer keepWeekly, Integer keepMonthly,
            Integer keepYearly, Set<String> pinned, ZoneId zone) {

        /** keepLast and maxAge only, in UTC: the rules before calendar retention. */
        public static Rules of(int keepLast, Duration maxAge, Set<String> pinned) {
            return new Rules(keepLast, maxAge, null, null, null, null, pinned, ZoneId.of("UTC"));
        }
    }

    /** A calendar period. */
    public enum Period {
        daily, weekly, monthly, yearly;

        /** The bucket a time falls in, as people write it: 2026-12-05, 2026-W49, 2026-12, 2026. */
        String bucket(ZonedDateTime t) {
            return switch (this) {
                case daily -> t.toLocalDate().toString();
                case weekly -> String.format("%d-W%02d", t.get(IsoFields.WEEK_BASED_YEAR),
                        t.get(IsoFields.WEEK_OF_WEEK_BASED_YEAR));
                case monthly -> String.format("%d-%02d", t.getYear(), t.getMonthValue());
                case yearly -> String.valueOf(t.getYear());
            };
        }

        /** The first day of the bucket a date falls in. */
        LocalDate start(LocalDate d) {
            return switch (this) {
                case daily -> d;
                case weekly -> d.with(TemporalAdjusters.previousOrSame(DayOfWeek.MONDAY));
                case monthly -> d.withDayOfMonth(1);
                case yearly -> d.withDayOfYear(1);
            };
        }

        LocalDate plus(LocalDate d, long n) {
            return switch (this) {
                case daily -> d.plusDays(n);
                case weekly -> d.plusWeeks(n);
                case monthly -> d.plusMonths(n);
                case yearly -> d.plusYears(n);
            };
        }
    }

    /**
     * What retention decided for one backup.
     *
     * @param keptBy the rules that keep it, e.g. {@code newest verified}, {@code keepLast}, {@code monthly
     *        2026-11}; empty when it goes
     * @param earliestRemoval when no rule will keep it any more at the earliest (later backups on schedule assumed:
     *        a calendar bucket leaves the newest N once N newer buckets have begun); null while a rule with no end
     *        in time keeps it (pinned, newest verified, in progress, keepLast) and for a backup that goes now
     */
    public record Verdict(BackupRecord record, List<String> keptBy, Instant earliestRemoval) {
        public boolean kept() {
            return !keptBy.isEmpty();
        }
    }

    /** @param records every backup of the policy, newest first */
    public static List<Verdict> decide(List<BackupRecord> records, Rules rules, Instant now) {
        Map<String, List<String>> keptBy = new LinkedHashMap<>();
        Map<String, Instant> until = new LinkedHashMap<>();
        Set<String> open = new HashSet<>(); // kept by a rule with no end in time
        for (BackupRecord r : records) {
            keptBy.put(r.backupId, new ArrayList<>());
        }
        List<BackupRecord> verified = records.stream().filter(r -> r.state == BackupRecord.State.verified).toList();
        if (!verified.isEmpty()) {
            keep(keptBy, open, verified.get(0), "newest verified");
        }
        for (BackupRecord r : records) {
            if (rules.pinned().contains(r.backupId)) {
                keep(keptBy, open, r, "pinned");
            }
            if (r.state == BackupRecord.State.running || r.state == BackupRecord.State.uploaded) {
                keep(keptBy, open, r, "in progress");
            }
            Instant expires = taken(r).plus(rules.maxAge());
            if (!expires.isBefore(now)) {
                keptBy.get(r.backupId).add("maxAge");
                until.merge(r.backupId, expires, BackupRetention::later);
            }
        }
        verified.stream().limit(Math.max(1, rules.keepLast())).forEach(r -> keep(keptBy, open, r, "keepLast"));
        calendar(verified, Period.daily, rules.keepDaily(), rules.zone(), keptBy, until);
        calendar(verified, Period.weekly, rules.keepWeekly(), rules.zone(), keptBy, until);
        calendar(verified, Period.monthly, rules.keepMonthly(), rules.zone(), keptBy, until);
        calendar(verified, Period.yearly, rules.keepYearly(), rules.zone(), keptBy, until);

        List<Verdict> verdicts = new ArrayList<>();
        for (BackupRecord r : records) {
            List<String> by = keptBy.get(r.backupId);
            Instant removal = by.isEmpty() || open.contains(r.backupId) ? null : until.get(r.backupId);
            verdicts.add(new Verdict(r, List.copyOf(by), removal));
        }
        return verdicts;
    }

    /** The backups that go: those no rule keeps. */
    public static List<BackupRecord> toRemove(List<BackupRecord> records, Rules rules, Instant now) {
        return decide(records, rules, now).stream().filter(v -> !v.kept()).map(Verdict::record).toList();
    }

    /** @see #toRemove(List, Rules, Instant) */
    public static List<BackupRecord> toRemove(List<BackupRecord> records, int keepLast, Duration maxAge,
            Set<String> pinned, Instant now) {
        return toRemove(records, Rules.of(keepLast, maxAge, pinned), now);
    }

    /**
     * How far back archived WAL is kept: from the start of the newest verified backup that had completed by the
     * start of the recovery window ({@code now - window}), so that every moment of the window can be recovered from
     * it; when no kept backup is that old, from the oldest verified one. Older WAL goes: each base backup carries the
     * WAL its own consistency needs (pg_basebackup --wal-method fetch), so an older kept backup (a monthly one) is
     * still restorable to its end, but not to a moment between it and the next. Null: keep everything (no
     * verified backup, or none that knows where it starts).
     *
     * @param keptNewestFirst the backups retention keeps, newest first
     * @return the WAL segment name from which on archived WAL is kept
     */
    public static String walKeptFrom(List<BackupRecord> keptNewestFirst, Duration window, Instant now) {
        Instant windowStart = now.minus(window);
        List<BackupRecord> verified = keptNewestFirst.stream().filter(r -> r.state == BackupRecord.State.verified)
                .toList();
        if (verified.isEmpty()) {
            return null;
        }
        BackupRecord anchor = verified.stream().filter(r -> r.completedAt != null
                && !Instant.parse(r.completedAt).isAfter(windowStart)).findFirst()
                .orElse(verified.get(verified.size() - 1));
        return anchor.startWalFile == null || !anchor.startWalFile.matches("[0-9A-F]{24}") ? null
                : anchor.startWalFile;
    }

    /** When a backup was taken: its id is the time its Job was created (UTC). */
    public static Instant taken(BackupRecord r) {
        return Instant.from(BackupJobs.BACKUP_ID.parse(r.backupId));
    }

    private static void keep(Map<String, List<String>> keptBy, Set<String> open, BackupRecord r, String rule) {
        List<String> by = keptBy.get(r.backupId);
        if (!by.contains(rule)) {
            by.add(rule);
        }
        open.add(r.backupId);
    }

    /**
     * The newest verified backup of each of the {@code count} newest buckets that have one. The keeper goes, at the
     * earliest, when {@code count} newer buckets have begun: the start of its bucket plus {@code count} periods.
     */
    private static void calendar(List<BackupRecord> verifiedNewestFirst, Period period, Integer count, ZoneId zone,
            Map<String, List<String>> keptBy, Map<String, Instant> until) {
        if (count == null || count <= 0) {
            return;
        }
        Set<String> buckets = new HashSet<>();
        for (BackupRecord r : verifiedNewestFirst) {
            if (buckets.size() == count) {
                return;
            }
            ZonedDateTime t = taken(r).atZone(zone);
            String bucket = period.bucket(t);
            if (buckets.add(bucket)) {
                keptBy.get(r.backupId).add(period.name() + " " + bucket);
                Instant end = period.plus(period.start(t.toLocalDate()), count).atStartOfDay(zone).toInstant();
                until.merge(r.backupId, end, BackupRetention::later);
            }
        }
    }

    private static Instant later(Instant a, Instant b) {
        return a.isAfter(b) ? a : b;
    }
}
