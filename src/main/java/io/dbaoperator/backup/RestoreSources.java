package io.dbaoperator.backup;

import java.util.List;
import java.util.function.BiFunction;
import java.util.function.Function;
import java.util.stream.Collectors;

import io.dbaoperator.api.backup.BackupRestoreStatus;
import io.dbaoperator.api.common.S3Storage;
import io.dbaoperator.backup.catalog.BackupCatalog;
import io.dbaoperator.backup.catalog.BackupRecord;
import io.dbaoperator.problem.Problem;
import io.dbaoperator.problem.ProblemException;
import io.dbaoperator.problem.Reason;

/**
 * Where a restore reads its backup. The primary copy (the policy's bucket) when its objects are there and readable;
 * the offsite copy (spec.copies.offsite) when the primary's objects are gone, frozen in an archive class, or the
 * backup is in the offsite storage only (the primary's retention removed it there); the plan says which and why, and
 * the approval binds it. A frozen copy with no other to read is refused with what to run to thaw it, and the plan is
 * made again every minute until it is readable. Availability is checked with a HEAD of each object, before anyone
 * is asked to approve.
 */
final class RestoreSources {

    static final String PRIMARY = "primary";
    static final String OFFSITE = "offsite";

    /** One copy: its name, its catalog, and the storage its restore Job reads. */
    record Source(String name, BackupCatalog catalog, S3Storage storage) {
    }

    /** A plan made from one source, and why that source. */
    record Chosen<P>(P plan, Source source, String reason) {
        /** The plan's copy, as status.plan shows it. */
        void describe(BackupRestoreStatus.RestorePlan p) {
            p.copy = source.name();
            p.copyLocation = source.catalog().baseUrl();
            p.copyReason = reason;
        }
    }

    private final Source primary;
    private final Source offsite;
    private final String offsiteProblem;

    /** {@code offsite}: null when the policy has none, or it could not be used ({@code offsiteProblem} says why). */
    RestoreSources(Source primary, Source offsite, String offsiteProblem) {
        this.primary = primary;
        this.offsite = offsite;
        this.offsiteProblem = offsiteProblem;
    }

    Source primary() {
        return primary;
    }

    /** The copy the stored plan names: once approved, the restore reads (and its Job writes its record) only there. */
    Source of(BackupRestoreStatus st) {
        if (st.plan == null || !OFFSITE.equals(st.plan.copy)) {
            return primary;
        }
        if (offsite == null) {
            throw Problem.transientFault(Reason.OffsiteUnreachable, "the plan reads the offsite copy at "
                    + st.plan.copyLocation + ", and the policy's offsite storage cannot be used now"
                    + (offsiteProblem == null ? " (spec.copies.offsite is gone)" : ": " + offsiteProblem)).exception();
        }
        return offsite;
    }

    /**
     * @param plan makes the plan from a source's records (newest first), throwing the reason it cannot
     * @param backupOf the backup a plan restores
     */
    <P> Chosen<P> choose(BiFunction<Source, List<BackupRecord>, P> plan, Function<P, BackupRecord> backupOf) {
        P here;
        try {
            here = plan.apply(primary, primary.catalog().list());
        } catch (ProblemException notHere) {
            if (offsite == null || notHere.problem().reason() != Reason.BackupNotFound) {
                throw notHere;
            }
            P there;
            try {
                there = plan.apply(offsite, offsite.catalog().list());
            } catch (ProblemException | software.amazon.awssdk.core.exception.SdkException notThere) {
                throw notHere; // the primary's reason: the offsite storage has nothing better
            }
            BackupRecord b = backupOf.apply(there);
            requireReadable(offsite, b, "the offsite copy");
            return new Chosen<>(there, offsite, "backup " + b.backupId + " is not in the primary bucket (retention "
                    + "removed it there, or it was deleted); its offsite copy is");
        }
        BackupRecord b = backupOf.apply(here);
        BackupCatalog.Availability a = primary.catalog().availability(b);
        if (a.readable()) {
            return new Chosen<>(here, primary, null);
        }
        String why = !a.missing().isEmpty() ? "its objects " + a.missing() + " are gone from the primary bucket "
                + primary.catalog().url(b.backupId) : "its objects in the primary bucket are in storage class "
                        + a.frozen().get(0).storageClass() + ", which must be thawed before they can be read";
        if (offsite != null) {
            BackupRecord copy = offsite.catalog().read(b.backupId);
            if (copy != null && offsite.catalog().availability(copy).readable()) {
                return new Chosen<>(plan.apply(offsite, List.of(copy)), offsite, "backup " + b.backupId + ": " + why
                        + "; its offsite copy is read instead");
            }
        }
        String noCopy = offsite != null ? "and the offsite storage holds no readable copy of it"
                : offsiteProblem != null ? "and the offsite storage cannot be used: " + offsiteProblem
                        : "and the policy keeps no offsite copy (spec.copies.offsite)";
        if (!a.missing().isEmpty()) {
            throw Problem.invalid(Reason.BackupNotFound, "backup " + b.backupId + " cannot be restored: " + why + ", "
                    + noCopy).exception();
        }
        throw Problem.transientFault(Reason.BackupArchived, thaw(b, a.frozen(), primary.catalog()) + " (" + noCopy
                + ")").exception();
    }

    private static void requireReadable(Source s, BackupRecord b, String what) {
        BackupCatalog.Availability a = s.catalog().availability(b);
        if (!a.missing().isEmpty()) {
            throw Problem.invalid(Reason.BackupNotFound, "backup " + b.backupId + ": " + what + " lacks its objects "
                    + a.missing()).exception();
        }
        if (!a.frozen().isEmpty()) {
            throw Problem.transientFault(Reason.BackupArchived, thaw(b, a.frozen(), s.catalog())).exception();
        }
    }

    /** What to run to thaw frozen objects, and how long it takes. */
    static String thaw(BackupRecord b, List<BackupCatalog.ObjectState> frozen, BackupCatalog catalog) {
        String storageClass = frozen.get(0).storageClass();
        String bucket = catalog.location().bucket();
        return "backup " + b.backupId + " is in storage class " + storageClass + ": S3 must restore (thaw) its "
                + "objects before they can be read, which takes " + ("DEEP_ARCHIVE".equals(storageClass)
                        ? "about 12 hours (Standard) to 48 hours (Bulk)"
                        : "1-5 minutes (Expedited), 3-5 hours (Standard) or 5-12 hours (Bulk)")
                + ". Run, for each: " + frozen.stream().map(o -> "aws s3api restore-object --bucket " + bucket
                        + " --key " + o.key() + " --restore-request '{\"Days\":7,\"GlacierJobParameters\":{\"Tier\":"
                        + "\"Standard\"}}'").collect(Collectors.joining("; "))
                + ". The restore plans again every minute and goes on once they are readable";
    }
}
