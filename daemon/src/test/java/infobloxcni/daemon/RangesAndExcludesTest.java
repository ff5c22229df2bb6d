package infobloxcni.daemon;

import static infobloxcni.daemon.Eventually.await;
import static infobloxcni.daemon.TestHost.netconf;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import infobloxcni.daemon.cni.Ipv4Subnet;
import infobloxcni.wapisim.WapiSimulator;
import infobloxcni.wire.CniError;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code ipam.range-start}/{@code range-end} and {@code ipam.exclude} through the daemon's socket
 * against the simulator: the ADD's address and every pool refill stay inside the range and off
 * the excluded addresses; the range is made on the grid as a reserved range (or one the grid
 * holds is used as it is); what cannot be is refused naming the field. Before, all three fields
 * were ignored and the network's lowest free address was handed out.
 */
class RangesAndExcludesTest {
    private static final String SUBNET = "\"subnet\":\"10.54.0.0/24\"";

    @TempDir
    Path dir;

    private WapiSimulator grid;
    private TestHost host;

    @BeforeEach
    void start() throws Exception {
        grid = TestHost.startGrid();
        host = new TestHost(grid, dir.resolve("a"), "host-a").poolSize(2).start();
    }

    @AfterEach
    void stop() {
        grid.faults().reset();
        host.close();
        grid.close();
    }

    private TestHost.Answer add(String containerId, String netconf) {
        return host.call("ADD", containerId, "eth0", netconf);
    }

    private static String ip(TestHost.Answer a) {
        assertTrue(a.ok(), a.toString());
        return a.address().replaceFirst("/.*", "");
    }

    private List<String> poolAddresses(String network) {
        return grid.objects("fixedaddress").stream()
                .filter(f -> ("infoblox-cni host=host-a net=" + network + " pool").equals(f.get("comment")))
                .map(f -> String.valueOf(f.get("ipv4addr")))
                .sorted((a, b) -> Long.compare(
                        Integer.toUnsignedLong(Ipv4Subnet.parseAddress(a)),
                        Integer.toUnsignedLong(Ipv4Subnet.parseAddress(b))))
                .toList();
    }

    private void awaitPool(String network, int size) throws InterruptedException {
        await(
                "the pool of " + network + " fills to " + size,
                () -> poolAddresses(network).size() == size
                        && host.status()
                                        .path("pools")
                                        .path(network)
                                        .path("free")
                                        .asInt()
                                == size);
    }

    @Test
    void aRangeIsMadeOnTheGridAndEveryAddressComesFromIt() throws Exception {
        String net =
                netconf("1.1.0", "ranged", SUBNET + ",\"range-start\":\"10.54.0.100\",\"range-end\":\"10.54.0.110\"");
        assertEquals("10.54.0.100", ip(add("c1", net)));
        awaitPool("ranged", 2);
        assertEquals(List.of("10.54.0.101", "10.54.0.102"), poolAddresses("ranged"), "refills stay in the range");
        List<Map<String, Object>> ranges = grid.objects("range");
        assertEquals(1, ranges.size(), ranges.toString());
        assertEquals("10.54.0.100", ranges.getFirst().get("start_addr"));
        assertEquals("10.54.0.110", ranges.getFirst().get("end_addr"));
        assertEquals("infoblox-cni range of network ranged", ranges.getFirst().get("comment"));
        assertEquals("10.54.0.101", ip(add("c2", net)), "the pool's lowest, inside the range");

        // host-local's names mean the same, and the range found on the grid is used, not made again
        String hostLocal =
                netconf("1.1.0", "ranged", SUBNET + ",\"rangeStart\":\"10.54.0.100\",\"rangeEnd\":\"10.54.0.110\"");
        String third = ip(add("c3", hostLocal));
        assertTrue(
                Ipv4Subnet.parseAddress(third) >= Ipv4Subnet.parseAddress("10.54.0.100")
                        && Ipv4Subnet.parseAddress(third) <= Ipv4Subnet.parseAddress("10.54.0.110"),
                third);
        assertEquals(1, grid.objects("range").size());
    }

    @Test
    void aNetworkWithoutARangeIsNoLongerHandedTheRangesAddresses() throws Exception {
        String ranged = netconf(
                "1.1.0",
                "ranged",
                SUBNET + ",\"range-start\":\"10.54.0.2\",\"range-end\":\"10.54.0.20\",\"pool-size\":0");
        assertEquals("10.54.0.2", ip(add("c1", ranged)));
        // a second network name on the same subnet would be refused (102): the same name without the range
        String whole = netconf("1.1.0", "ranged", SUBNET + ",\"pool-size\":0");
        assertEquals("10.54.0.21", ip(add("c2", whole)), "the grid's next available in the network skips the range");
    }

    @Test
    void aDhcpRangeTheGridHoldsIsUsedAsTheGridDefinesIt() {
        assertEquals("10.54.0.2", ip(add("c0", netconf("1.1.0", "dhcp", SUBNET + ",\"pool-size\":0"))));
        grid.createObject(
                "range",
                Map.of(
                        "start_addr",
                        "10.54.0.50",
                        "end_addr",
                        "10.54.0.60",
                        "network_view",
                        "default",
                        "server_association_type",
                        "MEMBER"));
        String net = netconf(
                "1.1.0",
                "dhcp",
                SUBNET + ",\"range-start\":\"10.54.0.50\",\"range-end\":\"10.54.0.60\",\"pool-size\":0");
        assertEquals("10.54.0.50", ip(add("c1", net)));
        assertEquals(1, grid.objects("range").size(), "no second range");
        assertEquals("MEMBER", grid.objects("range").getFirst().get("server_association_type"), "left as it was");
    }

