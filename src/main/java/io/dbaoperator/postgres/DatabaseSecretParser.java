package io.dbaoperator.postgres;

import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

import io.dbaoperator.problem.Problem;
import io.dbaoperator.problem.ProblemException;
import io.dbaoperator.problem.Reason;


/**
 * Reads connection settings from the decoded data of a DatabaseRef Secret: either {@code uri}
 * (postgresql://user:password@host:port/dbname?sslmode=...) or {@code host}, {@code port}, {@code dbname},
 * {@code user}, {@code password}, the keys CloudNativePG writes. Errors name keys, never values.
 */
public final class DatabaseSecretParser {

    private static final Set<String> SSL_MODES = Set.of("disable", "allow", "prefer", "require", "verify-ca",
            "verify-full");

    private DatabaseSecretParser() {
    }

    public static ConnectionSettings parse(String secretName, Map<String, String> data) {
        ConnectionSettings settings;
        String uri = blankToNull(data.get("uri"));
        if (uri != null && data.get("host") == null) {
            settings = fromUri(secretName, uri);
        } else {
            List<String> missing = new ArrayList<>();
            for (String key : List.of("host", "dbname", "user", "password")) {
                if (blankToNull(data.get(key)) == null) {
                    missing.add(key);
                }
            }
            if (!missing.isEmpty()) {
                throw Problem.invalid(Reason.SecretKeyMissing, "Secret " + secretName + " lacks key(s) "
                        + String.join(", ", missing) + ": it needs either 'uri' or 'host', 'port', 'dbname', 'user' "
                        + "and 'password' (the keys of a CloudNativePG <cluster>-app Secret)").exception();
            }
            String port = blankToNull(data.get("port"));
            if (port != null && !port.matches("[0-9]{1,5}")) {
                throw Problem.invalid(Reason.SecretInvalid, "Secret " + secretName + " key 'port' is not a port number")
                        .exception();
            }
            settings = new ConnectionSettings(data.get("host").trim() + ":" + (port == null ? "5432" : port),
                    data.get("dbname").trim(), data.get("user").trim(), data.get("password"), null, null);
        }
        String sslMode = blankToNull(data.get("sslmode"));
        if (sslMode != null) {
            if (!SSL_MODES.contains(sslMode)) {
                throw Problem.invalid(Reason.SecretInvalid, "Secret " + secretName + " key 'sslmode' must be one of "
                        + SSL_MODES).exception();
            }
            settings = settings.withSslMode(sslMode);
        }
        String rootCert = blankToNull(data.get("sslrootcert"));
        if (rootCert != null) {
            if (!rootCert.contains("-----BEGIN CERTIFICATE-----")) {
                throw Problem.invalid(Reason.SecretInvalid, "Secret " + secretName
                        + " key 'sslrootcert' must hold a PEM certificate").exception();
            }
            settings = new ConnectionSettings(settings.hosts(), settings.dbname(), settings.user(), settings.password(),
                    settings.sslMode(), rootCert);
        }
        return settings;
    }

    private static ConnectionSettings fromUri(String secretName, String uri) {
        ProblemException bad = Problem.invalid(Reason.SecretInvalid, "Secret " + secretName
                + " key 'uri' is not a URI of the form postgresql://user:password@host:port/dbname").exception();
        String rest;
        if (uri.startsWith("postgresql://")) {
            rest = uri.substring("postgresql://".length());
        } else if (uri.startsWith("postgres://")) {
            rest = uri.substring("postgres://".length());
        } else {
            throw bad;
        }
        String query = null;
        int q = rest.indexOf('?');
        if (q >= 0) {
            query = rest.substring(q + 1);
            rest = rest.substring(0, q);
        }
        int at = rest.lastIndexOf('@');
        if (at < 0) {
            throw bad;
        }
        String userInfo = rest.substring(0, at);
        String hostAndDb = rest.substring(at + 1);
        int slash = hostAndDb.indexOf('/');
        if (slash <= 0 || slash == hostAndDb.length() - 1) {
            throw bad;
        }
        String hosts = hostAndDb.substring(0, slash);
        String dbname = decode(hostAndDb.substring(slash + 1));
        int colon = userInfo.indexOf(':');
        String user = decode(colon < 0 ? userInfo : userInfo.substring(0, colon));
        String password = colon < 0 ? null : decode(userInfo.substring(colon + 1));
        if (user.isEmpty()) {
            throw bad;
        }
        String sslMode = null;
        if (query != null) {
            for (String param : query.split("&")) {
                if (param.startsWith("sslmode=")) {
                    sslMode = decode(param.substring("sslmode=".length()));
                }
            }
        }
        StringBuilder withPorts = new StringBuilder();
        for (String h : hosts.split(",")) {
            if (withPorts.length() > 0) {
                withPorts.append(',');
            }
            withPorts.append(h.contains(":") && !h.endsWith("]") ? h : h + ":5432");
        }
        ConnectionSettings s = new ConnectionSettings(withPorts.toString(), dbname, user, password, null, null);
        if (sslMode != null && !SSL_MODES.contains(sslMode)) {
            throw bad;
        }
        return s.withSslMode(sslMode);
    }

    private static String decode(String s) {
        return URLDecoder.decode(s.replace("+", "%2B"), StandardCharsets.UTF_8);
    }

    private static String blankToNull(String s) {
        return s == null || s.isBlank() ? null : s;
    }
}
