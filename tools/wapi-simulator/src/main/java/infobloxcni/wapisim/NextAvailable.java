package infobloxcni.wapisim;

import static infobloxcni.wapisim.ObjectSpecs.CONTAINER;
import static infobloxcni.wapisim.ObjectSpecs.DEFAULT_VIEW;
import static infobloxcni.wapisim.ObjectSpecs.NETWORK;
import static infobloxcni.wapisim.ObjectSpecs.RANGE;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * The next-available functions, in the three forms a grid takes them: {@code POST <ref>?_function=...}
 * (proposes without taking), the {@code func:nextavailableip:} / {@code func:nextavailablenetwork:} field
 * values, and the {@code _object_function} object in a field. All of them hand out the lowest free
 * addresses or blocks; an address is free when no fixed address holds it, and a network's own and
 * broadcast addresses are never handed out. In a network, every address inside a range (reserved or
 * DHCP) is skipped too; in a range, only its own addresses are handed out (the NIOS admin guide's
 * rule, see docs/wapi-simulator.md). Called under the model's lock, so picking and taking are one step.
 */
final class NextAvailable {
    static final String FUNC_IP = "func:nextavailableip:";
    static final String FUNC_NET = "func:nextavailablenetwork:";
    private static final int MAX_FUNCTION_RESULTS = 1000;

    /** An address picked for a new fixed address, and the network it is in. */
    record Address(GridObject network, long ip) {}

    /** A block picked for a new network or container, and its view. */
    record Block(String view, Cidr cidr) {}

    private final ObjectStore store;
    private final SearchConditions conditions;

    NextAvailable(ObjectStore store, SearchConditions conditions) {
        this.store = store;
        this.conditions = conditions;
    }

