package infobloxcni.wapi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import infobloxcni.wapisim.WapiSimulator;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** What an observer hears of each call: method, object type (never a ref's key), outcome, status. */
@Timeout(30)
class WapiCallObserverTest {
    private static final GridHealth.Settings FAST = new GridHealth.Settings(
            Duration.ofMillis(600), Duration.ofMillis(300), Duration.ofSeconds(30), Duration.ofMillis(500));
    private WapiSimulator sim;
    private WapiClient client;
    private final List<WapiCall> heard = new CopyOnWriteArrayList<>();

    @AfterEach
    void stop() {
        if (client != null) client.close();
        if (sim != null) sim.close();
    }

    private static String line(WapiCall c) {
        return c.method() + " " + c.objectType() + " " + c.outcome() + " " + c.status();
    }

    @Test
    void eachCallIsHeardOnceWithItsTypeAndOutcome() {
        sim = WapiSimulator.builder().port(0).build().start();
        client = new WapiClient(
                WapiConfig.of("127.0.0.1", sim.port(), "2.5", "admin", "infoblox", new SslVerify.System())
                        .withHttps(false)
                        .withTimeouts(Duration.ofSeconds(1), Duration.ofSeconds(2), Duration.ofSeconds(5)),
                FAST);
        client.observeCalls(heard::add);
        client.probe();
        assertTrue(client.findFixedAddressByIp("default", "10.1.0.9").isEmpty());
        assertThrows(WapiException.Conflict.class, () -> client.createNetworkView("default", java.util.Map.of()));
        assertEquals(
                List.of("GET networkview ANSWERED 200", "GET fixedaddress ANSWERED 200"),
                heard.subList(0, 2).stream().map(WapiCallObserverTest::line).toList());
        assertEquals("POST networkview REFUSED 400", line(heard.get(2)));
        assertEquals(3, heard.size(), "one call each: a refusal is not repeated");
        assertTrue(heard.stream().allMatch(c -> c.nanos() > 0));

        heard.clear();
        client.startHealthMonitoring();
        sim.faults().outage(true);
        for (int i = 0; i < 3; i++) assertThrows(WapiException.Transient.class, () -> client.getNetworkView("default"));
        assertTrue(heard.stream().anyMatch(c -> c.outcome() == WapiCall.Outcome.UNREACHABLE), heard.toString());
        heard.clear();
        assertThrows(WapiException.Transient.class, () -> client.getNetworkView("default"));
        assertEquals(
                List.of("GET networkview NOT_SENT 0"),
                heard.stream().map(WapiCallObserverTest::line).toList(),
                "refused at once, never sent");
    }
}
