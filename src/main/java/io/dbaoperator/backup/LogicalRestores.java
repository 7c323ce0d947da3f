package io.dbaoperator.backup;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import io.dbaoperator.api.backup.BackupPolicy;
import io.dbaoperator.api.backup.BackupRestore;
import io.dbaoperator.api.backup.BackupRestoreSpec;
import io.dbaoperator.api.backup.BackupRestoreStatus;
import io.dbaoperator.api.backup.RestorePhase;
import io.dbaoperator.api.common.Phase;
import io.dbaoperator.approval.ApprovalStep;
import io.dbaoperator.approval.GateOutcome;
import io.dbaoperator.approval.GatedStep;
import io.dbaoperator.approval.PlanDigest;
import io.dbaoperator.audit.AuditEvent;
import io.dbaoperator.backup.BackupRestoreReconciler.Restoring;
import io.dbaoperator.backup.catalog.BackupRecord;
import io.dbaoperator.backup.catalog.RestoreRecord;
import io.dbaoperator.contract.LogicalBackupArgs;
import io.dbaoperator.postgres.ConnectionSettings;
import io.dbaoperator.postgres.Databases;
import io.dbaoperator.postgres.PostgresConnector;
import io.dbaoperator.problem.Problem;
import io.dbaoperator.problem.Reason;
import io.dbaoperator.status.PhaseMachine;
import io.dbaoperator.status.Sizes;
import io.dbaoperator.status.Step;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.client.KubernetesClient;

/**
 * The BackupRestore phases of a logical backup (a policy with method: logical): a dump restored into a database on
 * an existing instance. The plan names the backup, the dump, and the target as the instance shows it now (missing,
 * empty, or holding relations: refused unless {@code replace}, and then the approval names what it holds); once
 * approved and stored, one Job runs {@code dba-agent logical-restore}; Ready only when the target database holds
 * the tables the agent restored, read by the operator itself. Nothing to remove on failure: the agent drops the
 * database it created, and the Job stays for its log until its TTL.
 */
final class LogicalRestores {

    /** What the operator reads from the target instance: before the plan, and as evidence at the end. */
    interface Target {
        /** The database {@code name} on the instance of {@code instance}: whether it exists, and what it holds. */
        TargetState inspect(ConnectionSettings instance, String name);

        /** Of {@code tables} (schema.table as the agent listed them), those the database {@code name} lacks. */
        List<String> missing(ConnectionSettings instance, String name, List<String> tables);

        /** Writes the comment of the database {@code name} (a staging refresh's copy says what it holds). */
        default void comment(ConnectionSettings instance, String name, String comment) {
            throw new UnsupportedOperationException("comment on " + name);
        }

        /** Drops the database {@code name} if it exists, ending its sessions (a staging refresh's previous copy). */
        default void drop(ConnectionSettings instance, String name) {
            throw new UnsupportedOperationException("drop " + name);
        }
    }

    /** A target database as the plan saw it. */
    record TargetState(boolean exists, int relations, long bytes) {
        boolean empty() {
            return relations == 0;
        }

        String describe() {
            return relations + " relation(s), " + Sizes.human(bytes);
        }
    }

