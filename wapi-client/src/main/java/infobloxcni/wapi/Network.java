package infobloxcni.wapi;

import java.util.Map;

/** A WAPI {@code network} (or {@code networkcontainer}: same shape). */
public record Network(String ref, String cidr, String networkView, Map<String, String> extattrs) {}
