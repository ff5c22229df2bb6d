package infobloxcni.wapi;

import java.util.Map;

public record FixedAddress(
        String ref,
        String ipv4addr,
        String mac,
        String name,
        String comment,
        String network,
        String networkView,
        String matchClient,
        Map<String, String> extattrs) {

    public String ea(String name) {
        return extattrs.get(name);
    }
}
