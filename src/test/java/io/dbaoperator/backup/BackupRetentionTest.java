package io.dbaoperator.backup;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import java.util.stream.Collectors;

import org.junit.jupiter.api.Test;

import io.dbaoperator.backup.catalog.BackupRecord;

class BackupRetentionTest {

    static final Instant NOW = Instant.parse("2026-11-21T12:00:00Z");

    static BackupRecord record(Duration age, BackupRecord.State state) {
        BackupRecord r = new BackupRecord();
        r.backupId = BackupJobs.backupId(NOW.minus(age));
        r.state = state;
        return r;
    }

    static List<String> ids(List<BackupRecord> records) {
        return records.stream().map(r -> r.backupId).toList();
    }

    @Test
    void keepLastAndMaxAgeTogether() {
        List<BackupRecord> records = new ArrayList<>();
        for (int days = 1; days <= 6; days++) {
            records.add(record(Duration.ofDays(days), BackupRecord.State.verified));
        }
        // newest first, as the catalog lists them
        List<BackupRecord> removed = BackupRetention.toRemove(records, 2, Duration.ofDays(3), Set.of(), NOW);
        assertThat(ids(removed)).containsExactly(records.get(3).backupId, records.get(4).backupId,
                records.get(5).backupId); // 4, 5 and 6 days old: beyond the newest two and older than 3 days
    }

    @Test
    void theNewestVerifiedBackupSurvivesEvenWhenEverythingIsOld() {
        List<BackupRecord> records = List.of(record(Duration.ofDays(40), BackupRecord.State.failed),
                record(Duration.ofDays(50), BackupRecord.State.verified),
                record(Duration.ofDays(60), BackupRecord.State.verified));
        List<BackupRecord> removed = BackupRetention.toRemove(records, 1, Duration.ofDays(30), Set.of(), NOW);
        assertThat(ids(removed)).containsExactly(records.get(0).backupId, records.get(2).backupId);
    }

    @Test
    void pinnedAndInProgressBackupsStay() {
        BackupRecord pinned = record(Duration.ofDays(90), BackupRecord.State.verified);
        BackupRecord running = record(Duration.ofDays(45), BackupRecord.State.running);
        BackupRecord uploaded = record(Duration.ofDays(44), BackupRecord.State.uploaded);
        BackupRecord newest = record(Duration.ofDays(1), BackupRecord.State.verified);
        List<BackupRecord> removed = BackupRetention.toRemove(List.of(newest, uploaded, running, pinned), 1,
                Duration.ofDays(30), Set.of(pinned.backupId), NOW);
        assertThat(removed).isEmpty();
    }

    @Test
    void recentFailuresStayForDiagnosis() {
        BackupRecord failed = record(Duration.ofHours(1), BackupRecord.State.failed);
        assertThat(BackupRetention.toRemove(List.of(failed), 7, Duration.ofDays(30), Set.of(), NOW)).isEmpty();
    }

    // --- calendar retention ---

    static BackupRecord at(String localTime, ZoneId zone, BackupRecord.State state) {
        BackupRecord r = new BackupRecord();
        Instant t = LocalDateTime.parse(localTime).atZone(zone).toInstant();
        r.backupId = BackupJobs.backupId(t);
        r.state = state;
        r.completedAt = t.plusSeconds(600).toString();
        return r;
    }

    /** Newest first, as the catalog lists them. */
    static List<BackupRecord> newestFirst(List<BackupRecord> records) {
        return records.stream().sorted(Comparator.comparing((BackupRecord r) -> r.backupId).reversed()).toList();
    }

    /** One verified backup a day at {@code hour} local time, from {@code first} to {@code last} inclusive. */
    static List<BackupRecord> daily(String first, String last, String hour, ZoneId zone) {
        List<BackupRecord> out = new ArrayList<>();
        for (var d = java.time.LocalDate.parse(first); !d.isAfter(java.time.LocalDate.parse(last)); d = d.plusDays(1)) {
            out.add(at(d + "T" + hour, zone, BackupRecord.State.verified));
        }
        return newestFirst(out);
    }

