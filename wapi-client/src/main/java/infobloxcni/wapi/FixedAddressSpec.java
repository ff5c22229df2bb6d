package infobloxcni.wapi;

import java.util.Map;

/** What to write on a new or updated fixed address. Null fields are left out of the request. */
public record FixedAddressSpec(
        String mac, String name, String comment, String matchClient, Map<String, String> extattrs) {
    public static final String NO_MAC = "00:00:00:00:00:00";

    public FixedAddressSpec {
        extattrs = extattrs == null ? Map.of() : Map.copyOf(extattrs);
    }
}
