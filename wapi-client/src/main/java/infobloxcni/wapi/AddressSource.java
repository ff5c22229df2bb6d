package infobloxcni.wapi;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;

/**
 * Where the grid's next available address is taken from: a network, or a range inside it, minus
 * addresses excluded by the caller. A grid takes the three in one field of the POST that creates
 * the reservation, which makes picking and reserving one atomic step: the short form
 * {@code func:nextavailableip:<cidr>,<view>} for a network, {@code func:nextavailableip:<start>-<end>,<view>}
 * for a range (which must exist on the grid with exactly those bounds), and the long form
 * {@code _object_function} when addresses are excluded, the only form that takes {@code exclude}
 * (see docs/wapi-simulator.md, next available).
 *
 * @param cidr       the network's CIDR (always: an address is reserved in a network)
 * @param rangeStart the range's first address, or null: the whole network
 * @param rangeEnd   the range's last address (with {@code rangeStart})
 * @param exclude    addresses never to hand out (may be empty)
 */
public record AddressSource(String cidr, String rangeStart, String rangeEnd, List<String> exclude) {

    public AddressSource {
        if ((rangeStart == null) != (rangeEnd == null))
            throw new IllegalArgumentException("a range needs both its start and its end");
        exclude = List.copyOf(exclude);
    }

    /** The whole network, nothing excluded. */
    public static AddressSource network(String cidr) {
        return new AddressSource(cidr, null, null, List.of());
    }

    /** The {@code ipv4addr} value that has the grid pick from here, in {@code view}. */
    JsonNode ipv4addr(String view) {
        JsonNodeFactory f = JsonNodeFactory.instance;
        if (exclude.isEmpty()) {
            String where = rangeStart == null ? cidr : rangeStart + "-" + rangeEnd;
            return f.textNode("func:nextavailableip:" + where + "," + view);
        }
        ObjectNode params = f.objectNode();
        if (rangeStart == null) params.put("network", cidr);
        else params.put("start_addr", rangeStart).put("end_addr", rangeEnd);
        params.put("network_view", view);
        ObjectNode function = f.objectNode()
                .put("_object_function", "next_available_ip")
                .put("_object", rangeStart == null ? "network" : "range")
                .put("_result_field", "ips");
        function.set("_object_parameters", params);
        ObjectNode parameters = f.objectNode().put("num", 1);
        exclude.forEach(parameters.putArray("exclude")::add);
        function.set("_parameters", parameters);
        return function;
    }
}