    /** The rules: keepLast 1 and a maxAge of one second, so only the calendar rules under test keep anything else. */
    static BackupRetention.Rules calendar(Integer daily, Integer weekly, Integer monthly, Integer yearly, ZoneId zone) {
        return new BackupRetention.Rules(1, Duration.ofSeconds(1), daily, weekly, monthly, yearly, Set.of(), zone);
    }

    /** The local date of each kept backup, with the rules that keep it. */
    static Map<String, List<String>> kept(List<BackupRecord> records, BackupRetention.Rules rules, Instant now) {
        return BackupRetention.decide(records, rules, now).stream().filter(BackupRetention.Verdict::kept)
                .collect(Collectors.toMap(v -> BackupRetention.taken(v.record()).atZone(rules.zone())
                        .toLocalDateTime().toString(), BackupRetention.Verdict::keptBy, (a, b) -> a,
                        java.util.TreeMap::new));
    }

    static final ZoneId UTC = ZoneId.of("UTC");
    static final ZoneId BERLIN = ZoneId.of("Europe/Berlin");
    static final ZoneId AUCKLAND = ZoneId.of("Pacific/Auckland");

    @Test
    void sevenDailyFourWeeklyTwelveMonthlySevenYearlyOverThreeYearsOfDailyBackups() {
        List<BackupRecord> records = daily("2023-12-01", "2026-12-05", "02:00", UTC);
        Instant now = Instant.parse("2026-12-05T12:00:00Z");
        Map<String, List<String>> kept = kept(records, calendar(7, 4, 12, 7, UTC), now);
        // 7 days: Nov 29 .. Dec 5; 4 weeks: the Sundays ending W46..W48 and the newest of W49 (Sat Dec 5); 12 months:
        // the last day of Dec 2025 .. Nov 2026 and Dec 5; 7 years: 2023, 2024 and 2025 on Dec 31 and 2026's newest
        assertThat(kept.keySet()).containsExactly(
                "2023-12-31T02:00", "2024-12-31T02:00", "2025-12-31T02:00",
                "2026-01-31T02:00", "2026-02-28T02:00", "2026-03-31T02:00", "2026-04-30T02:00", "2026-05-31T02:00",
                "2026-06-30T02:00", "2026-07-31T02:00", "2026-08-31T02:00", "2026-09-30T02:00", "2026-10-31T02:00",
                "2026-11-15T02:00", "2026-11-22T02:00", "2026-11-29T02:00", "2026-11-30T02:00",
                "2026-12-01T02:00", "2026-12-02T02:00", "2026-12-03T02:00", "2026-12-04T02:00", "2026-12-05T02:00");
        assertThat(kept.get("2026-12-05T02:00")).containsExactly("newest verified", "keepLast", "daily 2026-12-05",
                "weekly 2026-W49", "monthly 2026-12", "yearly 2026");
        assertThat(kept.get("2026-11-29T02:00")).containsExactly("daily 2026-11-29", "weekly 2026-W48");
        assertThat(kept.get("2026-11-30T02:00")).containsExactly("daily 2026-11-30", "monthly 2026-11");
        assertThat(kept.get("2024-12-31T02:00")).containsExactly("yearly 2024");
        assertThat(kept.get("2023-12-31T02:00")).containsExactly("yearly 2023");
        assertThat(BackupRetention.toRemove(records, calendar(7, 4, 12, 7, UTC), now))
                .hasSize(records.size() - kept.size());
    }

    @Test
    void aDayWithoutABackupDoesNotUseUpADailySlot() {
        List<BackupRecord> records = new ArrayList<>(daily("2026-11-20", "2026-12-05", "02:00", UTC));
        records.removeIf(r -> r.backupId.startsWith("20261203") || r.backupId.startsWith("20261201"));
        Map<String, List<String>> kept = kept(records, calendar(5, null, null, null, UTC),
                Instant.parse("2026-12-05T12:00:00Z"));
        assertThat(kept.keySet()).containsExactly("2026-11-29T02:00", "2026-11-30T02:00", "2026-12-02T02:00",
                "2026-12-04T02:00", "2026-12-05T02:00");
    }

