package infobloxcni.daemon;

import static infobloxcni.daemon.Eventually.await;
import static infobloxcni.daemon.TestHost.netconf;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import infobloxcni.wapisim.WapiSimulator;
import infobloxcni.wire.CniError;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * An address the runtime asks for, by each convention a runtime uses ({@code runtimeConfig.ips},
 * {@code args.cni.ips}, {@code CNI_ARGS IP=}), is reserved exactly, through the daemon's socket
 * against the simulator: idempotent on repeat, refused with 106 naming the holder when the grid
 * holds it for another, 7 naming the field when it cannot be a container's, never taken from or
 * given back to the pool. The daemon before this ignored all three (asked for .77, it answered .2).
 */
class RequestedAddressTest {
    private static final String SUBNET = "\"subnet\":\"10.52.0.0/24\"";
    private static final String NET = netconf("1.1.0", "req-net", SUBNET);

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

    /** The netconf with {@code runtimeConfig.ips} asking for these addresses. */
    private static String asking(String netconf, String... ips) {
        return netconf.replace("}}", "},\"runtimeConfig\":{\"ips\":[\"" + String.join("\",\"", ips) + "\"]}}");
    }

    private TestHost.Answer add(String containerId, String netconf) {
        return host.call("ADD", containerId, "eth0", netconf);
    }

    private Map<String, Object> reservationAt(String ip) {
        return grid.objects("fixedaddress").stream()
                .filter(f -> ip.equals(f.get("ipv4addr")))
                .findFirst()
                .orElse(null);
    }

    @ParameterizedTest
    @ValueSource(strings = {"runtimeConfig.ips", "args.cni.ips", "CNI_ARGS IP"})
    void eachConventionGetsExactlyTheAddressAskedFor(String convention) {
        Map<String, String> env = TestHost.env("ADD", "c1", "eth0");
        String conf = switch (convention) {
            case "runtimeConfig.ips" -> asking(NET, "10.52.0.77/24");
            case "args.cni.ips" -> NET.replace("}}", "},\"args\":{\"cni\":{\"ips\":[\"10.52.0.77\"]}}}");
            default -> {
                env.put("CNI_ARGS", "IgnoreUnknown=1;IP=10.52.0.77");
                yield NET;
            }
        };
        var a = host.send(env, conf);
        assertTrue(a.ok(), a.toString());
        assertEquals("10.52.0.77/24", a.address());
        Map<String, Object> r = reservationAt("10.52.0.77");
        assertEquals("c1", TestHost.ea(r, "VM ID"), "reserved for the container, tagged as every reservation: " + r);
        assertEquals("infoblox-cni host=host-a net=req-net if=eth0", r.get("comment"));

        var again = host.send(env, conf);
        assertEquals("10.52.0.77/24", again.address(), "a repeated ADD is answered the same: " + again);
        assertEquals(List.of(r), TestHost.reservationsOf(grid, "c1"), "the same reservation, nothing more");
    }

    @Test
    void anAddressAnotherContainerOfThisHostHoldsIsRefusedNamingIt() {
        assertTrue(add("c1", asking(NET, "10.52.0.77/24")).ok());
        var refused = add("c2", asking(NET, "10.52.0.77/24"));
        assertEquals(CniError.ADDRESS_TAKEN, refused.code(), refused.toString());
        assertTrue(refused.msg().contains("'runtimeConfig.ips'"), refused.msg());
        assertTrue(refused.msg().contains("container c1 on eth0 in network req-net"), refused.msg());
        assertTrue(refused.msg().contains("Fixed address 10.52.0.77 already exists"), "quotes the grid: " + refused);
        assertTrue(TestHost.reservationsOf(grid, "c2").isEmpty(), "nothing reserved for c2");
        assertEquals("c1", TestHost.ea(reservationAt("10.52.0.77"), "VM ID"), "c1 keeps it");
    }

    @Test
    void anAddressSomeoneElseReservedOnTheGridIsRefusedNamingThem() {
        assertTrue(add("c0", NET).ok()); // the network exists
        TestHost.fixedAddressOnGrid(
                grid, "10.52.0.77", "00:11:22:33:44:55", "printer", Map.of("VM ID", Map.of("value", "printer-1")));
        var refused = add("c1", asking(NET, "10.52.0.77"));
        assertEquals(CniError.ADDRESS_TAKEN, refused.code(), refused.toString());
        assertTrue(refused.msg().contains("VM ID printer-1"), refused.msg());
        assertTrue(refused.msg().contains("comment 'printer'"), refused.msg());
        assertEquals("printer-1", TestHost.ea(reservationAt("10.52.0.77"), "VM ID"), "the printer keeps it");
        assertTrue(TestHost.reservationsOf(grid, "c1").isEmpty());
        assertFalse(host.status().path("journal").has("ADD_PENDING"), "no intent left behind");
    }

