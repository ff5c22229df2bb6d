package infobloxcni.wapi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import infobloxcni.wapisim.WapiSimulator;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@code --wapi-max-calls}: at most that many of one daemon's WAPI calls reach the grid at once;
 * the others wait their turn within their deadline, and one whose turn does not come in time is
 * not sent (certainly not applied) and says why, without counting against the grid.
 */
@Timeout(60)
class WapiCallBoundTest {
    private static final Duration LATENCY = Duration.ofMillis(300);

    private WapiSimulator sim;
    private WapiClient client;

    @BeforeEach
    void start() {
        sim = WapiSimulator.builder()
                .port(0)
                .credentials("admin", "infoblox")
                .https(false)
                .build()
                .start();
        // a grid that serves far more at once than the bound, so that it counts the calls in service
        sim.faults().latency(LATENCY).capacity(100);
        client = new WapiClient(
                WapiConfig.of("127.0.0.1", sim.port(), "2.5", "admin", "infoblox", new SslVerify.System())
                        .withHttps(false)
                        .withTimeouts(Duration.ofSeconds(2), Duration.ofSeconds(20), Duration.ofSeconds(30))
                        .withMaxCalls(3));
    }

    @AfterEach
    void stop() {
        client.close();
        sim.close();
    }

    @Test
    void noMoreThanTheBoundReachTheGridAtOnceAndTheRestWaitTheirTurn() throws Exception {
        AtomicInteger peak = new AtomicInteger();
        AtomicBoolean done = new AtomicBoolean();
        Thread watcher = Thread.ofPlatform().start(() -> {
            while (!done.get()) {
                peak.accumulateAndGet(sim.faults().callsInService(), Math::max);
                Thread.onSpinWait();
            }
        });
        long started = System.nanoTime();
        List<Future<?>> calls = new ArrayList<>();
        try (ExecutorService pool = Executors.newFixedThreadPool(12)) {
            for (int i = 0; i < 12; i++) calls.add(pool.submit(() -> client.getNetworkView("default")));
            for (Future<?> f : calls) f.get();
        }
        long elapsedMillis = (System.nanoTime() - started) / 1_000_000;
        done.set(true);
        watcher.join();
        assertTrue(peak.get() >= 1 && peak.get() <= 3, "at most 3 in the grid at once, saw " + peak.get());
        // 12 calls, 3 at a time, each 300 ms in the grid: four rounds at least (a busy host only adds)
        assertTrue(elapsedMillis >= 4 * LATENCY.toMillis(), "the rest waited their turn: " + elapsedMillis + " ms");
        assertEquals(GridHealth.State.UP, client.health().state());
    }

    @Test
    void aCallWhoseTurnDoesNotComeInItsTimeIsNotSentAndTheGridIsNotBlamed() throws Exception {
        sim.faults().latency(Duration.ofSeconds(3));
        List<Future<?>> busy = new ArrayList<>();
        try (ExecutorService pool = Executors.newFixedThreadPool(3)) {
            for (int i = 0; i < 3; i++) busy.add(pool.submit(() -> client.getNetworkView("default")));
            // all three are in the grid before the fourth asks
            long until = System.nanoTime() + Duration.ofSeconds(20).toNanos();
            while (sim.faults().callsInService() < 3 && System.nanoTime() < until) Thread.onSpinWait();
            assertEquals(3, sim.faults().callsInService());
            long requestsBefore = sim.totalRequests();
            WapiException.Transient notSent = assertThrows(
                    WapiException.Transient.class,
                    () -> Deadline.within(Duration.ofMillis(500), () -> client.getNetworkView("default")));
            assertTrue(notSent.getMessage().contains("--wapi-max-calls"), notSent.getMessage());
            assertFalse(notSent.mayHaveBeenApplied(), "never sent");
            assertEquals(requestsBefore, sim.totalRequests(), "the grid never heard of it");
            for (Future<?> f : busy) f.get();
        }
        assertEquals(GridHealth.State.UP, client.health().state(), "waiting for a turn says nothing about the grid");
    }
}
