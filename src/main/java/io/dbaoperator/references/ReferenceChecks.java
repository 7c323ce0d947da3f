package io.dbaoperator.references;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

import io.dbaoperator.api.common.DatabaseRef;
import io.dbaoperator.api.common.S3Storage;
import io.dbaoperator.kube.SecretReader;
import io.dbaoperator.postgres.ConnectionSettings;
import io.dbaoperator.postgres.Databases;
import io.dbaoperator.postgres.PostgresConnector;
import io.dbaoperator.problem.Problem;
import io.dbaoperator.problem.Reason;
import io.dbaoperator.storage.S3Clients;
import io.dbaoperator.storage.S3Location;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.dbaoperator.kube.SharedCaches;
import jakarta.enterprise.context.ApplicationScoped;

/**
 * The checks every reconciler runs before its first step: the Secrets exist and have the keys, the database answers
 * with those credentials, the bucket is there, referenced objects exist. Each throws a ProblemException with an
 * actionable message.
 */
@ApplicationScoped
public class ReferenceChecks {

    private final SharedCaches caches;
    private final SecretReader secrets;
    private final Databases databases;

    public ReferenceChecks(SharedCaches caches, SecretReader secrets, Databases databases) {
        this.caches = caches;
        this.secrets = secrets;
        this.databases = databases;
    }

    /** A database that answers; the result describes it for status. */
    public CheckedDatabase database(String namespace, DatabaseRef ref, String usedFor) {
        ConnectionSettings settings = secrets.connection(namespace, ref, usedFor);
        try (Connection c = databases.open(settings, PostgresConnector.APPLICATION_NAME);
                Statement st = c.createStatement();
                ResultSet rs = st.executeQuery("select current_setting('server_version'), "
                        + "(select rolreplication from pg_roles where rolname = current_user)")) {
            rs.next();
            return new CheckedDatabase(settings, rs.getString(1), rs.getBoolean(2));
        } catch (SQLException e) {
            throw PostgresConnector.classify(e, settings).exception();
        }
    }

    /**
     * The production database {@code spec.database} and, when given, {@code spec.stagingDatabase}, both answering;
     * the summary names both for the Validated condition.
     */
    public ProductionAndStaging productionAndStaging(String namespace, DatabaseRef production, DatabaseRef staging) {
        CheckedDatabase prod = database(namespace, production, "spec.database");
        if (staging == null) {
            return new ProductionAndStaging(prod.settings(), null, "database " + prod.describe() + " answers");
        }
        CheckedDatabase stage = database(namespace, staging, "spec.stagingDatabase");
        return new ProductionAndStaging(prod.settings(), stage.settings(), "database " + prod.describe()
                + ", staging " + stage.describe() + " answer");
    }

    /** A production database and its optional staging twin that answered; {@code staging} is null without one. */
    public record ProductionAndStaging(ConnectionSettings production, ConnectionSettings staging, String summary) {
    }

    public S3Location storage(String namespace, S3Storage storage, String usedFor) {
        S3Location location = secrets.s3(namespace, storage, usedFor);
        Problem problem = S3Clients.probe(location);
        if (problem != null) {
            throw problem.exception();
        }
        return location;
    }

    /**
     * A policy's encryption keys as its Secret holds them (every value a 256-bit key; with {@code writes}, the
     * current key id among them), or null when the policy does not encrypt. Only the key ids leave this method in
     * any message.
     */
    public io.dbaoperator.backup.catalog.ClientEncryption.Keyring encryption(String namespace,
            io.dbaoperator.api.backup.BackupPolicySpec.Encryption e, boolean writes) {
        if (e == null) {
            return null;
        }
        return io.dbaoperator.backup.catalog.ClientEncryption.Keyring.of(e.secretRef.name, writes ? e.keyId : null,
                secrets.read(namespace, e.secretRef.name, "spec.encryption.secretRef"));
    }

    /** The operator's own kinds read from the controllers' caches ({@link SharedCaches}), others from the API. */
    public SharedCaches caches() {
        return caches;
    }

    /** The object {@code usedFor} refers to (read from a shared cache where there is one), or a ReferenceNotFound. */
    public <T extends HasMetadata> T exists(String namespace, Class<T> kind, String name, String usedFor) {
        T found = caches.get(kind, namespace, name);
        if (found == null) {
            throw Problem.invalid(Reason.ReferenceNotFound, usedFor + " refers to " + kind.getSimpleName() + " " + name
                    + ", which does not exist in namespace " + namespace).exception();
        }
        return found;
    }

    /** A database that answered. */
    public record CheckedDatabase(ConnectionSettings settings, String serverVersion, boolean replication) {
        public String describe() {
            return settings.describe() + " (PostgreSQL " + serverVersion + ")";
        }
    }
}
