package infobloxcni.daemon.cni;

/** An IPv4 network in CIDR form, with the few calculations IPAM needs. */
public record Ipv4Subnet(int base, int prefixLength) {

    public Ipv4Subnet {
        if (prefixLength < 0 || prefixLength > 32)
            throw new IllegalArgumentException("prefix length out of range: " + prefixLength);
        if ((base & ~mask(prefixLength)) != 0)
            throw new IllegalArgumentException("host bits set in " + format(base) + "/" + prefixLength);
    }

    /** Parses {@code 10.0.0.0/24}; throws IllegalArgumentException with the reason. */
    public static Ipv4Subnet parse(String cidr) {
        int slash = cidr == null ? -1 : cidr.indexOf('/');
        if (slash < 0) throw new IllegalArgumentException("'" + cidr + "' is not an IPv4 CIDR like 10.0.0.0/24");
        int prefix;
        try {
            prefix = Integer.parseInt(cidr.substring(slash + 1));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("'" + cidr + "' has no valid prefix length");
        }
        return new Ipv4Subnet(parseAddress(cidr.substring(0, slash)), prefix);
    }

    public static int parseAddress(String text) {
        String[] parts = text == null ? new String[0] : text.split("\\.", -1);
        if (parts.length != 4) throw new IllegalArgumentException("'" + text + "' is not an IPv4 address");
        int value = 0;
        for (String part : parts) {
            if (part.isEmpty()
                    || part.length() > 3
                    || !part.chars().allMatch(c -> c >= '0' && c <= '9')) { // ASCII digits only
                throw new IllegalArgumentException("'" + text + "' is not an IPv4 address");
            }
            int octet = Integer.parseInt(part);
            if (octet > 255) throw new IllegalArgumentException("'" + text + "' is not an IPv4 address");
            value = (value << 8) | octet;
        }
        return value;
    }

    public static String format(int address) {
        return ((address >>> 24) & 255) + "." + ((address >>> 16) & 255) + "." + ((address >>> 8) & 255) + "."
                + (address & 255);
    }

    public static int mask(int prefixLength) {
        return prefixLength == 0 ? 0 : -1 << (32 - prefixLength);
    }

    public boolean contains(int address) {
        return (address & mask(prefixLength)) == base;
    }

    public int broadcast() {
        return base | ~mask(prefixLength);
    }

    /** True for an address a container could use: inside, and neither network nor broadcast address. */
    public boolean isUsableHost(int address) {
        return contains(address) && (prefixLength >= 31 || (address != base && address != broadcast()));
    }

    /**
     * The gateway a netconf's {@code ipam.gateway} names in this subnet: absent, the first host;
     * {@code 0.0.0.1}-style (host bits only), that host of the subnet; else the address as written.
     * Not checked: see {@link #isUsableHost}.
     */
    public int gatewayOf(String written) {
        if (written == null) return base + 1;
        int address = parseAddress(written);
        return (address & mask(prefixLength)) == 0 ? base | address : address;
    }

    /**
     * Why the gateway {@code written} names ({@link #gatewayOf}) is no usable host of this subnet,
     * or null; the message shows what was written, and what it means only where that differs.
     */
    public String gatewayProblem(String written) {
        int gateway = gatewayOf(written);
        if (isUsableHost(gateway)) return null;
        String resolved = format(gateway);
        String shown = written == null
                ? resolved
                : written.equals(resolved) ? LogText.value(written) : LogText.value(written) + " -> " + resolved;
        return "field 'ipam.gateway': " + shown + " is not a usable host address of " + this;
    }

    @Override
    public String toString() {
        return format(base) + "/" + prefixLength;
    }
}
