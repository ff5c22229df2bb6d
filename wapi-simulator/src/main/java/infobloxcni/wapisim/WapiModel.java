package infobloxcni.wapisim;

import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Supplier;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * The grid's state: every object in memory under one lock, with the grid's validation rules.
 * All public-to-package methods take the lock, so a {@code func:nextavailableip} is atomic with
 * respect to every other call.
 */
final class WapiModel {
    static final String NETWORKVIEW = "networkview";
    static final String NETWORK = "network";
    static final String CONTAINER = "networkcontainer";
    static final String FIXED = "fixedaddress";
    static final String EADEF = "extensibleattributedef";

    /** The modelled object types, in dependency order (the order a seed file is applied in). */
    static final List<String> TYPES = List.of(EADEF, NETWORKVIEW, CONTAINER, NETWORK, FIXED);

    /** The EA definitions that come with the Cloud Network Automation license. */
    static final List<String> CLOUD_EAS = List.of("VM ID", "VM Name", "Tenant ID", "CMP Type", "Cloud API Owned",
            "Network Name");

    static final String DEFAULT_VIEW = "default";
    static final String ZERO_MAC = "00:00:00:00:00:00";
    static final Set<String> MATCH_CLIENT = Set.of("MAC_ADDRESS", "CLIENT_ID", "RESERVED", "CIRCUIT_ID", "REMOTE_ID");
    static final Set<String> EA_TYPES = Set.of("STRING", "INTEGER", "EMAIL", "URL", "DATE", "ENUM");

    private static final String FUNC_IP = "func:nextavailableip:";
    private static final String FUNC_NET = "func:nextavailablenetwork:";
    private static final Pattern MAC = Pattern.compile("[0-9a-f]{2}([:-][0-9a-f]{2}){5}");
    private static final int MAX_FUNCTION_RESULTS = 1000;

    /** What a type reads, writes, searches and returns by default. */
    record Spec(String type, String internal, List<String> readable, Set<String> creatable, Set<String> updatable,
                Set<String> searchable, Set<String> regexSearchable, List<String> defaults) {
    }

    private static final Map<String, Spec> SPECS = new LinkedHashMap<>();

    static {
        SPECS.put(NETWORKVIEW, new Spec(NETWORKVIEW, "dns.network_view",
                List.of("name", "comment", "extattrs", "is_default"),
                Set.of("name", "comment", "extattrs"),
                Set.of("name", "comment", "extattrs"),
                Set.of("name", "comment", "is_default"),
                Set.of("name", "comment"),
                List.of("name", "is_default")));
        SPECS.put(NETWORK, new Spec(NETWORK, "dns.network",
                List.of("network", "network_view", "comment", "extattrs", "network_container", "netmask",
                        "disable", "options", "members", "use_options"),
                Set.of("network", "network_view", "comment", "extattrs", "disable", "options", "members",
                        "use_options"),
                Set.of("comment", "extattrs", "disable", "options", "members", "use_options"),
                Set.of("network", "network_view", "comment", "network_container"),
                Set.of("network", "comment"),
                List.of("network", "network_view", "comment")));
        SPECS.put(CONTAINER, new Spec(CONTAINER, "dns.network_container",
                List.of("network", "network_view", "comment", "extattrs", "network_container", "netmask",
                        "options", "use_options"),
                Set.of("network", "network_view", "comment", "extattrs", "options", "use_options"),
                Set.of("comment", "extattrs", "options", "use_options"),
                Set.of("network", "network_view", "comment", "network_container"),
                Set.of("network", "comment"),
                List.of("network", "network_view")));
        SPECS.put(FIXED, new Spec(FIXED, "dns.fixed_address",
                List.of("ipv4addr", "mac", "name", "comment", "network", "network_view", "match_client", "extattrs",
                        "disable", "options", "use_options", "ddns_hostname", "enable_ddns", "dhcp_client_identifier"),
                Set.of("ipv4addr", "mac", "name", "comment", "network", "network_view", "match_client", "extattrs",
                        "disable", "options", "use_options", "ddns_hostname", "enable_ddns", "dhcp_client_identifier"),
                Set.of("ipv4addr", "mac", "name", "comment", "match_client", "extattrs",
                        "disable", "options", "use_options", "ddns_hostname", "enable_ddns", "dhcp_client_identifier"),
                Set.of("ipv4addr", "mac", "name", "network", "network_view", "comment", "match_client"),
                Set.of("ipv4addr", "mac", "name", "comment"),
                List.of("ipv4addr", "mac", "network_view")));
        SPECS.put(EADEF, new Spec(EADEF, "one.extensible_attributes_def",
                List.of("name", "type", "comment"),
                Set.of("name", "type", "comment"),
                Set.of("comment"),
                Set.of("name", "type", "comment"),
                Set.of("name", "comment"),
                List.of("name", "type")));
    }

    /** Fields stored verbatim without modelling their meaning (accepted because grids accept them). */
    private static final Set<String> PASSTHROUGH = Set.of("disable", "options", "members", "use_options",
            "ddns_hostname", "enable_ddns", "dhcp_client_identifier");

    static Spec spec(String type) {
        Spec s = SPECS.get(type);
        if (s == null) throw WapiError.proto("Unknown object type (" + type + ")");
        return s;
    }

    static boolean isModelledType(String type) {
        return SPECS.containsKey(type);
    }

    /**
     * One stored object. Only touched under the model lock. Its identity on the wire is its key
     * (see {@link GridRefs}), not this instance: a new object with the same key has the same ref.
     */
    static final class Obj {
        final String type;
        final long seq;
        final Map<String, Object> f = new LinkedHashMap<>();
        Map<String, Object> ea = new LinkedHashMap<>();
        Cidr cidr;  // network, networkcontainer
        long ip;    // fixedaddress
        int viewIndex = -1;  // the grid's internal index of the view: its own for a view (default = 0), else its view's
        String id;  // the opaque part of the ref, derived from the key on insert