    @Test
    void theNewestBackupOfADayKeepsIt_AndAnUnverifiedOneNeverDoes() {
        List<BackupRecord> records = newestFirst(List.of(
                at("2026-12-04T02:00", UTC, BackupRecord.State.verified),
                at("2026-12-04T14:00", UTC, BackupRecord.State.verified),
                at("2026-12-04T20:00", UTC, BackupRecord.State.failed),
                at("2026-12-03T02:00", UTC, BackupRecord.State.failed),
                at("2026-12-02T02:00", UTC, BackupRecord.State.verified),
                at("2026-12-05T02:00", UTC, BackupRecord.State.verified)));
        Map<String, List<String>> kept = kept(records, calendar(3, null, null, null, UTC),
                Instant.parse("2026-12-05T12:00:00Z"));
        // Dec 3 had only a failed backup: it is not a day with a backup, so the third day is Dec 2; on Dec 4 the
        // verified 14:00 backup is the keeper, not the later failed one
        assertThat(kept.keySet()).containsExactly("2026-12-02T02:00", "2026-12-04T14:00", "2026-12-05T02:00");
    }

    @Test
    void bucketsAreInThePolicysTimeZone() {
        // 23:30 UTC on Nov 30 is already Dec 1 in Berlin and in Auckland: a different day and month there
        List<BackupRecord> records = newestFirst(List.of(at("2026-11-30T23:30", UTC, BackupRecord.State.verified),
                at("2026-11-30T10:00", UTC, BackupRecord.State.verified),
                at("2026-12-02T10:00", UTC, BackupRecord.State.verified)));
        Instant now = Instant.parse("2026-12-02T12:00:00Z");
        assertThat(kept(records, calendar(null, null, 2, null, UTC), now).keySet())
                .containsExactly("2026-11-30T23:30", "2026-12-02T10:00");
        assertThat(kept(records, calendar(null, null, 2, null, BERLIN), now).keySet())
                .as("Nov 30 23:30 UTC is Dec 1 00:30 in Berlin: November's newest is the 10:00 one")
                .containsExactly("2026-11-30T11:00", "2026-12-02T11:00");
        assertThat(kept(records, calendar(2, null, null, null, AUCKLAND), now).keySet())
                .as("in Auckland (UTC+13) both Nov 30 backups fall on Dec 1, the newest of them keeps it")
                .containsExactly("2026-12-01T12:30", "2026-12-02T23:00");
    }

    @Test
    void daylightSavingChangesNeitherSplitNorMergeADay() {
        // Berlin: Oct 25 2026 has 25 hours (02:00-03:00 twice), Mar 29 2026 has 23 hours
        List<BackupRecord> records = newestFirst(List.of(at("2026-10-25T00:30", BERLIN, BackupRecord.State.verified),
                at("2026-10-25T23:30", BERLIN, BackupRecord.State.verified),
                at("2026-10-26T00:30", BERLIN, BackupRecord.State.verified),
                at("2026-03-29T01:30", BERLIN, BackupRecord.State.verified),
                at("2026-03-29T23:30", BERLIN, BackupRecord.State.verified)));
        Map<String, List<String>> kept = kept(records, calendar(10, null, null, null, BERLIN),
                Instant.parse("2026-10-27T00:00:00Z"));
        assertThat(kept.keySet()).containsExactly("2026-03-29T23:30", "2026-10-25T23:30", "2026-10-26T00:30");
        assertThat(kept.get("2026-10-25T23:30")).contains("daily 2026-10-25");
    }

