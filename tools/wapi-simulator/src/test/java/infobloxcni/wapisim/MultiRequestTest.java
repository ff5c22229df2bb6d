package infobloxcni.wapisim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** WAPI's multiple-request object: GET, assign the ref to a state, write by ##STATE:...:##, all or nothing. */
class MultiRequestTest {
    WapiSimulator sim;
    TestClient c;

    @BeforeEach
    void start() throws Exception {
        sim = WapiSimulator.builder().build().start();
        c = new TestClient(sim);
        c.create("network", "{\"network\":\"10.0.0.0/24\"}");
        c.create(
                "fixedaddress",
                "{\"ipv4addr\":\"10.0.0.5\",\"mac\":\"aa:bb:cc:dd:ee:01\",\"comment\":\"mine\","
                        + "\"extattrs\":{\"VM ID\":{\"value\":\"c1\"}}}");
    }

    @AfterEach
    void stop() {
        sim.close();
    }

    private static String guardedDelete(String comment, String vmId) {
        return "[{\"method\":\"GET\",\"object\":\"fixedaddress\",\"data\":{\"ipv4addr\":\"10.0.0.5\",\"network_view\":\"default\","
                + "\"comment\":\"" + comment + "\",\"*VM ID\":\"" + vmId
                + "\"},\"assign_state\":{\"claimed\":\"_ref\"},\"discard\":true},"
                + "{\"method\":\"DELETE\",\"object\":\"##STATE:claimed:##\",\"enable_substitution\":true}]";
    }

    @Test
    void aGetThatMatchesAssignsTheRefAndTheWriteUsesIt() throws Exception {
        TestClient.Resp r = c.post("request", guardedDelete("mine", "c1"));
        assertEquals(201, r.status(), r.body());
        JsonNode results = r.json();
        assertEquals(1, results.size(), "the discarded GET leaves no result: " + r.body());
        assertTrue(results.get(0).asText().startsWith("fixedaddress/"), r.body());
        assertTrue(sim.objects("fixedaddress").isEmpty());
        assertEquals(1, sim.requestCount("POST", "request"));
    }

    @Test
    void aGetThatMatchesNothingFailsTheWholeRequestAndWritesNothing() throws Exception {
        for (String[] wrong : new String[][] {{"mine", "c2"}, {"someone else's", "c1"}}) {
            TestClient.Resp r = c.post("request", guardedDelete(wrong[0], wrong[1]));
            assertEquals(400, r.status(), r.body());
            assertEquals("Client.Ibap.Proto", r.code());
            assertEquals(1, sim.objects("fixedaddress").size(), "the DELETE never ran");
        }
    }

    @Test
    void stateCanBeAssignedAndDisplayed() throws Exception {
        TestClient.Resp r = c.post(
                "request",
                "[{\"method\":\"STATE:ASSIGN\",\"data\":{\"ip\":\"10.0.0.5\"}},"
                        + "{\"method\":\"GET\",\"object\":\"fixedaddress\",\"enable_substitution\":true,\"data\":{\"ipv4addr\":\"##STATE:ip:##\"},"
                        + "\"args\":{\"_return_fields\":\"comment\"},\"assign_state\":{\"note\":\"comment\"},\"discard\":true},"
                        + "{\"method\":\"STATE:DISPLAY\"}]");
        assertEquals(201, r.status(), r.body());
        assertEquals("mine", r.json().get(0).get("note").asText(), r.body());
        assertEquals("10.0.0.5", r.json().get(0).get("ip").asText());
    }

    @Test
    void onlyOneWriteAndItLastSoThatNothingIsHalfDone() throws Exception {
        TestClient.Resp r = c.post(
                "request",
                "[{\"method\":\"POST\",\"object\":\"networkview\",\"data\":{\"name\":\"v1\"}},"
                        + "{\"method\":\"POST\",\"object\":\"networkview\",\"data\":{\"name\":\"v2\"}}]");
        assertEquals(400, r.status());
        assertEquals(1, sim.objects("networkview").size(), "nothing applied");
    }

    @Test
    void aGridWithoutTheRequestObjectSaysSo() throws Exception {
        try (WapiSimulator old =
                WapiSimulator.builder().requestObject(false).build().start()) {
            TestClient.Resp r = new TestClient(old).post("request", "[{\"method\":\"STATE:DISPLAY\"}]");
            assertEquals(400, r.status());
            assertEquals("Unknown object type (request)", r.text());
        }
    }

    @Test
    void aRefThatIsNoKeyOfItsTypeIsAnInvalidReference() throws Exception {
        TestClient.Resp garbage = c.get("fixedaddress/not-base64!:10.0.0.5/default");
        assertEquals(400, garbage.status());
        assertTrue(garbage.text().startsWith("Invalid reference"), garbage.body());
        String networkKey =
                java.util.Base64.getEncoder().withoutPadding().encodeToString("dns.network$10.0.0.0/24/0".getBytes());
        assertEquals(
                400,
                c.get("fixedaddress/" + networkKey + ":10.0.0.0/24/default").status(),
                "a network's key is no fixed address");
        assertEquals(200, c.get("network/" + networkKey).status(), "the readable part may be left out");
        String gone = java.util.Base64.getEncoder().encodeToString("dns.fixed_address$10.0.0.9.0..".getBytes());
        TestClient.Resp stale = c.get("fixedaddress/" + gone + ":10.0.0.9/default");
        assertEquals(404, stale.status(), "a key nobody holds is a 404, padded base64 or not: " + stale.body());
    }
}
