package infobloxcni.wapi;

import java.util.Map;

public record NetworkView(String ref, String name, Map<String, String> extattrs) {}
