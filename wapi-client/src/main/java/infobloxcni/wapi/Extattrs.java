package infobloxcni.wapi;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.LinkedHashMap;
import java.util.Map;

/** Converts between plain {@code name -> value} maps and WAPI's {@code {"name": {"value": v}}}. */
final class Extattrs {
    private Extattrs() {}

    static ObjectNode toJson(Map<String, String> extattrs) {
        ObjectNode node = JsonNodeFactory.instance.objectNode();
        extattrs.forEach((name, value) -> node.putObject(name).put("value", value));
        return node;
    }

    static Map<String, String> fromJson(JsonNode node) {
        Map<String, String> out = new LinkedHashMap<>();
        if (node == null || !node.isObject()) return out;
        node.properties().forEach(e -> {
            JsonNode value = e.getValue().get("value");
            out.put(e.getKey(), value == null || value.isNull() ? null : value.asText());
        });
        return out;
    }
}
