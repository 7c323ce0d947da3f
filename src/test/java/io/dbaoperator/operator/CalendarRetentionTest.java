package io.dbaoperator.operator;

import static io.dbaoperator.operator.OperatorAssertions.awaitEvent;
import static io.dbaoperator.operator.OperatorAssertions.get;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.temporal.IsoFields;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;

import org.junit.jupiter.api.Test;

import io.dbaoperator.api.backup.BackupInfo;
import io.dbaoperator.api.backup.BackupPolicy;
import io.dbaoperator.api.backup.BackupPolicySpec;
import io.dbaoperator.backup.BackupJobs;
import io.dbaoperator.backup.catalog.BackupCatalog;
import io.dbaoperator.backup.catalog.BackupRecord;
import io.dbaoperator.harness.OperatorHarness;
import io.dbaoperator.harness.OperatorTier;
import io.dbaoperator.operator.Fixtures.Standard;
import io.dbaoperator.storage.S3Clients;
import io.dbaoperator.storage.S3Location;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.PutObjectRequest;

/**
 * Calendar retention and WAL retention on the real S3 server: a policy's bucket holds 400 daily verified backups
 * (each a record, a manifest and a base object) and four archived WAL segments a day, as a policy that has run for
 * 13 months would; the policy keeps 3 last, 7 daily, 4 weekly and 6 monthly, with a 10-day recovery window. The
 * operator removes exactly the backups no rule keeps and exactly the WAL segments older than the start of the
 * newest kept backup that completed before the window began, keeps the timeline history file, and says so in status,
 * an Event and each kept backup's rules. The expected sets are worked out here from the calendar, independently of
 * the operator's code.
 */
@OperatorTier
@QuarkusTest
@QuarkusTestResource(OperatorHarness.class)
class CalendarRetentionTest {

    static final String NS = "calendar-retention";
    static final String POLICY = "years";
    static final int DAYS = 400;
    static final int SEGMENTS_A_DAY = 4;

    /** Backup k (1 = newest) was taken k days and an hour before t0 and completed ten minutes later. */
    static Instant taken(Instant t0, int k) {
        return t0.minus(Duration.ofDays(k)).minus(Duration.ofHours(1));
    }

    /** The first WAL segment of backup k's day: 4 a day, counting up from the oldest day. */
    static String segment(int k, int i) {
        long n = (long) (DAYS - k) * SEGMENTS_A_DAY + i + 1;
        return String.format("00000001%08X%08X", n >>> 8, n & 0xFF);
    }

