package infobloxcni.wapisim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import org.junit.jupiter.api.Test;

class ControlEndpointTest {
    private static JsonNode call(HttpClient http, String url, String method, String body) throws Exception {
        HttpResponse<String> r = http.send(
                HttpRequest.newBuilder(URI.create(url))
                        .method(
                                method,
                                body == null
                                        ? HttpRequest.BodyPublishers.noBody()
                                        : HttpRequest.BodyPublishers.ofString(body))
                        .build(),
                HttpResponse.BodyHandlers.ofString());
        JsonNode n = TestClient.JSON.readTree(r.body());
        if (r.statusCode() != 200) throw new AssertionError(r.statusCode() + " " + r.body());
        return n;
    }

    @Test
    void stateCountersAndFaultsOverHttp() throws Exception {
        try (WapiSimulator sim = WapiSimulator.builder().build().start()) {
            HttpClient http = HttpClient.newHttpClient();
            String base = sim.baseUrl() + "/_sim/";
            TestClient c = new TestClient(sim);
            c.create("network", "{\"network\":\"10.0.0.0/24\"}");

            JsonNode state = call(http, base + "state", "GET", null);
            assertEquals(
                    "10.0.0.0/24", state.get("network").get(0).get("network").asText());
            assertEquals("default", state.get("networkview").get(0).get("name").asText());

            JsonNode counters = call(http, base + "counters", "GET", null);
            assertEquals(1, counters.get("total").asLong());
            assertEquals(1, counters.get("requests").get("POST network").asLong());

            call(
                    http,
                    base + "faults",
                    "POST",
                    "{\"latencyMs\":5,\"failNext\":{\"n\":2,\"status\":503,"
                            + "\"code\":\"Server.Unavailable\",\"text\":\"down\"},\"dropAfterApplyingNext\":{\"n\":1,"
                            + "\"method\":\"POST\"},\"dropBeforeApplyingNext\":0}");
            assertEquals(5, sim.faults().latency().toMillis());
            assertEquals(2, sim.faults().pendingFailures());
            assertEquals(503, c.get("network").status());
            assertEquals("down", c.get("network").text());
            assertEquals(200, c.get("network").status());
            assertThrows(IOException.class, () -> c.post("networkview", "{\"name\":\"v\"}"));
            assertEquals(2, sim.objects("networkview").size());

            JsonNode reset = call(http, base + "reset-faults", "POST", null);
            assertEquals(0, reset.get("latencyMs").asLong());
            call(http, base + "reset-counters", "POST", null);
            assertEquals(0, sim.totalRequests());
            assertEquals(
                    0, call(http, base + "counters", "GET", null).get("total").asLong());

            HttpResponse<String> bad = http.send(
                    HttpRequest.newBuilder(URI.create(base + "faults"))
                            .POST(HttpRequest.BodyPublishers.ofString("{\"explode\":true}"))
                            .build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(400, bad.statusCode());

            // a status alone is a gateway's page; code and text come together or not at all
            call(
                    http,
                    base + "faults",
                    "POST",
                    "{\"failAfterApplyingNext\":{\"n\":1,\"status\":504,\"method\":\"POST\"}}");
            TestClient.Resp gw = c.post("networkview", "{\"name\":\"gw\"}");
            assertEquals(504, gw.status());
            assertTrue(gw.body().contains("504 Gateway Timeout"), gw.body());
            assertEquals(3, sim.objects("networkview").size(), "applied behind the 504");
            HttpResponse<String> half = http.send(
                    HttpRequest.newBuilder(URI.create(base + "faults"))
                            .POST(HttpRequest.BodyPublishers.ofString(
                                    "{\"failNext\":{\"n\":1,\"status\":503,\"code\":\"X\"}}"))
                            .build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(400, half.statusCode(), half.body());
            assertEquals(0, sim.faults().pendingFailures());

            // page ids can be expired from outside
            assertTrue(call(http, base + "expire-page-ids", "POST", null)
                    .get("expired")
                    .asBoolean());

            // outage from the control endpoint: answered first, then the port closes
            JsonNode outage = call(http, base + "faults", "POST", "{\"outage\":true}");
            assertTrue(outage.get("outage").asBoolean());
            IOException e = assertThrows(
                    IOException.class,
                    () -> new TestClient(sim, HttpClient.newHttpClient(), "admin", "infoblox").get("network"));
            assertTrue(e instanceof ConnectException || e.getCause() instanceof ConnectException, e.toString());
            sim.faults().outage(false);
            assertEquals(200, new TestClient(sim).get("network").status());
        }
    }
}
