package infobloxcni.wapisim;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** JSON helpers over plain Java values (maps, lists, strings, numbers, booleans, null). */
final class Json {
    static final ObjectMapper MAPPER = new ObjectMapper();

    private Json() {}

    static byte[] bytes(Object value) {
        try {
            return MAPPER.writeValueAsBytes(value);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    static String write(Object value) {
        try {
            return MAPPER.writeValueAsString(value);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Parses a document; throws {@link WapiError} (400 Client.Ibap.Proto) when it is not JSON. */
    static Object parse(byte[] body) {
        try {
            return MAPPER.readValue(body, Object.class);
        } catch (IOException e) {
            String msg = e.getMessage() == null
                    ? ""
                    : e.getMessage().lines().findFirst().orElse("");
            throw WapiError.proto("Invalid JSON: " + msg);
        }
    }

    /** Parses a seed document given as text; IllegalArgumentException when it is not JSON. */
    static Object parseSeed(String text) {
        try {
            return MAPPER.readValue(text, Object.class);
        } catch (IOException e) {
            throw new IllegalArgumentException("seed is not valid JSON: " + e.getMessage(), e);
        }
    }

    static Object read(Path file) {
        try {
            return MAPPER.readValue(Files.readAllBytes(file), Object.class);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read JSON from " + file + ": " + e.getMessage(), e);
        }
    }

    /** A deep copy in which every map and list is unmodifiable. */
    static Object freeze(Object v) {
        if (v instanceof Map<?, ?> m) {
            Map<String, Object> copy = new LinkedHashMap<>();
            m.forEach((k, x) -> copy.put(String.valueOf(k), freeze(x)));
            return Collections.unmodifiableMap(copy);
        }
        if (v instanceof List<?> l) {
            List<Object> copy = new ArrayList<>(l.size());
            for (Object x : l) copy.add(freeze(x));
            return Collections.unmodifiableList(copy);
        }
        return v;
    }

    /** A deep, mutable copy. */
    static Object copy(Object v) {
        if (v instanceof Map<?, ?> m) {
            Map<String, Object> copy = new LinkedHashMap<>();
            m.forEach((k, x) -> copy.put(String.valueOf(k), copy(x)));
            return copy;
        }
        if (v instanceof List<?> l) {
            List<Object> copy = new ArrayList<>(l.size());
            for (Object x : l) copy.add(copy(x));
            return copy;
        }
        return v;
    }
}
