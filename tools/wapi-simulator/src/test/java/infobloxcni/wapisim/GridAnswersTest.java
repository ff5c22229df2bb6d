package infobloxcni.wapisim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The answers a daemon must tell apart, each as a grid words it (sources in the Fidelity table of
 * docs/wapi-simulator.md): network gone, network full, address taken, object gone.
 */
class GridAnswersTest {
    WapiSimulator sim;
    TestClient c;

    @BeforeEach
    void start() throws Exception {
        sim = WapiSimulator.builder().build().start();
        c = new TestClient(sim);
        c.create("networkview", "{\"name\":\"cni_view\"}");
    }

    @AfterEach
    void stop() {
        sim.close();
    }

    private TestClient.Resp reserve(String ipv4addr) throws Exception {
        return c.post(
                "fixedaddress",
                "{\"ipv4addr\":\"" + ipv4addr + "\",\"mac\":\"aa:bb:cc:dd:ee:ff\",\"network_view\":\"cni_view\"}");
    }

    @Test
    void networkGoneNetworkFullAndAddressTakenAreThreeDifferentAnswers() throws Exception {
        TestClient.Resp gone = reserve("func:nextavailableip:10.9.0.0/24,cni_view");
        assertEquals(400, gone.status());
        assertEquals("Client.Ibap.Proto", gone.code());
        assertEquals("10.9.0.0/24,cni_view does not match any unique networks/ranges (ipv4addr)", gone.text());
        assertEquals(
                "AdmConProtoError: 10.9.0.0/24,cni_view does not match any unique networks/ranges (ipv4addr)",
                gone.json().get("Error").asText());
        TestClient.Resp viewless = c.post(
                "fixedaddress", "{\"ipv4addr\":\"func:nextavailableip:10.9.0.0/24\",\"mac\":\"aa:bb:cc:dd:ee:ff\"}");
        assertEquals(
                "10.9.0.0/24 does not match any unique networks/ranges (ipv4addr)",
                viewless.text(),
                "the function's argument as the client wrote it");

        c.create("network", "{\"network\":\"10.9.0.0/30\",\"network_view\":\"cni_view\"}");
        assertEquals(201, reserve("func:nextavailableip:10.9.0.0/30,cni_view").status());
        assertEquals(201, reserve("func:nextavailableip:10.9.0.0/30,cni_view").status());
        TestClient.Resp full = reserve("func:nextavailableip:10.9.0.0/30,cni_view");
        assertEquals(400, full.status());
        assertEquals("Client.Ibap.Data", full.code());
        assertEquals("Cannot find 1 available IP address(es) in this network.", full.text());

        TestClient.Resp taken = reserve("10.9.0.1");
        assertEquals(400, taken.status());
        assertEquals("Client.Ibap.Data.Conflict", taken.code());
        assertEquals("Fixed address 10.9.0.1 already exists", taken.text());
        assertTrue(
                taken.json().get("Error").asText().startsWith("AdmConDataError: None (IBDataConflictError:"),
                taken.body());

        TestClient.Resp outside = reserve("10.7.0.1");
        assertEquals(400, outside.status(), "a literal address in no network of the view");
        assertEquals("Client.Ibap.Data", outside.code());
    }

    @Test
    void anObjectFunctionThatFindsNoNetworkIsTheGridsSearchRefusal() throws Exception {
        TestClient.Resp r = c.post(
                "fixedaddress",
                "{\"ipv4addr\":{\"_object_function\":\"next_available_ip\",\"_object\":\"network\","
                        + "\"_object_parameters\":{\"network\":\"10.9.0.0/24\",\"network_view\":\"cni_view\"},"
                        + "\"_result_field\":\"ips\"},\"mac\":\"aa:bb:cc:dd:ee:ff\",\"network_view\":\"cni_view\"}");
        assertEquals(400, r.status());
        assertEquals("Client.Ibap.Proto", r.code());
        assertEquals(
                "The search parameters {\"network\": \"10.9.0.0/24\", \"network_view\": \"cni_view\"} for object network"
                        + " did not return any result",
                r.text());
    }

    @Test
    void aWriteToARefWhoseObjectIsGoneIs404NotFound() throws Exception {
        c.create("network", "{\"network\":\"10.9.0.0/24\",\"network_view\":\"cni_view\"}");
        String ref = c.create(
                "fixedaddress",
                "{\"ipv4addr\":\"10.9.0.5\",\"mac\":\"aa:bb:cc:dd:ee:ff\",\"network_view\":\"cni_view\"}");
        assertEquals(200, c.delete(ref).status());
        for (TestClient.Resp r : new TestClient.Resp[] {c.put(ref, "{\"comment\":\"x\"}"), c.delete(ref)}) {
            assertEquals(404, r.status(), r.body());
            assertEquals("Client.Ibap.Data.NotFound", r.code());
            assertEquals("Reference " + ref + " not found", r.text());
            assertEquals(
                    "AdmConDataNotFoundError: Reference " + ref + " not found",
                    r.json().get("Error").asText());
        }
    }

    @Test
    void deletingANetworkTakesItsFixedAddressesWithIt() throws Exception {
        String net = c.create("network", "{\"network\":\"10.9.0.0/24\",\"network_view\":\"cni_view\"}");
        String fa = c.create(
                "fixedaddress",
                "{\"ipv4addr\":\"10.9.0.5\",\"mac\":\"aa:bb:cc:dd:ee:ff\",\"network_view\":\"cni_view\"}");
        assertEquals(200, c.delete(net).status());
        assertEquals(404, c.get(fa).status(), "the fixed address went with its network");
        assertEquals(
                "10.9.0.0/24,cni_view does not match any unique networks/ranges (ipv4addr)",
                reserve("func:nextavailableip:10.9.0.0/24,cni_view").text(),
                "and the next reservation is told the network is gone");
    }
}