    @Test
    void monthEndsLeapYearsAndIsoWeeksAcrossTheYear() {
        // Feb 29 2024 exists; Dec 28 2026 (a Monday) .. Jan 3 2027 is ISO week 2026-W53; Jan 1 2027 belongs to it
        List<BackupRecord> records = newestFirst(List.of(at("2024-02-29T03:00", UTC, BackupRecord.State.verified),
                at("2024-02-28T03:00", UTC, BackupRecord.State.verified),
                at("2026-12-27T03:00", UTC, BackupRecord.State.verified),
                at("2026-12-28T03:00", UTC, BackupRecord.State.verified),
                at("2027-01-01T03:00", UTC, BackupRecord.State.verified),
                at("2027-01-04T03:00", UTC, BackupRecord.State.verified)));
        Instant now = Instant.parse("2027-01-05T00:00:00Z");
        Map<String, List<String>> weekly = kept(records, calendar(null, 3, null, null, UTC), now);
        assertThat(weekly.keySet()).containsExactly("2026-12-27T03:00", "2027-01-01T03:00", "2027-01-04T03:00");
        assertThat(weekly.get("2027-01-01T03:00")).containsExactly("weekly 2026-W53");
        assertThat(weekly.get("2026-12-27T03:00")).containsExactly("weekly 2026-W52");
        Map<String, List<String>> monthly = kept(records, calendar(null, null, 4, null, UTC), now);
        assertThat(monthly.keySet()).containsExactly("2024-02-29T03:00", "2026-12-28T03:00", "2027-01-04T03:00");
        assertThat(monthly.get("2024-02-29T03:00")).containsExactly("monthly 2024-02");
    }

    @Test
    void anyRuleKeeps_AndEachKeptBackupSaysUntilWhenAtTheEarliest() {
        List<BackupRecord> records = daily("2026-10-01", "2026-12-05", "02:00", UTC);
        Instant now = Instant.parse("2026-12-05T12:00:00Z");
        BackupRetention.Rules rules = new BackupRetention.Rules(2, Duration.ofDays(4), 3, null, 2, null,
                Set.of(BackupJobs.backupId(Instant.parse("2026-10-02T02:00:00Z"))), UTC);
        Map<String, BackupRetention.Verdict> v = BackupRetention.decide(records, rules, now).stream()
                .collect(Collectors.toMap(x -> x.record().backupId.substring(0, 8), Function.identity()));
        assertThat(v.get("20261002").keptBy()).containsExactly("pinned");
        assertThat(v.get("20261002").earliestRemoval()).as("a pin has no end").isNull();
        assertThat(v.get("20261205").earliestRemoval()).as("newest verified").isNull();
        assertThat(v.get("20261204").keptBy()).containsExactly("maxAge", "keepLast", "daily 2026-12-04");
        // Dec 3: maxAge until Dec 7 02:00, daily until Dec 6 00:00 (3 newer days begun): the later, maxAge
        assertThat(v.get("20261203").keptBy()).containsExactly("maxAge", "daily 2026-12-03");
        assertThat(v.get("20261203").earliestRemoval()).isEqualTo(Instant.parse("2026-12-07T02:00:00Z"));
        // Nov 30, monthly 2026-11: two newer months must begin, so Jan 1 2027 at the earliest
        assertThat(v.get("20261130").keptBy()).containsExactly("monthly 2026-11");
        assertThat(v.get("20261130").earliestRemoval()).isEqualTo(Instant.parse("2027-01-01T00:00:00Z"));
        assertThat(v.get("20261125").kept()).as("older than maxAge, in no bucket").isFalse();
        assertThat(v.get("20261031").kept()).as("October is the third month back").isFalse();
    }

    @Test
    void theNewestVerifiedBackupIsNeverDeletedWhateverTheCalendarRules() {
        List<BackupRecord> records = newestFirst(List.of(at("2026-12-05T02:00", UTC, BackupRecord.State.failed),
                at("2025-06-01T02:00", UTC, BackupRecord.State.verified)));
        BackupRetention.Rules rules = new BackupRetention.Rules(1, Duration.ofSeconds(1), 1, 1, 1, null, Set.of(), UTC);
        assertThat(kept(records, rules, Instant.parse("2026-12-05T12:00:00Z")).keySet())
                .containsExactly("2025-06-01T02:00");
    }

