package infobloxcni.wapi;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The {@code network} and {@code networkcontainer} objects (one shape, two types): found by CIDR
 * or EA within a view, created, carved out of a container, and given back when a race for one
 * was lost.
 */
final class Networks {
    private static final String NETWORK = "network";
    private static final String CONTAINER = "networkcontainer";

    private final WapiObjects objects;
    private final FixedAddresses fixedAddresses;

    Networks(WapiObjects objects, FixedAddresses fixedAddresses) {
        this.objects = objects;
        this.fixedAddresses = fixedAddresses;
    }

    Optional<Network> get(String view, String cidr) {
        return first(NETWORK, view, "network", cidr);
    }

    List<Network> findByEa(String view, String eaName, String value) {
        return search(NETWORK, view, "*" + eaName, value);
    }

    Network create(String view, String cidr, Map<String, String> extattrs) {
        return create(NETWORK, view, cidr, extattrs);
    }

    /** The lowest free {@code /prefixLength} of a container, in one call ({@code func:nextavailablenetwork}). */
    Network createNextAvailable(String view, String containerCidr, int prefixLength, Map<String, String> extattrs) {
        String function = "func:nextavailablenetwork:" + containerCidr + "," + view + "," + prefixLength;
        return create(NETWORK, view, function, extattrs);
    }

    Optional<Network> getContainer(String view, String cidr) {
        return first(CONTAINER, view, "network", cidr);
    }

    Network createContainer(String view, String cidr, Map<String, String> extattrs) {
        return create(CONTAINER, view, cidr, extattrs);
    }

    /** Deletes the network if it still carries the EA and holds no fixed address; whether it did. */
    boolean deleteEmptyIf(String view, String cidr, String eaName, String eaValue) {
        Optional<Network> now = get(view, cidr);
        if (now.isEmpty() || !eaValue.equals(now.get().extattrs().get(eaName))) return false;
        if (!fixedAddresses.find(view, Map.of("network", cidr), Map.of()).isEmpty()) return false;
        try {
            // once, never repeated blind: a DELETE that arrived frees the key for someone else
            objects.writeOnce("DELETE", now.get().ref(), null, null).answerOrThrow();
            return true;
        } catch (WapiException.NotFound gone) {
            return false;
        }
    }

    private Optional<Network> first(String type, String view, String field, String value) {
        return search(type, view, field, value).stream().findFirst();
    }

    /** A null view searches every view. */
    private List<Network> search(String type, String view, String field, String value) {
        Map<String, String> query = new LinkedHashMap<>();
        if (view != null) query.put("network_view", view);
        query.put(field, value);
        return objects.search(type, query, WapiJson.NETWORK_FIELDS).stream()
                .map(WapiJson::toNetwork)
                .toList();
    }

    private Network create(String type, String view, String network, Map<String, String> extattrs) {
        return WapiJson.toNetwork(
                objects.create(type, WapiJson.networkBody(view, network, extattrs), WapiJson.NETWORK_FIELDS));
    }
}
