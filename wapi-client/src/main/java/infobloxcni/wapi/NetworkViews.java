package infobloxcni.wapi;

import java.util.Map;
import java.util.Optional;

/** The {@code networkview} object: found by name, created with EAs. */
final class NetworkViews {
    private final WapiObjects objects;

    NetworkViews(WapiObjects objects) {
        this.objects = objects;
    }

    Optional<NetworkView> get(String name) {
        return objects.search("networkview", Map.of("name", name), WapiJson.VIEW_FIELDS).stream()
                .findFirst()
                .map(WapiJson::toView);
    }

    NetworkView create(String name, Map<String, String> extattrs) {
        return WapiJson.toView(objects.create("networkview", WapiJson.viewBody(name, extattrs), WapiJson.VIEW_FIELDS));
    }
}
