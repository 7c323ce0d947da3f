package io.dbaoperator.fakes;

import java.lang.reflect.InvocationHandler;
import java.lang.reflect.Proxy;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import io.dbaoperator.postgres.Databases;
import org.postgresql.util.PSQLException;
import org.postgresql.util.ServerErrorMessage;

/**
 * A scripted JDBC connection for handler tests without PostgreSQL: each statement is matched against the scripted
 * answers by a fragment of its text (the first answer whose fragment it contains), and what it sends is recorded,
 * parameters bound, so a test asserts the statements a handler ran (or that it ran none). A query without an answer
 * returns no rows; an update without one changes no row. It understands what the handlers use: statements, prepared
 * statements, result sets read by position or by column label, auto-commit and transactions.
 */
public final class FakeJdbc {

    /** Every statement sent, in order, with its bound parameters after " -- ". */
    public final List<String> sent = new ArrayList<>();
    private final List<Answer> answers = new ArrayList<>();
    private int opened;

    private record Answer(String fragment, List<Map<String, Object>> rows, SQLException error, boolean once) {
    }

    /** Answers statements containing {@code fragment} with {@code rows} (each made by {@link #row}). */
    @SafeVarargs
    public final FakeJdbc answer(String fragment, Map<String, Object>... rows) {
        answers.add(new Answer(fragment, List.of(rows), null, false));
        return this;
    }

    /**
     * Answers the next statement containing {@code fragment} with {@code rows}, once; answers scripted so for the
     * same fragment are given in turn (a plan before and after an index, say).
     */
    @SafeVarargs
    public final FakeJdbc answerOnce(String fragment, Map<String, Object>... rows) {
        answers.add(new Answer(fragment, List.of(rows), null, true));
        return this;
    }

    /** Statements containing {@code fragment} fail with the SQLSTATE given. */
    public FakeJdbc fail(String fragment, String sqlState, String message) {
        answers.add(new Answer(fragment, List.of(), new SQLException(message, sqlState), false));
        return this;
    }

    /**
     * Statements containing {@code fragment} fail as the PostgreSQL server reports an error: its SQLSTATE, message
     * and the position of {@code at} in the statement sent (1-based, as the server counts), in the server's error
     * fields, for code that reads them.
     */
    public FakeJdbc failAsServer(String fragment, String sqlState, String message, String at) {
        answers.add(new Answer(fragment, List.of(), new ServerError(sqlState, message, at), false));
        return this;
    }

    /** An error the server would report; made into a PSQLException for the statement it fails. */
    private static final class ServerError extends SQLException {
        private final String at;

        ServerError(String sqlState, String message, String at) {
            super(message, sqlState);
            this.at = at;
        }

        PSQLException in(String sql) {
            return new PSQLException(new ServerErrorMessage("SERROR\0C" + getSQLState() + "\0M" + getMessage()
                    + "\0P" + (sql.indexOf(at) + 1) + "\0"));
        }
    }

    /** A row: column label, value, label, value... (in column order). */
    public static Map<String, Object> row(Object... labelsAndValues) {
        Map<String, Object> row = new LinkedHashMap<>();
        for (int i = 0; i < labelsAndValues.length; i += 2) {
            row.put((String) labelsAndValues[i], labelsAndValues[i + 1]);
        }
        return row;
    }

    /** The statements sent that contain {@code fragment}. */
    public List<String> sent(String fragment) {
        return sent.stream().filter(s -> s.contains(fragment)).toList();
    }

    /** Connections opened through {@link #databases()}. */
    public int opened() {
        return opened;
    }

    /** A {@link Databases} whose every open returns a new connection to this script. */
    public Databases databases() {
        return (settings, applicationName) -> {
            opened++;
            return connection();
        };
    }

    public Connection connection() {
        boolean[] state = {true, false}; // auto-commit, closed
        return proxy(Connection.class, (p, m, a) -> switch (m.getName()) {
            case "createStatement" -> statement(null);
            case "prepareStatement" -> statement((String) a[0]);
            case "setAutoCommit" -> {
                state[0] = (Boolean) a[0];
                yield null;
            }
            case "getAutoCommit" -> state[0];
            case "createArrayOf" -> array((String) a[0], (Object[]) a[1]);
            case "commit", "rollback", "setReadOnly", "setTransactionIsolation", "setNetworkTimeout",
                    "clearWarnings" -> null;
            case "close" -> {
                state[1] = true;
                yield null;
            }
            case "isClosed" -> state[1];
            case "isValid" -> !state[1];
            case "toString" -> "FakeJdbc connection";
            case "hashCode" -> System.identityHashCode(p);
            case "equals" -> p == a[0];
            default -> throw new UnsupportedOperationException("FakeJdbc: Connection." + m.getName());
        });
    }