    /** The real instance, over JDBC: catalog reads only. */
    static Target postgres(Databases databases) {
        return new Target() {
            @Override
            public TargetState inspect(ConnectionSettings instance, String name) {
                try (Connection c = databases.open(instance, "dba-operator-restore-plan");
                        PreparedStatement ps = c.prepareStatement("select count(*) from pg_database where datname = ?")) {
                    ps.setString(1, name);
                    try (ResultSet rs = ps.executeQuery()) {
                        rs.next();
                        if (rs.getInt(1) == 0) {
                            return new TargetState(false, 0, 0);
                        }
                    }
                } catch (SQLException e) {
                    throw PostgresConnector.classify(e, instance).exception();
                }
                ConnectionSettings there = in(instance, name);
                try (Connection c = databases.open(there, "dba-operator-restore-plan"); ResultSet rs = c
                        .createStatement().executeQuery("select (" + io.dbaoperator.contract.LogicalRestoreArgs
                                .USER_RELATIONS + "), pg_database_size(current_database())")) {
                    rs.next();
                    return new TargetState(true, rs.getInt(1), rs.getLong(2));
                } catch (SQLException e) {
                    throw PostgresConnector.classify(e, there).exception();
                }
            }

            @Override
            public List<String> missing(ConnectionSettings instance, String name, List<String> tables) {
                ConnectionSettings there = in(instance, name);
                try (Connection c = databases.open(there, "dba-operator-restore-check"); PreparedStatement ps = c
                        .prepareStatement("select t from unnest(?::text[]) t where to_regclass(t) is null order by 1")) {
                    ps.setArray(1, c.createArrayOf("text", tables.toArray()));
                    List<String> absent = new ArrayList<>();
                    try (ResultSet rs = ps.executeQuery()) {
                        while (rs.next()) {
                            absent.add(rs.getString(1));
                        }
                    }
                    return absent;
                } catch (SQLException e) {
                    throw PostgresConnector.classify(e, there).exception();
                }
            }

            @Override
            public void comment(ConnectionSettings instance, String name, String comment) {
                try (Connection c = databases.open(instance, "dba-operator-staging-refresh")) {
                    c.createStatement().execute("COMMENT ON DATABASE " + io.dbaoperator.sql.Identifiers.quote(name)
                            + " IS '" + comment.replace("'", "''") + "'");
                } catch (SQLException e) {
                    throw PostgresConnector.classify(e, instance).exception();
                }
            }

            @Override
            public void drop(ConnectionSettings instance, String name) {
                try (Connection c = databases.open(instance, "dba-operator-staging-refresh")) {
                    c.createStatement().execute("DROP DATABASE IF EXISTS " + io.dbaoperator.sql.Identifiers
                            .quote(name) + " WITH (FORCE)");
                } catch (SQLException e) {
                    throw PostgresConnector.classify(e, instance).exception();
                }
            }
        };
    }

    static ConnectionSettings in(ConnectionSettings instance, String database) {
        return new ConnectionSettings(instance.hosts(), database, instance.user(), instance.password(),
                instance.sslMode(), instance.sslRootCert());
    }

    private final Target target;
    private final KubernetesClient client;
    private final String agentImage;
    private final StagingRefreshes refreshes;

    LogicalRestores(Target target, KubernetesClient client, String agentImage) {
        this.target = target;
        this.client = client;
        this.agentImage = agentImage;
        this.refreshes = new StagingRefreshes(client, target);
    }

    /** Restoring acts (its Job is made only once the consumed approval is stored); Verifying follows the Job. */
    final PhaseMachine<RestorePhase, Restoring> machine = PhaseMachine
            .<RestorePhase, Restoring>of(RestorePhase.class, RestorePhase.Pending, r -> r.st().phase)
            .decides(RestorePhase.Pending, this::planned)
            .decides(RestorePhase.AwaitingApproval, this::planned)
            .acts(RestorePhase.Restoring, this::restoring)
            .decides(RestorePhase.Verifying, this::follow)
            .acts(RestorePhase.Swapping, this::swapping)
            .decides(RestorePhase.Waiting, this::waiting)
            .build();

    /** A staging refresh's copy restored and checked: the staging Secret pointed at it. */
    private Step swapping(Restoring r) {
        return refreshes.swapping(r);
    }

    /** A staging refresh between runs. */
    private Step waiting(Restoring r) {
        return refreshes.waiting(r, this::planned);
    }

    /**
     * What a logical policy's BackupRestore cannot ask for, refused before anything runs; returns the target
     * instance's connection (its Secret read).
     */
    static void validate(BackupRestoreSpec spec, BackupPolicy policy, ConnectionSettings instance) {
        String name = policy.getMetadata().getName();
        if (spec.target.database == null) {
            throw Problem.invalid(Reason.InvalidSpec, "BackupPolicy " + name + " takes logical backups (pg_dump): "
                    + "they restore into a database on an existing instance, spec.target.database, not into a new "
                    + "instance").exception();
        }
        if (spec.targetTime != null || spec.targetLSN != null) {
            throw Problem.invalid(Reason.InvalidSpec, "a dump restores to the moment it was taken: targetTime and "
                    + "targetLSN need a physical policy with WAL archiving").exception();
        }
        if (spec.target.database.name.equals(instance.dbname())) {
            throw Problem.invalid(Reason.InvalidSpec, "spec.target.database.name " + spec.target.database.name
                    + " is the database the Secret " + spec.target.database.databaseRef.secretRef.name + " connects "
                    + "to, where the restore creates and renames databases; give the Secret another database (e.g. "
                    + "postgres) or restore under another name").exception();
        }
    }

    /** The backup and dump a restore uses: the named one or the newest verified logical one. Pure. */
    record Plan(BackupRecord backup, String source) {
    }

