package infobloxcni.wapi;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * The {@code range} object: found by its bounds within a view, or created as a reserved range
 * (no DHCP server association: the grid's default), which {@code func:nextavailableip:<start>-<end>}
 * needs to exist with exactly those bounds.
 */
final class Ranges {
    private static final String TYPE = "range";

    private final WapiObjects objects;

    Ranges(WapiObjects objects) {
        this.objects = objects;
    }

    Optional<AddressRange> find(String view, String start, String end) {
        Map<String, String> query = new LinkedHashMap<>();
        query.put("network_view", view);
        query.put("start_addr", start);
        query.put("end_addr", end);
        return objects.search(TYPE, query, WapiJson.RANGE_FIELDS).stream()
                .map(WapiJson::toRange)
                .findFirst();
    }

    AddressRange createReserved(
            String view, String cidr, String start, String end, String comment, Map<String, String> extattrs) {
        return WapiJson.toRange(objects.create(
                TYPE, WapiJson.rangeBody(view, cidr, start, end, comment, extattrs), WapiJson.RANGE_FIELDS));
    }
}
