package io.dbaoperator.api;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;

import io.fabric8.generator.annotation.Default;

/**
 * Defaults are stated once: every field the CRD defaults ({@code @Default}, which the API server applies) starts
 * with that same value in Java (what an object built in code, or read before defaulting, holds), so the operator
 * never needs a null check that decides the default a third time.
 */
class DefaultsTest {

    @Test
    void everyCrdDefaultIsTheJavaDefault() throws Exception {
        List<String> checked = new ArrayList<>();
        List<String> differ = new ArrayList<>();
        for (Class<?> type : apiClasses()) {
            if (type.isEnum() || type.isInterface() || Modifier.isAbstract(type.getModifiers())) {
                continue;
            }
            Object fresh = null;
            for (Field f : type.getDeclaredFields()) {
                Default d = f.getAnnotation(Default.class);
                if (d == null) {
                    continue;
                }
                if (fresh == null) {
                    var ctor = type.getDeclaredConstructor();
                    ctor.setAccessible(true);
                    fresh = ctor.newInstance();
                }
                f.setAccessible(true);
                Object value = f.get(fresh);
                String java = value instanceof Enum<?> e ? e.name() : String.valueOf(value);
                if (d.value().equals("{}") && value != null && !(value instanceof String || value instanceof Number
                        || value instanceof Boolean || value instanceof Enum<?>)) {
                    java = "{}"; // an object the API server fills with its own fields' defaults, as Java does
                }
                checked.add(type.getSimpleName() + "." + f.getName());
                if (!java.equals(d.value())) {
                    differ.add(type.getName() + "." + f.getName() + ": CRD " + d.value() + ", Java " + java);
                }
            }
        }
        assertThat(checked).as("fields with a CRD default").hasSizeGreaterThan(40);
        assertThat(differ).isEmpty();
    }

    static List<Class<?>> apiClasses() throws IOException, ClassNotFoundException {
        Path root = Path.of("src/main/java");
        List<Class<?>> types = new ArrayList<>();
        try (Stream<Path> files = Files.walk(root.resolve("io/dbaoperator/api"))) {
            for (Path f : files.filter(p -> p.toString().endsWith(".java")).toList()) {
                String name = root.relativize(f).toString().replace('/', '.').replaceAll("\\.java$", "");
                Class<?> top = Class.forName(name);
                types.add(top);
                collect(top, types);
            }
        }
        return types;
    }

    private static void collect(Class<?> outer, List<Class<?>> into) {
        for (Class<?> inner : outer.getDeclaredClasses()) {
            into.add(inner);
            collect(inner, into);
        }
    }
}
