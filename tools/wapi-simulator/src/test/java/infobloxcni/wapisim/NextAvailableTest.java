package infobloxcni.wapisim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** func:nextavailableip / func:nextavailablenetwork and the proposing functions. */
class NextAvailableTest {
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

    private String nextIp(String func) throws Exception {
        TestClient.Resp r = c.post(
                "fixedaddress?_return_fields=ipv4addr",
                "{\"ipv4addr\":\"" + func + "\",\"mac\":\"00:00:00:00:00:00\",\"network_view\":\"cni_view\"}");
        assertEquals(201, r.status(), r.body());
        return r.json().get("ipv4addr").asText();
    }

    @Test
    void lowestFreeAddressUntilTheSlash29IsFullThenTheGridsError() throws Exception {
        c.create("network", "{\"network\":\"10.0.0.0/29\",\"network_view\":\"cni_view\"}");
        List<String> got = new ArrayList<>();
        for (int i = 0; i < 6; i++) got.add(nextIp("func:nextavailableip:10.0.0.0/29,cni_view"));
        assertEquals(
                List.of("10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5", "10.0.0.6"),
                got,
                "lowest first; never .0 (network) nor .7 (broadcast)");

        TestClient.Resp full = c.post(
                "fixedaddress",
                "{\"ipv4addr\":\"func:nextavailableip:10.0.0.0/29,cni_view\","
                        + "\"mac\":\"00:00:00:00:00:00\",\"network_view\":\"cni_view\"}");
        assertEquals(400, full.status());
        assertEquals("Client.Ibap.Data", full.code());
        assertEquals("Cannot find 1 available IP address(es) in this network.", full.text());
        assertEquals(6, sim.objects("fixedaddress").size());

        // free .3: it is the next one handed out; then full again
        String ref3 = c.get("fixedaddress?ipv4addr=10.0.0.3&network_view=cni_view")
                .json()
                .get(0)
                .get("_ref")
                .asText();
        c.delete(ref3);
        assertEquals("10.0.0.3", nextIp("func:nextavailableip:10.0.0.0/29,cni_view"));
        assertEquals(
                400,
                c.post(
                                "fixedaddress",
                                "{\"ipv4addr\":\"func:nextavailableip:10.0.0.0/29,cni_view\","
                                        + "\"mac\":\"00:00:00:00:00:00\",\"network_view\":\"cni_view\"}")
                        .status());
    }

    @Test
    void explicitAddressesCountAsUsedAndTheNetworkRefFormWorks() throws Exception {
        String net = c.create("network", "{\"network\":\"10.0.1.0/24\",\"network_view\":\"cni_view\"}");
        c.create(
                "fixedaddress",
                "{\"ipv4addr\":\"10.0.1.1\",\"match_client\":\"RESERVED\",\"network_view\":\"cni_view\"}");
        c.create(
                "fixedaddress",
                "{\"ipv4addr\":\"10.0.1.3\",\"match_client\":\"RESERVED\",\"network_view\":\"cni_view\"}");
        assertEquals("10.0.1.2", nextIp("func:nextavailableip:" + net));
        assertEquals("10.0.1.4", nextIp("func:nextavailableip:10.0.1.0/24,cni_view"));

        // the default view is the default when the function names none
        c.create("network", "{\"network\":\"10.0.1.0/24\"}");
        TestClient.Resp r = c.post(
                "fixedaddress?_return_fields=ipv4addr,network_view",
                "{\"ipv4addr\":\"func:nextavailableip:10.0.1.0/24\",\"mac\":\"aa:bb:cc:dd:ee:ff\"}");
        assertEquals("10.0.1.1", r.json().get("ipv4addr").asText());
        assertEquals("default", r.json().get("network_view").asText());

        // the object-function form newer clients send
        TestClient.Resp of = c.post(
                "fixedaddress?_return_fields=ipv4addr",
                "{\"ipv4addr\":{\"_object_function\":"
                        + "\"next_available_ip\",\"_object\":\"network\",\"_object_parameters\":{\"network\":\"10.0.1.0/24\","
                        + "\"network_view\":\"cni_view\"},\"_result_field\":\"ips\",\"_parameters\":{\"exclude\":[\"10.0.1.5\"]}},"
                        + "\"mac\":\"aa:bb:cc:dd:ee:01\",\"network_view\":\"cni_view\"}");
        assertEquals(201, of.status(), of.body());
        assertEquals("10.0.1.6", of.json().get("ipv4addr").asText());
    }

    @Test
    void missingNetworkIsA400AndAMissingViewA404NamingIt() throws Exception {
        TestClient.Resp r = c.post(
                "fixedaddress",
                "{\"ipv4addr\":\"func:nextavailableip:10.9.0.0/24,cni_view\","
                        + "\"mac\":\"aa:bb:cc:dd:ee:ff\",\"network_view\":\"cni_view\"}");
        assertEquals(400, r.status());
        assertTrue(r.text().contains("10.9.0.0/24"), r.body());
        TestClient.Resp v = c.post(
                "fixedaddress",
                "{\"ipv4addr\":\"func:nextavailableip:10.9.0.0/24,ghost\"," + "\"mac\":\"aa:bb:cc:dd:ee:ff\"}");
        assertEquals(404, v.status());
        assertTrue(v.text().contains("ghost"), v.body());
    }

