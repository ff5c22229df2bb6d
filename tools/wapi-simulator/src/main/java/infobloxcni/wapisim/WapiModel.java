package infobloxcni.wapisim;

import static infobloxcni.wapisim.ObjectSpecs.CONTAINER;
import static infobloxcni.wapisim.ObjectSpecs.EADEF;
import static infobloxcni.wapisim.ObjectSpecs.FIXED;
import static infobloxcni.wapisim.ObjectSpecs.NETWORK;
import static infobloxcni.wapisim.ObjectSpecs.NETWORKVIEW;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.PriorityQueue;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Supplier;

/**
 * The grid's state and its CRUD: read, search, create, update, delete and the functions, each as one
 * step under one lock, so a {@code func:nextavailableip} is atomic with respect to every other call.
 * What an object may be is decided by {@link ObjectRules} (and {@link ObjectSpecs}), where objects live
 * by {@link ObjectStore}, how they match a search by {@link SearchConditions}, how they are shown by
 * {@link ObjectRenderer}, and the next-available picks by {@link NextAvailable}; this class orders those
 * steps and applies changes only once everything is validated.
 */
final class WapiModel {
    private final ReentrantLock lock = new ReentrantLock();
    private final ObjectStore store = new ObjectStore();
    private final ObjectRenderer renderer = new ObjectRenderer(store);
    private final SearchConditions conditions = new SearchConditions(store, renderer);
    private final NextAvailable nextAvailable = new NextAvailable(store, conditions);
    private final ObjectRules rules = new ObjectRules(store, nextAvailable);

    /** A fresh grid: the {@code default} view and, with the cloud license, its EA definitions. */
    WapiModel(boolean cloudEas) {
        GridObject view = store.newObject(NETWORKVIEW);
        view.f.put("name", ObjectSpecs.DEFAULT_VIEW);
        view.f.put("is_default", Boolean.TRUE);
        view.viewIndex = store.takeViewIndex();
        store.insert(view);
        if (cloudEas) {
            for (String name : ObjectSpecs.CLOUD_EAS) insertStringEa(name);
        }
    }

    private void insertStringEa(String name) {
        GridObject ea = store.newObject(EADEF);
        ea.f.put("name", name);
        ea.f.put("type", "STRING");
        store.insert(ea);
    }

    // ------------------------------------------------------------------ locking

    /** Runs {@code body} as one step: no other call sees the model in between (the lock is reentrant). */
    <T> T atomically(Supplier<T> body) {
        lock.lock();
        try {
            return body.get();
        } finally {
            lock.unlock();
        }
    }

    // ------------------------------------------------------------------ reading

    /** The objects of a type matching every condition, in key order (as a grid lists them). */
    List<Map<String, Object>> search(String type, List<SearchConditions.Cond> conds, ReturnSpec rs) {
        ObjectSpecs.Spec spec = ObjectSpecs.spec(type);
        return atomically(() -> {
            List<String> fields = ReturnSpec.fieldsOf(spec, rs);
            for (SearchConditions.Cond c : conds) conditions.check(spec, c);
            List<GridObject> hits = conditions.matching(type, conds);
            hits.sort(GridRefs.KEY_ORDER);
            List<Map<String, Object>> out = new ArrayList<>();
            for (GridObject o : hits) out.add(renderer.render(o, fields));
            return out;
        });
    }

    /**
     * A window on a search: of the objects that match every condition and come after {@code after}
     * in key order (null: from the start), the first {@code max}, rendered, and how many matched in
     * all. Only the window is sorted and rendered, so a page of a large result set stays cheap.
     */
    record Slice(List<Map<String, Object>> objects, int matched, GridRefs.SortKey last) {
        boolean more() {
            return matched > objects.size();
        }
    }

    Slice slice(String type, List<SearchConditions.Cond> conds, ReturnSpec rs, GridRefs.SortKey after, int max) {
        if (max < 1) throw new IllegalArgumentException("max < 1");
        ObjectSpecs.Spec spec = ObjectSpecs.spec(type);
        return atomically(() -> {
            List<String> fields = ReturnSpec.fieldsOf(spec, rs);
            for (SearchConditions.Cond c : conds) conditions.check(spec, c);
            // the max smallest keys after the cursor: a bounded max-heap, O(n log max)
            PriorityQueue<GridObject> window = new PriorityQueue<>(GridRefs.KEY_ORDER.reversed());
            int matched = 0;
            for (GridObject o : conditions.matching(type, conds)) {
                if (after != null && !GridRefs.after(o, after)) continue;
                matched++;
                window.add(o);
                if (window.size() > max) window.poll();
            }
            List<GridObject> hits = new ArrayList<>(window);
            hits.sort(GridRefs.KEY_ORDER);
            List<Map<String, Object>> out = new ArrayList<>(hits.size());
            for (GridObject o : hits) out.add(renderer.render(o, fields));
            return new Slice(out, matched, hits.isEmpty() ? after : GridRefs.sortKey(hits.getLast()));
        });
    }