    /** {@code POST <ref>?_function=...}: proposes addresses or networks without taking them. */
    Map<String, Object> call(GridObject o, String function, Map<String, Object> args) {
        int num = intArg(args, "num", 1);
        if (num < 1 || num > MAX_FUNCTION_RESULTS) {
            throw WapiError.proto("Invalid value for num: " + num + " (1.." + MAX_FUNCTION_RESULTS + ")");
        }
        Map<String, Object> out = new LinkedHashMap<>();
        if (function.equals("next_available_ip") && (o.type.equals(NETWORK) || o.type.equals(RANGE))) {
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

    /**
     * The address for an {@code ipv4addr} given as {@code func:nextavailableip:...} or as an
     * {@code _object_function}; null when the value is neither (a literal address, or invalid).
     */
    Address nextAddress(Object addrSpec, String bodyView) {
        if (addrSpec instanceof String s && s.startsWith(FUNC_IP)) {
            GridObject from = parseIpFunc(s.substring(FUNC_IP.length()), bodyView);
            return new Address(networkOf(from), nextIps(from, 1, Set.of()).getFirst());
        }
        if (addrSpec instanceof Map<?, ?> m) {
            ObjectFunction of = objectFunction(m, "ipv4addr");
            if (!of.function.equals("next_available_ip")
                    || !(of.object.type.equals(NETWORK) || of.object.type.equals(RANGE))) {
                throw WapiError.proto("Function " + of.function + " is not valid for ipv4addr");
            }
            return new Address(
                    networkOf(of.object),
                    nextIps(of.object, 1, parseExcludeIps(of.parameters.get("exclude")))
                            .getFirst());
        }
        return null;
    }

    /** The block for a {@code network} given as {@code func:nextavailablenetwork:...}. */
    Block nextNetwork(String spec, String bodyView) {
        NetFunc nf = parseNetFunc(spec.substring(FUNC_NET.length()), bodyView);
        return new Block(
                nf.view, nextNetworks(nf.container, nf.size, 1, List.of()).getFirst());
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

    /** The network a range lies in (the network itself for a network). */
    private GridObject networkOf(GridObject networkOrRange) {
        return networkOrRange.type.equals(RANGE)
                ? store.networkContaining(networkOrRange.view(), networkOrRange.ip)
                : networkOrRange;
    }

    /**
     * The lowest {@code num} free host addresses of a network (never its network or broadcast
     * address, never one inside a range of the view) or of a range (only its own).
     */
    private List<Long> nextIps(GridObject from, int num, Set<Long> exclude) {
        boolean range = from.type.equals(RANGE);
        long lo;
        long hi;
        if (range) {
            lo = from.ip;
            hi = from.end;
        } else {
            Cidr c = from.cidr;
            lo = c.first();
            hi = c.last();
            if (c.prefix() <= 30) {
                lo++;
                hi--;
            }
        }
        TreeMap<Long, GridObject> used = store.fixedIndex(from.view());
        List<Long> out = new ArrayList<>();
        for (long cand = lo; cand <= hi && out.size() < num; cand++) {
            if (used.containsKey(cand) || exclude.contains(cand)) continue;
            if (!range) {
                GridObject inRange = store.rangeContaining(from.view(), cand);
                if (inRange != null) {
                    cand = inRange.end; // the whole range is skipped
                    continue;
                }
            }
            out.add(cand);
        }
        if (out.size() < num) {
            throw WapiError.data(
                    "Cannot find " + num + " available IP address(es) in this " + (range ? "range" : "network") + ".");
        }
        return out;
    }

    /** The lowest {@code num} free blocks of prefix {@code size} inside a container. */
    private List<Cidr> nextNetworks(GridObject container, int size, int num, List<Cidr> exclude) {
        Cidr outer = container.cidr;
        if (size <= outer.prefix() || size > 32) {
            throw WapiError.data("Cannot allocate a network of requested size /" + size + " in network container "
                    + outer + " (the size must be longer than /" + outer.prefix() + " and at most /32)");
        }
        List<Cidr> occupied = new ArrayList<>(exclude);
        for (String t : List.of(NETWORK, CONTAINER)) {
            for (GridObject x : store.all(t)) {
                if (x != container
                        && x.view().equals(container.view())
                        && outer.overlaps(x.cidr)
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

    private record NetFunc(GridObject container, String view, int size) {}

    /** {@code func:nextavailablenetwork:<container CIDR>[,<view>],<size>} or {@code <container ref>,<size>}. */
    private NetFunc parseNetFunc(String args, String bodyView) {
        String[] parts = args.split(",", -1);
        GridObject container;
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
            Cidr cidr = ObjectRules.parseNetwork(parts[0]);
            store.requireView(view);
            container = store.findContainer(view, cidr);
            if (container == null) {
                throw new WapiError(
                        400,
                        "AdmConDataNotFoundError: Cannot find network container " + cidr + " in network view " + view,
                        "Client.Ibap.Data.NotFound",
                        "Cannot find network container " + cidr + " in network view " + view);
            }
        }
        if (bodyView != null && !bodyView.equals(container.view())) {
            throw WapiError.proto("network_view " + bodyView + " does not match the network view " + container.view()
                    + " of network container " + container.cidr);
        }
        if (!sizeArg.matches("\\d{1,2}")) throw WapiError.proto("Invalid network size: '" + sizeArg + "'");
        return new NetFunc(container, container.view(), Integer.parseInt(sizeArg));
    }

    /**
     * {@code func:nextavailableip:<CIDR>[,<view>]}, {@code <start>-<end>[,<view>]} (a range with
     * exactly those bounds, infoblox-client's {@code objects.py}), or a network or range ref: what
     * to take from.
     */
    private GridObject parseIpFunc(String args, String bodyView) {
        if (args.startsWith(NETWORK + "/")) return resolveTyped(args, NETWORK);
        if (args.startsWith(RANGE + "/")) return resolveTyped(args, RANGE);
        String[] parts = args.split(",", -1);
        if (parts.length > 2) throw WapiError.proto("Invalid function arguments: " + FUNC_IP + args);
        String view = parts.length == 2 && !parts[1].isEmpty() ? parts[1] : bodyView == null ? DEFAULT_VIEW : bodyView;
        int dash = parts[0].indexOf('-');
        if (dash > 0) {
            String start = parts[0].substring(0, dash);
            String end = parts[0].substring(dash + 1);
            if (!Ipv4.isValid(start) || !Ipv4.isValid(end))
                throw WapiError.proto("Invalid function arguments: " + FUNC_IP + args);
            store.requireView(view);
            GridObject r = store.findRange(view, Ipv4.parse(start), Ipv4.parse(end));
            if (r == null) throw WapiError.proto(args + " does not match any unique networks/ranges (ipv4addr)");
            return r;
        }
        Cidr cidr = ObjectRules.parseNetwork(parts[0]);
        store.requireView(view);
        GridObject network = store.findNetwork(view, cidr);
        if (network == null) {
            // a grid's words for it, seen on live grids (terraform-provider-infoblox issues #232, #494)
            throw WapiError.proto(args + " does not match any unique networks/ranges (ipv4addr)");
        }
        return network;
    }

    /** A ref inside a function argument: a missing object is a 400 here, not a 404. */
    private GridObject resolveTyped(String ref, String type) {
        GridObject o;
        try {
            o = store.resolve(ref);
        } catch (WapiError e) {
            throw new WapiError(400, e.error(), e.code(), e.text());
        }
        if (!o.type.equals(type)) throw WapiError.proto("Reference " + ref + " is not a " + type);
        return o;
    }

    private record ObjectFunction(String function, GridObject object, Map<String, Object> parameters) {}

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
        ObjectSpecs.Spec spec = ObjectSpecs.spec(objectType);
        Object params = m.get("_object_parameters");
        if (params != null && !(params instanceof Map)) throw WapiError.proto("Invalid _object_parameters");
        List<SearchConditions.Cond> conds = new ArrayList<>();
        if (params != null) {
            for (Map.Entry<String, Object> e : ((Map<String, Object>) params).entrySet()) {
                boolean ea = e.getKey().startsWith("*");
                String name = ea ? e.getKey().substring(1) : e.getKey();
                SearchConditions.Cond c =
                        SearchConditions.cond(name, ea, SearchConditions.Op.EQ, false, String.valueOf(e.getValue()));
                conditions.check(spec, c);
                conds.add(c);
            }
        }
        List<GridObject> hits = conditions.matching(objectType, conds);
        if (hits.isEmpty()) throw WapiError.noSearchResult(params == null ? Map.of() : (Map<?, ?>) params, objectType);
        if (hits.size() > 1) {
            throw WapiError.proto("More than one " + objectType + " matches " + Json.write(params));
        }
        Object p = m.get("_parameters");
        Map<String, Object> parameters = p instanceof Map ? (Map<String, Object>) p : Map.of();
        return new ObjectFunction(function, hits.getFirst(), parameters);
    }
}
