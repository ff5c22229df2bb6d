package infobloxcni.daemon;

import static infobloxcni.daemon.Eventually.await;
import static infobloxcni.daemon.TestHost.netconf;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import infobloxcni.daemon.audit.JournalAudit;
import infobloxcni.daemon.state.AddressPool;
import infobloxcni.store.Attachment;
import infobloxcni.store.AttachmentKey;
import infobloxcni.store.AttachmentState;
import infobloxcni.wapisim.WapiSimulator;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The pool after the journal is lost, and in the recover command's hands: a rebuild tells free
 * pool addresses from ones already handed out (the runtime's cache says which), and the audit
 * releases what is beyond the target and the pool of a host that is gone, never anything else.
 */
class WarmPoolRecoveryTest {
    private static final String NET = netconf("1.1.0", "pool-net", "\"subnet\":\"10.46.0.0/24\",\"pool-size\":3");

    @TempDir
    Path dir;

    private WapiSimulator grid;
    private TestHost host;

    @BeforeEach
    void start() throws Exception {
        grid = TestHost.startGrid();
        host = new TestHost(grid, dir.resolve("a"), "host-a").poolSize(0).start();
    }

    @AfterEach
    void stop() {
        host.close();
        grid.close();
    }

    private int free() {
        return host.status().path("pools").path("pool-net").path("free").asInt(-1);
    }

    private List<Map<String, Object>> poolEntriesOf(String hostId) {
        return grid.objects("fixedaddress").stream()
                .filter(f -> ("infoblox-cni host=" + hostId + " net=pool-net pool").equals(f.get("comment")))
                .toList();
    }

    /**
     * A libcni cache entry (cniCacheV1) as a runtime writes it after an ADD: with the network's
     * single config (cnitool), or with the network list the config is a plugin of (Podman,
     * containerd, CRI-O, the kubelet: the ipam section is then in {@code plugins[]}).
     */
    private void cacheEntry(String containerId, String address, boolean networkList) throws Exception {
        Path cache = dir.resolve("a").resolve("cni-cache");
        Files.createDirectories(cache);
        String cached = networkList
                ? "{\"cniVersion\":\"1.1.0\",\"name\":\"pool-net\",\"plugins\":[" + NET + ",{\"type\":\"portmap\"}]}"
                : NET;
        String config = Base64.getEncoder().encodeToString(cached.getBytes());
        Files.writeString(
                cache.resolve("pool-net-" + containerId + "-eth0"),
                "{\"kind\":\"cniCacheV1\",\"containerId\":\"" + containerId
                        + "\",\"ifName\":\"eth0\",\"networkName\":\"pool-net\",\"config\":\"" + config
                        + "\",\"cniArgs\":[[\"IgnoreUnknown\",\"1\"],[\"K8S_POD_NAME\",\"web-1\"]],"
                        + "\"result\":{\"cniVersion\":\"1.1.0\",\"interfaces\":[{\"name\":\"cni0\",\"mac\":\"02:00:00:00:00:01\"},"
                        + "{\"name\":\"eth0\",\"mac\":\"0A:58:0A:2E:00:07\",\"sandbox\":\"/var/run/netns/gone\"}],"
                        + "\"ips\":[{\"address\":\"" + address + "/24\",\"gateway\":\"10.46.0.1\",\"interface\":1}]}}");
    }

    @ParameterizedTest(name = "cached as a network list: {0}")
    @ValueSource(booleans = {false, true})
    void aLostJournalIsRebuiltTellingFreePoolAddressesFromOnesAlreadyHandedOut(boolean networkList) throws Exception {
        assertTrue(host.call("ADD", "c0", "eth0", NET).ok());
        await("the pool is full", () -> free() == 3);
        // the grid goes away, a container starts from the pool (its tag cannot be made), then the journal is lost
        grid.faults().outage(true);
        var add = host.call("ADD", "handed-out", "eth0", NET);
        assertTrue(add.ok(), add.toString());
        String address = add.address().replaceFirst("/.*", "");
        cacheEntry("handed-out", address, networkList);
        host.stop();
        TestHost.deleteTree(host.journalDir());
        grid.faults().outage(false);
        host.start();
        await("the rebuilt journal has the container and the rest of the pool", () -> {
            var states = host.status().path("journal");
            return states.path("POOL").asInt() >= 2
                    && host.daemon()
                            .ipam()
                            .journal()
                            .get(new AttachmentKey("pool-net", "handed-out", "eth0"))
                            .map(a -> a.state() == AttachmentState.ALLOCATED)
                            .orElse(false);
        });
        Attachment rebuilt = host.daemon()
                .ipam()
                .journal()
                .get(new AttachmentKey("pool-net", "handed-out", "eth0"))
                .orElseThrow();
        assertEquals(address, rebuilt.address(), "the container keeps its address: it is not free for the pool");
        await(
                "its tag was made after the rebuild",
                () -> grid.objects("fixedaddress").stream()
                        .anyMatch(f ->
                                address.equals(f.get("ipv4addr")) && "handed-out".equals(TestHost.ea(f, "VM ID"))));
        Map<String, Object> tagged = grid.objects("fixedaddress").stream()
                .filter(f -> address.equals(f.get("ipv4addr")))
                .findFirst()
                .orElseThrow();
        assertEquals(
                "0a:58:0a:2e:00:07",
                tagged.get("mac"),
                () -> "the tag the ADD would have made, from the runtime's cache: " + tagged);
        assertEquals("web-1", tagged.get("name"), tagged::toString);
        assertEquals("web-1", TestHost.ea(tagged, "VM Name"), tagged::toString);
        var next = host.call("ADD", "next", "eth0", NET);
        assertTrue(next.ok());
        assertTrue(!next.address().equals(add.address()), "never handed out twice");
    }

    @Test
    void recoverReleasesPoolSurplusAndTheGoneHostsPoolAndNothingElse() throws Exception {
        assertTrue(host.call("ADD", "c0", "eth0", NET).ok());
        await("the pool is full", () -> free() == 3);
        // a host that no longer exists left its pool behind; this host's pool grew beyond its target during an outage
        TestHost gone =
                new TestHost(grid, dir.resolve("b"), "host-gone").poolSize(0).start();
        assertTrue(gone.call("ADD", "g0", "eth0", NET).ok());
        await("the gone host's pool is full", () -> poolEntriesOf("host-gone").size() == 3);
        gone.close();
        host.stop();
        try (var j = infobloxcni.store.Journal.open(host.journalDir())) {
            j.put(AddressPool.entry(
                    "pool-net",
                    "default",
                    "10.46.0.200",
                    24,
                    "10.46.0.1",
                    null,
                    "10.46.0.0/24",
                    java.time.Instant.now()));
        }
        TestHost.poolEntryOnGrid(grid, "host-a", "pool-net", "10.46.0.200");
        host.start();
        host.call("STATUS", null, null, NET); // the daemon learns the network's target (3) from a request

        JournalAudit.Report report = host.audit(null, false, "host-gone");
        assertEquals(
                3,
                report.findings().stream()
                        .filter(f -> f.kind() == JournalAudit.Kind.FORGOTTEN_POOL)
                        .count(),
                report.toString());
        assertEquals(
                1,
                report.findings().stream()
                        .filter(f -> f.kind() == JournalAudit.Kind.POOL_SURPLUS)
                        .count(),
                report.toString());

        JournalAudit.Report applied = host.audit(null, true, "host-gone");
        assertTrue(applied.findings().stream().allMatch(JournalAudit.Finding::repaired), applied.toString());
        assertEquals(0, poolEntriesOf("host-gone").size(), "the gone host's pool is released");
        assertEquals(3, poolEntriesOf("host-a").size(), "this host's pool is at its target");
        assertEquals(
                1,
                grid.objects("fixedaddress").stream()
                        .filter(f -> "g0".equals(TestHost.ea(f, "VM ID")))
                        .count(),
                "the gone host's container reservation is not a pool address: left alone");
        assertEquals(
                1,
                grid.objects("fixedaddress").stream()
                        .filter(f -> "c0".equals(TestHost.ea(f, "VM ID")))
                        .count());
    }
}
