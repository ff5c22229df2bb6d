package infobloxcni.daemon;

import static infobloxcni.daemon.Eventually.await;
import static infobloxcni.daemon.TestHost.netconf;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import infobloxcni.wapisim.WapiSimulator;
import infobloxcni.wire.CniError;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A grid that refuses connections is down at once: README says an ADD the pool cannot serve
 * then fails at once, but each took 5.0 to 5.6 s, waiting out the start-up merge with a grid that
 * could not answer (and a refused connect counted as one failure of three). Now a refused
 * connect opens the breaker, and an ADD waits for no merge while the grid is known down.
 */
class RefusingGridTest {
    @TempDir
    Path dir;

    @Test
    void anAddAgainstARefusingGridFailsAtOnceAndWorksWhenItIsBack() throws Exception {
        try (WapiSimulator grid = TestHost.startGrid()) {
            grid.faults().outage(true);
            TestHost made = new TestHost(grid, dir, "host-r").poolSize(0);
            // a call timeout of 10 s, as an operator's: the merge wait is then its whole 5 s
            try (TestHost host = made.start(made.config(Duration.ofSeconds(10)))) {
                String net = netconf("1.1.0", "net1", "\"subnet\":\"10.20.0.0/24\"");
                await("a refused connect makes the grid known down", () -> {
                    host.call("STATUS", null, null, net);
                    return host.daemon().gridHealth().failingFast();
                });
                long started = System.nanoTime();
                var add = host.call("ADD", "c1", "eth0", net);
                Duration took = Duration.ofNanos(System.nanoTime() - started);
                assertEquals(CniError.TRY_AGAIN_LATER, add.code(), add.toString());
                assertTrue(add.msg().contains("the grid is down since"), add.msg());
                // the old wait for the merge was 5 s by construction; this bound only tells the two apart
                assertTrue(
                        took.compareTo(Duration.ofSeconds(4)) < 0, "no wait for a merge that cannot happen: " + took);

                grid.faults().outage(false);
                host.awaitGridUp();
                var again = host.call("ADD", "c1", "eth0", net);
                assertTrue(again.ok(), again.toString());
            }
        }
    }
}
