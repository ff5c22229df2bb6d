package infobloxcni.wapisim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The {@code range} object and what {@code func:nextavailableip} makes of it: a network's next
 * available address skips every range; a range's hands out only its own addresses; the range form
 * needs a range with exactly those bounds.
 */
class RangeTest {
    WapiSimulator sim;
    TestClient c;

    @BeforeEach
    void start() throws Exception {
        sim = WapiSimulator.builder().build().start();
        c = new TestClient(sim);
        c.create("networkview", "{\"name\":\"cni_view\"}");
        c.create("network", "{\"network\":\"10.0.0.0/24\",\"network_view\":\"cni_view\"}");
    }

    @AfterEach
    void stop() {
        sim.close();
    }

    private TestClient.Resp reserve(String ipv4addr) throws Exception {
        return c.post(
                "fixedaddress?_return_fields=ipv4addr",
                "{\"ipv4addr\":" + ipv4addr + ",\"mac\":\"00:00:00:00:00:00\",\"network_view\":\"cni_view\"}");
    }

    private String next(String ipv4addr) throws Exception {
        TestClient.Resp r = reserve(ipv4addr);
        assertEquals(201, r.status(), r.body());
        return r.json().get("ipv4addr").asText();
    }

    @Test
    void aRangesRefNamesItsBoundsAndViewAsAGridsDoes() throws Exception {
        String ref = c.create(
                "range", "{\"start_addr\":\"10.0.0.10\",\"end_addr\":\"10.0.0.20\",\"network_view\":\"cni_view\"}");
        String opaque = ref.substring("range/".length(), ref.indexOf(':'));
        assertEquals(
                "dns.dhcp_range$10.0.0.10/10.0.0.20///1/",
                new String(Base64.getUrlDecoder().decode(opaque), StandardCharsets.UTF_8));
        assertTrue(ref.endsWith(":10.0.0.10/10.0.0.20/cni_view"), ref);
        var found = c.get("range?start_addr=10.0.0.10&end_addr=10.0.0.20&network_view=cni_view"
                        + "&_return_fields=start_addr,end_addr,network,server_association_type")
                .json();
        assertEquals(1, found.size());
        assertEquals("10.0.0.0/24", found.get(0).get("network").asText(), "computed from the network holding it");
        assertEquals("NONE", found.get(0).get("server_association_type").asText(), "a reserved range by default");
    }

    @Test
    void aRangeOutsideEveryNetworkOrOverlappingAnotherIsRefused() throws Exception {
        TestClient.Resp outside = c.post(
                "range", "{\"start_addr\":\"10.9.0.10\",\"end_addr\":\"10.9.0.20\",\"network_view\":\"cni_view\"}");
        assertEquals(400, outside.status());
        assertEquals("Client.Ibap.Data", outside.code());
        c.create("range", "{\"start_addr\":\"10.0.0.10\",\"end_addr\":\"10.0.0.20\",\"network_view\":\"cni_view\"}");
        TestClient.Resp overlap = c.post(
                "range", "{\"start_addr\":\"10.0.0.15\",\"end_addr\":\"10.0.0.30\",\"network_view\":\"cni_view\"}");
        assertEquals(400, overlap.status());
        assertEquals("Client.Ibap.Data.Conflict", overlap.code());
        assertTrue(overlap.text().contains("overlaps with the existing range 10.0.0.10-10.0.0.20"), overlap.text());
        TestClient.Resp broadcast = c.post(
                "range", "{\"start_addr\":\"10.0.0.200\",\"end_addr\":\"10.0.0.255\",\"network_view\":\"cni_view\"}");
        assertEquals(400, broadcast.status());
    }

    @Test
    void theNetworksNextAvailableSkipsEveryRange() throws Exception {
        c.create("range", "{\"start_addr\":\"10.0.0.1\",\"end_addr\":\"10.0.0.10\",\"network_view\":\"cni_view\"}");
        c.create(
                "range",
                "{\"start_addr\":\"10.0.0.12\",\"end_addr\":\"10.0.0.12\",\"network_view\":\"cni_view\","
                        + "\"server_association_type\":\"MEMBER\"}");
        assertEquals("10.0.0.11", next("\"func:nextavailableip:10.0.0.0/24,cni_view\""));
        assertEquals("10.0.0.13", next("\"func:nextavailableip:10.0.0.0/24,cni_view\""), "a DHCP range too");
    }

    @Test
    void theRangesNextAvailableHandsOutItsOwnLowestFreeAddressThenTheGridsError() throws Exception {
        c.create("range", "{\"start_addr\":\"10.0.0.50\",\"end_addr\":\"10.0.0.52\",\"network_view\":\"cni_view\"}");
        c.create(
                "fixedaddress",
                "{\"ipv4addr\":\"10.0.0.50\",\"match_client\":\"RESERVED\",\"network_view\":\"cni_view\"}");
        assertEquals("10.0.0.51", next("\"func:nextavailableip:10.0.0.50-10.0.0.52,cni_view\""));
        String longForm = "{\"_object_function\":\"next_available_ip\",\"_object\":\"range\",\"_result_field\":\"ips\","
                + "\"_object_parameters\":{\"start_addr\":\"10.0.0.50\",\"end_addr\":\"10.0.0.52\",\"network_view\":\"cni_view\"},"
                + "\"_parameters\":{\"num\":1,\"exclude\":[\"10.0.0.52\"]}}";
        TestClient.Resp excluded = reserve(longForm);
        assertEquals(400, excluded.status(), "the only free one is excluded: " + excluded.body());
        assertEquals("Cannot find 1 available IP address(es) in this range.", excluded.text());
        assertEquals("10.0.0.52", next("\"func:nextavailableip:10.0.0.50-10.0.0.52,cni_view\""));
        assertEquals(
                400,
                reserve("\"func:nextavailableip:10.0.0.50-10.0.0.52,cni_view\"").status());
    }

    @Test
    void theRangeFormNeedsARangeWithExactlyThoseBounds() throws Exception {
        c.create("range", "{\"start_addr\":\"10.0.0.50\",\"end_addr\":\"10.0.0.60\",\"network_view\":\"cni_view\"}");
        TestClient.Resp r = reserve("\"func:nextavailableip:10.0.0.50-10.0.0.59,cni_view\"");
        assertEquals(400, r.status());
        assertEquals("Client.Ibap.Proto", r.code());
        assertEquals("10.0.0.50-10.0.0.59,cni_view does not match any unique networks/ranges (ipv4addr)", r.text());
    }

    @Test
    void deletingTheNetworkDeletesItsRanges() throws Exception {
        c.create("range", "{\"start_addr\":\"10.0.0.50\",\"end_addr\":\"10.0.0.60\",\"network_view\":\"cni_view\"}");
        String net = c.get("network?network=10.0.0.0/24&network_view=cni_view")
                .json()
                .get(0)
                .get("_ref")
                .asText();
        c.delete(net);
        assertEquals(0, sim.objects("range").size());
    }
}