    Map<String, Object> get(String ref, ReturnSpec rs) {
        return atomically(() -> {
            GridObject o = store.resolve(ref);
            return renderer.render(o, ReturnSpec.fieldsOf(ObjectSpecs.spec(o.type), rs));
        });
    }

    /** Every object of a type with every field, in creation order, frozen. */
    @SuppressWarnings("unchecked")
    List<Map<String, Object>> snapshot(String type) {
        ObjectSpecs.Spec spec = ObjectSpecs.spec(type);
        return atomically(() -> {
            List<Map<String, Object>> out = new ArrayList<>();
            for (GridObject o : store.all(type)) {
                out.add((Map<String, Object>) Json.freeze(renderer.render(o, spec.readable())));
            }
            return Collections.unmodifiableList(out);
        });
    }

    /** The object a ref names with every field, or null. */
    @SuppressWarnings("unchecked")
    Map<String, Object> snapshotOf(String ref) {
        return atomically(() -> {
            try {
                GridObject o = store.resolve(ref);
                return (Map<String, Object>)
                        Json.freeze(renderer.render(o, ObjectSpecs.spec(o.type).readable()));
            } catch (WapiError e) {
                return null;
            }
        });
    }

    // ------------------------------------------------------------------ writing

    /** Creates an object; answers its ref, or the object when return fields were given. */
    Object create(String type, Map<String, Object> body, ReturnSpec rs) {
        ObjectSpecs.Spec spec = ObjectSpecs.spec(type);
        return atomically(() -> {
            List<String> fields = ReturnSpec.fieldsOf(spec, rs);
            GridObject o = rules.build(spec, body);
            store.insert(o);
            return answer(o, fields, rs);
        });
    }

    private Object answer(GridObject o, List<String> fields, ReturnSpec rs) {
        return ReturnSpec.wantsObject(rs) ? renderer.render(o, fields) : GridRefs.ref(o);
    }

    /** Updates an object; answers its ref (which may change), or the object with return fields. */
    Object update(String ref, Map<String, Object> body, ReturnSpec rs) {
        return atomically(() -> {
            GridObject o = store.resolve(ref);
            ObjectSpecs.Spec spec = ObjectSpecs.spec(o.type);
            List<String> fields = ReturnSpec.fieldsOf(spec, rs);
            ObjectRules.checkKeys(spec, body, spec.updatable(), true);
            // validate everything, then apply
            Map<String, Object> eas = null;
            if (body.containsKey("extattrs")) eas = rules.parseEas(body.get("extattrs"), "extattrs");
            if (body.containsKey("extattrs+") || body.containsKey("extattrs-")) {
                eas = new LinkedHashMap<>(eas == null ? o.ea : eas);
                if (body.containsKey("extattrs+")) eas.putAll(rules.parseEas(body.get("extattrs+"), "extattrs+"));
                if (body.containsKey("extattrs-")) {
                    for (String k :
                            rules.parseEas(body.get("extattrs-"), "extattrs-").keySet()) eas.remove(k);
                }
            }
            List<Runnable> apply = new ArrayList<>();
            switch (o.type) {
                case NETWORKVIEW -> {
                    String name = body.containsKey("name") ? ObjectRules.requiredString(body, "name") : null;
                    if (name != null && !name.equals(o.str("name"))) {
                        if (store.findView(name) != null) throw ObjectRules.duplicate(name, "network_view");
                        apply.add(() -> store.renameView(o, name));
                    }
                }
                case FIXED -> {
                    String matchClient = ObjectRules.matchClient(
                            body.containsKey("match_client")
                                    ? ObjectRules.optString(body, "match_client")
                                    : o.str("match_client"));
                    String mac = body.containsKey("mac") ? ObjectRules.optString(body, "mac") : o.str("mac");
                    if (mac == null) throw WapiError.proto("Required field missing: mac");
                    String normalized = ObjectRules.normalizeMac(mac);
                    if (body.containsKey("ipv4addr")) {
                        String addr = ObjectRules.optString(body, "ipv4addr");
                        if (addr == null || !Ipv4.isValid(addr)) {
                            throw WapiError.proto("Invalid value for ipv4addr: '" + addr + "'");
                        }
                        long ip = Ipv4.parse(addr);
                        if (ip != o.ip) {
                            GridObject network = rules.placeAddress(o.view(), ip);
                            rules.requireFreeAddress(o.view(), ip, addr);
                            apply.add(() -> {
                                store.moveFixed(o, ip);
                                o.f.put("ipv4addr", Ipv4.format(ip));
                                o.f.put("network", network.cidr.toString());
                                store.rekey(o); // the IP is part of the key: a moved address has a new ref
                            });
                        }
                    }
                    apply.add(() -> {
                        o.f.put("match_client", matchClient);
                        o.f.put("mac", normalized);
                    });
                    if (body.containsKey("name")) {
                        String v = ObjectRules.optString(body, "name");
                        apply.add(() -> setOrClear(o, "name", v));
                    }
                }
                default -> {}
            }
            if (body.containsKey("comment")) {
                String c = ObjectRules.optString(body, "comment");
                apply.add(() -> setOrClear(o, "comment", c));
            }
            for (String p : ObjectSpecs.PASSTHROUGH) {
                if (body.containsKey(p) && spec.updatable().contains(p)) {
                    Object v = Json.copy(body.get(p));
                    apply.add(() -> o.f.put(p, v));
                }
            }
            Map<String, Object> newEas = eas;
            if (newEas != null) apply.add(() -> o.ea = newEas);
            apply.forEach(Runnable::run);
            return answer(o, fields, rs);
        });
    }

