package infobloxcni.wapisim;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One stored object. Only touched under the model's lock. Its identity on the wire is its key
 * (see {@link GridRefs}), not this instance: a new object with the same key has the same ref.
 */
final class GridObject {
    final String type;
    /** Creation order: snapshots list objects in it, and it breaks ties in {@link GridRefs#KEY_ORDER}. */
    final long seq;
    /** The stored fields, as written (computed fields such as {@code network_container} are not here). */
    final Map<String, Object> f = new LinkedHashMap<>();
    /** Extensible attributes by name; a value is a scalar or a list. */
    Map<String, Object> ea = new LinkedHashMap<>();

    Cidr cidr; // network, networkcontainer
    long ip; // fixedaddress; a range's first address
    long end; // a range's last address
    int viewIndex = -1; // the grid's internal index of the view: its own for a view (default = 0), else its view's
    String id; // the opaque part of the ref, derived from the key on insert

    GridObject(String type, long seq) {
        this.type = type;
        this.seq = seq;
    }

    String str(String field) {
        Object v = f.get(field);
        return v == null ? null : v.toString();
    }

    String view() {
        return str("network_view");
    }
}