    static Plan plan(BackupRestoreSpec spec, List<BackupRecord> records, String catalogUrl) {
        List<BackupRecord> dumps = records.stream().filter(r -> "logical".equals(r.method)
                && r.state == BackupRecord.State.verified).toList();
        BackupRecord backup;
        if (spec.backupId != null) {
            backup = records.stream().filter(r -> spec.backupId.equals(r.backupId)).findFirst().orElseThrow(() -> Problem
                    .invalid(Reason.BackupNotFound, "backup " + spec.backupId + " is not in the catalog at "
                            + catalogUrl + "; verified logical backups: " + ids(dumps)).exception());
            if (!"logical".equals(backup.method)) {
                throw Problem.invalid(Reason.InvalidSpec, "backup " + spec.backupId + " is a base backup, not a dump: "
                        + "it restores into a new instance (spec.target.newInstance)").exception();
            }
            if (backup.state != BackupRecord.State.verified) {
                throw Problem.invalid(Reason.BackupNotFound, "backup " + spec.backupId + " is " + backup.state
                        + "; only a verified backup is restored; verified logical backups: " + ids(dumps)).exception();
            }
        } else {
            backup = dumps.stream().findFirst().orElseThrow(() -> Problem.invalid(Reason.BackupNotFound, "the policy "
                    + "has no verified logical backup at " + catalogUrl).exception());
        }
        String wanted = spec.logical == null ? null : spec.logical.sourceDatabase;
        List<String> held = backup.databases == null ? List.of() : backup.databases;
        if (wanted == null) {
            if (held.size() != 1) {
                throw Problem.invalid(Reason.InvalidSpec, "backup " + backup.backupId + " holds dumps of " + held
                        + ": name the one to restore in spec.logical.sourceDatabase").exception();
            }
            wanted = held.get(0);
        } else if (!held.contains(wanted)) {
            throw Problem.invalid(Reason.BackupNotFound, "backup " + backup.backupId + " holds dumps of " + held
                    + ", not of database " + wanted).exception();
        }
        return new Plan(backup, wanted);
    }

    private static String ids(List<BackupRecord> records) {
        return records.isEmpty() ? "none" : records.stream().map(r -> r.backupId).toList().toString();
    }

