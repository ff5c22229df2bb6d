package infobloxcni.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import infobloxcni.daemon.config.DaemonConfig;
import infobloxcni.wire.CniError;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * {@code --allowed-views} and {@code --allowed-subnets}: whoever may talk to the socket (root and
 * {@code --socket-group} members) writes the netconf, and a netconf used to be able to make the
 * daemon create any view and any network on the grid ({@code evil_view}, a /16). Out of bounds, an
 * ADD is refused with code 7 naming the field before any grid write; a DEL is still answered but
 * makes nothing on the grid.
 */
class RequestBoundsTest extends GridAndDaemonTest {

    @BeforeEach
    void boundedDaemon() throws Exception {
        DaemonConfig c = host.config();
        host.stop();
        host.start(host.configFromFlags(
                c.socketDir(),
                c.stateDir(),
                "--allowed-views",
                "tenant-a",
                "--allowed-subnets",
                "10.20.0.0/16, 172.18.0.0/16"));
    }

    private static String ipam(String fields) {
        return TestHost.netconf("1.0.0", "net1", fields);
    }

    private List<String> writesSince(Map<String, Long> before) {
        return grid.requestCounts().entrySet().stream()
                .filter(e -> !e.getKey().startsWith("GET"))
                .filter(e -> e.getValue() > before.getOrDefault(e.getKey(), 0L))
                .map(e -> e.getKey() + " x" + (e.getValue() - before.getOrDefault(e.getKey(), 0L)))
                .toList();
    }

    private void refused(String fields, String field, String flag) {
        Map<String, Long> before = grid.requestCounts();
        var answer = host.call("ADD", "c1", "eth0", ipam(fields));
        assertEquals(CniError.INVALID_NETCONF, answer.code(), fields + ": " + answer);
        assertTrue(answer.msg().contains(field) && answer.msg().contains(flag), answer.msg());
        assertEquals(List.of(), writesSince(before), fields + ": the grid was written to before the refusal");
    }

    @Test
    void anAddOutsideTheBoundsIsRefusedNamingTheFieldAndTouchesNothing() {
        refused("\"subnet\":\"10.20.0.0/24\",\"network-view\":\"evil_view\"", "'ipam.network-view'", "--allowed-views");
        refused("\"subnet\":\"10.99.0.0/16\"", "'ipam.subnet'", "--allowed-subnets");
        refused("\"subnet\":\"10.0.0.0/8\"", "'ipam.subnet'", "--allowed-subnets"); // holds the bounds, is not within
        refused("\"network-container\":\"10.0.0.0/8\"", "'ipam.network-container'", "--allowed-subnets");
        assertTrue(grid.objects("networkview").stream().noneMatch(v -> "evil_view".equals(v.get("name"))));
    }

    @Test
    void withinTheBoundsAndTheDaemonsOwnViewAndContainersAnAddIsServed() {
        var inSubnet =
                host.call("ADD", "c1", "eth0", ipam("\"subnet\":\"10.20.5.0/24\",\"network-view\":\"tenant-a\""));
        assertTrue(inSubnet.ok(), inSubnet.toString());
        // no view and no subnet: the daemon's --network-view (default) and --network-container
        var carved = host.call("ADD", "c2", "eth0", TestHost.netconf("1.0.0", "net2", ""));
        assertTrue(carved.ok(), carved.toString());
    }

    @Test
    void aDelOutsideTheBoundsIsAnsweredAndMakesNoPoolOrNetwork() {
        Map<String, Long> before = grid.requestCounts();
        var del = host.call(
                "DEL",
                "c9",
                "eth0",
                ipam("\"subnet\":\"10.99.0.0/24\",\"network-view\":\"evil_view\",\"pool-size\":2"));
        assertTrue(del.ok(), del.toString());
        host.awaitSettled();
        assertEquals(List.of(), writesSince(before), "a DEL out of bounds made something on the grid");
    }

    @Test
    void boundsThatLeaveOutTheDaemonsOwnContainersOrAreMalformedAreRefusedAtStart() {
        DaemonConfig c = host.config();
        var outside = assertThrows(
                IllegalArgumentException.class,
                () -> host.configFromFlags(c.socketDir(), c.stateDir(), "--allowed-subnets", "10.20.0.0/16"));
        assertTrue(
                outside.getMessage().contains("--network-container 172.18.0.0/16")
                        && outside.getMessage().contains("--allowed-subnets"),
                outside.getMessage());
        var bogus = assertThrows(
                IllegalArgumentException.class,
                () -> host.configFromFlags(c.socketDir(), c.stateDir(), "--allowed-subnets", "ten/8"));
        assertTrue(bogus.getMessage().startsWith("--allowed-subnets"), bogus.getMessage());
        var view = assertThrows(
                IllegalArgumentException.class,
                () -> host.configFromFlags(c.socketDir(), c.stateDir(), "--allowed-views", "a\nb"));
        assertTrue(view.getMessage().startsWith("--allowed-views"), view.getMessage());
    }
}
