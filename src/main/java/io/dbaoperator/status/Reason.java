package io.dbaoperator.status;

/** Reasons for conditions and Events. Each says what happened in CamelCase; the message says what to do. */
public enum Reason {
    Validated,
    InvalidSpec,
    SecretNotFound,
    SecretKeyMissing,
    SecretInvalid,
    DatabaseUnreachable,
    AuthenticationFailed,
    DatabaseNotFound,
    DatabaseError,
    InvalidSchedule,
    InvalidStorage,
    StorageUnreachable,
    StorageAccessDenied,
    BucketNotFound,
    ReferenceNotFound,
    MissingPrivilege,
    AwaitingApproval,
    Approved,
    Rejected,
    PlanDigestMismatch,
    ApprovalVoided,
    SchemaChanged,
    BackupVerified,
    BackupRunning,
    BackupFailed,
    VerificationFailed,
    BackupJobFailed,
    BackupSkipped,
    WalArchivingRunning,
    WalArchiverStarting,
    WalArchiverNotRunning,
    WalArchiverStale,
    SyntaxError,
    LintFailed,
    RehearsalPassed,
    RehearsalFailed,
    WaitingForDatabase,
    BackupRequested,
    BackupReady,
    InProgress,
    Throttled,
    Paused,
    CutoverPending,
    StepFailed,
    ChecksumMismatch,
    RollingBack,
    RolledBack,
    MigrationCompleted,
    DisposalCompleted,
    RuleRefused,
    InternalError;

    /** Whether a condition or Event with this reason reports something wrong (a Warning). */
    public boolean isProblem() {
        return switch (this) {
            case Validated, AwaitingApproval, Approved, BackupVerified, BackupRunning, WalArchivingRunning,
                    WalArchiverStarting, RehearsalPassed, WaitingForDatabase, BackupRequested, BackupReady, InProgress,
                    Throttled, Paused, CutoverPending, RollingBack, MigrationCompleted, DisposalCompleted -> false;
            default -> true;
        };
    }
}
