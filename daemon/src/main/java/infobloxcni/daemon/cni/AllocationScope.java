package infobloxcni.daemon.cni;

import com.fasterxml.jackson.databind.JsonNode;
import infobloxcni.wire.CniError;
import java.util.ArrayList;
import java.util.List;

/**
 * Where in its subnet a network's addresses may come from: a range ({@code ipam.range-start} and
 * {@code ipam.range-end}, or host-local's {@code rangeStart} and {@code rangeEnd}), minus the
 * addresses and CIDRs {@code ipam.exclude} keeps out of the driver's hands. The whole subnet when
 * neither is given. The ADD's address, the pool's refills and the pool entries it hands out all
 * stay inside it.
 *
 * @param range   null: the whole subnet
 * @param exclude never handed out (each a CIDR; an address is a /32)
 */
public record AllocationScope(Range range, List<Ipv4Subnet> exclude) {

    /** The whole subnet, nothing excluded. */
    public static final AllocationScope WHOLE = new AllocationScope(null, List.of());

    /**
     * Most addresses {@code ipam.exclude} may name together: each goes into the POST that reserves
     * an address (WAPI takes single addresses there, never CIDRs), so a /22 is as far as it goes.
     */
    public static final int MAX_EXCLUDED = 1024;

    /** Addresses {@code start} to {@code end} (unsigned order), both included. */
    public record Range(int start, int end) {
        public boolean contains(int address) {
            return Integer.compareUnsigned(start, address) <= 0 && Integer.compareUnsigned(address, end) <= 0;
        }

        public String startText() {
            return Ipv4Subnet.format(start);
        }

        public String endText() {
            return Ipv4Subnet.format(end);
        }

        @Override
        public String toString() {
            return startText() + "-" + endText();
        }
    }

    public AllocationScope {
        exclude = List.copyOf(exclude);
    }

    public boolean isWhole() {
        return range == null && exclude.isEmpty();
    }

    /** Whether an address may be handed out: inside the range (if any) and not excluded. */
    public boolean allows(int address) {
        if (range != null && !range.contains(address)) return false;
        for (Ipv4Subnet x : exclude) if (x.contains(address)) return false;
        return true;
    }

    public boolean allows(String address) {
        return allows(Ipv4Subnet.parseAddress(address));
    }

    /** The excluded addresses inside {@code subnet} (and the range), lowest first: what the grid is told. */
    public List<String> excludedIn(Ipv4Subnet subnet) {
        List<String> out = new ArrayList<>();
        for (Ipv4Subnet x : exclude) {
            if (!x.contains(subnet.base()) && !subnet.contains(x.base())) continue; // disjoint
            Ipv4Subnet inner = x.prefixLength() >= subnet.prefixLength() ? x : subnet;
            long first = Integer.toUnsignedLong(inner.base());
            long last = Integer.toUnsignedLong(inner.broadcast());
            for (long a = first; a <= last; a++) {
                int address = (int) a;
                if (range == null || range.contains(address)) out.add(Ipv4Subnet.format(address));
            }
        }
        return out.stream()
                .distinct()
                .sorted((a, b) -> Long.compare(
                        Integer.toUnsignedLong(Ipv4Subnet.parseAddress(a)),
                        Integer.toUnsignedLong(Ipv4Subnet.parseAddress(b))))
                .toList();
    }

    /**
     * Why this scope cannot be used in {@code subnet} (with its gateway), or null: a range must lie
     * inside the subnet, on host addresses. Checked before anything is allocated (for a carved
     * network, once its subnet is known).
     */
    public String problemIn(Ipv4Subnet subnet) {
        if (range == null) return null;
        for (int end : new int[] {range.start, range.end}) {
            String field = end == range.start ? "ipam.range-start" : "ipam.range-end";
            if (!subnet.isUsableHost(end))
                return "field '" + field + "': " + Ipv4Subnet.format(end) + " is not a usable host address of "
                        + subnet;
        }
        return null;
    }

