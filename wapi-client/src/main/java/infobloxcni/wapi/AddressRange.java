package infobloxcni.wapi;

import java.util.Map;

/**
 * A grid {@code range} object: addresses {@code startAddr} to {@code endAddr} of a network. A
 * {@code serverAssociationType} of {@code NONE} is a reserved range; any other names the DHCP
 * server that serves it (a DHCP range).
 */
public record AddressRange(
        String ref,
        String startAddr,
        String endAddr,
        String network,
        String networkView,
        String serverAssociationType,
        String comment,
        Map<String, String> extattrs) {}
