package infobloxcni.daemon;

import static infobloxcni.daemon.TestHost.netconf;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import infobloxcni.daemon.config.DaemonConfig;
import infobloxcni.store.AttachmentKey;
import infobloxcni.store.AttachmentState;
import infobloxcni.store.Journal;
import infobloxcni.wapisim.WapiSimulator;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A DEL answers once its intent is on disk; the release follows behind the answer. What that
 * must not cost: a release lost at a stop, a second reservation for an attachment added again at
 * once, or the release of what the DEL did not own.
 */
class DelBehindTheAnswerTest {
    private static final String NET = netconf("1.0.0", "net1", "\"subnet\":\"10.61.0.0/24\"");
    private static final AttachmentKey C1 = new AttachmentKey("net1", "c1", "eth0");

    @TempDir
    Path dir;

    private WapiSimulator grid;
    private TestHost host;

    @BeforeEach
    void start() {
        grid = TestHost.startGrid();
        host = new TestHost(grid, dir, "host-a");
    }

    @AfterEach
    void stop() {
        grid.faults().reset();
        host.close();
        grid.close();
    }

    private List<Map<String, Object>> reservationsOf(String containerId) {
        return TestHost.reservationsOf(grid, containerId);
    }

    @Test
    void aDelToAHungGridAnswersAtOnceWithItsIntentOnDiskAndReleasesWhenTheGridAnswers() throws Exception {
        host.start();
        assertTrue(host.call("ADD", "c1", "eth0", NET).ok());
        grid.faults().hang(true);
        long t0 = System.nanoTime();
        assertTrue(host.call("DEL", "c1", "eth0", NET).ok());
        long ms = (System.nanoTime() - t0) / 1_000_000;
        // Before, a DEL waited on the grid for its bound (2 s at least) before it gave up and queued the release.
        assertTrue(ms < 1000, "a DEL does not wait on a hung grid: " + ms + " ms");
        assertEquals(
                AttachmentState.DEL_PENDING,
                host.daemon().ipam().journal().get(C1).orElseThrow().state());
        assertEquals(1, reservationsOf("c1").size(), "not released yet: the grid is hung");
        grid.faults().hang(false);
        host.awaitSettled();
        awaitReleased("c1");
    }

    @Test
    void aStopRightAfterTheAnswerLetsTheReleaseUnderWayFinish() throws Exception {
        host.start();
        assertTrue(host.call("ADD", "c1", "eth0", NET).ok());
        grid.faults().latency(Duration.ofMillis(300));
        assertTrue(host.call("DEL", "c1", "eth0", NET).ok());
        host.stop(); // the release is on the grid's way
        assertTrue(reservationsOf("c1").isEmpty(), "released before the daemon stopped");
        try (Journal j = Journal.open(host.journalDir())) {
            assertTrue(j.get(C1).isEmpty(), "and its record is gone");
        }
    }

    @Test
    void aReleaseAStopCutShortFinishesAfterTheNextStart() throws Exception {
        host.start();
        assertTrue(host.call("ADD", "c1", "eth0", NET).ok());
        grid.faults().hang(true);
        assertTrue(host.call("DEL", "c1", "eth0", NET).ok());
        host.stop(); // waits one call bound for the hung grid, then leaves the intent on disk
        try (Journal j = Journal.open(host.journalDir())) {
            assertEquals(AttachmentState.DEL_PENDING, j.get(C1).orElseThrow().state());
        }
        grid.faults().hang(false);
        host.start();
        awaitReleased("c1");
    }

    @Test
    void anAddOfTheSameAttachmentRightAfterItsDelHoldsExactlyOneReservation() throws Exception {
        host.start();
        for (int round = 0; round < 20; round++) {
            assertTrue(host.call("ADD", "c1", "eth0", NET).ok(), "round " + round);
            assertTrue(host.call("DEL", "c1", "eth0", NET).ok(), "round " + round);
        }
        String address = host.call("ADD", "c1", "eth0", NET).address();
        host.awaitSettled();
        var held = reservationsOf("c1");
        assertEquals(1, held.size(), "one reservation for c1, not one per round: " + held);
        assertEquals(address.replaceAll("/.*", ""), held.getFirst().get("ipv4addr"));
        assertEquals(
                AttachmentState.ALLOCATED,
                host.daemon().ipam().journal().get(C1).orElseThrow().state());
    }

    @Test
    void aDelBoundMakesTheAnswerWaitForTheRelease() throws Exception {
        host.bounds(new DaemonConfig.VerbBounds(Duration.ofSeconds(10), Duration.ofSeconds(5)))
                .start();
        assertTrue(host.call("ADD", "c1", "eth0", NET).ok());
        grid.faults().latency(Duration.ofMillis(200));
        assertTrue(host.call("DEL", "c1", "eth0", NET).ok());
        assertTrue(reservationsOf("c1").isEmpty(), "released when the DEL answers");
        assertTrue(host.daemon().ipam().journal().get(C1).isEmpty());
    }

    private void awaitReleased(String containerId) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (!reservationsOf(containerId).isEmpty()) {
            if (System.nanoTime() > deadline)
                throw new AssertionError(containerId + " still reserved: " + reservationsOf(containerId));
            Thread.sleep(20);
        }
    }
}
