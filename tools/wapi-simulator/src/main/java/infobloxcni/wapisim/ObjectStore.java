package infobloxcni.wapisim;

import static infobloxcni.wapisim.ObjectSpecs.CONTAINER;
import static infobloxcni.wapisim.ObjectSpecs.EADEF;
import static infobloxcni.wapisim.ObjectSpecs.FIXED;
import static infobloxcni.wapisim.ObjectSpecs.NETWORK;
import static infobloxcni.wapisim.ObjectSpecs.NETWORKVIEW;

import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Where the objects live and how they are found: by type in creation order, by key (the opaque part
 * of their ref), and fixed addresses by view and IP. It checks no grid rule and takes no lock: the
 * callers ({@link WapiModel} and what it delegates to) validate first and hold the model's lock.
 */
final class ObjectStore {
    private long seq;
    private int nextViewIndex;
    /** Every object of a type in creation order (keyed by {@link GridObject#seq}). */
    private final Map<String, TreeMap<Long, GridObject>> byType = new HashMap<>();
    /** Every object by the opaque part of its ref, i.e. by its key. */
    private final Map<String, GridObject> byId = new HashMap<>();

    private final Map<String, TreeMap<Long, GridObject>> fixedByView = new HashMap<>();

    ObjectStore() {
        for (String t : ObjectSpecs.TYPES) byType.put(t, new TreeMap<>());
    }

    /** A new, not yet inserted object; its creation number is taken now. */
    GridObject newObject(String type) {
        return new GridObject(type, ++seq);
    }

    /** The grid's internal index for a new view: 0 for the first (default), then one more each time. */
    int takeViewIndex() {
        return nextViewIndex++;
    }

    /** Every object of a type, in creation order (a live view). */
    Collection<GridObject> all(String type) {
        return byType.get(type).values();
    }

    /** Every type's objects. */
    Collection<TreeMap<Long, GridObject>> allTypes() {
        return byType.values();
    }

    void insert(GridObject o) {
        if (!o.type.equals(NETWORKVIEW) && !o.type.equals(EADEF)) o.viewIndex = viewOf(o).viewIndex;
        o.id = GridRefs.opaqueId(o);
        GridObject clash = byId.put(o.id, o);
        if (clash != null)
            throw new IllegalStateException("two objects with the key of " + o.id); // guarded by validation
        byType.get(o.type).put(o.seq, o);
        if (o.type.equals(FIXED)) fixedIndex(o.view()).put(o.ip, o);
    }

    void remove(GridObject o) {
        byType.get(o.type).remove(o.seq);
        byId.remove(o.id);
        if (o.type.equals(FIXED)) {
            TreeMap<Long, GridObject> idx = fixedByView.get(o.view());
            if (idx != null && idx.get(o.ip) == o) idx.remove(o.ip);
        }
    }

    /** After a change of a key field (a fixed address moved): the object answers to a new ref. */
    void rekey(GridObject o) {
        byId.remove(o.id);
        o.id = GridRefs.opaqueId(o);
        byId.put(o.id, o);
    }

    /** A fixed address moves to another IP of its view: the index follows, and so does its ref. */
    void moveFixed(GridObject o, long ip) {
        fixedIndex(o.view()).remove(o.ip);
        o.ip = ip;
        fixedIndex(o.view()).put(ip, o);
    }

    private GridObject viewOf(GridObject o) {
        GridObject view = findView(o.view());
        if (view == null)
            throw new IllegalStateException("object in a missing view " + o.view()); // guarded by validation
        return view;
    }

    /** The fixed addresses of a view by IP (created empty on first use). */
    TreeMap<Long, GridObject> fixedIndex(String view) {
        return fixedByView.computeIfAbsent(view, v -> new TreeMap<>());
    }

    /**
     * The object a ref names <em>now</em>: the opaque part encodes a key, so a ref kept from a
     * deleted object names whatever holds that key today. The readable part after ':' is not
     * checked, as on a grid.
     */
    GridObject resolve(String ref) {
        int slash = ref.indexOf('/');
        if (slash <= 0) throw WapiError.proto("Invalid reference: " + ref);
        String type = ref.substring(0, slash);
        ObjectSpecs.spec(type);
        String rest = ref.substring(slash + 1);
        int colon = rest.indexOf(':');
        String id = GridRefs.canonicalId(
                colon < 0 ? rest : rest.substring(0, colon),
                ObjectSpecs.spec(type).internal());
        if (id == null) throw WapiError.proto("Invalid reference: " + ref);
        GridObject o = byId.get(id);
        if (o == null || !o.type.equals(type)) {
            throw WapiError.notFound("Reference " + ref + " not found");
        }
        return o;
    }