    /** The scope a netconf's {@code ipam} section gives, checked on its own (the subnet may not be known yet). */
    static AllocationScope parse(JsonNode ipam) throws CniError {
        String start = address(ipam, "range-start", "rangeStart");
        String end = address(ipam, "range-end", "rangeEnd");
        if ((start == null) != (end == null))
            throw new CniError(
                    CniError.INVALID_NETCONF,
                    "field '" + (start == null ? "ipam.range-start" : "ipam.range-end")
                            + "' is missing: a range needs its start and its end");
        Range range = null;
        if (start != null) {
            range = new Range(Ipv4Subnet.parseAddress(start), Ipv4Subnet.parseAddress(end));
            if (Integer.compareUnsigned(range.start, range.end) > 0)
                throw new CniError(
                        CniError.INVALID_NETCONF,
                        "field 'ipam.range-end': " + end + " comes before ipam.range-start " + start);
        }
        return new AllocationScope(range, excludes(ipam.get("exclude")));
    }

    /** An address under its name or host-local's; both given and different is refused. */
    private static String address(JsonNode ipam, String name, String hostLocalName) throws CniError {
        String ours = text(ipam, name);
        String theirs = text(ipam, hostLocalName);
        if (ours != null && theirs != null && !ours.equals(theirs))
            throw new CniError(
                    CniError.INVALID_NETCONF,
                    "fields 'ipam." + name + "' and 'ipam." + hostLocalName + "' disagree: " + LogText.value(ours)
                            + " vs " + LogText.value(theirs));
        String value = ours != null ? ours : theirs;
        if (value == null) return null;
        String field = "ipam." + (ours != null ? name : hostLocalName);
        try {
            Ipv4Subnet.parseAddress(value);
        } catch (IllegalArgumentException e) {
            throw new CniError(CniError.INVALID_NETCONF, "field '" + field + "': " + e.getMessage());
        }
        return value;
    }

    private static String text(JsonNode node, String field) throws CniError {
        JsonNode v = node.get(field);
        if (v == null || v.isNull() || (v.isTextual() && v.asText().isBlank())) return null;
        if (!v.isTextual())
            throw new CniError(
                    CniError.INVALID_NETCONF,
                    "field 'ipam." + field + "' must be a string, got " + LogText.value(v.toString()));
        return v.asText().trim();
    }

    /** {@code ipam.exclude}: an array of addresses and CIDRs, or the same as one comma-separated string. */
    private static List<Ipv4Subnet> excludes(JsonNode node) throws CniError {
        if (node == null || node.isNull()) return List.of();
        List<String> entries = new ArrayList<>();
        if (node.isTextual()) entries.addAll(NetConf.splitList(node.asText()));
        else if (node.isArray()) {
            for (JsonNode e : node) {
                if (!e.isTextual())
                    throw new CniError(
                            CniError.INVALID_NETCONF,
                            "field 'ipam.exclude' must hold addresses and CIDRs as strings, got "
                                    + LogText.value(e.toString()));
                entries.add(e.asText().trim());
            }
        } else
            throw new CniError(
                    CniError.INVALID_NETCONF,
                    "field 'ipam.exclude' must be an array of addresses and CIDRs, got "
                            + LogText.value(node.toString()));
        List<Ipv4Subnet> out = new ArrayList<>();
        long total = 0;
        for (String e : entries) {
            Ipv4Subnet x;
            try {
                x = e.contains("/") ? Ipv4Subnet.parse(e) : new Ipv4Subnet(Ipv4Subnet.parseAddress(e), 32);
            } catch (IllegalArgumentException bad) {
                throw new CniError(CniError.INVALID_NETCONF, "field 'ipam.exclude': " + bad.getMessage());
            }
            total += 1L << (32 - x.prefixLength());
            if (total > MAX_EXCLUDED)
                throw new CniError(
                        CniError.INVALID_NETCONF,
                        "field 'ipam.exclude' names more than " + MAX_EXCLUDED
                                + " addresses (each is sent to the grid with every reservation); use"
                                + " ipam.range-start and ipam.range-end, or a range on the grid");
            out.add(x);
        }
        return out;
    }
}
