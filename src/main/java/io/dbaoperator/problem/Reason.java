package io.dbaoperator.problem;

import static io.dbaoperator.problem.Reason.Group.BACKUP;
import static io.dbaoperator.problem.Reason.Group.COMMON;
import static io.dbaoperator.problem.Reason.Group.DISPOSAL;
import static io.dbaoperator.problem.Reason.Group.MAINTENANCE;
import static io.dbaoperator.problem.Reason.Group.MIGRATION;
import static io.dbaoperator.problem.Reason.Group.RESTORE;
import static io.dbaoperator.problem.Reason.Group.TUNING;
import static io.dbaoperator.problem.Reason.Severity.NORMAL;
import static io.dbaoperator.problem.Reason.Severity.WARNING;

import java.util.EnumSet;
import java.util.Set;

/**
 * Reasons for conditions and Events. Each says what happened in CamelCase; the message says what to do. Grouped by
 * the kind that reports it ({@link Group}); {@code ReasonGroupsTest} holds each kind's package to its own group and
 * the common one. Each says whether it reports something wrong (a Warning Event) or progress (Normal).
 */
public enum Reason {
    // every kind: validation, references, databases, buckets, approvals, windows
    Validated(NORMAL, COMMON),
    InvalidSpec(WARNING, COMMON),
    SecretNotFound(WARNING, COMMON),
    SecretKeyMissing(WARNING, COMMON),
    SecretInvalid(WARNING, COMMON),
    DatabaseUnreachable(WARNING, COMMON),
    AuthenticationFailed(WARNING, COMMON),
    DatabaseNotFound(WARNING, COMMON),
    DatabaseError(WARNING, COMMON),
    InvalidSchedule(WARNING, COMMON),
    InvalidStorage(WARNING, COMMON),
    StorageUnreachable(WARNING, COMMON),
    StorageAccessDenied(WARNING, COMMON),
    BucketNotFound(WARNING, COMMON),
    ReferenceNotFound(WARNING, COMMON),
    MissingPrivilege(WARNING, COMMON),
    AwaitingApproval(NORMAL, COMMON),
    Approved(NORMAL, COMMON),
    Rejected(WARNING, COMMON),
    PlanDigestMismatch(WARNING, COMMON),
    ApprovalVoided(WARNING, COMMON),
    SchemaChanged(WARNING, COMMON),
    WaitingForDatabase(NORMAL, COMMON),
    InProgress(NORMAL, COMMON),
    OutsideMaintenanceWindow(NORMAL, COMMON),
    InternalError(WARNING, COMMON),
    // DatabaseMigration
    SyntaxError(WARNING, MIGRATION),
    LintFailed(WARNING, MIGRATION),
    RehearsalPassed(NORMAL, MIGRATION),
    RehearsalFailed(WARNING, MIGRATION),
    BackupRequested(NORMAL, MIGRATION),
    BackupReady(NORMAL, MIGRATION),
    Throttled(NORMAL, MIGRATION),
    Paused(NORMAL, MIGRATION),
    CutoverPending(NORMAL, MIGRATION),
    StepFailed(WARNING, MIGRATION),
    ChecksumMismatch(WARNING, MIGRATION),
    EarlierRun(NORMAL, MIGRATION),
    AlreadyPresent(NORMAL, MIGRATION),
    PartlyPresent(WARNING, MIGRATION),
    EvidenceMissing(WARNING, MIGRATION),
    RollingBack(NORMAL, MIGRATION),
    RolledBack(WARNING, MIGRATION),
    MigrationCompleted(NORMAL, MIGRATION),
    // BackupPolicy: backups, WAL archiving, restore tests
    BackupVerified(NORMAL, BACKUP),
    BackupRunning(NORMAL, BACKUP),
    BackupFailed(WARNING, BACKUP, MIGRATION),
    VerificationFailed(WARNING, BACKUP),
    BackupJobFailed(WARNING, BACKUP),
    BackupSkipped(WARNING, BACKUP),
    WalArchivingRunning(NORMAL, BACKUP),
    WalArchiverStarting(NORMAL, BACKUP),
    WalArchiverNotRunning(WARNING, BACKUP),
    WalArchiverStale(WARNING, BACKUP),
    RestoreTestPassed(NORMAL, BACKUP),
    RestoreTestFailed(WARNING, BACKUP),
    RestoreTestRunning(NORMAL, BACKUP),
    // spec.copies: the offsite copy and the archive tier
    BackupCopied(NORMAL, BACKUP),
    CopyFailed(WARNING, BACKUP),
    OffsiteUnreachable(WARNING, BACKUP, RESTORE),
    // client-side encryption (spec.encryption): the policy's, its Jobs', and a restore's
    EncryptionKeyInvalid(WARNING, BACKUP, RESTORE),
    EncryptionKeyMissing(WARNING, BACKUP, RESTORE),
    EncryptionKeyMismatch(WARNING, BACKUP, RESTORE),
    // BackupRestore and the restore agent
    BackupNotFound(WARNING, RESTORE),
    BackupCorrupted(WARNING, RESTORE),
    WalGap(WARNING, RESTORE),
    BackupArchived(WARNING, RESTORE),
    TargetOutsideRecoveryWindow(WARNING, RESTORE),
    TargetNotReached(WARNING, RESTORE),
    RestoreTargetNotEmpty(WARNING, RESTORE),
    Restoring(NORMAL, RESTORE),
    Verifying(NORMAL, RESTORE),
    RestoreFailed(WARNING, RESTORE),
    RestoreCheckFailed(WARNING, RESTORE),
    UnmaskedPersonalData(WARNING, RESTORE),
    RestoreSucceeded(NORMAL, RESTORE),
    StagingRefreshed(NORMAL, RESTORE),
    StagingRefreshFailed(WARNING, RESTORE),
    StagingRefreshing(NORMAL, RESTORE),
    InstanceStarting(NORMAL, RESTORE),
    // DisposalJob
    DisposalCompleted(NORMAL, DISPOSAL),
    RuleRefused(WARNING, DISPOSAL),
    RowsStillMatch(WARNING, DISPOSAL),
    // DatabaseMaintenance
    MaintenancePlanned(NORMAL, MAINTENANCE),
    MaintenanceRefused(WARNING, MAINTENANCE),
    TaskDone(NORMAL, MAINTENANCE),
    TaskIneffective(WARNING, MAINTENANCE),
    TaskFailed(WARNING, MAINTENANCE),
    UrgentFreeze(WARNING, MAINTENANCE),
    MaintenanceCompleted(NORMAL, MAINTENANCE),
    // QueryTuningRequest
    TuningDone(NORMAL, TUNING),
    IndexMissing(WARNING, TUNING),
    IndexInvalid(WARNING, TUNING),
    QueryFailed(WARNING, TUNING);

    /** Who reports a reason. */
    public enum Group {
        COMMON, MIGRATION, BACKUP, RESTORE, DISPOSAL, MAINTENANCE, TUNING
    }

    /** The type of the Event that reports it: progress, or something wrong. */
    public enum Severity {
        NORMAL, WARNING
    }

    private final Severity severity;
    private final Set<Group> groups;

    Reason(Severity severity, Group group, Group... more) {
        this.severity = severity;
        this.groups = EnumSet.of(group, more);
    }

    /** Whether a condition or Event with this reason reports something wrong (a Warning). */
    public boolean isProblem() {
        return severity == WARNING;
    }

    /** The kinds (or every kind, {@link Group#COMMON}) that report this reason. */
    public Set<Group> groups() {
        return groups;
    }
}
