package infobloxcni.wapi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import org.junit.jupiter.api.Test;

/** The three forms a grid takes for "the next available address from here", as the POST carries them. */
class AddressSourceTest {
    @Test
    void aNetworkIsTheShortForm() {
        assertEquals(
                "\"func:nextavailableip:10.1.0.0/24,cni\"",
                AddressSource.network("10.1.0.0/24").ipv4addr("cni").toString());
    }

    @Test
    void aRangeIsTheShortFormWithItsBounds() {
        assertEquals(
                "\"func:nextavailableip:10.1.0.10-10.1.0.20,cni\"",
                new AddressSource("10.1.0.0/24", "10.1.0.10", "10.1.0.20", List.of())
                        .ipv4addr("cni")
                        .toString());
    }

    @Test
    void excludedAddressesNeedTheLongForm() {
        assertEquals(
                "{\"_object_function\":\"next_available_ip\",\"_object\":\"network\",\"_result_field\":\"ips\","
                        + "\"_object_parameters\":{\"network\":\"10.1.0.0/24\",\"network_view\":\"cni\"},"
                        + "\"_parameters\":{\"num\":1,\"exclude\":[\"10.1.0.2\"]}}",
                new AddressSource("10.1.0.0/24", null, null, List.of("10.1.0.2"))
                        .ipv4addr("cni")
                        .toString());
        assertEquals(
                "{\"_object_function\":\"next_available_ip\",\"_object\":\"range\",\"_result_field\":\"ips\","
                        + "\"_object_parameters\":{\"start_addr\":\"10.1.0.10\",\"end_addr\":\"10.1.0.20\","
                        + "\"network_view\":\"cni\"},\"_parameters\":{\"num\":1,\"exclude\":[\"10.1.0.12\"]}}",
                new AddressSource("10.1.0.0/24", "10.1.0.10", "10.1.0.20", List.of("10.1.0.12"))
                        .ipv4addr("cni")
                        .toString());
    }

    @Test
    void aRangeNeedsBothBounds() {
        assertThrows(
                IllegalArgumentException.class, () -> new AddressSource("10.1.0.0/24", "10.1.0.10", null, List.of()));
    }
}