    private static void setOrClear(GridObject o, String field, String value) {
        if (value == null || value.isEmpty()) o.f.remove(field);
        else o.f.put(field, value);
    }

    /** Deletes an object (and what lives inside it, as a grid does); answers the ref. */
    String delete(String ref, Map<String, String> args) {
        return atomically(() -> {
            GridObject o = store.resolve(ref);
            String r = GridRefs.ref(o);
            switch (o.type) {
                case NETWORKVIEW -> {
                    if (Boolean.TRUE.equals(o.f.get("is_default"))) {
                        throw WapiError.data("The default network view cannot be deleted");
                    }
                    store.removeViewContents(o.str("name"));
                }
                case NETWORK -> {
                    store.removeFixedIn(o.view(), o.cidr);
                    store.removeRangesIn(o.view(), o.cidr);
                }
                case CONTAINER -> {
                    String flag = args.getOrDefault("remove_subnets", "true");
                    if (!flag.equalsIgnoreCase("false")) {
                        for (String t : List.of(NETWORK, CONTAINER)) {
                            for (GridObject x : List.copyOf(store.all(t))) {
                                if (x != o && o.view().equals(x.view()) && o.cidr.contains(x.cidr)) store.remove(x);
                            }
                        }
                        store.removeFixedIn(o.view(), o.cidr);
                        store.removeRangesIn(o.view(), o.cidr);
                    }
                }
                case EADEF -> {
                    String name = o.str("name");
                    for (Map<Long, GridObject> all : store.allTypes()) {
                        for (GridObject x : all.values()) x.ea.remove(name);
                    }
                }
                default -> {}
            }
            store.remove(o);
            return r;
        });
    }

    /** {@code POST <ref>?_function=...}: proposes addresses or networks without taking them. */
    Map<String, Object> function(String ref, String function, Map<String, Object> args) {
        return atomically(() -> nextAvailable.call(store.resolve(ref), function, args));
    }

    // ------------------------------------------------------------------ test helpers

    void defineEa(String name) {
        Objects.requireNonNull(name, "name");
        atomically(() -> {
            if (store.eaDef(name) == null) insertStringEa(name);
            return null;
        });
    }

    boolean removeEa(String name) {
        return atomically(() -> {
            GridObject d = store.eaDef(name);
            if (d == null) return false;
            delete(GridRefs.ref(d), Map.of());
            return true;
        });
    }

    /** Applies a seed document (see {@link Seed}); creation goes through the same rules as POST. */
    void seed(Object doc, String source) {
        Seed.apply(this, doc, source);
    }
}