    /** A view is renamed: every object in it, and the fixed-address index, follow the new name. */
    void renameView(GridObject view, String name) {
        String old = view.str("name");
        view.f.put("name", name);
        for (String t : List.of(NETWORK, CONTAINER, ObjectSpecs.RANGE, FIXED)) {
            for (GridObject o : all(t)) {
                if (old.equals(o.view())) o.f.put("network_view", name);
            }
        }
        TreeMap<Long, GridObject> idx = fixedByView.remove(old);
        if (idx != null) fixedByView.put(name, idx);
    }

    /** Removes a view's contents: its fixed addresses, networks and containers. */
    void removeViewContents(String view) {
        for (String t : List.of(FIXED, ObjectSpecs.RANGE, NETWORK, CONTAINER)) {
            for (GridObject x : List.copyOf(all(t))) {
                if (view.equals(x.view())) remove(x);
            }
        }
        fixedByView.remove(view);
    }

    /** Removes the fixed addresses of a view inside a CIDR. */
    void removeFixedIn(String view, Cidr cidr) {
        TreeMap<Long, GridObject> idx = fixedByView.get(view);
        if (idx == null) return;
        for (GridObject x :
                List.copyOf(idx.subMap(cidr.first(), true, cidr.last(), true).values())) remove(x);
    }

    /** Removes the ranges of a view that start inside a CIDR (a range lies inside one network). */
    void removeRangesIn(String view, Cidr cidr) {
        for (GridObject r : List.copyOf(all(ObjectSpecs.RANGE))) {
            if (view.equals(r.view()) && cidr.contains(r.ip)) remove(r);
        }
    }

    /** The range of a view with exactly these bounds, or null. */
    GridObject findRange(String view, long start, long end) {
        for (GridObject r : all(ObjectSpecs.RANGE)) {
            if (view.equals(r.view()) && r.ip == start && r.end == end) return r;
        }
        return null;
    }

    /** The range of a view holding {@code ip}, or null. */
    GridObject rangeContaining(String view, long ip) {
        for (GridObject r : all(ObjectSpecs.RANGE)) {
            if (view.equals(r.view()) && r.ip <= ip && ip <= r.end) return r;
        }
        return null;
    }

    // ------------------------------------------------------------------ lookups

    GridObject findView(String name) {
        for (GridObject v : all(NETWORKVIEW)) {
            if (name.equals(v.str("name"))) return v;
        }
        return null;
    }

    void requireView(String view) {
        if (findView(view) == null) throw WapiError.notFound("Network View " + view + " not found");
    }

    GridObject eaDef(String name) {
        for (GridObject d : all(EADEF)) {
            if (name.equals(d.str("name"))) return d;
        }
        return null;
    }

    GridObject findNetwork(String view, Cidr cidr) {
        return findBlock(NETWORK, view, cidr);
    }

    GridObject findContainer(String view, Cidr cidr) {
        return findBlock(CONTAINER, view, cidr);
    }

    private GridObject findBlock(String type, String view, Cidr cidr) {
        for (GridObject n : all(type)) {
            if (n.view().equals(view) && n.cidr.equals(cidr)) return n;
        }
        return null;
    }

    GridObject networkContaining(String view, long ip) {
        for (GridObject n : all(NETWORK)) {
            if (n.view().equals(view) && n.cidr.contains(ip)) return n;
        }
        return null;
    }

    /** The smallest container of the view strictly around {@code cidr}, or null. */
    GridObject parentContainer(String view, Cidr cidr) {
        GridObject best = null;
        for (GridObject c : all(CONTAINER)) {
            if (!c.view().equals(view) || c.cidr.equals(cidr) || !c.cidr.contains(cidr)) continue;
            if (best == null || c.cidr.prefix() > best.cidr.prefix()) best = c;
        }
        return best;
    }
}
