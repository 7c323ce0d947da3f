package io.dbaoperator.backup;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;

import org.junit.jupiter.api.Test;

import io.dbaoperator.api.backup.BackupRestoreSpec;
import io.dbaoperator.api.backup.BackupRestoreStatus;
import io.dbaoperator.api.common.S3Storage;
import io.dbaoperator.backup.catalog.BackupCatalog;
import io.dbaoperator.backup.catalog.BackupRecord;
import io.dbaoperator.fakes.FakeBucket;
import io.dbaoperator.problem.ProblemException;
import io.dbaoperator.problem.Reason;
import io.dbaoperator.storage.S3Location;

/**
 * Which copy a restore reads, on two in-memory buckets: the primary while its objects are there and readable; the
 * offsite copy when they are gone, frozen, or the backup is offsite only, with the reason in the plan; a frozen copy
 * with nothing else to read says how to thaw it and is tried again; nothing readable anywhere is refused.
 */
class RestoreSourcesTest {

    static final S3Location HERE = new S3Location("backups", "", null, "us-east-1", true, "k", "s", null, null);
    static final S3Location THERE = new S3Location("far-away", "copies", null, "eu-west-1", true, "k2", "s2", null,
            null);
    static final String ID = "20261206T020000Z";

    final FakeBucket primaryBucket = new FakeBucket();
    final FakeBucket offsiteBucket = new FakeBucket();
    final BackupCatalog primary = new BackupCatalog(primaryBucket.stores().open(HERE), HERE, "shop", "dumps");
    final BackupCatalog offsite = new BackupCatalog(offsiteBucket.stores().open(THERE), THERE, "shop", "dumps");
    final S3Storage offsiteStorage = new S3Storage();

    static BackupRecord dump(BackupCatalog catalog, FakeBucket bucket) {
        BackupRecord r = new BackupRecord();
        r.backupId = ID;
        r.method = "logical";
        r.databases = List.of("orders");
        r.state = BackupRecord.State.verified;
        r.completedAt = "2026-12-06T02:01:00Z";
        String key = catalog.key(ID, "orders.dump");
        r.objects.add(new BackupRecord.StoredObject("orders.dump", key, 10, "0".repeat(64)));
        bucket.objects.put(key, new byte[10]);
        catalog.write(r);
        return r;
    }

    RestoreSources sources(boolean withOffsite) {
        return new RestoreSources(new RestoreSources.Source(RestoreSources.PRIMARY, primary, new S3Storage()),
                withOffsite ? new RestoreSources.Source(RestoreSources.OFFSITE, offsite, offsiteStorage) : null, null);
    }

    RestoreSources.Chosen<LogicalRestores.Plan> choose(RestoreSources s) {
        return s.choose((source, records) -> LogicalRestores.plan(new BackupRestoreSpec(), records,
                source.catalog().baseUrl()), LogicalRestores.Plan::backup);
    }

    @Test
    void thePrimaryCopyIsReadWhileItsObjectsAreThere() {
        dump(primary, primaryBucket);
        dump(offsite, offsiteBucket);
        var chosen = choose(sources(true));
        assertThat(chosen.source().name()).isEqualTo(RestoreSources.PRIMARY);
        assertThat(chosen.reason()).isNull();
    }

    @Test
    void theOffsiteCopyIsReadWhenThePrimarysObjectsAreGoneAndThePlanSaysWhyAndTheJobReadsThere() {
        BackupRecord r = dump(primary, primaryBucket);
        dump(offsite, offsiteBucket);
        primaryBucket.objects.remove(r.objects.get(0).key);
        RestoreSources s = sources(true);
        var chosen = choose(s);
        assertThat(chosen.source().name()).isEqualTo(RestoreSources.OFFSITE);
        BackupRestoreStatus.RestorePlan p = new BackupRestoreStatus.RestorePlan();
        chosen.describe(p);
        assertThat(p.copy).isEqualTo("offsite");
        assertThat(p.copyLocation).isEqualTo("s3://far-away/copies/shop/dumps/base/");
        assertThat(p.copyReason).contains("[orders.dump] are gone from the primary bucket", "offsite copy is read");
        BackupRestoreStatus st = new BackupRestoreStatus();
        st.plan = p;
        assertThat(s.of(st).catalog()).as("once stored, the restore reads only the copy its plan names")
                .isSameAs(offsite);
        assertThat(s.of(st).storage()).isSameAs(offsiteStorage);
        assertThat(sources(false).primary().catalog()).isSameAs(primary);
        assertThatThrownBy(() -> sources(false).of(st)).isInstanceOfSatisfying(ProblemException.class,
                e -> assertThat(e.problem().reason()).isEqualTo(Reason.OffsiteUnreachable));
    }

    @Test
    void aBackupOnlyTheOffsiteStorageStillHoldsIsReadThere() {
        dump(offsite, offsiteBucket);
        var chosen = choose(sources(true));
        assertThat(chosen.source().name()).isEqualTo(RestoreSources.OFFSITE);
        assertThat(chosen.reason()).contains("not in the primary bucket");
        assertThatThrownBy(() -> choose(sources(false))).isInstanceOfSatisfying(ProblemException.class,
                e -> assertThat(e.problem().reason()).isEqualTo(Reason.BackupNotFound));
    }

    @Test
    void aFrozenPrimaryWithNoOtherCopySaysHowToThawItAndIsTriedAgainAndAReadableOffsiteCopyIsUsedInstead() {
        BackupRecord r = dump(primary, primaryBucket);
        primaryBucket.storageClasses.put(r.objects.get(0).key, "DEEP_ARCHIVE");
        assertThatThrownBy(() -> choose(sources(false))).isInstanceOfSatisfying(ProblemException.class, e -> {
            assertThat(e.problem().reason()).isEqualTo(Reason.BackupArchived);
            assertThat(e.problem().permanent()).as("planned again every minute until thawed").isFalse();
            assertThat(e.problem().message()).contains("storage class DEEP_ARCHIVE", "about 12 hours",
                    "aws s3api restore-object --bucket backups --key " + r.objects.get(0).key,
                    "keeps no offsite copy");
        });
        dump(offsite, offsiteBucket);
        var chosen = choose(sources(true));
        assertThat(chosen.source().name()).isEqualTo(RestoreSources.OFFSITE);
        assertThat(chosen.reason()).contains("storage class DEEP_ARCHIVE, which must be thawed");

        primaryBucket.storageClasses.put(r.objects.get(0).key, "GLACIER_IR");
        assertThat(choose(sources(true)).source().name()).as("GLACIER_IR is read at once")
                .isEqualTo(RestoreSources.PRIMARY);
    }

    @Test
    void nothingReadableAnywhereIsRefusedNamingWhatIsMissing() {
        BackupRecord r = dump(primary, primaryBucket);
        primaryBucket.objects.remove(r.objects.get(0).key);
        assertThatThrownBy(() -> choose(sources(true))).isInstanceOfSatisfying(ProblemException.class, e -> {
            assertThat(e.problem().reason()).isEqualTo(Reason.BackupNotFound);
            assertThat(e.problem().message()).contains("[orders.dump] are gone",
                    "the offsite storage holds no readable copy");
        });
    }
}
