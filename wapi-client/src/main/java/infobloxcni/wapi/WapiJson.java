package infobloxcni.wapi;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.util.Collection;
import java.util.Map;

/**
 * The client's one JSON mapping: the bounded parser every answer goes through, the fields each
 * object is read with, and the objects in their WAPI shape both ways (records from answers,
 * request bodies from what a caller asks for).
 */
final class WapiJson {
    /** A WAPI answer is a list of objects with EAs: a few levels deep. */
    static final int MAX_NESTING = 64;

    static final String FIXED_ADDRESS_FIELDS = "ipv4addr,mac,name,comment,network,network_view,match_client,extattrs";
    static final String NETWORK_FIELDS = "network,network_view,extattrs";
    static final String VIEW_FIELDS = "name,extattrs";
    static final String RANGE_FIELDS =
            "start_addr,end_addr,network,network_view,server_association_type,comment,extattrs";

    /** Parses answers within the most the client reads ({@link WapiConfig#maxAnswerBytes}). */
    private final ObjectMapper parser;

    /**
     * Bounds what one answer may cost besides its size: nesting, tokens (parsing costs memory per
     * token far more than per byte: {@code [0,0,...]} is a node per two bytes) and string length.
     */
    WapiJson(int maxAnswerBytes) {
        this.parser = new ObjectMapper(JsonFactory.builder()
                .streamReadConstraints(StreamReadConstraints.builder()
                        .maxDocumentLength(maxAnswerBytes)
                        .maxNestingDepth(MAX_NESTING)
                        .maxTokenCount(maxAnswerBytes / 8)
                        .maxStringLength(maxAnswerBytes)
                        .build())
                .build());
    }

    /** An answer's body, within the bounds. */
    JsonNode read(byte[] answer) throws IOException {
        return parser.readTree(answer);
    }

    /** A refusal's body (already read within the size bound), within the other bounds. */
    JsonNode read(String answer) throws IOException {
        return parser.readTree(answer);
    }

    // ---------------------------------------------------------------- answers to records

    static NetworkView toView(JsonNode node) {
        return new NetworkView(text(node, "_ref"), text(node, "name"), Extattrs.fromJson(node.get("extattrs")));
    }

    /** A {@code network} or a {@code networkcontainer}: the same fields. */
    static Network toNetwork(JsonNode node) {
        return new Network(
                text(node, "_ref"),
                text(node, "network"),
                text(node, "network_view"),
                Extattrs.fromJson(node.get("extattrs")));
    }

    static FixedAddress toFixedAddress(JsonNode node) {
        return new FixedAddress(
                text(node, "_ref"),
                text(node, "ipv4addr"),
                text(node, "mac"),
                text(node, "name"),
                text(node, "comment"),
                text(node, "network"),
                text(node, "network_view"),
                text(node, "match_client"),
                Extattrs.fromJson(node.get("extattrs")));
    }

    static AddressRange toRange(JsonNode node) {
        return new AddressRange(
                text(node, "_ref"),
                text(node, "start_addr"),
                text(node, "end_addr"),
                text(node, "network"),
                text(node, "network_view"),
                text(node, "server_association_type"),
                text(node, "comment"),
                Extattrs.fromJson(node.get("extattrs")));
    }

    private static String text(JsonNode node, String field) {
        JsonNode value = node.get(field);
        return value == null || value.isNull() ? null : value.asText();
    }

    // ---------------------------------------------------------------- request bodies

    static ObjectNode viewBody(String name, Map<String, String> extattrs) {
        return withExtattrs(object().put("name", name), "extattrs", extattrs);
    }

    /** {@code network} is a CIDR or a {@code func:nextavailablenetwork:...}; the same for a container. */
    static ObjectNode networkBody(String view, String network, Map<String, String> extattrs) {
        return withExtattrs(object().put("network", network).put("network_view", view), "extattrs", extattrs);
    }

    /**
     * A new reservation; {@code ipv4addr} is an address or a {@code func:nextavailableip:...}; no
     * MAC is WAPI's zero MAC.
     */
    static ObjectNode reservationBody(String view, String ipv4addr, FixedAddressSpec spec) {
        return reservationBody(view, JsonNodeFactory.instance.textNode(ipv4addr), spec);
    }

    /** A new reservation whose {@code ipv4addr} is any value a grid takes there (see {@link AddressSource}). */
    static ObjectNode reservationBody(String view, JsonNode ipv4addr, FixedAddressSpec spec) {
        ObjectNode body = object();
        body.set("ipv4addr", ipv4addr);
        body.put("network_view", view);
        body.put("mac", spec.mac() == null ? FixedAddressSpec.NO_MAC : spec.mac());
        return withSpec(body, spec, "extattrs");
    }

    /** A reserved range (no DHCP server association) in a network. */
    static ObjectNode rangeBody(
            String view, String cidr, String start, String end, String comment, Map<String, String> extattrs) {
        ObjectNode body = object().put("start_addr", start)
                .put("end_addr", end)
                .put("network", cidr)
                .put("network_view", view)
                .put("comment", comment);
        return withExtattrs(body, "extattrs", extattrs);
    }

    /**
     * Changes to a reservation: the EAs given are merged ({@code extattrs+}), those named removed
     * ({@code extattrs-}).
     */
    static ObjectNode changesBody(FixedAddressSpec changes, Collection<String> removeEas) {
        ObjectNode body = object();
        putIfPresent(body, "mac", changes.mac());
        withSpec(body, changes, "extattrs+");
        if (!removeEas.isEmpty()) {
            ObjectNode remove = body.putObject("extattrs-");
            removeEas.forEach(remove::putObject);
        }
        return body;
    }

    /**
     * The fixed address a claim describes, as search fields (the multiple-request object's GET):
     * at this address in this view, with exactly the claim's comment, in its network if it names
     * one, and with its EAs.
     */
    static ObjectNode claimSearch(String view, String ipv4addr, ReservationClaim claim) {
        ObjectNode search =
                object().put("ipv4addr", ipv4addr).put("network_view", view).put("comment", claim.comment());
        putIfPresent(search, "network", claim.network());
        claim.extattrs().forEach((name, value) -> search.put("*" + name, value));
        return search;
    }

    /** The fields a new reservation and its changes take when given (not the MAC: a new reservation always has one). */
    private static ObjectNode withSpec(ObjectNode body, FixedAddressSpec spec, String extattrsField) {
        putIfPresent(body, "name", spec.name());
        putIfPresent(body, "comment", spec.comment());
        putIfPresent(body, "match_client", spec.matchClient());
        return withExtattrs(body, extattrsField, spec.extattrs());
    }

    private static ObjectNode withExtattrs(ObjectNode body, String field, Map<String, String> extattrs) {
        if (!extattrs.isEmpty()) body.set(field, Extattrs.toJson(extattrs));
        return body;
    }

    private static void putIfPresent(ObjectNode node, String field, String value) {
        if (value != null) node.put(field, value);
    }

    private static ObjectNode object() {
        return JsonNodeFactory.instance.objectNode();
    }
}