        Obj(String type, long seq) {
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

    /** A search condition from a query parameter. */
    record Cond(String field, boolean ea, Op op, boolean ignoreCase, String value, Pattern regex) {
    }

    enum Op { EQ, NE, REGEX }

    /** {@code _return_fields} / {@code _return_fields+}; {@code given} false means neither was sent. */
    record ReturnSpec(boolean given, boolean plus, List<String> fields) {
        static final ReturnSpec NONE = new ReturnSpec(false, false, List.of());
    }

    private final ReentrantLock lock = new ReentrantLock();
    private long seq;
    private int nextViewIndex;
    /** Every object of a type in creation order (keyed by {@link Obj#seq}). */
    private final Map<String, TreeMap<Long, Obj>> byType = new HashMap<>();
    /** Every object by the opaque part of its ref, i.e. by its key. */
    private final Map<String, Obj> byId = new HashMap<>();
    private final Map<String, TreeMap<Long, Obj>> fixedByView = new HashMap<>();

    WapiModel(boolean cloudEas) {
        for (String t : TYPES) byType.put(t, new TreeMap<>());
        Obj view = newObj(NETWORKVIEW);
        view.f.put("name", DEFAULT_VIEW);
        view.f.put("is_default", Boolean.TRUE);
        view.viewIndex = nextViewIndex++;
        insert(view);
        if (cloudEas) {
            for (String name : CLOUD_EAS) {
                Obj ea = newObj(EADEF);
                ea.f.put("name", name);
                ea.f.put("type", "STRING");
                insert(ea);
            }
        }
    }

    // ------------------------------------------------------------------ locking

    /** Runs {@code body} as one step: no other call sees the model in between (the lock is reentrant). */
    <T> T atomically(Supplier<T> body) {
        return locked(body);
    }

    private <T> T locked(Supplier<T> body) {
        lock.lock();
        try {
            return body.get();
        } finally {
            lock.unlock();
        }
    }

    // ------------------------------------------------------------------ refs

    private Obj newObj(String type) {
        return new Obj(type, ++seq);
    }

    private void insert(Obj o) {
        if (!o.type.equals(NETWORKVIEW) && !o.type.equals(EADEF)) o.viewIndex = viewOf(o).viewIndex;
        o.id = GridRefs.opaqueId(o);
        Obj clash = byId.put(o.id, o);
        if (clash != null) throw new IllegalStateException("two objects with the key of " + o.id); // guarded by validation
        byType.get(o.type).put(o.seq, o);
        if (o.type.equals(FIXED)) fixedIndex(o.view()).put(o.ip, o);
    }

    private void remove(Obj o) {
        byType.get(o.type).remove(o.seq);
        byId.remove(o.id);
        if (o.type.equals(FIXED)) {
            TreeMap<Long, Obj> idx = fixedByView.get(o.view());
            if (idx != null && idx.get(o.ip) == o) idx.remove(o.ip);
        }
    }

    /** After a change of a key field (a fixed address moved): the object answers to a new ref. */
    private void rekey(Obj o) {
        byId.remove(o.id);
        o.id = GridRefs.opaqueId(o);
        byId.put(o.id, o);
    }

    private Obj viewOf(Obj o) {
        Obj view = findView(o.view());
        if (view == null) throw new IllegalStateException("object in a missing view " + o.view()); // guarded by validation
        return view;
    }

    private TreeMap<Long, Obj> fixedIndex(String view) {
        return fixedByView.computeIfAbsent(view, v -> new TreeMap<>());
    }

    static String ref(Obj o) {
        return GridRefs.ref(o);
    }

    /**
     * The object a ref names <em>now</em>: the opaque part encodes a key, so a ref kept from a
     * deleted object names whatever holds that key today. The readable part after ':' is not
     * checked, as on a grid.
     */
    private Obj resolve(String ref) {
        int slash = ref.indexOf('/');
        if (slash <= 0) throw WapiError.proto("Invalid reference: " + ref);
        String type = ref.substring(0, slash);
        spec(type);
        String rest = ref.substring(slash + 1);
        int colon = rest.indexOf(':');
        String id = GridRefs.canonicalId(colon < 0 ? rest : rest.substring(0, colon), spec(type).internal());
        if (id == null) throw WapiError.proto("Invalid reference: " + ref);
        Obj o = byId.get(id);
        if (o == null || !o.type.equals(type)) {
            throw WapiError.notFound("Reference " + ref + " not found");
        }
        return o;
    }

    // ------------------------------------------------------------------ reading

    List<Map<String, Object>> search(String type, List<Cond> conds, ReturnSpec rs) {
        Spec spec = spec(type);
        return locked(() -> {
            List<String> fields = returnFields(spec, rs);
            for (Cond c : conds) checkCond(spec, c);
            List<Obj> hits = new ArrayList<>();
            for (Obj o : byType.get(type).values()) {
                if (matches(o, conds)) hits.add(o);
            }
            hits.sort(GridRefs.KEY_ORDER);
            List<Map<String, Object>> out = new ArrayList<>();
            for (Obj o : hits) out.add(render(o, fields));
            return out;
        });
    }

    Map<String, Object> get(String ref, ReturnSpec rs) {
        return locked(() -> {
            Obj o = resolve(ref);
            return render(o, returnFields(spec(o.type), rs));
        });
    }

    /** Every object of a type with every field, in creation order, frozen. */
    @SuppressWarnings("unchecked")
    List<Map<String, Object>> snapshot(String type) {
        Spec spec = spec(type);
        return locked(() -> {
            List<Map<String, Object>> out = new ArrayList<>();
            for (Obj o : byType.get(type).values()) {
                out.add((Map<String, Object>) Json.freeze(render(o, spec.readable())));
            }
            return Collections.unmodifiableList(out);
        });
    }

    /** The object a ref names with every field, or null. */
    @SuppressWarnings("unchecked")
    Map<String, Object> snapshotOf(String ref) {
        return locked(() -> {
            try {
                Obj o = resolve(ref);
                return (Map<String, Object>) Json.freeze(render(o, spec(o.type).readable()));
            } catch (WapiError e) {
                return null;
            }
        });
    }

    private static List<String> returnFields(Spec spec, ReturnSpec rs) {
        if (rs == null || !rs.given()) return spec.defaults();
        LinkedHashSet<String> out = new LinkedHashSet<>();
        if (rs.plus()) out.addAll(spec.defaults());
        for (String f : rs.fields()) {
            if (f.isEmpty() || f.equals("_ref")) continue;
            if (!spec.readable().contains(f)) throw WapiError.proto("Unknown argument/field: '" + f + "'");
            out.add(f);
        }
        return List.copyOf(out);
    }

    private Map<String, Object> render(Obj o, List<String> fields) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("_ref", ref(o));
        for (String f : fields) {
            Object v = value(o, f);
            if (v != null) m.put(f, v);
        }
        return m;
    }