    /** docs/reference.md's worked example, as written there. */
    @Test
    void theReferencesWorkedExample() {
        List<BackupRecord> records = daily("2019-01-01", "2026-12-05", "02:00", BERLIN);
        for (BackupRecord r : records) {
            withWal(r, String.format("00000001%016X", BackupRetention.taken(r).getEpochSecond() / 86400));
        }
        Instant now = LocalDateTime.parse("2026-12-05T12:00").atZone(BERLIN).toInstant();
        BackupRetention.Rules rules = new BackupRetention.Rules(3, Duration.ofDays(1), 7, 4, 12, 7, Set.of(), BERLIN);
        Map<String, List<String>> kept = kept(records, rules, now);
        assertThat(kept).hasSize(25);
        assertThat(kept.keySet()).contains("2026-11-15T02:00", "2026-11-22T02:00", "2026-01-31T02:00",
                "2020-12-31T02:00").doesNotContain("2026-11-28T02:00", "2019-12-31T02:00");
        Map<String, BackupRetention.Verdict> byDay = BackupRetention.decide(records, rules, now).stream()
                .collect(Collectors.toMap(v -> BackupRetention.taken(v.record()).atZone(BERLIN).toLocalDate()
                        .toString(), Function.identity()));
        assertThat(byDay.get("2026-12-01").earliestRemoval())
                .isEqualTo(LocalDateTime.parse("2026-12-08T00:00").atZone(BERLIN).toInstant());
        assertThat(byDay.get("2026-11-29").keptBy()).containsExactly("daily 2026-11-29", "weekly 2026-W48");
        assertThat(byDay.get("2026-11-29").earliestRemoval())
                .isEqualTo(LocalDateTime.parse("2026-12-21T00:00").atZone(BERLIN).toInstant());
        List<BackupRecord> keptRecords = BackupRetention.decide(records, rules, now).stream()
                .filter(BackupRetention.Verdict::kept).map(BackupRetention.Verdict::record).toList();
        assertThat(BackupRetention.walKeptFrom(keptRecords, Duration.ofDays(7), now))
                .isEqualTo(byDay.get("2026-11-22").record().startWalFile);
    }

    // --- WAL retention ---

    static BackupRecord withWal(BackupRecord r, String startWal) {
        r.startWalFile = startWal;
        r.endWalFile = startWal;
        return r;
    }

    @Test
    void walIsKeptFromTheNewestBackupThatCompletedBeforeTheWindowBegan() {
        Instant now = Instant.parse("2026-12-05T12:00:00Z");
        List<BackupRecord> kept = newestFirst(List.of(
                withWal(at("2026-12-05T02:00", UTC, BackupRecord.State.verified), "000000010000000A00000010"),
                withWal(at("2026-12-01T02:00", UTC, BackupRecord.State.verified), "000000010000000900000001"),
                withWal(at("2026-11-27T02:00", UTC, BackupRecord.State.verified), "0000000100000008000000F0"),
                withWal(at("2026-11-01T02:00", UTC, BackupRecord.State.verified), "000000010000000100000000"),
                withWal(at("2026-11-28T02:00", UTC, BackupRecord.State.failed), "000000010000000800000FF0")));
        assertThat(BackupRetention.walKeptFrom(kept, Duration.ofDays(7), now))
                .as("the window starts Nov 28 12:00: the Nov 27 backup is the one to recover from")
                .isEqualTo("0000000100000008000000F0");
        assertThat(BackupRetention.walKeptFrom(kept, Duration.ofDays(1), now)).isEqualTo("000000010000000900000001");
        assertThat(BackupRetention.walKeptFrom(kept, Duration.ofDays(365), now))
                .as("no kept backup is that old: from the oldest verified one").isEqualTo("000000010000000100000000");
        assertThat(BackupRetention.walKeptFrom(List.of(at("2026-12-05T02:00", UTC, BackupRecord.State.failed)),
                Duration.ofDays(7), now)).as("no verified backup: keep everything").isNull();
    }
}
