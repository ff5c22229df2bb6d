package infobloxcni.wapisim;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Comparator;
import java.util.Locale;

/**
 * How a grid forms {@code _ref}s: {@code <type>/<opaque>:<readable>}, where the opaque part is
 * base64 of the object's <em>key</em> (its internal type name, then the key fields), with no
 * counter or instance in it. So a ref names a key, not an object: delete a fixed address and
 * reserve the same IP in the same view again, and the new object answers to byte-for-byte the
 * old ref. Decoded refs of real grids, as asserted by Infoblox's own clients' tests, are cited in
 * docs/wapi-simulator.md ("Refs").
 *
 * <ul>
 *   <li>fixedaddress: {@code dns.fixed_address$<ip>.<view index>..}, readable {@code <ip>/<view name>}</li>
 *   <li>network: {@code dns.network$<cidr>/<view index>}, readable {@code <cidr>/<view name>}</li>
 *   <li>networkcontainer: {@code dns.network_container$<cidr>/<view index>}, readable {@code <cidr>/<view name>}</li>
 *   <li>networkview: {@code dns.network_view$<view index>}, readable {@code <name>/<is_default>}</li>
 *   <li>range: {@code dns.dhcp_range$<start>/<end>///<view index>/}, readable {@code <start>/<end>/<view name>}</li>
 *   <li>extensibleattributedef: {@code one.extensible_attributes_def$.<name>}, readable {@code <name>}</li>
 * </ul>
 */
final class GridRefs {
    private GridRefs() {}

    /**
     * Where an object stands in the order a grid lists search results in: by key (view, then
     * address, then prefix), not by age; the creation number only breaks ties (views, EA
     * definitions). A value, so a page cursor can keep it after the object is gone.
     */
    record SortKey(int view, long address, int prefix, long seq) implements Comparable<SortKey> {
        private static final Comparator<SortKey> ORDER = Comparator.comparingInt(SortKey::view)
                .thenComparingLong(SortKey::address)
                .thenComparingInt(SortKey::prefix)
                .thenComparingLong(SortKey::seq);

        @Override
        public int compareTo(SortKey o) {
            return ORDER.compare(this, o);
        }
    }

    static SortKey sortKey(GridObject o) {
        return new SortKey(o.viewIndex, address(o), prefix(o), o.seq);
    }

    private static long address(GridObject o) {
        return o.cidr != null ? o.cidr.base() : o.ip;
    }

    private static int prefix(GridObject o) {
        return o.cidr != null ? o.cidr.prefix() : 0;
    }

    /** The order a grid lists search results in: by key (view, then address), not by age; the same as {@link SortKey}'s. */
    static final Comparator<GridObject> KEY_ORDER = Comparator.comparingInt((GridObject o) -> o.viewIndex)
            .thenComparingLong(GridRefs::address)
            .thenComparingInt(GridRefs::prefix)
            .thenComparingLong(o -> o.seq);

    /** Whether {@code o} comes after {@code k} in key order (allocation-free: it runs once per object per page). */
    static boolean after(GridObject o, SortKey k) {
        int c = Integer.compare(o.viewIndex, k.view());
        if (c == 0) c = Long.compare(address(o), k.address());
        if (c == 0) c = Integer.compare(prefix(o), k.prefix());
        if (c == 0) c = Long.compare(o.seq, k.seq());
        return c > 0;
    }

    /** The opaque part: base64 (unpadded) of the internal key. */
    static String opaqueId(GridObject o) {
        String key = switch (o.type) {
            case ObjectSpecs.FIXED -> "dns.fixed_address$" + Ipv4.format(o.ip) + "." + o.viewIndex + "..";
            case ObjectSpecs.NETWORK -> "dns.network$" + o.cidr + "/" + o.viewIndex;
            case ObjectSpecs.CONTAINER -> "dns.network_container$" + o.cidr + "/" + o.viewIndex;
            case ObjectSpecs.NETWORKVIEW -> "dns.network_view$" + o.viewIndex;
            case ObjectSpecs.RANGE ->
                "dns.dhcp_range$" + Ipv4.format(o.ip) + "/" + Ipv4.format(o.end) + "///" + o.viewIndex + "/";
            case ObjectSpecs.EADEF -> "one.extensible_attributes_def$." + o.str("name");
            default -> throw new IllegalArgumentException("no key for " + o.type);
        };
        return Base64.getUrlEncoder().withoutPadding().encodeToString(key.getBytes(StandardCharsets.UTF_8));
    }

    /**
     * The canonical opaque part for an opaque part a client sent, or null when it is not a key of
     * that internal type (a grid answers those 400 "Invalid reference", not 404). Lenient like a
     * grid's decoder: padded or not, either base64 alphabet.
     */
    static String canonicalId(String opaque, String internalType) {
        byte[] raw;
        try {
            String unpadded = opaque.replace("=", "");
            raw = Base64.getUrlDecoder().decode(unpadded.replace('+', '-').replace('/', '_'));
        } catch (IllegalArgumentException e) {
            return null;
        }
        String key = new String(raw, StandardCharsets.UTF_8);
        if (!key.startsWith(internalType + "$")) return null;
        return Base64.getUrlEncoder().withoutPadding().encodeToString(raw);
    }

    static String ref(GridObject o) {
        String readable = switch (o.type) {
            case ObjectSpecs.FIXED -> o.str("ipv4addr") + "/" + o.view();
            case ObjectSpecs.NETWORK, ObjectSpecs.CONTAINER -> o.cidr + "/" + o.view();
            case ObjectSpecs.RANGE -> o.str("start_addr") + "/" + o.str("end_addr") + "/" + o.view();
            case ObjectSpecs.NETWORKVIEW ->
                o.str("name") + "/" + (Boolean.TRUE.equals(o.f.get("is_default")) ? "true" : "false");
            default -> o.str("name");
        };
        return o.type + "/" + o.id + ":" + encodeReadable(readable);
    }

    /** Percent-encodes what may not stand in a URL path (spaces, '?', '#', '%', non-ASCII). */
    static String encodeReadable(String s) {
        StringBuilder b = new StringBuilder();
        for (byte x : s.getBytes(StandardCharsets.UTF_8)) {
            int c = x & 0xFF;
            if ((c >= 'a' && c <= 'z')
                    || (c >= 'A' && c <= 'Z')
                    || (c >= '0' && c <= '9')
                    || "-._~/:@!$&'()*+,;=".indexOf(c) >= 0) {
                b.append((char) c);
            } else {
                b.append('%').append(String.format(Locale.ROOT, "%02X", c));
            }
        }
        return b.toString();
    }
}
