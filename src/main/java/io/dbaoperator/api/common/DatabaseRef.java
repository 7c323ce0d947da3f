package io.dbaoperator.api.common;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;

import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Required;

/**
 * How to reach a PostgreSQL database: a Secret with the keys CloudNativePG writes into its
 * {@code <cluster>-app} and {@code <cluster>-superuser} Secrets, so a CNPG cluster works with no glue.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class DatabaseRef {

    @Required
    @JsonPropertyDescription("Secret holding either a 'uri' key (postgresql://user:password@host:port/dbname) or the keys "
            + "'host', 'port' (default 5432), 'dbname', 'user' and 'password'; optional keys 'sslmode' and 'sslrootcert' "
            + "(a PEM CA certificate). These are the keys CloudNativePG writes into its <cluster>-app Secret.")
    public SecretRef secretRef;

    @Pattern("^(disable|allow|prefer|require|verify-ca|verify-full)$")
    @JsonPropertyDescription("libpq sslmode to use; overrides the Secret's 'sslmode' key. When neither is set the "
            + "driver's default (prefer) applies. Use verify-full with 'sslrootcert' in production.")
    public String sslMode;

    public DatabaseRef() {
    }

    public DatabaseRef(String secretName) {
        this.secretRef = new SecretRef(secretName);
    }
}
