package infobloxcni.wapi;

import java.util.Map;
import java.util.Objects;

/**
 * What a fixed address must carry before a conditional write may touch it: exactly this
 * {@code comment} (null: none at all) and these EA values. A ref names a key (the IP and the
 * view), not an object: by the time a stored ref is used it may name someone else's
 * reservation. So no write is ever made by a remembered ref; the object at the key is read and
 * held against a claim first (see {@link WapiClient#deleteFixedAddressIf}).
 */
public record ReservationClaim(String comment, Map<String, String> extattrs, String network) {
    private static final String FIXED_ADDRESS_REF = "fixedaddress/";

    /**
     * @param network the CIDR the fixed address must be in, or null for any: a claim that names no
     *                host and network in its comment (the original driver's) must name its network,
     *                or a release on one network would take a container's address on another
     */
    public ReservationClaim {
        extattrs = Map.copyOf(extattrs);
    }

    /** A claim whose comment says whose it is, in any network. */
    public ReservationClaim(String comment, Map<String, String> extattrs) {
        this(comment, extattrs, null);
    }

    /** True when {@code r} is a fixed address with this comment, these EA values, and (when named) in this network. */
    public boolean matches(FixedAddress r) {
        if (r.ref() == null || !r.ref().startsWith(FIXED_ADDRESS_REF)) return false;
        String has = r.comment() == null || r.comment().isEmpty() ? null : r.comment();
        if (!Objects.equals(has, comment)) return false;
        if (network != null && !network.equals(r.network())) return false;
        for (Map.Entry<String, String> e : extattrs.entrySet()) {
            if (!e.getValue().equals(r.ea(e.getKey()))) return false;
        }
        return true;
    }
}
