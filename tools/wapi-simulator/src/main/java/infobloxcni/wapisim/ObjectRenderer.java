package infobloxcni.wapisim;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * An object as WAPI shows it: {@code _ref} first, then the asked fields, unset ones left out,
 * {@code extattrs} in the {@code {"name": {"value": v}}} form, and the computed fields
 * ({@code network_container}, {@code netmask}). Searches match on the same values, so a field reads
 * the same in a result and in a condition.
 */
final class ObjectRenderer {
    private final ObjectStore store;

    ObjectRenderer(ObjectStore store) {
        this.store = store;
    }

    Map<String, Object> render(GridObject o, List<String> fields) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("_ref", GridRefs.ref(o));
        for (String f : fields) {
            Object v = value(o, f);
            if (v != null) m.put(f, v);
        }
        return m;
    }

    /** A field's value as answered (a copy), or null when unset. */
    Object value(GridObject o, String field) {
        switch (field) {
            case "extattrs" -> {
                Map<String, Object> m = new LinkedHashMap<>();
                o.ea.forEach((k, v) -> m.put(k, new LinkedHashMap<>(Map.of("value", Json.copy(v)))));
                return m;
            }
            case "network_container" -> {
                GridObject parent = store.parentContainer(o.view(), o.cidr);
                return parent == null ? "/" : parent.cidr.toString();
            }
            case "netmask" -> {
                return o.cidr.prefix();
            }
            default -> {
                return Json.copy(o.f.get(field));
            }
        }
    }
}
