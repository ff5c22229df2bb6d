package infobloxcni.wapisim;

import java.util.List;
import java.util.Map;

/**
 * A seed document (docs/wapi-simulator.md, "Seed format"): objects by type, written as POST bodies,
 * applied in dependency order whatever order the document lists them in. Every entry goes through
 * {@link WapiModel#create}, so a seed can hold nothing a client could not have created; a bad entry is
 * an {@link IllegalArgumentException} that names it.
 */
final class Seed {
    private Seed() {}

    @SuppressWarnings("unchecked")
    static void apply(WapiModel model, Object doc, String source) {
        if (!(doc instanceof Map<?, ?> m))
            throw new IllegalArgumentException(source + ": the seed must be a JSON object");
        for (Object k : m.keySet()) {
            if (!ObjectSpecs.TYPES.contains(String.valueOf(k))) {
                throw new IllegalArgumentException(
                        source + ": unknown key '" + k + "' (expected one of " + ObjectSpecs.TYPES + ")");
            }
        }
        for (String type : ObjectSpecs.TYPES) {
            Object list = m.get(type);
            if (list == null) continue;
            if (!(list instanceof List<?> items)) {
                throw new IllegalArgumentException(source + ": '" + type + "' must be a JSON array");
            }
            int i = 0;
            for (Object item : items) {
                Object body = type.equals(ObjectSpecs.EADEF) && item instanceof String s ? Map.of("name", s) : item;
                if (!(body instanceof Map)) {
                    throw new IllegalArgumentException(source + ": " + type + "[" + i + "] must be a JSON object");
                }
                try {
                    model.create(type, (Map<String, Object>) body, ReturnSpec.NONE);
                } catch (WapiError e) {
                    throw new IllegalArgumentException(
                            source + ": " + type + "[" + i + "]: " + e.code() + ": " + e.text(), e);
                }
                i++;
            }
        }
    }
}
