package org.align4j.train;

import java.lang.reflect.ParameterizedType;
import java.lang.reflect.RecordComponent;
import java.lang.reflect.Type;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;

/**
 * The one range table of the settings: read from the {@link SettingRange} of each settings
 * record's components and keyed by the setting's name in snake_case (a nested record's keys are
 * {@code section.key}). The command-line flags and every config file are checked against it, so a
 * value refused as {@code --max-steps} is refused as {@code max_steps} too.
 */
public final class SettingRanges {

    private static final PropertyNamingStrategies.NamingBase SNAKE =
            (PropertyNamingStrategies.NamingBase) PropertyNamingStrategies.SNAKE_CASE;
    private static final Set<Class<?>> WHOLE = Set.of(int.class, Integer.class, long.class, Long.class);
    private static final Set<Class<?>> NUMERIC = Set.of(int.class, Integer.class, long.class, Long.class,
            double.class, Double.class, float.class, Float.class);

    /**
     * One setting's range: the bounds of its {@link SettingRange}, the value's type ({@code whole}
     * for int and long settings) and whether the setting is a list of such values.
     */
    public record Entry(String key, double min, double max, boolean minExclusive, boolean maxExclusive,
                        Class<?> type, boolean list) {

        public static Entry of(String key, SettingRange r, Class<?> type, boolean list) {
            return new Entry(key, r.min(), r.max(), r.minExclusive(), r.maxExclusive(), type, list);
        }

        public boolean whole() {
            return WHOLE.contains(type);
        }

        /** What is wrong with {@code v} ("must be at least 1"), or null when it is valid. */
        public String problem(double v) {
            if (!Double.isFinite(v)) {
                return "must be a finite number";
            }
            if (whole() && v != Math.rint(v)) {
                return "must be a whole number";
            }
            // an int setting cannot hold more than an int, whatever its declared bounds
            boolean intType = type == int.class || type == Integer.class;
            double lo = intType ? Math.max(min, Integer.MIN_VALUE) : min;
            double hi = intType ? Math.min(max, Integer.MAX_VALUE) : max;
            boolean loEx = minExclusive && lo == min;
            boolean hiEx = maxExclusive && hi == max;
            if ((loEx ? v > lo : v >= lo) && (hiEx ? v < hi : v <= hi)) {
                return null;
            }
            String low = Double.isInfinite(lo) ? null : (loEx ? "above " : "at least ") + fmt(lo);
            String high = Double.isInfinite(hi) ? null : (hiEx ? "below " : "at most ") + fmt(hi);
            return "must be " + (low != null && high != null ? low + " and " + high : low != null ? low : high);
        }
    }

    private SettingRanges() {
    }

    /** Whether a value of this type needs a range. */
    public static boolean numeric(Class<?> type) {
        return NUMERIC.contains(type);
    }

    /** The table of the settings records given, flat by key; nested records add {@code section.key}. */
    public static Map<String, Entry> of(Class<?>... records) {
        Map<String, Entry> table = new LinkedHashMap<>();
        for (Class<?> r : records) {
            add(table, "", r);
        }
        return table;
    }

    private static void add(Map<String, Entry> table, String prefix, Class<?> record) {
        for (RecordComponent c : record.getRecordComponents()) {
            String key = prefix + SNAKE.translate(c.getName());
            SettingRange range = c.getAnnotation(SettingRange.class);
            if (c.getType().isRecord()) {
                add(table, key + ".", c.getType());
            } else if (range != null) {
                Class<?> element = List.class.isAssignableFrom(c.getType()) ? elementType(c) : c.getType();
                table.put(key, Entry.of(key, range, element, element != c.getType()));
            }
        }
    }

    private static Class<?> elementType(RecordComponent c) {
        Type t = c.getGenericType();
        return t instanceof ParameterizedType p && p.getActualTypeArguments()[0] instanceof Class<?> e ? e
                : Double.class;
    }

    /** The numeric components of these records (nested records walked) that declare no range; for tests. */
    public static List<String> unranged(Class<?>... records) {
        List<String> missing = new ArrayList<>();
        for (Class<?> r : records) {
            for (RecordComponent c : r.getRecordComponents()) {
                if (c.getType().isRecord()) {
                    missing.addAll(unranged(c.getType()).stream().map(k -> SNAKE.translate(c.getName()) + "." + k)
                            .toList());
                } else if ((numeric(c.getType()) || (List.class.isAssignableFrom(c.getType())
                        && numeric(elementType(c)))) && c.getAnnotation(SettingRange.class) == null) {
                    missing.add(SNAKE.translate(c.getName()));
                }
            }
        }
        return missing;
    }

    /**
     * Problems of the numbers in {@code settings} (a config file's object; nested objects are
     * sections), each as {@code where: setting 'key' must be ..., got V}. Values that are not
     * numbers are left to the reader, which names the expected type.
     */
    public static List<String> check(JsonNode settings, Map<String, Entry> table, String where) {
        List<String> problems = new ArrayList<>();
        check(settings, "", table, where, problems);
        return problems;
    }

    private static void check(JsonNode node, String prefix, Map<String, Entry> table, String where,
                              List<String> problems) {
        node.fields().forEachRemaining(e -> {
            String key = prefix + e.getKey();
            JsonNode v = e.getValue();
            Entry entry = table.get(key);
            if (entry == null) {
                if (v.isObject()) {
                    check(v, key + ".", table, where, problems);
                }
                return;
            }
            for (JsonNode x : entry.list() && v.isArray() ? v : List.of(v)) {
                String p = x.isNumber() ? entry.problem(x.asDouble()) : null;
                if (p != null) {
                    problems.add(where + ": setting '" + key + "' " + p + ", got " + x.asText());
                }
            }
        });
    }

    static String fmt(double d) {
        return d == Math.rint(d) && Math.abs(d) < 1e15 ? Long.toString((long) d) : Double.toString(d);
    }
}
