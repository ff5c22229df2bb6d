package infobloxcni.daemon;

import static infobloxcni.daemon.TestHost.netconf;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import infobloxcni.store.AttachmentKey;
import infobloxcni.wapisim.WapiSimulator;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The start-up merge (journal with the grid) runs beside requests. Its search for this host's
 * reservations may be answered before a DEL's release deletes one, and its journal read come
 * after the release removed the record: it then adopted a container that is gone, whose address
 * the grid hands to the next container. Seen in the crash test as {@code HELD_TWICE} (two records
 * with one address) and {@code HELD_BY_ANOTHER} (a record whose address the pool holds again).
 */
class MergeRaceTest {
    private static final String NET = netconf("1.1.0", "merge-net", "\"subnet\":\"10.46.0.0/24\",\"pool-size\":0");

    @TempDir
    Path dir;

    private WapiSimulator grid;
    private TestHost host;

    @AfterEach
    void stop() {
        if (host != null) host.close();
        if (grid != null) grid.close();
    }

    @Test
    void aContainerReleasedWhileTheMergeSearchedIsNotAdoptedBack() throws Exception {
        grid = TestHost.startGrid();
        host = new TestHost(grid, dir, "host-a").start();
        assertTrue(host.call("ADD", "c1", "eth0", NET).ok());
        AttachmentKey c1 = new AttachmentKey("merge-net", "c1", "eth0");

        // The merge's search has its answer (c1 still reserved); before the merge reads the
        // journal, the runtime's DEL of c1 is answered and its release finishes.
        AtomicBoolean once = new AtomicBoolean();
        host.daemon().wapi().observeCalls(call -> {
            if (call.method().equals("GET")
                    && Thread.currentThread().getName().equals("merge")
                    && once.compareAndSet(false, true)) {
                assertTrue(host.call("DEL", "c1", "eth0", NET).ok());
                host.awaitSettled();
            }
        });
        Thread merge = Thread.ofPlatform()
                .name("merge")
                .start(() ->
                        host.daemon().rebuilder().rebuild(host.daemon().ipam().journal()));
        merge.join(30_000);
        assertTrue(once.get(), "the merge searched the grid");

        assertEquals(0, TestHost.reservationsOf(grid, "c1").size(), "c1 released on the grid");
        assertTrue(
                host.daemon().ipam().journal().get(c1).isEmpty(),
                "the merge did not adopt c1 back: "
                        + host.daemon().ipam().journal().get(c1));
    }
}