    private Statement statement(String prepared) {
        Map<Integer, Object> params = new TreeMap<>();
        ResultSet[] last = {null};
        Class<? extends Statement> type = prepared == null ? Statement.class : PreparedStatement.class;
        return proxy(type, (p, m, a) -> {
            String name = m.getName();
            if (name.startsWith("set") && a != null && a.length >= 2 && a[0] instanceof Integer i) {
                params.put(i, a[1]);
                return null;
            }
            return switch (name) {
                case "execute", "executeQuery", "executeUpdate", "executeLargeUpdate" -> {
                    String sql = prepared != null ? prepared : (String) a[0];
                    Answer answer = run(sql, params);
                    last[0] = resultSet(answer == null ? List.of() : answer.rows());
                    yield switch (name) {
                        case "executeQuery" -> last[0];
                        case "execute" -> answer != null && !answer.rows().isEmpty();
                        case "executeLargeUpdate" -> (long) (answer == null ? 0 : answer.rows().size());
                        default -> answer == null ? 0 : answer.rows().size();
                    };
                }
                case "getResultSet" -> last[0];
                case "getUpdateCount" -> -1;
                case "clearParameters" -> {
                    params.clear();
                    yield null;
                }
                case "close", "setQueryTimeout", "setFetchSize", "setMaxRows", "setEscapeProcessing",
                        "addBatch", "clearBatch" -> null;
                case "getWarnings" -> null;
                case "isClosed" -> false;
                case "toString" -> "FakeJdbc statement " + prepared;
                case "hashCode" -> System.identityHashCode(p);
                case "equals" -> p == a[0];
                default -> throw new UnsupportedOperationException("FakeJdbc: Statement." + name);
            };
        });
    }

    private Answer run(String sql, Map<Integer, Object> params) throws SQLException {
        sent.add(params.isEmpty() ? sql : sql + " -- " + params.values());
        for (Answer a : answers) {
            if (sql.contains(a.fragment())) {
                if (a.once()) {
                    answers.remove(a);
                }
                if (a.error() instanceof ServerError server) {
                    throw server.in(sql);
                }
                if (a.error() != null) {
                    throw new SQLException(a.error().getMessage(), a.error().getSQLState());
                }
                return a;
            }
        }
        return null;
    }

    private static ResultSet resultSet(List<Map<String, Object>> rows) {
        int[] at = {-1};
        boolean[] wasNull = {false};
        return proxy(ResultSet.class, (p, m, a) -> {
            String name = m.getName();
            switch (name) {
                case "next":
                    return ++at[0] < rows.size();
                case "close":
                    return null;
                case "wasNull":
                    return wasNull[0];
                case "isClosed":
                    return false;
                case "toString":
                    return "FakeJdbc rows " + rows;
                case "hashCode":
                    return System.identityHashCode(p);
                case "equals":
                    return p == a[0];
                default:
                    break;
            }
            if (!name.startsWith("get") || a == null || a.length == 0) {
                throw new UnsupportedOperationException("FakeJdbc: ResultSet." + name);
            }
            Map<String, Object> row = rows.get(at[0]);
            Object v = a[0] instanceof Integer i ? new ArrayList<>(row.values()).get(i - 1) : row.get((String) a[0]);
            wasNull[0] = v == null;
            return convert(v, m.getReturnType(), a.length > 1 && a[1] instanceof Class<?> c ? c : null);
        });
    }

    private static Object convert(Object v, Class<?> to, Class<?> asked) {
        Class<?> target = asked != null ? asked : to;
        if (v == null) {
            if (target == boolean.class) {
                return false;
            }
            if (target == long.class) {
                return 0L;
            }
            if (target == int.class) {
                return 0;
            }
            return target == double.class ? 0.0 : null;
        }
        if (target == long.class || target == Long.class) {
            return ((Number) v).longValue();
        }
        if (target == int.class || target == Integer.class) {
            return ((Number) v).intValue();
        }
        if (target == double.class || target == Double.class) {
            return ((Number) v).doubleValue();
        }
        if (target == boolean.class || target == Boolean.class) {
            return v;
        }
        if (target == String.class) {
            return v.toString();
        }
        return v;
    }

    /** A SQL array that is only bound as a parameter; it is recorded as its elements. */
    private static java.sql.Array array(String type, Object[] elements) {
        String text = type + java.util.Arrays.toString(elements);
        return proxy(java.sql.Array.class, (p, m, a) -> switch (m.getName()) {
            case "getArray" -> elements.clone();
            case "getBaseTypeName" -> type;
            case "free" -> null;
            case "toString" -> text;
            case "hashCode" -> System.identityHashCode(p);
            case "equals" -> p == a[0];
            default -> throw new UnsupportedOperationException("FakeJdbc: Array." + m.getName());
        });
    }

    @SuppressWarnings("unchecked")
    private static <T> T proxy(Class<T> type, InvocationHandler h) {
        return (T) Proxy.newProxyInstance(FakeJdbc.class.getClassLoader(), new Class<?>[] {type}, h);
    }
}
