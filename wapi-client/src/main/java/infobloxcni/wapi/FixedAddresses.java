package infobloxcni.wapi;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The {@code fixedaddress} object: reservations made, searched and read. Nothing here changes or
 * deletes one: that is {@link ConditionalWrites}', which proves first that the object is still
 * the claimant's.
 */
final class FixedAddresses {
    private static final String TYPE = "fixedaddress";

    private final WapiObjects objects;

    FixedAddresses(WapiObjects objects) {
        this.objects = objects;
    }

    /** The lowest free address of {@code from}, reserved in one round trip ({@code func:nextavailableip}). */
    FixedAddress reserveNextAvailable(String view, AddressSource from, FixedAddressSpec spec) {
        return WapiJson.toFixedAddress(objects.create(
                TYPE, WapiJson.reservationBody(view, from.ipv4addr(view), spec), WapiJson.FIXED_ADDRESS_FIELDS));
    }

    FixedAddress reserve(String view, String ipv4addr, FixedAddressSpec spec) {
        return WapiJson.toFixedAddress(
                objects.create(TYPE, WapiJson.reservationBody(view, ipv4addr, spec), WapiJson.FIXED_ADDRESS_FIELDS));
    }

    /**
     * {@code fields} match exactly (or by regular expression: {@code comment~}), {@code eas} match
     * EAs; a null view searches every view.
     */
    List<FixedAddress> find(String view, Map<String, String> fields, Map<String, String> eas) {
        Map<String, String> query = new LinkedHashMap<>();
        if (view != null) query.put("network_view", view);
        query.putAll(fields);
        eas.forEach((name, value) -> query.put("*" + name, value));
        return objects.search(TYPE, query, WapiJson.FIXED_ADDRESS_FIELDS).stream()
                .map(WapiJson::toFixedAddress)
                .toList();
    }

    List<FixedAddress> findByEa(String view, String eaName, String value) {
        return find(view, Map.of(), Map.of(eaName, value));
    }

    Optional<FixedAddress> findByIp(String view, String ipv4addr) {
        return find(view, Map.of("ipv4addr", ipv4addr), Map.of()).stream().findFirst();
    }

    /** What the ref names now (see {@link WapiObjects#read}). */
    Optional<FixedAddress> get(String ref) {
        return objects.read(ref, WapiJson.FIXED_ADDRESS_FIELDS).map(WapiJson::toFixedAddress);
    }
}