    @Test
    void exactlyTheBackupsNoRuleKeepsAndTheWalBeforeTheWindowGo() throws Exception {
        KubernetesClient client = Fixtures.namespace(NS, Standard.REPLICATION_DB, Standard.BACKUP_S3);
        S3Location location = Fixtures.s3Location();
        Instant t0 = Instant.now();
        List<String> ids = new ArrayList<>();
        Set<String> walNames = new TreeSet<>();
        try (S3Client s3 = S3Clients.create(location)) {
            BackupCatalog catalog = new BackupCatalog(s3, location, NS, POLICY);
            for (int k = 1; k <= DAYS; k++) {
                BackupRecord r = new BackupRecord();
                r.backupId = BackupJobs.backupId(taken(t0, k));
                r.namespace = NS;
                r.policy = POLICY;
                r.state = BackupRecord.State.verified;
                r.startedAt = taken(t0, k).toString();
                r.completedAt = taken(t0, k).plus(Duration.ofMinutes(10)).toString();
                r.startWalFile = segment(k, 0);
                r.endWalFile = segment(k, 1);
                r.timeline = 1;
                r.storedBytes = 2048L;
                for (String object : List.of("base.tar", BackupCatalog.MANIFEST)) {
                    s3.putObject(PutObjectRequest.builder().bucket(location.bucket()).key(catalog.key(r.backupId,
                            object)).build(), RequestBody.fromBytes(new byte[1024]));
                }
                catalog.write(r);
                ids.add(r.backupId);
                for (int i = 0; i < SEGMENTS_A_DAY; i++) {
                    walNames.add(segment(k, i) + ".gz");
                }
            }
            walNames.add("00000002.history");
            for (String name : walNames) {
                s3.putObject(PutObjectRequest.builder().bucket(location.bucket()).key(location.key(NS + "/" + POLICY
                        + "/wal/" + name)).build(), RequestBody.fromBytes(new byte[16]));
            }
        }

        // kept, worked out from the calendar (every day has exactly one backup, all verified)
        Set<String> expected = new HashSet<>();
        Set<String> days = new HashSet<>();
        Set<String> weeks = new HashSet<>();
        Set<String> months = new HashSet<>();
        for (int k = 1; k <= DAYS; k++) {
            var t = taken(t0, k).atZone(ZoneOffset.UTC);
            String id = ids.get(k - 1);
            if (k <= 3) {
                expected.add(id); // keepLast 3, the newest verified among them
            }
            if (days.size() < 7 && days.add(t.toLocalDate().toString())) {
                expected.add(id);
            }
            String week = t.get(IsoFields.WEEK_BASED_YEAR) + "-W" + t.get(IsoFields.WEEK_OF_WEEK_BASED_YEAR);
            if (weeks.size() < 4 && weeks.add(week)) {
                expected.add(id);
            }
            String month = t.getYear() + "-" + t.getMonthValue();
            if (months.size() < 6 && months.add(month)) {
                expected.add(id);
            }
        }
        // the recovery window began 10 days before the operator looked: backup 10 is the newest that completed by
        // then, but WAL can only be replayed onto a backup that is kept: the newest kept one from backup 10 on is
        // where WAL stays from (and the history file)
        int anchor = 10;
        while (!expected.contains(ids.get(anchor - 1))) {
            anchor++;
        }
        String keptFrom = segment(anchor, 0);
        Set<String> expectedWal = walNames.stream().filter(n -> n.endsWith(".history") || n.compareTo(keptFrom) >= 0)
                .collect(Collectors.toCollection(TreeSet::new));

        BackupPolicy p = new BackupPolicy();
        p.getMetadata().setName(POLICY);
        p.getMetadata().setNamespace(NS);
        p.setSpec(new BackupPolicySpec());
        p.getSpec().database = Fixtures.db(Standard.REPLICATION_DB.secretName);
        p.getSpec().schedule = "0 3 1 1 *";
        p.getSpec().storage = Fixtures.storage(Standard.BACKUP_S3.secretName);
        p.getSpec().retention.keepLast = 3;
        p.getSpec().retention.maxAge = "1s";
        p.getSpec().retention.keepDaily = 7;
        p.getSpec().retention.keepWeekly = 4;
        p.getSpec().retention.keepMonthly = 6;
        p.getSpec().retention.recoveryWindow = "10d";
        client.resource(p).create();

        await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofSeconds(1)).until(() -> {
            BackupPolicy now = get(BackupPolicy.class, NS, POLICY);
            // decided first (decidedAt), done once the objects are gone (prunedAt)
            return now.getStatus() != null && now.getStatus().lastPrune != null
                    && now.getStatus().lastPrune.prunedAt != null;
        });
        try (S3Client s3 = S3Clients.create(location)) {
            BackupCatalog catalog = new BackupCatalog(s3, location, NS, POLICY);
            Set<String> left = catalog.list().stream().map(r -> r.backupId).collect(Collectors.toSet());
            assertThat(left).as("the backups no rule keeps are gone, and only those").isEqualTo(expected);
            for (String gone : ids.stream().filter(id -> !expected.contains(id)).limit(5).toList()) {
                assertThat(s3.listObjectsV2(b -> b.bucket(location.bucket()).prefix(catalog.key(gone, "")))
                        .contents()).as("every object of removed backup %s", gone).isEmpty();
            }
            Set<String> walLeft = catalog.walObjects().stream().map(BackupCatalog.WalObject::name)
                    .collect(Collectors.toCollection(TreeSet::new));
            assertThat(walLeft).as("WAL from the window's backup on, and the history file").isEqualTo(expectedWal);
        }
        BackupPolicy done = get(BackupPolicy.class, NS, POLICY);
        assertThat(done.getStatus().lastPrune.removed).hasSize(DAYS - expected.size());
        assertThat(done.getStatus().lastPrune.walSegmentsRemoved).isEqualTo(walNames.size() - expectedWal.size());
        assertThat(done.getStatus().lastPrune.walKeptFrom).isEqualTo(keptFrom);
        awaitEvent(NS, POLICY, "Normal", "BackupsPruned");
        // status shows every kept backup past the newest ten, each with the rules that keep it
        assertThat(done.getStatus().backups).extracting(b -> b.backupId).containsExactlyInAnyOrderElementsOf(expected);
        BackupInfo oldest = done.getStatus().backups.get(done.getStatus().backups.size() - 1);
        assertThat(oldest.keptBy).singleElement().asString().startsWith("monthly ");
        assertThat(oldest.earliestRemoval).isNotNull();
        assertThat(done.getStatus().backups.get(0).keptBy).contains("newest verified", "keepLast")
                .anySatisfy(rule -> assertThat(rule).startsWith("daily "));
        assertThat(done.getStatus().backups.get(0).earliestRemoval).isNull();
    }
}
