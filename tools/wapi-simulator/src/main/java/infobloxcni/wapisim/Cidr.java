package infobloxcni.wapisim;

/**
 * An IPv4 block {@code a.b.c.d/p}. Addresses are held as unsigned values in a {@code long}.
 * Two CIDR blocks are either disjoint or one contains the other, which is what makes the
 * overlap rules of the grid simple.
 */
record Cidr(long base, int prefix) {

    Cidr {
        if (prefix < 0 || prefix > 32) throw new IllegalArgumentException("prefix " + prefix);
    }

    /** Number of addresses in the block. */
    long size() {
        return 1L << (32 - prefix);
    }

    long first() {
        return base;
    }

    long last() {
        return base + size() - 1;
    }

    boolean contains(long ip) {
        return ip >= base && ip <= last();
    }

    /** True when {@code other} lies inside this block (equal counts). */
    boolean contains(Cidr other) {
        return other.base >= base && other.last() <= last();
    }

    boolean overlaps(Cidr other) {
        return other.base <= last() && base <= other.last();
    }

    @Override
    public String toString() {
        return Ipv4.format(base) + "/" + prefix;
    }

    /** Parses {@code a.b.c.d/p}; the host bits must be zero. */
    static Cidr parseStrict(String s) {
        Cidr loose = parseLoose(s);
        if ((loose.base & (loose.size() - 1)) != 0) {
            throw new IllegalArgumentException("host bits set in " + s);
        }
        return loose;
    }

    /** Parses {@code a.b.c.d/p} without checking host bits (the base is kept as given). */
    static Cidr parseLoose(String s) {
        if (s == null) throw new IllegalArgumentException("null network");
        int slash = s.indexOf('/');
        if (slash < 0) throw new IllegalArgumentException("missing prefix length in " + s);
        long ip = Ipv4.parse(s.substring(0, slash));
        String p = s.substring(slash + 1);
        if (p.isEmpty() || p.length() > 2 || !p.chars().allMatch(Character::isDigit)) {
            throw new IllegalArgumentException("bad prefix length in " + s);
        }
        int prefix = Integer.parseInt(p);
        if (prefix > 32) throw new IllegalArgumentException("bad prefix length in " + s);
        return new Cidr(ip, prefix);
    }

    /** The block of the given prefix length that holds {@code ip}. */
    static Cidr containing(long ip, int prefix) {
        long size = 1L << (32 - prefix);
        return new Cidr(ip & ~(size - 1) & 0xFFFFFFFFL, prefix);
    }
}