    /** The plan, made again on every look (the catalog and the target may change under it), and its approval. */
    private Step planned(Restoring r) {
        BackupRestore restore = r.restore();
        BackupRestoreStatus st = r.st();
        BackupRestoreSpec.DatabaseTarget to = restore.getSpec().target.database;
        boolean refresh = StagingRefreshes.refreshing(restore);
        // a staging refresh restores each run into a database of its own, the next run's
        String into = refresh ? StagingRefreshes.database(restore, StagingRefreshes.nextRun(st)) : to.name;
        var chosen = r.sources().choose((source, records) -> plan(restore.getSpec(), records,
                source.catalog().baseUrl()), Plan::backup);
        Plan plan = chosen.plan();
        r.in().requireKeyFor(plan.backup());
        TargetState state = target.inspect(r.in().target(), into);
        String where = "database " + into + " on " + r.in().target().hosts();
        if (state.exists() && !state.empty() && !Boolean.TRUE.equals(to.replace)) {
            throw Problem.invalid(Reason.RestoreTargetNotEmpty, where + " exists and holds " + state.describe()
                    + ": a restore never writes into a database that is not empty; choose another name, or set "
                    + "spec.target.database.replace to replace it (the approval will name it)").exception();
        }
        BackupRecord b = plan.backup();
        String object = LogicalBackupArgs.objectName(plan.source());
        var p = new BackupRestoreStatus.RestorePlan();
        p.backupId = b.backupId;
        p.sourceDatabase = plan.source();
        p.backupEnd = b.completedAt;
        p.backupSizeBytes = b.objects.stream().filter(o -> object.equals(o.name)).mapToLong(o -> o.size).sum();
        p.backupSize = Sizes.human(p.backupSizeBytes);
        p.expectedRecoveryPoint = "database " + plan.source() + " as pg_dump's snapshot saw it (backup started "
                + b.startedAt + ")";
        p.target = !state.exists() ? "new " + where : state.empty() ? where + " (exists, empty: the restored copy "
                + "takes its place)" : "replace " + where;
        p.replaces = state.exists() && !state.empty() ? state.describe() : null;
        chosen.describe(p);
        st.plan = p;
        if (!refresh) {
            st.restoreId = RestoreJobs.restoreId(restore);
        }
        // the approval binds what the target holds by its relations, not its size: a database in use grows by the
        // minute, and an approval that every insert voided could never be given
        Map<String, Object> bound = new LinkedHashMap<>();
        bound.put("backupId", p.backupId);
        bound.put("sourceDatabase", p.sourceDatabase);
        bound.put("dumpBytes", p.backupSizeBytes);
        bound.put("target", p.target);
        bound.put("replacesRelations", p.replaces == null ? 0 : state.relations());
        bound.put("copy", p.copy);
        if (refresh) {
            // the approval of a refresh binds the refresh, not one run's data: each run restores the newest backup
            bound = StagingRefreshes.bound(restore, p.sourceDatabase, r.in().target().hosts());
        }
        var masking = r.in().masking();
        Map<String, Object> approved = new LinkedHashMap<>(Map.of("plan", bound, "target", restore.getSpec().target,
                "logical", restore.getSpec().logical == null ? Map.of() : restore.getSpec().logical,
                "checks", restore.getSpec().checks == null ? List.of() : restore.getSpec().checks));
        if (masking != null) {
            // the rules as resolved (a DisposalJob's included): the approval covers what will be masked
            approved.put("masking", Map.of("rules", masking.rules(), "unmaskedColumns", masking.unmaskedColumns()));
        }
        String digest = PlanDigest.of(approved);
        if (st.phase != RestorePhase.Waiting) {
            // a refresh between runs waits for a person only when the gate says so below
            st.phase = Phase.move(st.phase, RestorePhase.AwaitingApproval);
        }
        String step = refresh ? StagingRefreshes.describe(restore, b.backupId, plan.source(), into,
                r.in().target().hosts()) + (masking == null ? "" : "; masked first by " + masking.rules().size()
                        + " rule(s) over " + masking.rules().stream().mapToInt(x -> x.columns().size()).sum()
                        + " column(s) (unmasked columns that look personal: " + masking.unmaskedColumns() + ")")
                : "restore logical backup " + b.backupId + " (database " + plan.source() + ")"
                + (RestoreSources.OFFSITE.equals(p.copy) ? " from its offsite copy" : "") + " into "
                + (p.replaces != null ? "database " + to.name + " on " + r.in().target().hosts() + ", replacing "
                        + "what it holds now (" + p.replaces + ")" : p.target)
                + (masking == null ? "" : ", masked first by " + masking.rules().size() + " rule(s) over "
                        + masking.rules().stream().mapToInt(x -> x.columns().size()).sum() + " column(s) (unmasked "
                        + "columns that look personal: " + masking.unmaskedColumns() + ")");
        var result = ApprovalStep.check(restore, st, new GatedStep(BackupRestoreReconciler.STEP, step, digest, null,
                BackupRestoreReconciler.generation(restore)), BackupRestoreReconciler.SHORT_NAME, Instant.now());
        r.log().decided(result.audit());
        if (result.outcome() != GateOutcome.PROCEED && st.phase == RestorePhase.Waiting) {
            st.phase = Phase.move(st.phase, RestorePhase.AwaitingApproval);
        }
        if (result.outcome() == GateOutcome.REJECTED) {
            st.phase = Phase.move(st.phase, RestorePhase.Rejected);
            st.message = "rejected by " + st.rejection.approvedBy + (StagingRefreshes.serving(st) ? "; no further "
                    + "refresh runs, " + st.staging.serving + " still serves (Secret " + st.staging.secret + ")"
                    : "; nothing was restored");
            BackupRestoreReconciler.ready(restore, st, false, Reason.Rejected, st.message);
            return Step.onEvent();
        }
        if (result.outcome() == GateOutcome.WAIT) {
            st.message = "plan: " + step + "; waiting for approval" + (refresh && st.staging != null
                    && st.staging.serving != null ? " (what this refresh would do changed since the last approval; "
                            + st.staging.serving + " still serves)" : "");
            return Step.rest(Duration.ofMinutes(1));
        }
        st.phase = Phase.move(st.phase, RestorePhase.Restoring);
        st.restoreStartedAt = Instant.now().toString();
        st.restoredUnder = ApprovalStep.under(st, BackupRestoreReconciler.STEP, digest);
        st.progress = "approved; creating the restore's Job";
        if (refresh) {
            StagingRefreshes.begin(restore, st, Instant.now());
        }
        return Step.next();
    }

