package infobloxcni.wapisim;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.net.http.HttpClient;
import java.util.Map;
import org.junit.jupiter.api.Test;

class CountersTest {
    @Test
    void requestsAreCountedByMethodAndObjectType() throws Exception {
        try (WapiSimulator sim = WapiSimulator.builder().build().start()) {
            TestClient c = new TestClient(sim);
            String net = c.create("network", "{\"network\":\"10.0.0.0/24\"}");
            c.get("network?network=10.0.0.0/24");
            c.get(net);
            String fa = c.create("fixedaddress", "{\"ipv4addr\":\"10.0.0.3\",\"mac\":\"aa:bb:cc:dd:ee:ff\"}");
            c.put(fa, "{\"name\":\"x\"}");
            c.delete(fa);
            c.post(net + "?_function=next_available_ip", "{}");
            new TestClient(sim, HttpClient.newHttpClient(), "admin", "wrong").get("network");

            assertEquals(3, sim.requestCount("GET", "network"), "search, get by ref, and the 401");
            assertEquals(2, sim.requestCount("POST", "network"), "create and the function call");
            assertEquals(1, sim.requestCount("post", "fixedaddress"), "method is case-insensitive");
            assertEquals(1, sim.requestCount("PUT", "fixedaddress"));
            assertEquals(1, sim.requestCount("DELETE", "fixedaddress"));
            assertEquals(0, sim.requestCount("GET", "fixedaddress"));
            assertEquals(8, sim.totalRequests());
            assertEquals(
                    Map.of(
                            "DELETE fixedaddress",
                            1L,
                            "GET network",
                            3L,
                            "POST fixedaddress",
                            1L,
                            "POST network",
                            2L,
                            "PUT fixedaddress",
                            1L),
                    sim.requestCounts());
            assertEquals(8, sim.requestLog().size());

            sim.createObject("networkview", Map.of("name", "v"));
            assertEquals(8, sim.totalRequests(), "direct helpers are not counted");

            sim.resetCounters();
            assertEquals(0, sim.totalRequests());
            assertEquals(0, sim.requestCount("GET", "network"));
            c.get("networkview");
            assertEquals(1, sim.requestCount("GET", "networkview"));
        }
    }

    @Test
    void keepAliveReusesOneConnection() throws Exception {
        try (WapiSimulator sim = WapiSimulator.builder().build().start()) {
            TestClient c = new TestClient(sim);
            for (int i = 0; i < 20; i++) assertEquals(200, c.get("network").status());
            assertEquals(1, sim.connectionsAccepted());
            assertEquals(1, sim.openConnections());
        }
    }
}
