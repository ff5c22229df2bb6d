package infobloxcni.daemon.cni;

import com.fasterxml.jackson.databind.JsonNode;
import infobloxcni.wire.CniError;
import java.util.ArrayList;
import java.util.List;

/**
 * The address a runtime asked for, by any of the three conventions a runtime uses, as host-local
 * and static read them: {@code CNI_ARGS} {@code IP=10.1.2.77} (several comma-separated), the
 * netconf's {@code args.cni.ips}, and the {@code ips} capability ({@code runtimeConfig.ips}).
 * Each entry is an address, or an address with the subnet's prefix length ({@code 10.1.2.77/24},
 * as Podman and Multus pass it). The three are merged; the same address asked for twice is one
 * request, two different IPv4 addresses are refused: an attachment holds one IPv4 address.
 *
 * @param address      the address, as an int (see {@link Ipv4Subnet})
 * @param prefixLength the prefix length written with it, or -1 when none was
 * @param field        where it was asked for, as an error names it
 */
public record RequestedAddress(int address, int prefixLength, String field) {

    /** The netconf field of the {@code ips} capability. */
    public static final String RUNTIME_CONFIG = "runtimeConfig.ips";
    /** The netconf field a runtime's args put addresses in. */
    public static final String ARGS = "args.cni.ips";
    /** The CNI_ARGS key host-local and static read. */
    public static final String CNI_ARGS = "CNI_ARGS IP";

    /** Most addresses one source may list (an attachment takes one; the rest are refused by name). */
    static final int MAX_ENTRIES = 16;

    public String text() {
        return Ipv4Subnet.format(address);
    }

    /**
     * The entries of {@code runtimeConfig.ips} and {@code args.cni.ips} in a netconf, in that
     * order of reading (CNI_ARGS, read later, comes first in {@link #choose}).
     */
    static List<RequestedAddress> fromNetConf(JsonNode root) throws CniError {
        List<RequestedAddress> out = new ArrayList<>();
        addAll(out, root.path("args").path("cni").get("ips"), ARGS);
        addAll(out, root.path("runtimeConfig").get("ips"), RUNTIME_CONFIG);
        return List.copyOf(out);
    }

    private static void addAll(List<RequestedAddress> out, JsonNode ips, String field) throws CniError {
        if (ips == null || ips.isNull()) return;
        if (!ips.isArray())
            throw new CniError(
                    CniError.INVALID_NETCONF,
                    "field '" + field + "' must be an array of addresses, got " + LogText.value(ips.toString()));
        if (ips.size() > MAX_ENTRIES)
            throw new CniError(
                    CniError.INVALID_NETCONF, "field '" + field + "' lists more than " + MAX_ENTRIES + " addresses");
        for (JsonNode ip : ips) {
            if (!ip.isTextual())
                throw new CniError(
                        CniError.INVALID_NETCONF,
                        "field '" + field + "' must hold addresses as strings, got " + LogText.value(ip.toString()));
            out.add(parse(ip.asText(), field));
        }
    }

    /** One entry: {@code a.b.c.d} or {@code a.b.c.d/len}; IPv6 is refused until the IPv6 issue. */
    static RequestedAddress parse(String text, String field) throws CniError {
        String entry = text.trim();
        if (entry.contains(":"))
            throw new CniError(
                    CniError.INVALID_NETCONF,
                    "field '" + field + "': IPv6 (" + LogText.value(entry) + ") is not supported yet");
        int slash = entry.indexOf('/');
        try {
            int address = Ipv4Subnet.parseAddress(slash < 0 ? entry : entry.substring(0, slash));
            int prefix = -1;
            if (slash >= 0) {
                String p = entry.substring(slash + 1);
                if (!p.matches("\\d{1,2}") || Integer.parseInt(p) > 32)
                    throw new IllegalArgumentException("bad prefix length " + LogText.value(p));
                prefix = Integer.parseInt(p);
            }
            return new RequestedAddress(address, prefix, field);
        } catch (IllegalArgumentException e) {
            throw new CniError(
                    CniError.INVALID_NETCONF,
                    "field '" + field + "': " + LogText.value(entry) + " is not an IPv4 address: " + e.getMessage());
        }
    }

    /** The entries of CNI_ARGS {@code IP} (comma-separated), or none. */
    static List<RequestedAddress> fromCniArgs(String value) throws CniError {
        if (value == null || value.isBlank()) return List.of();
        String[] parts = value.split(",", MAX_ENTRIES + 1);
        if (parts.length > MAX_ENTRIES)
            throw new CniError(CniError.INVALID_ENV, CNI_ARGS + " lists more than " + MAX_ENTRIES + " addresses");
        List<RequestedAddress> out = new ArrayList<>();
        for (String p : parts) {
            if (p.isBlank()) continue;
            try {
                out.add(parse(p, CNI_ARGS));
            } catch (CniError e) {
                throw new CniError(CniError.INVALID_ENV, e.getMessage());
            }
        }
        return out;
    }

    /**
     * The one address asked for, or null: CNI_ARGS first, then {@code args.cni.ips}, then
     * {@code runtimeConfig.ips} (host-local's order); the same address named twice is one. Two
     * different addresses are refused (7), naming both and where each was asked for.
     */
    static RequestedAddress choose(List<RequestedAddress> cniArgs, List<RequestedAddress> netConf) throws CniError {
        RequestedAddress chosen = null;
        List<RequestedAddress> all = new ArrayList<>(cniArgs);
        all.addAll(netConf);
        for (RequestedAddress r : all) {
            if (chosen == null) chosen = r;
            else if (chosen.address != r.address)
                throw new CniError(
                        CniError.INVALID_NETCONF,
                        "field '" + r.field + "': asks for " + r.text() + ", but " + chosen.text()
                                + " is asked for in '" + chosen.field + "'; an attachment holds one IPv4 address");
        }
        return chosen;
    }

    /** Why the network's range or excludes keep this address out of the driver's hands, or null. */
    public String problemIn(AllocationScope scope) {
        if (scope.allows(address)) return null;
        String what = "field '" + field + "': " + text();
        if (scope.range() != null && !scope.range().contains(address))
            return what + " is outside the network's range " + scope.range() + " (ipam.range-start, ipam.range-end)";
        return what + " is excluded by ipam.exclude";
    }

    /**
     * Why this address cannot be a container's in {@code subnet} with the gateway {@code gateway},
     * or null: outside the subnet, its network or broadcast address, the gateway, or written with
     * another prefix length than the subnet's. Checked before anything is written to the grid.
     */
    public String problemIn(Ipv4Subnet subnet, int gateway) {
        String what = "field '" + field + "': " + text();
        if (!subnet.contains(address)) return what + " is not in the subnet " + subnet;
        if (prefixLength >= 0 && prefixLength != subnet.prefixLength())
            return what + "/" + prefixLength + " does not match the subnet " + subnet;
        if (address == subnet.base() && subnet.prefixLength() <= 30)
            return what + " is the network address of " + subnet;
        if (address == subnet.broadcast() && subnet.prefixLength() <= 30)
            return what + " is the broadcast address of " + subnet;
        if (address == gateway) return what + " is the gateway of " + subnet;
        return null;
    }
}