    /** Entered with the approval stored: the Job is made once (again after a crash), then followed. */
    private Step restoring(Restoring r) {
        BackupRestoreStatus st = r.st();
        if (st.job == null) {
            Job job = RestoreJobs.logicalRestoreJob(r.restore(), r.in().policy(), r.sources().of(st).storage(),
                    st.plan.backupId, st.plan.sourceDatabase, r.in().masking(), agentImage, st.restoreId,
                    StagingRefreshes.jobName(r.restore(), st), StagingRefreshes.into(r.restore(), st));
            Map<String, String> annotations = new HashMap<>(job.getMetadata().getAnnotations() == null ? Map.of()
                    : job.getMetadata().getAnnotations());
            annotations.put(BackupRestoreReconciler.APPROVAL_ANNOTATION, st.restoredUnder);
            job.getMetadata().setAnnotations(annotations);
            r.jobs().create(job);
            st.job = job.getMetadata().getName();
            st.progress = "starting Job " + st.job;
            if (!StagingRefreshes.serving(st)) {
                BackupRestoreReconciler.ready(r.restore(), st, false, Reason.Restoring, "restoring backup "
                        + st.plan.backupId + " into " + st.plan.target + " (Job " + st.job + ")");
            }
        }
        return follow(r);
    }

    /** Follows the Job through its catalog record; Ready only on the operator's own evidence, or Failed. */
    private Step follow(Restoring r) {
        BackupRestore restore = r.restore();
        BackupRestoreStatus st = r.st();
        Job job = r.jobs().named(st.job).orElse(null);
        RestoreRecord record = r.catalog().readRestore(st.restoreId);
        var outcome = AgentJobs.outcome(job);
        if (record != null) {
            st.progress = record.progress();
            if (record.state == RestoreRecord.State.verifying) {
                st.phase = Phase.move(st.phase, RestorePhase.Verifying);
                if (!StagingRefreshes.serving(st)) {
                    BackupRestoreReconciler.ready(restore, st, false, Reason.Verifying, st.progress);
                }
            }
        }
        boolean ended = job != null && !outcome.active();
        if (job == null || outcome.failed() || record != null && record.state == RestoreRecord.State.failed) {
            if (job != null && outcome.active()) {
                return Step.rest(Duration.ofSeconds(2)); // the agent wrote its failure; the Job is about to end
            }
            return fail(r, record, AgentJobs.whyRestoreFailed(client, st.job, job, record));
        }
        if (!ended) {
            return Step.rest(Duration.ofSeconds(3));
        }
        if (record == null || record.state != RestoreRecord.State.succeeded) {
            return fail(r, record, "Job " + st.job + " ended without a successful restore record");
        }
        String into = StagingRefreshes.into(restore, st);
        List<String> tables = record.tables == null ? List.of() : record.tables;
        List<String> absent = target.missing(r.in().target(), into, tables);
        if (!absent.isEmpty()) {
            return fail(r, record, "the agent reported " + record.tableCount + " table(s) restored into " + into
                    + ", but the database lacks " + absent.size() + " of them (" + String.join(", ",
                            absent.subList(0, Math.min(5, absent.size()))) + "): it changed since, or is another");
        }
        st.checkResults = AgentJobs.checkResults(record);
        st.masking = masking(r, record);
        st.database = new BackupRestoreStatus.RestoredDatabase();
        st.database.name = into;
        st.database.instance = r.in().target().user() + "@" + r.in().target().hosts();
        st.database.tables = record.tableCount;
        st.database.replaced = Boolean.TRUE.equals(record.replacedExisting);
        st.recovered = new BackupRestoreStatus.RecoveredPoint();
        st.recovered.time = st.plan.backupEnd;
        st.recovered.restoreSeconds = st.restoreStartedAt == null ? null
                : Duration.between(Instant.parse(st.restoreStartedAt), Instant.now()).getSeconds();
        if (StagingRefreshes.refreshing(restore)) {
            // not served yet: the staging Secret is pointed at the copy in Swapping, entered with this stored
            st.phase = Phase.move(st.phase, RestorePhase.Swapping);
            st.progress = "refresh r" + st.staging.run + ": " + record.tableCount + " table(s) restored into " + into
                    + ", masked and checked; pointing Secret " + st.staging.secret + " at it";
            r.log().executed(AuditEvent.byOperator(restore, "restore", BackupRestoreReconciler.STEP, "succeeded",
                    null, restoreDetails(st, record, into)), "restore/succeeded/" + st.restoreId);
            return Step.next();
        }
        st.phase = Phase.move(st.phase, RestorePhase.Ready);
        st.progress = null;
        st.message = "restored database " + st.plan.sourceDatabase + " of backup " + st.plan.backupId + " into "
                + into + " on " + r.in().target().hosts() + ": " + record.tableCount + " table(s) there, "
                + st.checkResults.size() + " check(s) passed" + (st.masking == null ? "" : "; masked "
                        + st.masking.tables.size() + " table(s) before it was served: " + st.masking.originalsChecked
                        + " sampled original value(s) checked, none left; the PII discovery found "
                        + st.masking.columnsFound + " column(s) on the copy, " + (st.masking.uncovered.isEmpty()
                                ? "all masked" : st.masking.uncovered.size() + " not masked (status.masking)"))
                + (record.warning == null ? "" : "; " + record.warning);
        BackupRestoreReconciler.ready(restore, st, true, Reason.RestoreSucceeded, st.message);
        // keyed: after a 409 or a restart follow() finds the same record and reports it again
        r.log().executed(AuditEvent.byOperator(restore, "restore", BackupRestoreReconciler.STEP, "succeeded", null,
                restoreDetails(st, record, into)), "restore/succeeded");
        return Step.onEvent();
    }

