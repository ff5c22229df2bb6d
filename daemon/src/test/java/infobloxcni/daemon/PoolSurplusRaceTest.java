package infobloxcni.daemon;

import static infobloxcni.daemon.TestHost.netconf;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import infobloxcni.store.Attachment;
import infobloxcni.store.AttachmentKey;
import infobloxcni.store.AttachmentState;
import infobloxcni.wapisim.WapiSimulator;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The pool keeper lists the free addresses, then releases those beyond the target; an ADD may
 * take one of them in between. Seen in the benchmark's soak: the keeper deleted the address of
 * a container whose tag had not reached the grid yet (the grid still showed the pool's tag, so
 * the verified delete found it "ours"), and the container's tag then reserved it again, after a
 * window in which the grid could give it to another host.
 */
class PoolSurplusRaceTest {
    private static final String NET = netconf("1.1.0", "pool-net", "\"subnet\":\"10.45.0.0/24\",\"pool-size\":4");

    @TempDir Path dir;
    private WapiSimulator grid;
    private TestHost host;

    @AfterEach
    void stop() {
        if (grid != null) grid.faults().reset();
        if (host != null) host.close();
        if (grid != null) grid.close();
    }

    private static void await(String what, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) throw new AssertionError("timed out waiting until " + what);
            Thread.sleep(25);
        }
    }

    @Test
    void anAddressAnAddTookAfterThePoolWasListedIsNotReleasedAsSurplus() throws Exception {
        // Without the request object a tag is GET then PUT: failing the PUTs keeps the tag from landing.
        grid = WapiSimulator.builder().port(0).credentials(TestHost.USER, TestHost.PASSWORD).requestObject(false).build().start();
        host = new TestHost(grid, dir, "host-a").start();
        assertTrue(host.call("ADD", "c0", "eth0", NET).ok());
        AddressPool pool = host.daemon().ipam().pool();
        await("the pool is full", () -> pool.free("pool-net", "default", null).size() == 4);
        List<Attachment> listed = pool.free("pool-net", "default", null); // what the keeper saw
        Attachment lowest = listed.getFirst();

        grid.faults().failNext(1000, 503, "Server.Unavailable", "Service Unavailable", "PUT");
        var add = host.call("ADD", "c1", "eth0", NET);
        assertTrue(add.ok(), add.toString());
        assertEquals(lowest.address() + "/24", add.address(), "c1 took the lowest pool address");
        host.awaitSettled(); // its tag was tried and refused: the grid still shows the pool's tag

        host.daemon().keeper().releaseSurplus(lowest); // the keeper acting on its earlier list
        Map<String, Object> held = grid.objects("fixedaddress").stream().filter(f -> lowest.address().equals(f.get("ipv4addr")))
                .findFirst().orElse(null);
        assertTrue(held != null, "c1's address is still reserved on the grid");
        assertEquals(AttachmentState.TAG_PENDING, host.daemon().ipam().journal().get(new AttachmentKey("pool-net", "c1", "eth0"))
                .orElseThrow().state());

        grid.faults().reset();
        await("c1's tag lands", () -> TestHost.reservationsOf(grid, "c1").size() == 1);
        assertEquals(lowest.address(), TestHost.reservationsOf(grid, "c1").getFirst().get("ipv4addr"));
    }
}