    @Test
    void nextAvailableIpFunctionOnlyProposes() throws Exception {
        String net = c.create("network", "{\"network\":\"10.0.2.0/29\",\"network_view\":\"cni_view\"}");
        c.create(
                "fixedaddress",
                "{\"ipv4addr\":\"10.0.2.2\",\"match_client\":\"RESERVED\",\"network_view\":\"cni_view\"}");
        JsonNode ips = c.post(net + "?_function=next_available_ip", "{\"num\":3}")
                .json()
                .get("ips");
        assertEquals("[\"10.0.2.1\",\"10.0.2.3\",\"10.0.2.4\"]", ips.toString());
        JsonNode again = c.post(net + "?_function=next_available_ip", "{\"num\":1}")
                .json()
                .get("ips");
        assertEquals("[\"10.0.2.1\"]", again.toString(), "nothing was reserved");
        assertEquals(1, sim.objects("fixedaddress").size());
        TestClient.Resp tooMany = c.post(net + "?_function=next_available_ip", "{\"num\":6}");
        assertEquals(400, tooMany.status());
        assertEquals("Cannot find 6 available IP address(es) in this network.", tooMany.text());
        assertEquals(400, c.get(net + "?_function=next_available_ip").status(), "functions need POST");
    }

    @Test
    void nextAvailableNetworkCarvesTheLowestFreeBlockUntilTheContainerIsFull() throws Exception {
        String cont = c.create("networkcontainer", "{\"network\":\"172.18.0.0/22\",\"network_view\":\"cni_view\"}");
        c.create("network", "{\"network\":\"172.18.1.0/24\",\"network_view\":\"cni_view\"}");
        JsonNode proposal = c.post(cont + "?_function=next_available_network", "{\"cidr\":24,\"num\":2}")
                .json();
        assertEquals("{\"networks\":[\"172.18.0.0/24\",\"172.18.2.0/24\"]}", proposal.toString());
        assertEquals(1, sim.objects("network").size(), "proposing creates nothing");

        List<String> carved = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            TestClient.Resp r = c.post(
                    "network?_return_fields=network,network_view",
                    "{\"network\":\"func:nextavailablenetwork:172.18.0.0/22,cni_view,24\",\"network_view\":\"cni_view\"}");
            assertEquals(201, r.status(), r.body());
            carved.add(r.json().get("network").asText());
        }
        assertEquals(List.of("172.18.0.0/24", "172.18.2.0/24", "172.18.3.0/24"), carved);

        TestClient.Resp full = c.post(
                "network",
                "{\"network\":\"func:nextavailablenetwork:172.18.0.0/22,cni_view,24\",\"network_view\":\"cni_view\"}");
        assertEquals(400, full.status());
        assertTrue(full.text().startsWith("Cannot allocate a network of requested size"), full.body());
        assertEquals(
                400,
                c.post(cont + "?_function=next_available_network", "{\"cidr\":24}")
                        .status());

        TestClient.Resp noContainer = c.post(
                "network",
                "{\"network\":\"func:nextavailablenetwork:192.168.0.0/16,cni_view,24\",\"network_view\":\"cni_view\"}");
        assertEquals(400, noContainer.status());
        assertTrue(noContainer.text().contains("192.168.0.0/16"), noContainer.body());
    }

    @Test
    void innerContainersAndMixedSizesAreSkipped() throws Exception {
        String cont = c.create("networkcontainer", "{\"network\":\"10.20.0.0/16\"}");
        c.create("networkcontainer", "{\"network\":\"10.20.0.0/20\"}");
        c.create("network", "{\"network\":\"10.20.16.0/26\"}");
        JsonNode n = c.post(cont + "?_function=next_available_network", "{\"cidr\":24,\"num\":2}")
                .json();
        assertEquals("[\"10.20.17.0/24\",\"10.20.18.0/24\"]", n.get("networks").toString());
        TestClient.Resp r =
                c.post("network?_return_fields=network", "{\"network\":\"func:nextavailablenetwork:" + cont + ",26\"}");
        assertEquals("10.20.16.64/26", r.json().get("network").asText(), r.body());
    }

    @Test
    void sixteenConcurrentCallersNeverGetTheSameAddress() throws Exception {
        c.create("network", "{\"network\":\"10.0.3.0/24\",\"network_view\":\"cni_view\"}");
        ExecutorService pool = Executors.newFixedThreadPool(16);
        try {
            CountDownLatch go = new CountDownLatch(1);
            List<Future<String>> futures = new ArrayList<>();
            for (int i = 0; i < 16; i++) {
                int n = i;
                Callable<String> call = () -> {
                    go.await();
                    TestClient.Resp r = c.post(
                            "fixedaddress?_return_fields=ipv4addr",
                            String.format(
                                    "{\"ipv4addr\":\"func:nextavailableip:10.0.3.0/24,cni_view\",\"mac\":\"aa:bb:cc:dd:ee:%02x\","
                                            + "\"network_view\":\"cni_view\"}",
                                    n));
                    assertEquals(201, r.status(), r.body());
                    return r.json().get("ipv4addr").asText();
                };
                futures.add(pool.submit(call));
            }
            go.countDown();
            Set<String> got = new TreeSet<>();
            for (Future<String> f : futures) got.add(f.get());
            assertEquals(16, got.size(), got.toString());
            Set<String> expected = new TreeSet<>();
            for (int i = 1; i <= 16; i++) expected.add("10.0.3." + i);
            assertEquals(expected, got, "the 16 lowest, each once");
        } finally {
            pool.shutdownNow();
        }
    }
}
