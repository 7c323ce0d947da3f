package io.dbaoperator.agent;

import java.io.PrintStream;
import java.util.Map;

import io.dbaoperator.contract.AgentEnvironment;
import io.dbaoperator.contract.AgentFailure;
import io.dbaoperator.contract.BackupArgs;
import io.dbaoperator.contract.RestoreArgs;
import io.dbaoperator.contract.WalArchiveArgs;
import io.dbaoperator.postgres.ConnectionSettings;
import io.dbaoperator.postgres.PostgresConnector;
import io.dbaoperator.problem.Problem;
import io.dbaoperator.problem.ProblemException;
import io.dbaoperator.storage.S3Clients;
import io.dbaoperator.storage.S3Location;

/**
 * The agent: the code that runs inside the operator's Jobs, in the operator's image next to the PostgreSQL client
 * tools ({@code dba-agent <command>}). It is a plain main class, without the operator's runtime, so a Job starts fast
 * and needs no access to the Kubernetes API. Exit codes: 0 done, 1 the work failed, 2 bad invocation.
 * <p>
 * Commands: {@code check} connects to the database (and to S3 when the Job has a bucket) and prints what it found;
 * {@code backup --namespace N --policy P --backup-id ID [--compression none|gzip|lz4|zstd]
 * [--compression-location client|server] [--level L] [--verify true|false]} takes a verified base backup to S3
 * ({@link BackupCommand}); {@code verify} with the same options verifies a stored backup again;
 * {@code wal-archive --namespace N --policy P --slot S} archives WAL continuously ({@link WalArchiveCommand});
 * {@code restore --namespace N --policy P --restore-id R --backup-id B --data-dir D [...]} restores and proves a
 * backup ({@link RestoreCommand}); {@code copy --namespace N --policy P --backup-id B [--offsite true]
 * [--offsite-class C] [--archive-class C]} copies a backup offsite and/or to an archive class ({@link CopyCommand}).
 */
public final class AgentMain {

    private AgentMain() {
    }

    public static void main(String[] args) {
        // the JBoss log manager is on the classpath (the operator's); say so before anything logs
        System.setProperty("java.util.logging.manager", "org.jboss.logmanager.LogManager");
        System.exit(run(args, System.getenv(), System.out, System.err));
    }

    static int run(String[] args, Map<String, String> env, PrintStream out, PrintStream err) {
        if (args.length == 0) {
            err.println("usage: dba-agent check | backup --namespace N --policy P --backup-id ID [...]");
            return 2;
        }
        try {
            switch (args[0]) {
                case "check":
                    return check(env, out);
                case BackupArgs.COMMAND:
                    return BackupCommand.run(BackupArgs.parse(args), env, out);
                case WalArchiveArgs.COMMAND:
                    return WalArchiveCommand.run(WalArchiveArgs.parse(args), env, out);
                case RestoreArgs.COMMAND:
                    return RestoreCommand.run(RestoreArgs.parse(args), env, out);
                case io.dbaoperator.contract.LogicalBackupArgs.COMMAND:
                    return LogicalBackupCommand.run(io.dbaoperator.contract.LogicalBackupArgs.parse(args), env, out);
                case io.dbaoperator.contract.LogicalRestoreArgs.COMMAND:
                    return LogicalRestoreCommand.run(io.dbaoperator.contract.LogicalRestoreArgs.parse(args), env, out);
                case io.dbaoperator.contract.CopyArgs.COMMAND:
                    return CopyCommand.run(io.dbaoperator.contract.CopyArgs.parse(args), env, out);
                case BackupArgs.VERIFY_COMMAND:
                    return BackupCommand.reverify(BackupArgs.parse(args), env, out);
                default:
                    err.println("unknown command: " + args[0]);
                    return 2;
            }
        } catch (ProblemException e) {
            err.println(new AgentFailure(e.problem().reason().name(), e.problem().message()).line());
            return 1;
        } catch (IllegalArgumentException e) {
            err.println("bad invocation: " + e.getMessage());
            return 2;
        } catch (java.io.IOException | RuntimeException e) {
            err.println(new AgentFailure("Failed", String.valueOf(e.getMessage())).line());
            return 1;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return 1;
        }
    }

    private static int check(Map<String, String> env, PrintStream out) {
        ConnectionSettings db = AgentEnvironment.database(env);
        String version = PostgresConnector.probe(db);
        String bucket = null;
        S3Location s3 = AgentEnvironment.s3(env);
        if (s3 != null) {
            Problem problem = S3Clients.probe(s3);
            if (problem != null) {
                throw problem.exception();
            }
            bucket = s3.bucket();
        }
        out.println("{\"database\":" + quote(db.describe()) + ",\"serverVersion\":" + quote(version)
                + (bucket == null ? "" : ",\"bucket\":" + quote(bucket)) + "}");
        return 0;
    }

    private static String quote(String s) {
        return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n") + "\"";
    }
}