    @Test
    void anAddressThatCannotBeAContainersIsCode7NamingTheFieldBeforeAnyGridWrite() {
        Map<String, String> bad = Map.of(
                "10.53.0.5", "is not in the subnet 10.52.0.0/24",
                "10.52.0.0", "is the network address of 10.52.0.0/24",
                "10.52.0.255", "is the broadcast address of 10.52.0.0/24",
                "10.52.0.1", "is the gateway of 10.52.0.0/24",
                "10.52.0.9/16", "does not match the subnet 10.52.0.0/24",
                "fd00::5", "IPv6");
        long before = grid.totalRequests();
        bad.forEach((ip, why) -> {
            var a = add("c1", asking(NET, ip));
            assertEquals(CniError.INVALID_NETCONF, a.code(), ip + ": " + a);
            assertTrue(a.msg().contains("'runtimeConfig.ips'") && a.msg().contains(why), ip + ": " + a.msg());
        });
        var two = add("c1", asking(NET, "10.52.0.7", "10.52.0.8"));
        assertEquals(CniError.INVALID_NETCONF, two.code(), two.toString());
        assertTrue(two.msg().contains("one IPv4 address"), two.msg());
        assertEquals(before, grid.totalRequests(), "refused before the grid heard of it");
    }

    @Test
    void aCarvedNetworksSubnetIsCheckedOnceKnown() {
        String carved = netconf("1.1.0", "carved", "\"network-container\":\"10.60.0.0/16\",\"prefix-length\":24");
        var a = add("c1", asking(carved, "10.99.0.5"));
        assertEquals(CniError.INVALID_NETCONF, a.code(), a.toString());
        assertTrue(a.msg().contains("is not in the subnet 10.60.0.0/24"), a.msg());
        var ok = add("c2", asking(carved, "10.60.0.50"));
        assertEquals("10.60.0.50/24", ok.address(), ok.toString());
    }

    @Test
    void aRequestedAddressIsReleasedOnDelNeverGivenToThePool() throws Exception {
        assertTrue(add("c0", NET).ok());
        await(
                "the pool fills",
                () -> host.status().path("pools").path("req-net").path("free").asInt() == 2);
        assertTrue(add("c1", asking(NET, "10.52.0.77")).ok());
        assertTrue(host.call("DEL", "c0", "eth0", NET).ok()); // the pool is full: c0's address is released
        // the pool is below its target now only if c1's address went there: it must not
        assertTrue(host.call("DEL", "c1", "eth0", asking(NET, "10.52.0.77")).ok());
        await("the requested address is released on the grid", () -> reservationAt("10.52.0.77") == null);
        host.awaitSettled();
        assertNull(reservationAt("10.52.0.77"), "no pool entry there either");
        assertTrue(TestHost.reservationsOf(grid, "c1").isEmpty());
    }

    @Test
    void aRequestedAddressThisHostKeepsWarmIsTakenFromThePoolByItsVerifiedTag() throws Exception {
        assertTrue(add("c0", NET).ok());
        await(
                "the pool fills",
                () -> host.status().path("pools").path("req-net").path("free").asInt() == 2);
        String pooled = grid.objects("fixedaddress").stream()
                .filter(f -> "infoblox-cni host=host-a net=req-net pool".equals(f.get("comment")))
                .map(f -> String.valueOf(f.get("ipv4addr")))
                .findFirst()
                .orElseThrow();
        var a = add("c1", asking(NET, pooled));
        assertTrue(a.ok(), a.toString());
        assertEquals(pooled + "/24", a.address());
        assertEquals("c1", TestHost.ea(reservationAt(pooled), "VM ID"), "tagged for c1 before it was answered");
        assertTrue(host.call("DEL", "c1", "eth0", NET).ok());
        await(
                "released, not given back to the pool",
                () -> TestHost.reservationsOf(grid, "c1").isEmpty()
                        && !host.status().path("journal").has("DEL_PENDING"));
    }

    @Test
    void aPostAppliedAndAnswered503IsAdoptedNotReservedTwice() {
        assertTrue(add("c0", NET).ok());
        grid.faults().failAfterApplyingNext(1, 503, "POST");
        var a = add("c1", asking(NET, "10.52.0.77"));
        var answer = a.ok() ? a : add("c1", asking(NET, "10.52.0.77")); // the runtime's retry
        assertTrue(answer.ok(), answer.toString());
        assertEquals("10.52.0.77/24", answer.address());
        List<Map<String, Object>> held = TestHost.reservationsOf(grid, "c1");
        assertEquals(1, held.size(), "one reservation: " + held);
    }

    @Test
    void aRequestedAddressNeedsTheGridEvenWhenThePoolCouldAnswer() throws Exception {
        assertTrue(add("c0", NET).ok());
        await(
                "the pool fills",
                () -> host.status().path("pools").path("req-net").path("free").asInt() == 2);
        grid.faults().outage(true);
        host.call("STATUS", null, null, netconf("1.1.0", "probe", "")); // an idle daemon looks only every 30 s
        await(
                "the daemon knows the grid is down",
                () -> host.daemon().gridHealth().failingFast());
        var a = add("c1", asking(NET, "10.52.0.77"));
        assertEquals(CniError.TRY_AGAIN_LATER, a.code(), a.toString());
        assertTrue(
                a.msg().contains("10.52.0.77 (asked for in 'runtimeConfig.ips') can only be reserved on the grid"),
                a.msg());
    }

    @Test
    void aRepeatedAddAskingForAnotherAddressIsRefused() {
        assertTrue(add("c1", asking(NET, "10.52.0.77")).ok());
        var a = add("c1", asking(NET, "10.52.0.78"));
        assertEquals(CniError.INVALID_NETCONF, a.code(), a.toString());
        assertTrue(a.msg().contains("holds 10.52.0.77 in network req-net already"), a.msg());
    }
}
