package infobloxcni.daemon;

import infobloxcni.daemon.grid.ReservationTags;
import infobloxcni.wapisim.WapiSimulator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads the simulated grid's fixed addresses from the outside, as an auditor would, and says whose
 * each is: the <em>holder</em> of an address is the fixed address at that IP in the view; ours
 * for container C on network N, interface I, host H is {@code VM ID} = C with the comment exactly
 * {@code infoblox-cni host=H net=N if=I}; a free pool address carries
 * {@code infoblox-cni host=H net=N pool} and no {@code VM ID}.
 */
final class GridObjects {
    static final String VIEW = "default";
    private static final Pattern OWNER = Pattern.compile("^infoblox-cni host=(\\S+) net=(\\S+) (?:if=(\\S+)|(pool))$");

    /** What a comment of this driver names: a host, a network, and an interface or the pool. */
    record Owner(String host, String network, String ifName, boolean pool) {}

    private final WapiSimulator grid;

    GridObjects(WapiSimulator grid) {
        this.grid = grid;
    }

    List<Map<String, Object>> all() {
        return grid.objects("fixedaddress");
    }

    /** The holders of the view, by address. */
    Map<String, Map<String, Object>> byAddress() {
        Map<String, Map<String, Object>> out = new HashMap<>();
        for (Map<String, Object> f : all()) if (VIEW.equals(f.get("network_view"))) out.put(address(f), f);
        return out;
    }

    /** The holder of an address, or null. */
    Map<String, Object> at(String address) {
        return byAddress().get(address);
    }

    Map<String, Object> byRef(String ref) {
        return grid.object(ref);
    }

    /** An address of the /24 (.2 to .254) that nothing holds, or null when the subnet is full. */
    String freeAddress(String cidr, Random rnd) {
        Set<String> held = byAddress().keySet();
        String prefix = RuntimeModel.Network.prefixOf(cidr);
        int start = 2 + rnd.nextInt(253);
        for (int i = 0; i < 253; i++) {
            String candidate = prefix + (2 + (start - 2 + i) % 253);
            if (!held.contains(candidate)) return candidate;
        }
        return null;
    }

    // ------------------------------------------------------------------- whose it is

    static String address(Map<String, Object> f) {
        return String.valueOf(f.get("ipv4addr"));
    }

    static String comment(Map<String, Object> f) {
        Object c = f.get("comment");
        return c == null ? null : c.toString();
    }

    static String vmId(Map<String, Object> f) {
        return TestHost.ea(f, ReservationTags.VM_ID);
    }

    /** The subnet the grid placed the address in. */
    static String network(Map<String, Object> f) {
        return String.valueOf(f.get("network"));
    }

    /** What this driver's comment on the object names, or null when it carries none. */
    static Owner owner(Map<String, Object> f) {
        String c = comment(f);
        if (c == null) return null;
        Matcher m = OWNER.matcher(c);
        return m.matches() ? new Owner(m.group(1), m.group(2), m.group(3), m.group(4) != null) : null;
    }

    /** Ours for the attachment, under any of the host IDs this machine has had. */
    static boolean oursFor(
            Map<String, Object> f, List<String> hostIds, String network, String containerId, String ifName) {
        if (f == null || !containerId.equals(vmId(f))) return false;
        Owner o = owner(f);
        return o != null
                && !o.pool()
                && hostIds.contains(o.host())
                && o.network().equals(network)
                && o.ifName().equals(ifName);
    }

    /** The original driver's reservation of the container: no comment, and its EAs as it wrote them. */
    static boolean originalDriversFor(Map<String, Object> f, String containerId) {
        if (f == null || comment(f) != null) return false;
        Map<String, Object> eas = TestHost.originalDriversEas(containerId);
        for (var ea : eas.entrySet()) {
            Object want = ((Map<?, ?>) ea.getValue()).get("value");
            if (!String.valueOf(want).equals(TestHost.ea(f, ea.getKey()))) return false;
        }
        return true;
    }

    /** One of this machine's free pool entries (any of its host IDs) of the network. */
    static boolean poolEntryOf(Map<String, Object> f, List<String> hostIds, String network) {
        Owner o = f == null ? null : owner(f);
        return o != null
                && o.pool()
                && hostIds.contains(o.host())
                && o.network().equals(network)
                && vmId(f) == null;
    }

    /** A line that names the object: address, VM ID, comment, ref. */
    static String describe(Map<String, Object> f) {
        if (f == null) return "nothing";
        return address(f) + " (VM ID " + vmId(f) + ", comment "
                + (comment(f) == null ? "none" : "\"" + comment(f) + "\"") + ", network " + network(f) + ", ref "
                + f.get("_ref") + ")";
    }

    /** What kind of holder it is, for telling two wrong states apart. */
    static String signature(Map<String, Object> f) {
        return f == null ? "nothing" : vmId(f) + "|" + comment(f);
    }
}