    /** The audit record of a restore that succeeded. */
    private static Map<String, Object> restoreDetails(BackupRestoreStatus st, RestoreRecord record, String into) {
        Map<String, Object> details = new LinkedHashMap<>();
        details.put("backupId", record.backupId);
        details.put("sourceDatabase", st.plan.sourceDatabase);
        details.put("database", into);
        details.put("instance", st.database.instance);
        details.put("tables", record.tableCount);
        details.put("replaced", st.database.replaced);
        details.put("approval", st.restoredUnder);
        if (record.masking != null) {
            details.put("masking", Map.of("rules", record.masking.rules, "tables", st.masking.tables,
                    "originalsChecked", record.masking.originalsChecked, "originalsFound",
                    record.masking.originalsFound, "findings", record.masking.findings, "uncovered",
                    record.masking.uncovered, "report", st.masking.report));
        }
        return details;
    }

    /** The masking evidence for status, from the agent's record; null when nothing was masked. */
    private static BackupRestoreStatus.MaskingEvidence masking(Restoring r, RestoreRecord record) {
        return masking(r.catalog(), record);
    }

    /** The masking evidence for status (a logical or a physical restore's), from the agent's record. */
    static BackupRestoreStatus.MaskingEvidence masking(io.dbaoperator.backup.catalog.BackupCatalog catalog,
            RestoreRecord record) {
        if (record == null || record.masking == null) {
            return null;
        }
        var m = new BackupRestoreStatus.MaskingEvidence();
        record.masking.tables.forEach(t -> m.tables.add(t.table + ": " + t.rows + " rows in " + t.seconds + " s"));
        m.originalsChecked = record.masking.originalsChecked;
        m.originalsFound = record.masking.originalsFound;
        m.columnsFound = record.masking.findings.size();
        record.masking.uncovered.forEach(u -> m.uncovered.add(u.contains(": ") ? u.substring(0, u.indexOf(": ")) : u));
        record.masking.droppedDatabases.forEach(d -> m.tables.add("database " + d + ": dropped (no rule masks it)"));
        m.report = catalog == null ? null : "s3://" + catalog.location().bucket() + "/"
                + catalog.restoreKey(record.restoreId);
        return m;
    }

    private Step fail(Restoring r, RestoreRecord record, String why) {
        BackupRestore restore = r.restore();
        BackupRestoreStatus st = r.st();
        st.checkResults = AgentJobs.checkResults(record);
        st.masking = masking(r, record);
        if (StagingRefreshes.refreshing(restore)) {
            return refreshes.failed(r, why + " (Job " + st.job + " keeps its log)",
                    AgentJobs.failureReason(record, Reason.StagingRefreshFailed));
        }
        st.phase = Phase.move(st.phase, RestorePhase.Failed);
        st.message = "restore failed: " + why + "; the database the restore created was dropped, "
                + restore.getSpec().target.database.name + " is as it was (Job " + st.job + " keeps its log)";
        BackupRestoreReconciler.ready(restore, st, false, AgentJobs.failureReason(record, Reason.RestoreFailed),
                st.message);
        r.log().executed(AuditEvent.byOperator(restore, "restore", BackupRestoreReconciler.STEP, "failed", null,
                Map.of("reason", why)), "restore/failed");
        return Step.onEvent();
    }

}