    private Object value(Obj o, String field) {
        switch (field) {
            case "extattrs" -> {
                Map<String, Object> m = new LinkedHashMap<>();
                o.ea.forEach((k, v) -> m.put(k, new LinkedHashMap<>(Map.of("value", Json.copy(v)))));
                return m;
            }
            case "network_container" -> {
                Obj parent = parentContainer(o.view(), o.cidr);
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

    private void checkCond(Spec spec, Cond c) {
        if (c.ea()) {
            if (eaDef(c.field()) == null) throw unknownEa(c.field());
            return;
        }
        if (!spec.searchable().contains(c.field())) {
            if (spec.readable().contains(c.field())) throw WapiError.proto("Field is not searchable: " + c.field());
            throw WapiError.proto("Unknown argument/field: '" + c.field() + "'");
        }
        if ((c.op() == Op.REGEX || c.ignoreCase()) && !spec.regexSearchable().contains(c.field())) {
            throw WapiError.proto("Search modifier not allowed for field: " + c.field());
        }
    }

    private boolean matches(Obj o, List<Cond> conds) {
        for (Cond c : conds) {
            List<String> values = new ArrayList<>();
            if (c.ea()) {
                Object v = o.ea.get(c.field());
                if (v instanceof List<?> l) {
                    for (Object x : l) values.add(String.valueOf(x));
                } else if (v != null) {
                    values.add(String.valueOf(v));
                }
            } else {
                Object v = value(o, c.field());
                if (v != null) values.add(String.valueOf(v));
            }
            boolean macField = !c.ea() && c.field().equals("mac");
            boolean any = false;
            for (String v : values) {
                if (test(c, v, macField)) {
                    any = true;
                    break;
                }
            }
            if (c.op() == Op.NE) {
                if (!values.isEmpty() && !any) continue;
                return false;
            }
            if (!any) return false;
        }
        return true;
    }

    private static boolean test(Cond c, String v, boolean macField) {
        return switch (c.op()) {
            case REGEX -> c.regex().matcher(v).find();
            case EQ, NE -> {
                boolean eq = c.ignoreCase() || macField ? v.equalsIgnoreCase(c.value()) : v.equals(c.value());
                yield c.op() == Op.EQ ? eq : !eq;
            }
        };
    }

    /** Builds a condition, compiling the regex; a bad regex is a 400. */
    static Cond cond(String field, boolean ea, Op op, boolean ignoreCase, String value) {
        Pattern p = null;
        if (op == Op.REGEX) {
            try {
                p = Pattern.compile(value, ignoreCase ? Pattern.CASE_INSENSITIVE : 0);
            } catch (PatternSyntaxException e) {
                throw WapiError.proto("Invalid regular expression: " + value);
            }
        }
        return new Cond(field, ea, op, ignoreCase, value, p);
    }

    // ------------------------------------------------------------------ writing

    /** Creates an object; answers its ref, or the object when return fields were given. */
    Object create(String type, Map<String, Object> body, ReturnSpec rs) {
        Spec spec = spec(type);
        return locked(() -> {
            List<String> fields = returnFields(spec, rs);
            checkKeys(spec, body, spec.creatable(), false);
            Obj o = switch (type) {
                case NETWORKVIEW -> buildView(body);
                case NETWORK, CONTAINER -> buildNetwork(type, body);
                case FIXED -> buildFixed(body);
                case EADEF -> buildEaDef(body);
                default -> throw WapiError.proto("Unknown object type (" + type + ")");
            };
            if (body.containsKey("extattrs")) o.ea = parseEas(body.get("extattrs"), "extattrs");
            for (String p : PASSTHROUGH) {
                if (body.containsKey(p)) o.f.put(p, Json.copy(body.get(p)));
            }
            insert(o);
            return rs != null && rs.given() ? render(o, fields) : ref(o);
        });
    }

    private void checkKeys(Spec spec, Map<String, Object> body, Set<String> allowed, boolean update) {
        for (String k : body.keySet()) {
            if (k.equals("_ref")) continue;  // clients echo it back; grids ignore it
            if (allowed.contains(k)) continue;
            if (update && (k.equals("extattrs+") || k.equals("extattrs-")) && allowed.contains("extattrs")) continue;
            if (spec.readable().contains(k)) {
                throw WapiError.proto("Field is not writable: " + k);
            }
            throw WapiError.proto("Unknown argument/field: '" + k + "'");
        }
    }

    private static String optString(Map<String, Object> body, String key) {
        if (!body.containsKey(key)) return null;
        Object v = body.get(key);
        if (v == null) return null;
        if (!(v instanceof String s)) {
            throw WapiError.proto("Invalid value for " + key + ": " + Json.write(v) + ": must be a string");
        }
        return s;
    }

    private static String requiredString(Map<String, Object> body, String key) {
        String s = optString(body, key);
        if (s == null || s.isEmpty()) throw WapiError.proto("Required field missing: " + key);
        return s;
    }

    private Obj buildView(Map<String, Object> body) {
        String name = requiredString(body, "name");
        if (findView(name) != null) throw duplicate(name, "network_view");
        Obj o = newObj(NETWORKVIEW);
        o.f.put("name", name);
        putOpt(o, "comment", optString(body, "comment"));
        o.f.put("is_default", Boolean.FALSE);
        o.viewIndex = nextViewIndex++;
        return o;
    }

    private Obj buildEaDef(Map<String, Object> body) {
        String name = requiredString(body, "name");
        String type = optString(body, "type");
        type = type == null ? "STRING" : type.toUpperCase(Locale.ROOT);
        if (!EA_TYPES.contains(type)) throw WapiError.proto("Invalid value for type: '" + type + "'");
        if (eaDef(name) != null) throw duplicate(name, "extensible_attributes_def");
        Obj o = newObj(EADEF);
        o.f.put("name", name);
        o.f.put("type", type);
        putOpt(o, "comment", optString(body, "comment"));
        return o;
    }

    private Obj buildNetwork(String type, Map<String, Object> body) {
        String view = optString(body, "network_view");
        String spec = requiredString(body, "network");
        Cidr cidr;
        if (spec.startsWith(FUNC_NET)) {
            NetFunc nf = parseNetFunc(spec.substring(FUNC_NET.length()), view);
            view = nf.view;
            cidr = nextNetworks(nf.container, nf.size, 1, List.of()).getFirst();
        } else {
            if (view == null) view = DEFAULT_VIEW;
            requireView(view);
            cidr = parseNetwork(spec);
        }
        checkNetworkPlacement(type, view, cidr);
        Obj o = newObj(type);
        o.cidr = cidr;
        o.f.put("network", cidr.toString());
        o.f.put("network_view", view);
        putOpt(o, "comment", optString(body, "comment"));
        return o;
    }

    private static Cidr parseNetwork(String s) {
        try {
            return Cidr.parseStrict(s);
        } catch (IllegalArgumentException e) {
            throw WapiError.proto("Invalid value for network: '" + s + "': " + e.getMessage());
        }
    }

    /** The grid's rules: networks never overlap each other; a container never sits in a network. */
    private void checkNetworkPlacement(String type, String view, Cidr cidr) {
        for (Obj n : byType.get(NETWORK).values()) {
            if (!n.view().equals(view) || !n.cidr.overlaps(cidr)) continue;
            if (type.equals(NETWORK)) {
                if (n.cidr.equals(cidr)) {
                    throw WapiError.conflict("The network " + cidr + " already exists.  Select another network.");
                }
                throw WapiError.conflict("The network " + cidr + " overlaps with the existing network " + n.cidr
                        + ".  Select another network.");
            }
            if (n.cidr.contains(cidr)) {
                throw WapiError.conflict("The network container " + cidr + " overlaps with the existing network "
                        + n.cidr + ".  Select another network.");
            }
        }
        for (Obj c : byType.get(CONTAINER).values()) {
            if (!c.view().equals(view) || !c.cidr.overlaps(cidr)) continue;
            if (c.cidr.equals(cidr)) {
                throw WapiError.conflict("The network " + cidr + " already exists as a network container."
                        + "  Select another network.");
            }
            if (type.equals(NETWORK) && cidr.contains(c.cidr)) {
                throw WapiError.conflict("The network " + cidr + " overlaps with the existing network container "
                        + c.cidr + ".  Select another network.");
            }
        }
    }

    private Obj buildFixed(Map<String, Object> body) {
        String view = optString(body, "network_view");
        Object addrSpec = body.get("ipv4addr");
        if (addrSpec == null) throw WapiError.proto("Required field missing: ipv4addr");
        Obj network;
        long ip;
        if (addrSpec instanceof String s && s.startsWith(FUNC_IP)) {
            network = parseIpFunc(s.substring(FUNC_IP.length()), view);
            ip = nextIps(network, 1, Set.of()).getFirst();
        } else if (addrSpec instanceof Map<?, ?> m) {
            ObjectFunction of = objectFunction(m, "ipv4addr");
            if (!of.function.equals("next_available_ip") || !of.object.type.equals(NETWORK)) {
                throw WapiError.proto("Function " + of.function + " is not valid for ipv4addr");
            }
            network = of.object;
            ip = nextIps(network, 1, parseExcludeIps(of.parameters.get("exclude"))).getFirst();
        } else if (addrSpec instanceof String s) {
            if (!Ipv4.isValid(s)) throw WapiError.proto("Invalid value for ipv4addr: '" + s + "'");
            if (view == null) view = DEFAULT_VIEW;
            requireView(view);
            ip = Ipv4.parse(s);
            network = placeAddress(view, ip);
        } else {
            throw WapiError.proto("Invalid value for ipv4addr: " + Json.write(addrSpec));
        }
        if (view != null && !view.equals(network.view())) {
            throw WapiError.proto("network_view " + view + " does not match the network view "
                    + network.view() + " of network " + network.cidr);
        }
        view = network.view();
        String claimedNetwork = optString(body, "network");
        if (claimedNetwork != null && !claimedNetwork.equals(network.cidr.toString())) {
            throw WapiError.data("Address " + Ipv4.format(ip) + " is not in network " + claimedNetwork);
        }
        if (fixedIndex(view).containsKey(ip)) {
            throw WapiError.conflict("Fixed address " + Ipv4.format(ip) + " already exists");
        }
        String matchClient = optString(body, "match_client");
        if (matchClient == null) matchClient = "MAC_ADDRESS";
        if (!MATCH_CLIENT.contains(matchClient)) {
            throw WapiError.proto("Invalid value for match_client: '" + matchClient + "'");
        }
        String mac = optString(body, "mac");
        if (mac == null) {
            if (matchClient.equals("MAC_ADDRESS")) throw WapiError.proto("Required field missing: mac");
            mac = ZERO_MAC;
        }
        mac = normalizeMac(mac);
        Obj o = newObj(FIXED);
        o.ip = ip;
        o.f.put("ipv4addr", Ipv4.format(ip));
        o.f.put("mac", mac);
        putOpt(o, "name", optString(body, "name"));
        putOpt(o, "comment", optString(body, "comment"));
        o.f.put("network", network.cidr.toString());
        o.f.put("network_view", view);
        o.f.put("match_client", matchClient);
        return o;
    }

    /** The network that must hold a fixed address at {@code ip}; rejects network and broadcast addresses. */
    private Obj placeAddress(String view, long ip) {
        Obj network = networkContaining(view, ip);
        if (network == null) {
            throw WapiError.data("Cannot find network for address " + Ipv4.format(ip) + " in network view " + view);
        }
        Cidr c = network.cidr;
        if (c.prefix() <= 30 && (ip == c.first() || ip == c.last())) {
            String what = ip == c.first() ? "network" : "broadcast";
            throw WapiError.data("The IP address " + Ipv4.format(ip) + " is the " + what + " address of network " + c
                    + " and cannot be used for a fixed address");
        }
        return network;
    }

    private static String normalizeMac(String mac) {
        String m = mac.toLowerCase(Locale.ROOT);
        if (!MAC.matcher(m).matches()) throw WapiError.proto("Invalid value for mac: '" + mac + "'");
        return m.replace('-', ':');
    }

    private static void putOpt(Obj o, String field, String value) {
        if (value != null) o.f.put(field, value);
    }

    private static WapiError duplicate(String name, String internalType) {
        return WapiError.conflict("Duplicate object '" + name + "' of type '" + internalType
                + "' already exists in the database.");
    }

    private static WapiError unknownEa(String name) {
        return WapiError.proto("Unknown extensible attribute: " + name);
    }

    private Map<String, Object> parseEas(Object node, String key) {
        if (!(node instanceof Map<?, ?> m)) {
            throw WapiError.proto("Invalid value for " + key + ": " + Json.write(node) + ": must be an object");
        }
        Map<String, Object> out = new LinkedHashMap<>();
        for (Map.Entry<?, ?> e : m.entrySet()) {
            String name = String.valueOf(e.getKey());
            Obj def = eaDef(name);
            if (def == null) throw unknownEa(name);
            if (key.equals("extattrs-")) {
                out.put(name, null);
                continue;
            }
            if (!(e.getValue() instanceof Map<?, ?> inner) || !inner.containsKey("value")) {
                throw WapiError.proto("Invalid value for extensible attribute " + name
                        + ": expected {\"value\": ...}");
            }
            Object value = inner.get("value");
            if (value == null || value instanceof Map) {
                throw WapiError.proto("Invalid value for extensible attribute " + name + ": " + Json.write(value));
            }
            if ("INTEGER".equals(def.str("type"))) {
                for (Object x : value instanceof List<?> l ? l : List.of(value)) {
                    if (!(x instanceof Integer || x instanceof Long) && !String.valueOf(x).matches("-?\\d+")) {
                        throw WapiError.proto("Invalid value for extensible attribute " + name
                                + ": an integer is required, got " + Json.write(x));
                    }
                }
            }
            out.put(name, Json.copy(value));
        }
        return out;
    }

    /** Updates an object; answers its ref (which may change), or the object with return fields. */
    Object update(String ref, Map<String, Object> body, ReturnSpec rs) {
        return locked(() -> {
            Obj o = resolve(ref);
            Spec spec = spec(o.type);
            List<String> fields = returnFields(spec, rs);
            checkKeys(spec, body, spec.updatable(), true);
            // validate everything, then apply
            Map<String, Object> eas = null;
            if (body.containsKey("extattrs")) eas = parseEas(body.get("extattrs"), "extattrs");
            if (body.containsKey("extattrs+") || body.containsKey("extattrs-")) {
                eas = new LinkedHashMap<>(eas == null ? o.ea : eas);
                if (body.containsKey("extattrs+")) eas.putAll(parseEas(body.get("extattrs+"), "extattrs+"));
                if (body.containsKey("extattrs-")) {
                    for (String k : parseEas(body.get("extattrs-"), "extattrs-").keySet()) eas.remove(k);
                }
            }
            List<Runnable> apply = new ArrayList<>();
            switch (o.type) {
                case NETWORKVIEW -> {
                    String name = body.containsKey("name") ? requiredString(body, "name") : null;
                    if (name != null && !name.equals(o.str("name"))) {
                        if (findView(name) != null) throw duplicate(name, "network_view");
                        apply.add(() -> renameView(o, name));
                    }
                }
                case FIXED -> {
                    String matchClient = body.containsKey("match_client") ? optString(body, "match_client")
                            : o.str("match_client");
                    if (matchClient == null || !MATCH_CLIENT.contains(matchClient)) {
                        throw WapiError.proto("Invalid value for match_client: '" + matchClient + "'");
                    }
                    String mac = body.containsKey("mac") ? optString(body, "mac") : o.str("mac");
                    if (mac == null) throw WapiError.proto("Required field missing: mac");
                    String normalized = normalizeMac(mac);
                    if (body.containsKey("ipv4addr")) {
                        String addr = optString(body, "ipv4addr");
                        if (addr == null || !Ipv4.isValid(addr)) {
                            throw WapiError.proto("Invalid value for ipv4addr: '" + addr + "'");
                        }
                        long ip = Ipv4.parse(addr);
                        if (ip != o.ip) {
                            Obj network = placeAddress(o.view(), ip);
                            if (fixedIndex(o.view()).containsKey(ip)) {
                                throw WapiError.conflict("Fixed address " + addr + " already exists");
                            }
                            apply.add(() -> {
                                fixedIndex(o.view()).remove(o.ip);
                                o.ip = ip;
                                o.f.put("ipv4addr", Ipv4.format(ip));
                                o.f.put("network", network.cidr.toString());
                                fixedIndex(o.view()).put(ip, o);
                                rekey(o); // the IP is part of the key: a moved address has a new ref
                            });
                        }
                    }
                    apply.add(() -> {
                        o.f.put("match_client", matchClient);
                        o.f.put("mac", normalized);
                    });
                    for (String k : List.of("name")) {
                        if (body.containsKey(k)) {
                            String v = optString(body, k);
                            apply.add(() -> setOrClear(o, k, v));
                        }
                    }
                }
                default -> {
                }
            }
            if (body.containsKey("comment")) {
                String c = optString(body, "comment");
                apply.add(() -> setOrClear(o, "comment", c));
            }
            for (String p : PASSTHROUGH) {
                if (body.containsKey(p) && spec.updatable().contains(p)) {
                    Object v = Json.copy(body.get(p));
                    apply.add(() -> o.f.put(p, v));
                }
            }
            Map<String, Object> newEas = eas;
            if (newEas != null) apply.add(() -> o.ea = newEas);
            apply.forEach(Runnable::run);
            return rs != null && rs.given() ? render(o, fields) : ref(o);
        });
    }

    private static void setOrClear(Obj o, String field, String value) {
        if (value == null || value.isEmpty()) o.f.remove(field);
        else o.f.put(field, value);
    }

    private void renameView(Obj view, String name) {
        String old = view.str("name");
        view.f.put("name", name);
        for (String t : List.of(NETWORK, CONTAINER, FIXED)) {
            for (Obj o : byType.get(t).values()) {
                if (old.equals(o.view())) o.f.put("network_view", name);
            }
        }
        TreeMap<Long, Obj> idx = fixedByView.remove(old);
        if (idx != null) fixedByView.put(name, idx);
    }

    /** Deletes an object (and what lives inside it, as a grid does); answers the ref. */
    String delete(String ref, Map<String, String> args) {
        return locked(() -> {
            Obj o = resolve(ref);
            String r = ref(o);
            switch (o.type) {
                case NETWORKVIEW -> {
                    if (Boolean.TRUE.equals(o.f.get("is_default"))) {
                        throw WapiError.data("The default network view cannot be deleted");
                    }
                    String view = o.str("name");
                    for (String t : List.of(FIXED, NETWORK, CONTAINER)) {
                        for (Obj x : List.copyOf(byType.get(t).values())) {
                            if (view.equals(x.view())) remove(x);
                        }
                    }
                    fixedByView.remove(view);
                }
                case NETWORK -> removeFixedIn(o.view(), o.cidr);
                case CONTAINER -> {
                    String flag = args.getOrDefault("remove_subnets", "true");
                    if (!flag.equalsIgnoreCase("false")) {
                        for (String t : List.of(NETWORK, CONTAINER)) {
                            for (Obj x : List.copyOf(byType.get(t).values())) {
                                if (x != o && o.view().equals(x.view()) && o.cidr.contains(x.cidr)) remove(x);
                            }
                        }
                        removeFixedIn(o.view(), o.cidr);
                    }
                }
                case EADEF -> {
                    String name = o.str("name");
                    for (Map<Long, Obj> all : byType.values()) {
                        for (Obj x : all.values()) x.ea.remove(name);
                    }
                }
                default -> {
                }
            }
            remove(o);
            return r;
        });
    }

    private void removeFixedIn(String view, Cidr cidr) {
        TreeMap<Long, Obj> idx = fixedByView.get(view);
        if (idx == null) return;
        for (Obj x : List.copyOf(idx.subMap(cidr.first(), true, cidr.last(), true).values())) remove(x);
    }

    // ------------------------------------------------------------------ functions

    /** {@code POST <ref>?_function=...}: proposes addresses or networks without taking them. */
    Map<String, Object> function(String ref, String function, Map<String, Object> args) {
        return locked(() -> {
            Obj o = resolve(ref);
            return callFunction(o, function, args);
        });
    }

    private Map<String, Object> callFunction(Obj o, String function, Map<String, Object> args) {
        int num = intArg(args, "num", 1);
        if (num < 1 || num > MAX_FUNCTION_RESULTS) {
            throw WapiError.proto("Invalid value for num: " + num + " (1.." + MAX_FUNCTION_RESULTS + ")");
        }
        Map<String, Object> out = new LinkedHashMap<>();
        if (function.equals("next_available_ip") && o.type.equals(NETWORK)) {
            List<String> ips = new ArrayList<>();
            for (long ip : nextIps(o, num, parseExcludeIps(args.get("exclude")))) ips.add(Ipv4.format(ip));
            out.put("ips", ips);
            return out;
        }
        if (function.equals("next_available_network") && o.type.equals(CONTAINER)) {
            if (!args.containsKey("cidr")) throw WapiError.proto("Required argument missing: cidr");
            int size = intArg(args, "cidr", 0);
            List<String> nets = new ArrayList<>();
            for (Cidr c : nextNetworks(o, size, num, parseExcludeNets(args.get("exclude")))) nets.add(c.toString());
            out.put("networks", nets);
            return out;
        }
        throw WapiError.proto("Unknown function " + function + " for object " + o.type);
    }

    private static int intArg(Map<String, Object> args, String key, int dflt) {
        Object v = args.get(key);
        if (v == null) return dflt;
        if (v instanceof Integer i) return i;
        if (v instanceof Long l && l >= Integer.MIN_VALUE && l <= Integer.MAX_VALUE) return l.intValue();
        if (v instanceof String s && s.matches("-?\\d{1,9}")) return Integer.parseInt(s);
        throw WapiError.proto("Invalid value for " + key + ": " + Json.write(v));
    }

    private static Set<Long> parseExcludeIps(Object v) {
        if (v == null) return Set.of();
        if (!(v instanceof List<?> l)) throw WapiError.proto("Invalid value for exclude: must be a list");
        Set<Long> out = new HashSet<>();
        for (Object x : l) {
            if (!(x instanceof String s) || !Ipv4.isValid(s)) {
                throw WapiError.proto("Invalid value for exclude: " + Json.write(x));
            }
            out.add(Ipv4.parse(s));
        }
        return out;
    }

    private static List<Cidr> parseExcludeNets(Object v) {
        if (v == null) return List.of();
        if (!(v instanceof List<?> l)) throw WapiError.proto("Invalid value for exclude: must be a list");
        List<Cidr> out = new ArrayList<>();
        for (Object x : l) {
            try {
                out.add(Cidr.parseStrict(String.valueOf(x)));
            } catch (IllegalArgumentException e) {
                throw WapiError.proto("Invalid value for exclude: " + Json.write(x));
            }
        }
        return out;
    }

    /** The lowest {@code num} free host addresses of a network (never its network or broadcast address). */
    private List<Long> nextIps(Obj network, int num, Set<Long> exclude) {
        Cidr c = network.cidr;
        long lo = c.first();
        long hi = c.last();
        if (c.prefix() <= 30) {
            lo++;
            hi--;
        }
        TreeMap<Long, Obj> used = fixedIndex(network.view());
        List<Long> out = new ArrayList<>();
        for (long cand = lo; cand <= hi && out.size() < num; cand++) {
            if (!used.containsKey(cand) && !exclude.contains(cand)) out.add(cand);
        }
        if (out.size() < num) {
            throw WapiError.data("Cannot find " + num + " available IP address(es) in this network.");
        }
        return out;
    }

    /** The lowest {@code num} free blocks of prefix {@code size} inside a container. */
    private List<Cidr> nextNetworks(Obj container, int size, int num, List<Cidr> exclude) {
        Cidr outer = container.cidr;
        if (size <= outer.prefix() || size > 32) {
            throw WapiError.data("Cannot allocate a network of requested size /" + size + " in network container "
                    + outer + " (the size must be longer than /" + outer.prefix() + " and at most /32)");
        }
        List<Cidr> occupied = new ArrayList<>(exclude);
        for (String t : List.of(NETWORK, CONTAINER)) {
            for (Obj x : byType.get(t).values()) {
                if (x != container && x.view().equals(container.view()) && outer.overlaps(x.cidr)
                        && !x.cidr.contains(outer)) {
                    occupied.add(x.cidr);
                }
            }
        }
        occupied.sort(Comparator.comparingLong(Cidr::base));
        long step = 1L << (32 - size);
        List<Cidr> out = new ArrayList<>();
        long cand = outer.first();
        while (cand + step - 1 <= outer.last() && out.size() < num) {
            Cidr block = new Cidr(cand, size);
            Cidr blocker = null;
            for (Cidr x : occupied) {
                if (x.overlaps(block)) {
                    blocker = x;
                    break;
                }
            }
            if (blocker == null) {
                out.add(block);
                occupied.add(block);
                cand += step;
            } else {
                long next = Math.max(blocker.last() + 1, cand + step);
                cand = (next + step - 1) / step * step;
            }
        }
        if (out.size() < num) {
            throw WapiError.data("Cannot allocate a network of requested size /" + size + " in network container "
                    + outer + ": can not find " + num + " available network(s)");
        }
        return out;
    }

    private record NetFunc(Obj container, String view, int size) {
    }

    /** {@code func:nextavailablenetwork:<container CIDR>[,<view>],<size>} or {@code <container ref>,<size>}. */
    private NetFunc parseNetFunc(String args, String bodyView) {
        String[] parts = args.split(",", -1);
        Obj container;
        String sizeArg;
        if (parts[0].startsWith(CONTAINER + "/")) {
            if (parts.length < 2) throw WapiError.proto("Invalid function arguments: " + FUNC_NET + args);
            container = resolveTyped(parts[0], CONTAINER);
            sizeArg = parts[parts.length - 1];
        } else {
            String view;
            if (parts.length == 3) {
                view = parts[1].isEmpty() ? (bodyView == null ? DEFAULT_VIEW : bodyView) : parts[1];
                sizeArg = parts[2];
            } else if (parts.length == 2) {
                view = bodyView == null ? DEFAULT_VIEW : bodyView;
                sizeArg = parts[1];
            } else {
                throw WapiError.proto("Invalid function arguments: " + FUNC_NET + args);
            }
            Cidr cidr = parseNetwork(parts[0]);
            requireView(view);
            container = findContainer(view, cidr);
            if (container == null) {
                throw new WapiError(400, "AdmConDataNotFoundError: Cannot find network container " + cidr
                        + " in network view " + view, "Client.Ibap.Data.NotFound",
                        "Cannot find network container " + cidr + " in network view " + view);
            }
        }
        if (bodyView != null && !bodyView.equals(container.view())) {
            throw WapiError.proto("network_view " + bodyView + " does not match the network view "
                    + container.view() + " of network container " + container.cidr);
        }
        if (!sizeArg.matches("\\d{1,2}")) throw WapiError.proto("Invalid network size: '" + sizeArg + "'");
        return new NetFunc(container, container.view(), Integer.parseInt(sizeArg));
    }

    /** {@code func:nextavailableip:<CIDR>[,<view>]} or {@code <network ref>}: the network to take from. */
    private Obj parseIpFunc(String args, String bodyView) {
        if (args.startsWith(NETWORK + "/")) return resolveTyped(args, NETWORK);
        String[] parts = args.split(",", -1);
        if (parts.length > 2) throw WapiError.proto("Invalid function arguments: " + FUNC_IP + args);
        String view = parts.length == 2 && !parts[1].isEmpty() ? parts[1] : bodyView == null ? DEFAULT_VIEW : bodyView;
        Cidr cidr = parseNetwork(parts[0]);
        requireView(view);
        Obj network = findNetwork(view, cidr);
        if (network == null) {
            throw new WapiError(400, "AdmConDataNotFoundError: Cannot find network " + cidr + " in network view "
                    + view, "Client.Ibap.Data.NotFound", "Cannot find network " + cidr + " in network view " + view);
        }
        return network;
    }

    private Obj resolveTyped(String ref, String type) {
        Obj o;
        try {
            o = resolve(ref);
        } catch (WapiError e) {
            throw new WapiError(400, e.error(), e.code(), e.text());
        }
        if (!o.type.equals(type)) throw WapiError.proto("Reference " + ref + " is not a " + type);
        return o;
    }

    private record ObjectFunction(String function, Obj object, Map<String, Object> parameters) {
    }

    /**
     * The object-function form of a field value:
     * {@code {"_object_function": "next_available_ip", "_object": "network",
     * "_object_parameters": {"network": "10.0.0.0/24", "network_view": "default"},
     * "_result_field": "ips", "_parameters": {...}}}.
     */
    @SuppressWarnings("unchecked")
    private ObjectFunction objectFunction(Map<?, ?> m, String field) {
        Object fn = m.get("_object_function");
        Object type = m.get("_object");
        if (!(fn instanceof String function) || !(type instanceof String objectType)) {
            throw WapiError.proto("Invalid value for " + field + ": " + Json.write(m));
        }
        Spec spec = spec(objectType);
        Object params = m.get("_object_parameters");
        if (params != null && !(params instanceof Map)) throw WapiError.proto("Invalid _object_parameters");
        List<Cond> conds = new ArrayList<>();
        if (params != null) {
            for (Map.Entry<String, Object> e : ((Map<String, Object>) params).entrySet()) {
                boolean ea = e.getKey().startsWith("*");
                String name = ea ? e.getKey().substring(1) : e.getKey();
                Cond c = cond(name, ea, Op.EQ, false, String.valueOf(e.getValue()));
                checkCond(spec, c);
                conds.add(c);
            }
        }
        List<Obj> hits = new ArrayList<>();
        for (Obj o : byType.get(objectType).values()) {
            if (matches(o, conds)) hits.add(o);
        }
        if (hits.isEmpty()) {
            throw new WapiError(400, "AdmConDataNotFoundError: No " + objectType + " matches "
                    + Json.write(params), "Client.Ibap.Data.NotFound", "No " + objectType + " matches " + Json.write(params));
        }
        if (hits.size() > 1) {
            throw WapiError.proto("More than one " + objectType + " matches " + Json.write(params));
        }
        Object p = m.get("_parameters");
        Map<String, Object> parameters = p instanceof Map ? (Map<String, Object>) p : Map.of();
        return new ObjectFunction(function, hits.getFirst(), parameters);
    }

    // ------------------------------------------------------------------ lookups

    private Obj findView(String name) {
        for (Obj v : byType.get(NETWORKVIEW).values()) {
            if (name.equals(v.str("name"))) return v;
        }
        return null;
    }

    private void requireView(String view) {
        if (findView(view) == null) throw WapiError.notFound("Network View " + view + " not found");
    }

    private Obj eaDef(String name) {
        for (Obj d : byType.get(EADEF).values()) {
            if (name.equals(d.str("name"))) return d;
        }
        return null;
    }

    private Obj findNetwork(String view, Cidr cidr) {
        for (Obj n : byType.get(NETWORK).values()) {
            if (n.view().equals(view) && n.cidr.equals(cidr)) return n;
        }
        return null;
    }

    private Obj findContainer(String view, Cidr cidr) {
        for (Obj n : byType.get(CONTAINER).values()) {
            if (n.view().equals(view) && n.cidr.equals(cidr)) return n;
        }
        return null;
    }

    private Obj networkContaining(String view, long ip) {
        for (Obj n : byType.get(NETWORK).values()) {
            if (n.view().equals(view) && n.cidr.contains(ip)) return n;
        }
        return null;
    }

    /** The smallest container of the view strictly around {@code cidr}, or null. */
    private Obj parentContainer(String view, Cidr cidr) {
        Obj best = null;
        for (Obj c : byType.get(CONTAINER).values()) {
            if (!c.view().equals(view) || c.cidr.equals(cidr) || !c.cidr.contains(cidr)) continue;
            if (best == null || c.cidr.prefix() > best.cidr.prefix()) best = c;
        }
        return best;
    }

    // ------------------------------------------------------------------ test helpers

    void defineEa(String name) {
        Objects.requireNonNull(name, "name");
        locked(() -> {
            if (eaDef(name) == null) {
                Obj o = newObj(EADEF);
                o.f.put("name", name);
                o.f.put("type", "STRING");
                insert(o);
            }
            return null;
        });
    }

    boolean removeEa(String name) {
        return locked(() -> {
            Obj d = eaDef(name);
            if (d == null) return false;
            delete(ref(d), Map.of());
            return true;
        });
    }

    /** Applies a seed document (see docs/wapi-simulator.md); creation goes through the same rules as POST. */
    @SuppressWarnings("unchecked")
    void seed(Object doc, String source) {
        if (!(doc instanceof Map<?, ?> m)) throw new IllegalArgumentException(source + ": the seed must be a JSON object");
        for (Object k : m.keySet()) {
            if (!TYPES.contains(String.valueOf(k))) {
                throw new IllegalArgumentException(source + ": unknown key '" + k + "' (expected one of " + TYPES + ")");
            }
        }
        for (String type : TYPES) {
            Object list = m.get(type);
            if (list == null) continue;
            if (!(list instanceof List<?> items)) {
                throw new IllegalArgumentException(source + ": '" + type + "' must be a JSON array");
            }
            int i = 0;
            for (Object item : items) {
                Object body = type.equals(EADEF) && item instanceof String s ? Map.of("name", s) : item;
                if (!(body instanceof Map)) {
                    throw new IllegalArgumentException(source + ": " + type + "[" + i + "] must be a JSON object");
                }
                try {
                    create(type, (Map<String, Object>) body, ReturnSpec.NONE);
                } catch (WapiError e) {
                    throw new IllegalArgumentException(source + ": " + type + "[" + i + "]: " + e.code() + ": "
                            + e.text(), e);
                }
                i++;
            }
        }
    }
}
