package infobloxcni.wapi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import infobloxcni.wapisim.WapiSimulator;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The client's view of the grid's health and its fail-fast rule, against the simulator (refused
 * connections, 5xx) and a listener that accepts connections and never answers (a hung grid).
 * Exact counts of what reaches the grid.
 */
@Timeout(30)
class GridHealthTest {
    private static final GridHealth.Settings FAST = new GridHealth.Settings(
            Duration.ofMillis(600), Duration.ofMillis(300), Duration.ofSeconds(30), Duration.ofMillis(500));

    private WapiSimulator sim;
    private WapiClient client;
    private ServerSocket blackHole;
    private final List<Socket> held = new CopyOnWriteArrayList<>();

    private WapiClient clientFor(int port, Duration read) {
        return new WapiClient(
                WapiConfig.of("127.0.0.1", port, "2.5", "admin", "infoblox", new SslVerify.System())
                        .withHttps(false)
                        .withTimeouts(Duration.ofSeconds(1), read, Duration.ofSeconds(30)),
                FAST);
    }

    @AfterEach
    void stop() throws IOException {
        if (client != null) client.close();
        if (sim != null) sim.close();
        if (blackHole != null) blackHole.close();
        for (Socket s : held) s.close();
    }

    private static void await(String what, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) throw new AssertionError("timed out waiting until " + what);
            Thread.sleep(20);
        }
    }

    @Test
    void refusedConnectionsOpenTheBreakerThenCallsFailAtOnceAndOneProbeClosesIt() throws Exception {
        sim = WapiSimulator.builder().port(0).build().start();
        client = clientFor(sim.port(), Duration.ofSeconds(2));
        List<GridHealth.State> seen = new CopyOnWriteArrayList<>();
        client.health().onChange(change -> seen.add(change.to()));
        client.startHealthMonitoring();
        client.probe();
        sim.faults().outage(true);
        for (int i = 0; i < 3; i++) assertThrows(WapiException.Transient.class, () -> client.getNetworkView("default"));
        assertEquals(GridHealth.State.DOWN, client.health().state());
        long t0 = System.nanoTime();
        var fast = assertThrows(
                WapiException.Transient.class,
                () -> client.reserveNextAvailableIp(
                        "default", "10.0.0.0/24", new FixedAddressSpec(null, null, null, null, null)));
        assertTrue(System.nanoTime() - t0 < Duration.ofMillis(50).toNanos(), "failed at once");
        assertFalse(fast.mayHaveBeenApplied(), "never sent");
        assertTrue(fast.getMessage().contains("grid unreachable, down since"), fast.getMessage());

        sim.faults().outage(false);
        await("the probe sees the grid back", () -> client.health().state() == GridHealth.State.UP);
        assertTrue(client.getNetworkView("default").isPresent());
        // the listeners hear of a change on the probe's thread, a moment after the state reads UP
        await("the listeners heard it", () -> seen.contains(GridHealth.State.UP));
        assertEquals(
                List.of(GridHealth.State.DOWN, GridHealth.State.UP),
                seen.stream().filter(s -> s != GridHealth.State.DEGRADED).toList(),
                "each transition reported once");
    }

    @Test
    void aHungGridIsDetectedByTheCallThatWaitsNotByItsTimeout() throws Exception {
        blackHole = new ServerSocket(0);
        var accepting = Executors.newVirtualThreadPerTaskExecutor();
        accepting.submit(() -> {
            while (!blackHole.isClosed()) held.add(blackHole.accept()); // accept, never answer
            return null;
        });
        client = clientFor(blackHole.getLocalPort(), Duration.ofSeconds(20));
        client.startHealthMonitoring();
        Future<?> waiting = accepting.submit(() -> {
            try {
                client.getNetworkView("default");
            } catch (WapiException e) {
                // ends when its own timeout does
            }
            return null;
        });
        await("the hung call marks the grid down", () -> client.health().state() == GridHealth.State.DOWN);
        assertFalse(waiting.isDone(), "the first call is still waiting (read timeout 20 s); the others need not");
        long t0 = System.nanoTime();
        assertThrows(WapiException.Transient.class, () -> client.getNetworkView("default"));
        assertTrue(System.nanoTime() - t0 < Duration.ofMillis(50).toNanos());
        accepting.shutdownNow();
    }

    @Test
    void aDeadlineBoundsAllTheCallsOfOneRequestAndACallWithNothingLeftIsNeverSent() throws Exception {
        sim = WapiSimulator.builder().port(0).build().start();
        client = clientFor(sim.port(), Duration.ofSeconds(5));
        sim.faults().latency(Duration.ofMillis(400));
        long t0 = System.nanoTime();
        var e = assertThrows(
                WapiException.Transient.class,
                () -> Deadline.within(Duration.ofMillis(600), () -> {
                    client.getNetworkView("default"); // 400 ms
                    client.getNetworkView("default"); // cut at 600 ms
                    return null;
                }));
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertTrue(
                ms >= 550 && ms < 1500,
                "bounded by the deadline, not by two read timeouts: " + ms + " ms, " + e.getMessage());
        long before = sim.totalRequests();
        var late = assertThrows(
                WapiException.Transient.class,
                () -> Deadline.within(Duration.ZERO, () -> {
                    client.probe();
                    return null;
                }));
        assertFalse(late.mayHaveBeenApplied());
        assertEquals(before, sim.totalRequests(), "nothing sent with no time left");
        long innerLeft = Deadline.within(
                Duration.ofMillis(100), () -> Deadline.within(Duration.ofSeconds(5), Deadline::remainingNanos));
        assertTrue(innerLeft <= Duration.ofMillis(100).toNanos(), "an inner deadline cannot outlast the outer one");
    }

    @Test
    void aRefusalIsAnAnswerAndDoesNotCountAgainstTheGrid() throws Exception {
        sim = WapiSimulator.builder().port(0).build().start();
        client = clientFor(sim.port(), Duration.ofSeconds(2));
        client.startHealthMonitoring();
        for (int i = 0; i < 6; i++) {
            assertThrows(
                    WapiException.NotFound.class,
                    () -> client.createNetwork("no-such-view", "10.0.0.0/24", java.util.Map.of()));
        }
        assertEquals(GridHealth.State.UP, client.health().state());
    }

    /**
     * A wrong password used to leave the grid UP (every ADD failed 103 while status said all was
     * well): a 401 is a state of its own, which no count against the grid makes DOWN, and the
     * next answer that is no refusal ends it.
     */
    @Test
    void refusedCredentialsAreAStateOfTheirOwnUntilAnAnswerEndsIt() {
        sim = WapiSimulator.builder()
                .port(0)
                .credentials("admin", "infoblox")
                .build()
                .start();
        client = new WapiClient(
                WapiConfig.of("127.0.0.1", sim.port(), "2.5", "admin", "wrong", new SslVerify.System())
                        .withHttps(false)
                        .withTimeouts(Duration.ofSeconds(1), Duration.ofSeconds(2), Duration.ofSeconds(30)),
                FAST);
        for (int i = 0; i < 4; i++)
            assertThrows(WapiException.AuthenticationFailed.class, () -> client.getNetworkView("default"));
        GridHealth health = client.health();
        assertEquals(GridHealth.State.CREDENTIALS_REFUSED, health.state());
        assertTrue(health.state().refusing());
        assertFalse(health.failingFast(), "the grid answers: calls still go, and say why they fail");
        assertTrue(health.lastError().contains("refused the credentials"), health.lastError());
        assertTrue(health.lastErrorAt() != null);
        health.admit("an answer that is no refusal").answered();
        assertEquals(GridHealth.State.UP, health.state());
    }

    /** A grid whose certificate is not trusted is there, and refuses us: TLS_REFUSED, not DOWN. */
    @Test
    void anUntrustedCertificateIsTlsRefusedNotDown() {
        sim = WapiSimulator.builder().port(0).https(true).build().start();
        client = new WapiClient(
                WapiConfig.of("127.0.0.1", sim.port(), "2.5", "admin", "infoblox", new SslVerify.System())
                        .withTimeouts(Duration.ofSeconds(1), Duration.ofSeconds(2), Duration.ofSeconds(30)),
                FAST);
        for (int i = 0; i < 4; i++) {
            var e = assertThrows(WapiException.Transient.class, () -> client.getNetworkView("default"));
            assertTrue(e.getMessage().contains("--ssl-verify"), e.getMessage());
            assertFalse(e.mayHaveBeenApplied());
        }
        assertEquals(GridHealth.State.TLS_REFUSED, client.health().state());
        assertFalse(client.health().failingFast());
    }
}
