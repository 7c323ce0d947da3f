package io.dbaoperator.postgres;

import java.util.Properties;

/**
 * Where and how to connect to PostgreSQL, read from a DatabaseRef Secret. {@link #toString()} never shows the
 * password.
 *
 * @param hosts host[:port] list as libpq/pgjdbc accept it (comma separated for several hosts)
 * @param sslRootCert PEM text of the CA certificate, or null
 */
public record ConnectionSettings(String hosts, String dbname, String user, String password, String sslMode,
        String sslRootCert) {

    /** The JDBC URL; carries no credentials (they go in {@link #properties(String, int)}). */
    public String jdbcUrl() {
        return "jdbc:postgresql://" + hosts + "/" + urlEncode(dbname);
    }

    public Properties properties(String applicationName, int connectTimeoutSeconds) {
        Properties p = new Properties();
        p.setProperty("user", user);
        if (password != null) {
            p.setProperty("password", password);
        }
        if (sslMode != null) {
            p.setProperty("sslmode", sslMode);
        }
        p.setProperty("ApplicationName", applicationName);
        p.setProperty("connectTimeout", Integer.toString(connectTimeoutSeconds));
        p.setProperty("socketTimeout", "0");
        p.setProperty("tcpKeepAlive", "true");
        return p;
    }

    public ConnectionSettings withSslMode(String mode) {
        return mode == null ? this : new ConnectionSettings(hosts, dbname, user, password, mode, sslRootCert);
    }

    /** What a person may see: user@hosts/dbname. */
    public String describe() {
        return user + "@" + hosts + "/" + dbname;
    }

    @Override
    public String toString() {
        return "ConnectionSettings[" + describe() + ", sslmode=" + sslMode + ", password=***]";
    }

    private static String urlEncode(String s) {
        return java.net.URLEncoder.encode(s, java.nio.charset.StandardCharsets.UTF_8).replace("+", "%20");
    }
}
