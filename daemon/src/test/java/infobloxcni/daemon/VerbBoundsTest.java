package infobloxcni.daemon;

import static infobloxcni.daemon.Eventually.await;
import static infobloxcni.daemon.TestHost.netconf;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import infobloxcni.daemon.config.DaemonConfig;
import infobloxcni.store.Attachment;
import infobloxcni.store.AttachmentKey;
import infobloxcni.store.AttachmentState;
import infobloxcni.store.Journal;
import infobloxcni.wapisim.WapiSimulator;
import infobloxcni.wire.CniError;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * No verb waits on the grid longer than its bound, all its calls together; and what was queued
 * during an outage goes the moment the grid is back, whatever its backoff said.
 */
class VerbBoundsTest {
    private static final String NET = netconf("1.0.0", "net1", "\"subnet\":\"10.60.0.0/24\"");
    private static final Duration ADD_BOUND = Duration.ofSeconds(3);
    private static final Duration DEL_BOUND = Duration.ofSeconds(1);

    @TempDir
    Path dir;

    private WapiSimulator grid;
    private TestHost host;

    @BeforeEach
    void start() throws Exception {
        grid = TestHost.startGrid();
        host = new TestHost(grid, dir, "host-a")
                .bounds(new DaemonConfig.VerbBounds(ADD_BOUND, DEL_BOUND))
                .start();
    }

    @AfterEach
    void stop() {
        grid.faults().reset();
        host.close();
        grid.close();
    }

    @Test
    void anAddToAHungGridIsHeldNoLongerThanItsBoundNotTwoReadTimeouts() throws Exception {
        assertTrue(host.call("ADD", "warm", "eth0", NET).ok());
        grid.faults().hang(true);
        long t0 = System.nanoTime();
        var add = host.call("ADD", "c1", "eth0", NET);
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertEquals(CniError.TRY_AGAIN_LATER, add.code(), add.toString());
        // the POST times out (2 s call timeout) and the search that follows a lost answer must fit in what is left
        assertTrue(
                ms < ADD_BOUND.toMillis() + 700, "an ADD waits at most its bound (" + ADD_BOUND + "): " + ms + " ms");
        t0 = System.nanoTime();
        assertTrue(host.call("DEL", "c1", "eth0", NET).ok(), "a DEL then succeeds, its release queued");
        ms = (System.nanoTime() - t0) / 1_000_000;
        assertTrue(ms < DEL_BOUND.toMillis() + 700, "a DEL waits at most its bound (" + DEL_BOUND + "): " + ms + " ms");
    }

    @Test
    void aReleaseBackedOffToItsCapReplaysTheMomentTheGridIsBack() throws Exception {
        assertTrue(host.call("ADD", "c1", "eth0", NET).ok());
        host.stop();
        try (Journal j = Journal.open(host.journalDir())) {
            // a release that had failed through a long outage: its next try is minutes away
            Attachment a = j.get(new AttachmentKey("net1", "c1", "eth0")).orElseThrow();
            Attachment failing = a.withState(AttachmentState.DEL_PENDING).withError("grid unreachable");
            for (int i = 0; i < 12; i++) failing = failing.withAttempt();
            j.put(failing.withUpdated(Instant.now()));
        }
        grid.faults().outage(true);
        host.start();
        await(
                "the release was tried during the outage",
                Duration.ofSeconds(15),
                () -> host.daemon()
                        .ipam()
                        .journal()
                        .get(new AttachmentKey("net1", "c1", "eth0"))
                        .map(r -> r.attempts() > 12)
                        .orElse(false));
        grid.faults().outage(false);
        long t0 = System.nanoTime();
        await(
                "the release goes once the grid is back",
                Duration.ofSeconds(15),
                () -> grid.objects("fixedaddress").stream().noneMatch(f -> "c1".equals(TestHost.ea(f, "VM ID"))));
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertTrue(
                ms < 5000, "replayed within seconds of the grid's return, not at its 5-minute backoff: " + ms + " ms");
    }
}
