package infobloxcni.wapisim;

import static infobloxcni.wapisim.ObjectSpecs.CONTAINER;
import static infobloxcni.wapisim.ObjectSpecs.DEFAULT_VIEW;
import static infobloxcni.wapisim.ObjectSpecs.EADEF;
import static infobloxcni.wapisim.ObjectSpecs.FIXED;
import static infobloxcni.wapisim.ObjectSpecs.MATCH_CLIENT;
import static infobloxcni.wapisim.ObjectSpecs.NETWORK;
import static infobloxcni.wapisim.ObjectSpecs.NETWORKVIEW;
import static infobloxcni.wapisim.ObjectSpecs.RANGE;
import static infobloxcni.wapisim.ObjectSpecs.ZERO_MAC;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The grid's rules for what is written, with its error texts: which body fields a type takes, how
 * values are read (strings, CIDRs, MACs, extensible attributes), where a network, container or fixed
 * address may go, and what is a duplicate. {@link #build} turns a POST body into a new object that
 * breaks none of them; {@link WapiModel#update} applies the same rules to a PUT.
 */
final class ObjectRules {
    private static final Pattern MAC = Pattern.compile("[0-9a-f]{2}([:-][0-9a-f]{2}){5}");

    private final ObjectStore store;
    private final NextAvailable nextAvailable;

    ObjectRules(ObjectStore store, NextAvailable nextAvailable) {
        this.store = store;
        this.nextAvailable = nextAvailable;
    }

    // ------------------------------------------------------------------ reading a body

    /** Refuses body fields the type does not take here: read-only ones and unknown ones, as the grid words it. */
    static void checkKeys(ObjectSpecs.Spec spec, Map<String, Object> body, Set<String> allowed, boolean update) {
        for (String k : body.keySet()) {
            if (k.equals("_ref")) continue; // clients echo it back; grids ignore it
            if (allowed.contains(k)) continue;
            if (update && (k.equals("extattrs+") || k.equals("extattrs-")) && allowed.contains("extattrs")) continue;
            if (spec.readable().contains(k)) {
                throw WapiError.proto("Field is not writable: " + k);
            }
            throw WapiError.proto("Unknown argument/field: '" + k + "'");
        }
    }

    static String optString(Map<String, Object> body, String key) {
        if (!body.containsKey(key)) return null;
        Object v = body.get(key);
        if (v == null) return null;
        if (!(v instanceof String s)) {
            throw WapiError.proto("Invalid value for " + key + ": " + Json.write(v) + ": must be a string");
        }
        return s;
    }

    static String requiredString(Map<String, Object> body, String key) {
        String s = optString(body, key);
        if (s == null || s.isEmpty()) throw WapiError.proto("Required field missing: " + key);
        return s;
    }

    static Cidr parseNetwork(String s) {
        try {
            return Cidr.parseStrict(s);
        } catch (IllegalArgumentException e) {
            throw WapiError.proto("Invalid value for network: '" + s + "': " + e.getMessage());
        }
    }

    static String normalizeMac(String mac) {
        String m = mac.toLowerCase(Locale.ROOT);
        if (!MAC.matcher(m).matches()) throw WapiError.proto("Invalid value for mac: '" + mac + "'");
        return m.replace('-', ':');
    }

    static String matchClient(String matchClient) {
        if (matchClient == null || !MATCH_CLIENT.contains(matchClient)) {
            throw WapiError.proto("Invalid value for match_client: '" + matchClient + "'");
        }
        return matchClient;
    }

    static WapiError duplicate(String name, String internalType) {
        return WapiError.conflict(
                "Duplicate object '" + name + "' of type '" + internalType + "' already exists in the database.");
    }

    /**
     * {@code extattrs} (or {@code extattrs+}/{@code extattrs-}) as {@code {"name": {"value": v}}}: every
     * name must be a defined EA, and an INTEGER EA takes only integers. For {@code extattrs-} the values
     * are ignored and come back null.
     */
    Map<String, Object> parseEas(Object node, String key) {
        if (!(node instanceof Map<?, ?> m)) {
            throw WapiError.proto("Invalid value for " + key + ": " + Json.write(node) + ": must be an object");
        }
        Map<String, Object> out = new LinkedHashMap<>();
        for (Map.Entry<?, ?> e : m.entrySet()) {
            String name = String.valueOf(e.getKey());
            GridObject def = store.eaDef(name);
            if (def == null) throw SearchConditions.unknownEa(name);
            if (key.equals("extattrs-")) {
                out.put(name, null);
                continue;
            }
            if (!(e.getValue() instanceof Map<?, ?> inner) || !inner.containsKey("value")) {
                throw WapiError.proto("Invalid value for extensible attribute " + name + ": expected {\"value\": ...}");
            }
            Object value = inner.get("value");
            if (value == null || value instanceof Map) {
                throw WapiError.proto("Invalid value for extensible attribute " + name + ": " + Json.write(value));
            }
            if ("INTEGER".equals(def.str("type"))) {
                for (Object x : value instanceof List<?> l ? l : List.of(value)) {
                    if (!(x instanceof Integer || x instanceof Long)
                            && !String.valueOf(x).matches("-?\\d+")) {
                        throw WapiError.proto("Invalid value for extensible attribute " + name
                                + ": an integer is required, got " + Json.write(x));
                    }
                }
            }
            out.put(name, Json.copy(value));
        }
        return out;
    }

    // ------------------------------------------------------------------ where things may go

    /** The grid's rules: networks never overlap each other; a container never sits in a network. */
    private void checkNetworkPlacement(String type, String view, Cidr cidr) {
        for (GridObject n : store.all(NETWORK)) {
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
        for (GridObject c : store.all(CONTAINER)) {
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

    /** The network that must hold a fixed address at {@code ip}; rejects network and broadcast addresses. */
    GridObject placeAddress(String view, long ip) {
        GridObject network = store.networkContaining(view, ip);
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

    /** Refuses an IP of the view that a fixed address already holds; {@code shown} is the address as the client wrote it. */
    void requireFreeAddress(String view, long ip, String shown) {
        if (store.fixedIndex(view).containsKey(ip)) {
            throw WapiError.conflict("Fixed address " + shown + " already exists");
        }
    }

    // ------------------------------------------------------------------ building a new object

    /** A new object from a POST body (not inserted yet), or the grid's error for the first rule it breaks. */
    GridObject build(ObjectSpecs.Spec spec, Map<String, Object> body) {
        checkKeys(spec, body, spec.creatable(), false);
        GridObject o = switch (spec.type()) {
            case NETWORKVIEW -> buildView(body);
            case NETWORK, CONTAINER -> buildNetwork(spec.type(), body);
            case FIXED -> buildFixed(body);
            case RANGE -> buildRange(body);
            case EADEF -> buildEaDef(body);
            default -> throw WapiError.proto("Unknown object type (" + spec.type() + ")");
        };
        if (body.containsKey("extattrs")) o.ea = parseEas(body.get("extattrs"), "extattrs");
        for (String p : ObjectSpecs.PASSTHROUGH) {
            if (body.containsKey(p)) o.f.put(p, Json.copy(body.get(p)));
        }
        return o;
    }

    private GridObject buildView(Map<String, Object> body) {
        String name = requiredString(body, "name");
        if (store.findView(name) != null) throw duplicate(name, "network_view");
        GridObject o = store.newObject(NETWORKVIEW);
        o.f.put("name", name);
        putOpt(o, "comment", optString(body, "comment"));
        o.f.put("is_default", Boolean.FALSE);
        o.viewIndex = store.takeViewIndex();
        return o;
    }

    private GridObject buildEaDef(Map<String, Object> body) {
        String name = requiredString(body, "name");
        String type = optString(body, "type");
        type = type == null ? "STRING" : type.toUpperCase(Locale.ROOT);
        if (!ObjectSpecs.EA_TYPES.contains(type)) throw WapiError.proto("Invalid value for type: '" + type + "'");
        if (store.eaDef(name) != null) throw duplicate(name, "extensible_attributes_def");
        GridObject o = store.newObject(EADEF);
        o.f.put("name", name);
        o.f.put("type", type);
        putOpt(o, "comment", optString(body, "comment"));
        return o;
    }

    private GridObject buildNetwork(String type, Map<String, Object> body) {
        String view = optString(body, "network_view");
        String spec = requiredString(body, "network");
        Cidr cidr;
        if (spec.startsWith(NextAvailable.FUNC_NET)) {
            NextAvailable.Block block = nextAvailable.nextNetwork(spec, view);
            view = block.view();
            cidr = block.cidr();
        } else {
            if (view == null) view = DEFAULT_VIEW;
            store.requireView(view);
            cidr = parseNetwork(spec);
        }
        checkNetworkPlacement(type, view, cidr);
        GridObject o = store.newObject(type);
        o.cidr = cidr;
        o.f.put("network", cidr.toString());
        o.f.put("network_view", view);
        putOpt(o, "comment", optString(body, "comment"));
        return o;
    }

    /**
     * A range: both bounds in one network of the view, on host addresses, overlapping no other
     * range of the view. The texts are modelled on the grid's for networks (no public transcript
     * of a range refusal was found; docs/wapi-simulator.md says so).
     */
    private GridObject buildRange(Map<String, Object> body) {
        String view = optString(body, "network_view");
        if (view == null) view = DEFAULT_VIEW;
        store.requireView(view);
        String startText = requiredString(body, "start_addr");
        String endText = requiredString(body, "end_addr");
        if (!Ipv4.isValid(startText)) throw WapiError.proto("Invalid value for start_addr: '" + startText + "'");
        if (!Ipv4.isValid(endText)) throw WapiError.proto("Invalid value for end_addr: '" + endText + "'");
        long start = Ipv4.parse(startText);
        long end = Ipv4.parse(endText);
        String shown = startText + "-" + endText;
        if (start > end)
            throw WapiError.data(
                    "The start address " + startText + " of range " + shown + " is greater than its end address");
        GridObject network = store.networkContaining(view, start);
        if (network == null || !network.cidr.contains(end)) {
            throw WapiError.data("Cannot find network for range " + shown + " in network view " + view);
        }
        String claimed = optString(body, "network");
        if (claimed != null && !claimed.equals(network.cidr.toString()))
            throw WapiError.data("Range " + shown + " is not in network " + claimed);
        Cidr c = network.cidr;
        if (c.prefix() <= 30 && (start == c.first() || end == c.last()))
            throw WapiError.data("Range " + shown + " includes the network or broadcast address of network " + c);
        for (GridObject other : store.all(RANGE)) {
            if (view.equals(other.view()) && other.ip <= end && start <= other.end) {
                throw WapiError.conflict("The range " + shown + " overlaps with the existing range "
                        + other.str("start_addr") + "-" + other.str("end_addr") + ".");
            }
        }
        String association = optString(body, "server_association_type");
        association = association == null ? "NONE" : association;
        if (!ObjectSpecs.SERVER_ASSOCIATION.contains(association))
            throw WapiError.proto("Invalid value for server_association_type: '" + association + "'");
        GridObject o = store.newObject(RANGE);
        o.ip = start;
        o.end = end;
        o.f.put("start_addr", startText);
        o.f.put("end_addr", endText);
        o.f.put("network", c.toString());
        o.f.put("network_view", view);
        o.f.put("server_association_type", association);
        putOpt(o, "comment", optString(body, "comment"));
        putOpt(o, "name", optString(body, "name"));
        return o;
    }

    private GridObject buildFixed(Map<String, Object> body) {
        String view = optString(body, "network_view");
        Object addrSpec = body.get("ipv4addr");
        if (addrSpec == null) throw WapiError.proto("Required field missing: ipv4addr");
        GridObject network;
        long ip;
        NextAvailable.Address picked = nextAvailable.nextAddress(addrSpec, view);
        if (picked != null) {
            network = picked.network();
            ip = picked.ip();
        } else if (addrSpec instanceof String s) {
            if (!Ipv4.isValid(s)) throw WapiError.proto("Invalid value for ipv4addr: '" + s + "'");
            if (view == null) view = DEFAULT_VIEW;
            store.requireView(view);
            ip = Ipv4.parse(s);
            network = placeAddress(view, ip);
        } else {
            throw WapiError.proto("Invalid value for ipv4addr: " + Json.write(addrSpec));
        }
        if (view != null && !view.equals(network.view())) {
            throw WapiError.proto("network_view " + view + " does not match the network view " + network.view()
                    + " of network " + network.cidr);
        }
        view = network.view();
        String claimedNetwork = optString(body, "network");
        if (claimedNetwork != null && !claimedNetwork.equals(network.cidr.toString())) {
            throw WapiError.data("Address " + Ipv4.format(ip) + " is not in network " + claimedNetwork);
        }
        requireFreeAddress(view, ip, Ipv4.format(ip));
        String given = optString(body, "match_client");
        String matchClient = matchClient(given == null ? "MAC_ADDRESS" : given);
        String mac = optString(body, "mac");
        if (mac == null) {
            if (matchClient.equals("MAC_ADDRESS")) throw WapiError.proto("Required field missing: mac");
            mac = ZERO_MAC;
        }
        mac = normalizeMac(mac);
        GridObject o = store.newObject(FIXED);
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

    private static void putOpt(GridObject o, String field, String value) {
        if (value != null) o.f.put(field, value);
    }
}
