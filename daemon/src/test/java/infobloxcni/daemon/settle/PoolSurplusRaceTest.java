package infobloxcni.daemon.settle;

import static infobloxcni.daemon.Eventually.await;
import static infobloxcni.daemon.TestHost.netconf;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import infobloxcni.daemon.TestHost;
import infobloxcni.daemon.state.AddressPool;
import infobloxcni.daemon.state.JournalGuard;
import infobloxcni.store.Attachment;
import infobloxcni.store.AttachmentKey;
import infobloxcni.store.AttachmentState;
import infobloxcni.wapisim.WapiSimulator;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The pool keeper lists the free addresses, then releases those beyond the target; an ADD may
 * take one of them in between. Seen in the benchmark's soak: the keeper deleted the address of
 * a container whose tag had not reached the grid yet (the grid still showed the pool's tag, so
 * the verified delete found it "ours"), and the container's tag then reserved it again, after a
 * window in which the grid could give it to another host.
 *
 * <p>And the other way round: a search for this host's pool addresses (settling a lost refill,
 * the start-up merge, an audit) may answer with an address a release is deleting; taken into the
 * pool from that answer, it is a free address the grid no longer holds, which the next ADD hands
 * out unreserved. Seen in the crash test: {@code MISSING_ON_GRID ~pool/10.66.0.14}.
 */
class PoolSurplusRaceTest {
    private static final String NET = netconf("1.1.0", "pool-net", "\"subnet\":\"10.45.0.0/24\",\"pool-size\":4");

    @TempDir
    Path dir;

    private WapiSimulator grid;
    private TestHost host;

    @AfterEach
    void stop() {
        if (grid != null) grid.faults().reset();
        if (host != null) host.close();
        if (grid != null) grid.close();
    }

    @Test
    void anAddressAnAddTookAfterThePoolWasListedIsNotReleasedAsSurplus() throws Exception {
        // Without the request object a tag is GET then PUT: failing the PUTs keeps the tag from landing.
        grid = WapiSimulator.builder()
                .port(0)
                .credentials(TestHost.USER, TestHost.PASSWORD)
                .requestObject(false)
                .build()
                .start();
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
        Map<String, Object> held = grid.objects("fixedaddress").stream()
                .filter(f -> lowest.address().equals(f.get("ipv4addr")))
                .findFirst()
                .orElse(null);
        assertTrue(held != null, "c1's address is still reserved on the grid");
        assertEquals(
                AttachmentState.TAG_PENDING,
                host.daemon()
                        .ipam()
                        .journal()
                        .get(new AttachmentKey("pool-net", "c1", "eth0"))
                        .orElseThrow()
                        .state());

        grid.faults().reset();
        await("c1's tag lands", () -> TestHost.reservationsOf(grid, "c1").size() == 1);
        assertEquals(
                lowest.address(), TestHost.reservationsOf(grid, "c1").getFirst().get("ipv4addr"));
    }

    @Test
    void aPoolAddressReleasedWhileALostRefillIsSettledIsNotTakenBackIntoThePool() throws Exception {
        grid = TestHost.startGrid();
        host = new TestHost(grid, dir, "host-a").start();
        assertTrue(host.call("ADD", "c0", "eth0", NET).ok());
        AddressPool pool = host.daemon().ipam().pool();
        JournalGuard journal = host.daemon().ipam().journal();
        await("the pool is full", () -> pool.free("pool-net", "default", null).size() == 4);
        host.daemon().keeper().close(); // from here on, this test plays the keeper's parts
        Attachment released = pool.free("pool-net", "default", null).getLast();
        Attachment intent = Attachment.pending(
                        AddressPool.refillKey("pool-net"), "default", null, java.time.Instant.now())
                .withAllocation(null, 24, released.gateway(), null, released.cidr())
                .withState(AttachmentState.POOL_PENDING);

        // The settlement's search has its answer (the address still on the grid); before the
        // settlement reads the journal, a surplus release drops the record and deletes it.
        java.util.concurrent.atomic.AtomicBoolean once = new java.util.concurrent.atomic.AtomicBoolean();
        host.daemon().wapi().observeCalls(call -> {
            if (call.method().equals("GET")
                    && Thread.currentThread().getName().equals("settle")
                    && once.compareAndSet(false, true)) {
                assertTrue(pool.dropIfFree(released));
                String ref = grid.objects("fixedaddress").stream()
                        .filter(f -> released.address().equals(f.get("ipv4addr")))
                        .map(f -> (String) f.get("_ref"))
                        .findFirst()
                        .orElseThrow();
                grid.deleteObject(ref);
            }
        });
        Thread settle = Thread.ofPlatform()
                .name("settle")
                .start(() -> host.daemon().keeper().settleRefill(intent));
        settle.join(20_000);
        assertTrue(once.get(), "the settlement searched the grid");

        assertTrue(
                grid.objects("fixedaddress").stream()
                        .noneMatch(f -> released.address().equals(f.get("ipv4addr"))),
                "released on the grid");
        assertTrue(
                journal.all().stream().noneMatch(a -> released.address().equals(a.address())),
                "the released address is not back in the pool: " + pool.free("pool-net", "default", null));
        assertEquals(3, pool.free("pool-net", "default", null).size());
    }
}
