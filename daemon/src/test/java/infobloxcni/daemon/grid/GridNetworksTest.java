package infobloxcni.daemon.grid;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import infobloxcni.daemon.TestHost;
import infobloxcni.daemon.cni.Ipv4Subnet;
import infobloxcni.wapi.SslVerify;
import infobloxcni.wapi.WapiClient;
import infobloxcni.wapi.WapiConfig;
import infobloxcni.wapisim.WapiSimulator;
import infobloxcni.wire.CniError;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** GridNetworks alone, against the simulator: what an allocation needs on the grid, made once and remembered. */
class GridNetworksTest {
    private WapiSimulator grid;
    private WapiClient wapi;
    private GridNetworks networks;

    @BeforeEach
    void start() {
        grid = TestHost.startGrid();
        wapi = new WapiClient(
                WapiConfig.of("127.0.0.1", grid.port(), "2.5", TestHost.USER, TestHost.PASSWORD, new SslVerify.System())
                        .withHttps(false)
                        .withTimeouts(Duration.ofSeconds(1), Duration.ofSeconds(2), Duration.ofSeconds(2)));
        networks = new GridNetworks(wapi, new ReservationTags("host-a", "cluster-1", "Kubernetes"));
    }

    @AfterEach
    void stop() {
        wapi.close();
        grid.close();
    }

    private static NetworkRequest subnet(String name, String cidr, String gateway) {
        return new NetworkRequest("cni_view", name, Ipv4Subnet.parse(cidr), List.of("172.18.0.0/16"), 24, gateway);
    }

    @Test
    void viewNetworkAndGatewayAreMadeOnceThenRemembered() throws Exception {
        ReadyNetwork ready = networks.ensure(subnet("net1", "10.1.0.0/24", null));
        assertEquals(
                new ReadyNetwork("cni_view", Ipv4Subnet.parse("10.1.0.0/24"), "10.1.0.1"),
                ready,
                "absent gateway: the first host");
        assertEquals("net1", TestHost.ea(grid.objects("network").getFirst(), "Network Name"));
        assertTrue(
                grid.objects("fixedaddress").stream().anyMatch(f -> "10.1.0.1".equals(f.get("ipv4addr"))),
                "gateway reserved");
        grid.resetCounters();
        assertEquals(ready, networks.ensure(subnet("net1", "10.1.0.0/24", null)));
        assertEquals(0, grid.totalRequests(), "warm: nothing asked of the grid");
    }

    @Test
    void aSubnetTaggedWithAnotherNetworksNameIsRefused() throws Exception {
        networks.ensure(subnet("net1", "10.1.0.0/24", null));
        CniError e = assertThrows(
                CniError.class,
                () -> new GridNetworks(wapi, new ReservationTags("host-b", "cluster-1", "Kubernetes"))
                        .ensure(subnet("other", "10.1.0.0/24", null)));
        assertEquals(CniError.NETWORK_NAME_CONFLICT, e.code());
        assertTrue(e.getMessage().contains("net1"), e.getMessage());
    }

    @Test
    void withoutASubnetOneIsCarvedAndFoundByItsNameNextTime() throws Exception {
        NetworkRequest carve = new NetworkRequest("cni_view", "carved", null, List.of("172.18.0.0/16"), 24, null);
        ReadyNetwork first = networks.ensure(carve);
        assertEquals("172.18.0.0/24", first.subnet().toString());
        ReadyNetwork again =
                new GridNetworks(wapi, new ReservationTags("host-b", "cluster-1", "Kubernetes")).ensure(carve);
        assertEquals(first.subnet(), again.subnet(), "another host finds the same network by its name");
        assertEquals(1, grid.objects("network").size());
    }

    @Test
    void gatewaysWrittenAsAHostPartOrAnAddressAndTheirErrors() throws Exception {
        Ipv4Subnet s = Ipv4Subnet.parse("10.2.0.0/24");
        assertEquals("10.2.0.254", GridNetworks.resolveGateway(subnet("n", "10.2.0.0/24", "0.0.0.254"), s));
        assertEquals("10.2.0.9", GridNetworks.resolveGateway(subnet("n", "10.2.0.0/24", "10.2.0.9"), s));
        CniError broadcast = assertThrows(
                CniError.class, () -> GridNetworks.resolveGateway(subnet("n", "10.2.0.0/24", "10.2.0.255"), s));
        assertEquals(CniError.INVALID_NETCONF, broadcast.code());
        assertTrue(broadcast.getMessage().contains("ipam.gateway"), broadcast.getMessage());
    }

    @Test
    void aNetworkTheGridLostIsLookedForAgainAfterForget() throws Exception {
        NetworkRequest req = subnet("net1", "10.3.0.0/24", null);
        networks.ensure(req);
        grid.deleteObject(String.valueOf(grid.objects("network").getFirst().get("_ref")));
        networks.forget(req);
        networks.ensure(req);
        assertEquals(1, grid.objects("network").size(), "made again");
    }
}
