package infobloxcni.daemon.cni;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import infobloxcni.wire.CniError;
import java.util.List;
import java.util.Map;

/**
 * host-local's {@code ipam.ranges} ({@code [[{"subnet", "rangeStart", "rangeEnd", "gateway"}]]}),
 * read as this driver's own fields, so a host-local netconf moves over by changing its type and
 * adding the grid's settings. One range set of one range is what one IPv4 address per container
 * can honour; more sets (one address each) or more ranges in a set (the first with room wins) are
 * refused naming the field rather than half followed. Errors about a lifted field name it where
 * the user wrote it ({@code ipam.ranges[0][0].subnet}), not under the field it became.
 */
final class HostLocalRanges {
    /** A range's field, and the ipam field it is read as. */
    private static final Map<String, String> LIFTED = Map.of(
            "subnet", "subnet",
            "rangeStart", "range-start",
            "rangeEnd", "range-end",
            "gateway", "gateway");

    private static final String AT = "ipam.ranges[0][0].";

    private HostLocalRanges() {}

    /** True when the netconf uses {@code ranges}: its parse errors then go through {@link #named}. */
    static boolean used(JsonNode ipam) {
        return ipam.hasNonNull("ranges");
    }

    /** {@code ipam} with its one range's fields lifted to where this driver reads them, {@code ranges} gone. */
    static ObjectNode lift(ObjectNode ipam) throws CniError {
        JsonNode sets = ipam.get("ranges");
        if (!sets.isArray() || sets.isEmpty())
            throw refused("field 'ipam.ranges' must be an array of range sets, each an array of ranges");
        if (sets.size() > 1)
            throw refused("field 'ipam.ranges' has " + sets.size() + " range sets: one is supported (one IPv4"
                    + " address per container; a set per address family comes with IPv6)");
        JsonNode set = sets.get(0);
        if (!set.isArray() || set.isEmpty()) throw refused("field 'ipam.ranges[0]' must be an array of ranges");
        if (set.size() > 1)
            throw refused("field 'ipam.ranges[0]' has " + set.size() + " ranges: one is supported (give the"
                    + " subnet with rangeStart and rangeEnd, and ipam.exclude for what it must not hand out)");
        JsonNode range = set.get(0);
        if (!range.isObject()) throw refused("field 'ipam.ranges[0][0]' must be an object");
        ObjectNode out = ipam.deepCopy();
        out.remove("ranges");
        for (var e : range.properties()) {
            String ours = LIFTED.get(e.getKey());
            if (ours == null)
                throw refused("field '" + AT + LogText.bare(e.getKey()) + "' is not known (a range has subnet,"
                        + " rangeStart, rangeEnd and gateway)");
            JsonNode already = ipam.get(ours);
            String hostLocalName =
                    ours.equals("range-start") ? "rangeStart" : ours.equals("range-end") ? "rangeEnd" : null;
            if (already == null && hostLocalName != null) already = ipam.get(hostLocalName);
            if (already != null && !already.equals(e.getValue()))
                throw refused("field '" + AT + e.getKey() + "' says "
                        + shown(e.getValue())
                        + " and 'ipam." + (ipam.has(ours) ? ours : hostLocalName) + "' says "
                        + shown(already) + ": give one");
            if (hostLocalName != null) out.remove(hostLocalName);
            out.set(ours, e.getValue());
        }
        if (!out.hasNonNull("subnet")) throw refused("field '" + AT + "subnet' is missing: a range needs its subnet");
        return out;
    }

    /** A parse error about a lifted field, naming it where the netconf has it. */
    static CniError named(CniError e, JsonNode range) {
        String message = e.getMessage();
        for (String field : List.of("subnet", "rangeStart", "rangeEnd", "gateway")) {
            if (!range.has(field)) continue;
            message = message.replace("'ipam." + LIFTED.get(field) + "'", "'" + AT + field + "'")
                    .replace(" ipam." + LIFTED.get(field) + " ", " " + AT + field + " ");
        }
        return message.equals(e.getMessage()) ? e : new CniError(e.code(), message);
    }

    private static String shown(JsonNode value) {
        return LogText.value(value.isTextual() ? value.asText() : value.toString());
    }

    private static CniError refused(String message) {
        return new CniError(CniError.INVALID_NETCONF, message);
    }
}