    @Test
    void excludedAddressesAreNeverHandedOutNorPooled() throws Exception {
        String net = netconf(
                "1.1.0",
                "excl",
                SUBNET + ",\"exclude\":[\"10.54.0.2\",\"10.54.0.4/31\",\"10.54.0.7\"],\"pool-size\":3");
        assertEquals("10.54.0.3", ip(add("c1", net)));
        awaitPool("excl", 3);
        assertEquals(List.of("10.54.0.6", "10.54.0.8", "10.54.0.9"), poolAddresses("excl"));
        for (String taken : List.of("10.54.0.2", "10.54.0.4", "10.54.0.5", "10.54.0.7"))
            assertTrue(
                    grid.objects("fixedaddress").stream().noneMatch(f -> taken.equals(f.get("ipv4addr"))),
                    taken + " stays free on the grid");
    }

    @Test
    void aFullRangeIsNetworkFullQuotingTheGrid() {
        String net = netconf(
                "1.1.0",
                "tiny",
                SUBNET + ",\"range-start\":\"10.54.0.10\",\"range-end\":\"10.54.0.11\",\"pool-size\":0");
        assertEquals("10.54.0.10", ip(add("c1", net)));
        assertEquals("10.54.0.11", ip(add("c2", net)));
        var full = add("c3", net);
        assertEquals(CniError.NETWORK_FULL, full.code(), full.toString());
        assertTrue(full.msg().contains("Cannot find 1 available IP address(es)"), full.msg());
    }

    @Test
    void requestedAddressesOutsideTheRangeOrExcludedAreRefused() {
        String net = netconf(
                "1.1.0",
                "both",
                SUBNET
                        + ",\"range-start\":\"10.54.0.100\",\"range-end\":\"10.54.0.110\",\"exclude\":[\"10.54.0.105\"]");
        String outside = net.replace("}}", "},\"runtimeConfig\":{\"ips\":[\"10.54.0.50\"]}}");
        var a = add("c1", outside);
        assertEquals(CniError.INVALID_NETCONF, a.code(), a.toString());
        assertTrue(a.msg().contains("is outside the network's range 10.54.0.100-10.54.0.110"), a.msg());
        var b = add("c2", net.replace("}}", "},\"runtimeConfig\":{\"ips\":[\"10.54.0.105\"]}}"));
        assertEquals(CniError.INVALID_NETCONF, b.code(), b.toString());
        assertTrue(b.msg().contains("is excluded by ipam.exclude"), b.msg());
        assertEquals(
                "10.54.0.104", ip(add("c3", net.replace("}}", "},\"runtimeConfig\":{\"ips\":[\"10.54.0.104\"]}}"))));
    }

    @Test
    void aCarvedNetworksRangeIsCheckedOnceItsSubnetIsKnown() {
        String carved = netconf(
                "1.1.0",
                "carved",
                "\"network-container\":\"10.61.0.0/16\",\"prefix-length\":24,\"range-start\":\"10.62.0.10\",\"range-end\":\"10.62.0.20\"");
        var a = add("c1", carved);
        assertEquals(CniError.INVALID_NETCONF, a.code(), a.toString());
        assertTrue(
                a.msg().contains("'ipam.range-start': 10.62.0.10 is not a usable host address of 10.61.0.0/24"),
                a.msg());
    }

    @Test
    void aRangeOverlappingAnotherOnTheGridIsRefusedInTheGridsWords() {
        String wide =
                netconf("1.1.0", "overlap", SUBNET + ",\"range-start\":\"10.54.0.100\",\"range-end\":\"10.54.0.120\"");
        ip(add("c1", wide));
        String narrowed =
                netconf("1.1.0", "overlap", SUBNET + ",\"range-start\":\"10.54.0.110\",\"range-end\":\"10.54.0.120\"");
        var refused = add("c2", narrowed);
        assertEquals(CniError.GRID_REJECTED, refused.code(), refused.toString());
        assertTrue(refused.msg().contains("overlaps"), refused.msg());
    }

    @Test
    void aPoolEntryANewExcludeCoversLeavesThePool() throws Exception {
        String net = netconf("1.1.0", "moved", SUBNET);
        assertEquals("10.54.0.2", ip(add("c1", net)));
        awaitPool("moved", 2);
        assertEquals(List.of("10.54.0.3", "10.54.0.4"), poolAddresses("moved"));
        String excluding = netconf("1.1.0", "moved", SUBNET + ",\"exclude\":[\"10.54.0.3\"]");
        assertEquals("10.54.0.4", ip(add("c2", excluding)), "the excluded pool entry is not handed out");
        await(
                "the excluded entry is released and the pool refilled outside it",
                () -> poolAddresses("moved").equals(List.of("10.54.0.5", "10.54.0.6")));
        assertTrue(grid.objects("fixedaddress").stream().noneMatch(f -> "10.54.0.3".equals(f.get("ipv4addr"))));
    }
}
