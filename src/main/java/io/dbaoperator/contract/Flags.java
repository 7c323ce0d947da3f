package io.dbaoperator.contract;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The agent's command line, {@code <command> --flag value ...}: read (strictly: a flag the command does not know, a
 * flag without a value, or one given twice is a bad invocation) and written, so the two sides cannot drift.
 */
final class Flags {

    private static final com.fasterxml.jackson.databind.ObjectMapper JSON =
            new com.fasterxml.jackson.databind.ObjectMapper();

    private final Map<String, String> values;

    private Flags(Map<String, String> values) {
        this.values = values;
    }

    /** Reads {@code args[1..]} as pairs; {@code known} are the flags the command takes. */
    static Flags parse(String[] args, Set<String> known) {
        Map<String, String> values = new HashMap<>();
        for (int i = 1; i < args.length; i += 2) {
            String flag = args[i];
            if (!known.contains(flag)) {
                throw new IllegalArgumentException("unknown option " + flag);
            }
            if (i + 1 >= args.length) {
                throw new IllegalArgumentException("missing a value for " + flag);
            }
            if (values.put(flag, args[i + 1]) != null) {
                throw new IllegalArgumentException(flag + " is given twice");
            }
        }
        return new Flags(values);
    }

    String required(String flag) {
        String value = values.get(flag);
        if (value == null) {
            throw new IllegalArgumentException("missing " + flag);
        }
        return value;
    }

    String optional(String flag, String otherwise) {
        return values.getOrDefault(flag, otherwise);
    }

    boolean has(String flag) {
        return values.containsKey(flag);
    }

    /** A boolean flag: anything but {@code false} is true, absent is {@code otherwise}. */
    boolean bool(String flag, boolean otherwise) {
        String value = values.get(flag);
        return value == null ? otherwise : !"false".equals(value);
    }

    /** A list of names, a JSON array of strings (so a name may hold any character); absent: empty. */
    List<String> names(String flag) {
        String json = values.get(flag);
        if (json == null) {
            return List.of();
        }
        try {
            return JSON.readValue(json, new com.fasterxml.jackson.core.type.TypeReference<List<String>>() {
            });
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalArgumentException(flag + " takes a JSON array of strings, not " + json);
        }
    }

    /** A list of names as {@link #names} reads it, or null (the flag left out) when it is empty. */
    static String names(List<String> names) {
        if (names == null || names.isEmpty()) {
            return null;
        }
        try {
            return JSON.writeValueAsString(names);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Writes a command line: the agent, the command, then each flag whose value is not null. */
    static List<String> render(String command, Object... flagsAndValues) {
        List<String> line = new ArrayList<>(List.of(AgentEnvironment.AGENT, command));
        for (int i = 0; i < flagsAndValues.length; i += 2) {
            if (flagsAndValues[i + 1] != null) {
                line.add((String) flagsAndValues[i]);
                line.add(String.valueOf(flagsAndValues[i + 1]));
            }
        }
        return line;
    }
}
