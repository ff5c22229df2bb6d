package infobloxcni.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import infobloxcni.daemon.config.DaemonConfig;
import infobloxcni.wire.CniError;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every netconf value that reaches the grid is checked before the first write, and refused with
 * code 7 naming the field: network views named with a NUL, a newline, 5,000 x's, {@code ::1/64} or
 * {@code .*} used to be created on the grid, {@code 0.0.0.0/0} was taken as a subnet, and a bad
 * gateway was found only after the network had been created (and was left behind).
 */
class NetconfValidationTest extends GridAndDaemonTest {

    static Stream<Arguments> hostileNetconfs() {
        return Stream.of(
                Arguments.of(
                        "view with a NUL",
                        ipam("\"subnet\":\"10.20.0.0/24\",\"network-view\":\"v\\u0000x\""),
                        "'ipam.network-view'"),
                Arguments.of(
                        "view of 5,000 x's",
                        ipam("\"subnet\":\"10.20.0.0/24\",\"network-view\":\"" + "x".repeat(5000) + "\""),
                        "'ipam.network-view'"),
                Arguments.of(
                        "view ::1/64",
                        ipam("\"subnet\":\"10.20.0.0/24\",\"network-view\":\"::1/64\""),
                        "'ipam.network-view'"),
                Arguments.of(
                        "view .*", ipam("\"subnet\":\"10.20.0.0/24\",\"network-view\":\".*\""), "'ipam.network-view'"),
                Arguments.of(
                        "view with a newline",
                        ipam("\"subnet\":\"10.20.0.0/24\",\"network-view\":\"a\\nb\""),
                        "'ipam.network-view'"),
                Arguments.of("subnet 0.0.0.0/0", ipam("\"subnet\":\"0.0.0.0/0\""), "'ipam.subnet'"),
                Arguments.of("subnet /7", ipam("\"subnet\":\"10.0.0.0/7\""), "'ipam.subnet'"),
                Arguments.of("loopback subnet", ipam("\"subnet\":\"127.0.0.0/24\""), "'ipam.subnet'"),
                Arguments.of("multicast subnet", ipam("\"subnet\":\"239.1.0.0/24\""), "'ipam.subnet'"),
                Arguments.of(
                        "gateway outside",
                        ipam("\"subnet\":\"10.20.0.0/24\",\"gateway\":\"10.9.0.1\""),
                        "'ipam.gateway'"),
                Arguments.of(
                        "gateway is the broadcast",
                        ipam("\"subnet\":\"10.20.0.0/24\",\"gateway\":\"0.0.0.255\""),
                        "'ipam.gateway'"),
                Arguments.of(
                        "container 0.0.0.0/0", ipam("\"network-container\":\"0.0.0.0/0\""), "'ipam.network-container'"),
                Arguments.of(
                        "prefix length /4",
                        ipam("\"network-container\":\"10.0.0.0/8\",\"prefix-length\":4"),
                        "'ipam.prefix-length'"),
                Arguments.of(
                        "prefix shorter than its container",
                        ipam("\"network-container\":\"10.30.0.0/16\",\"prefix-length\":12"),
                        "'ipam.prefix-length'"),
                Arguments.of(
                        "full gateway on a carved network",
                        ipam("\"network-container\":\"10.30.0.0/16\",\"gateway\":\"10.30.0.1\""),
                        "'ipam.gateway'"),
                Arguments.of(
                        "relative gateway past the carved /26",
                        ipam("\"network-container\":\"10.30.0.0/16\",\"prefix-length\":26,\"gateway\":\"0.0.1.1\""),
                        "'ipam.gateway'"),
                Arguments.of(
                        "network name of 300",
                        "{\"cniVersion\":\"1.0.0\",\"name\":\"" + "n".repeat(300)
                                + "\",\"ipam\":{\"type\":\"infoblox\"}}",
                        "'name'"));
    }

    private static String ipam(String fields) {
        return TestHost.netconf("1.0.0", "net1", fields);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("hostileNetconfs")
    void refusedBeforeAnyGridWrite(String caseName, String netconf, String field) {
        Map<String, Long> before = grid.requestCounts();
        var answer = host.call("ADD", "c1", "eth0", netconf);
        assertEquals(CniError.INVALID_NETCONF, answer.code(), caseName + ": " + answer);
        assertTrue(answer.msg().contains(field), caseName + ": " + answer.msg());
        assertEquals(List.of(), writesSince(before), caseName + ": the grid was written to before the refusal");
    }

    @Test
    void hostileInterfaceAndPodNamesAreCode4NamingTheVariable() {
        for (String ifName : List.of("eth\u001b[0m", "e\u202eth0", "ethé", "eth%d")) {
            var answer = host.send(env("CNI_IFNAME", ifName, null), ipam("\"subnet\":\"10.20.0.0/24\""));
            assertEquals(CniError.INVALID_ENV, answer.code(), ifName + ": " + answer);
            assertTrue(answer.msg().contains("CNI_IFNAME"), answer.msg());
        }
        for (String pod : List.of("p".repeat(300), "pod\nname", "Pod_Name", "pod name")) {
            var answer = host.send(
                    env("CNI_IFNAME", "eth0", "IgnoreUnknown=1;K8S_POD_NAME=" + pod),
                    ipam("\"subnet\":\"10.20.0.0/24\""));
            assertEquals(CniError.INVALID_ENV, answer.code(), pod + ": " + answer);
            assertTrue(answer.msg().contains("K8S_POD_NAME"), answer.msg());
        }
        assertTrue(grid.objects("fixedaddress").isEmpty());
    }

    @Test
    void theDaemonsOwnDefaultsAreCheckedTheSameWay() {
        DaemonConfig c = host.config();
        for (String view : List.of("", "::1/64", "v\nx", "x".repeat(65))) {
            var e = assertThrows(IllegalArgumentException.class, () -> withNetworks(c, view, c.networkContainers()));
            assertTrue(e.getMessage().contains("--network-view"), e.getMessage());
        }
        var e = assertThrows(IllegalArgumentException.class, () -> withNetworks(c, "default", List.of("0.0.0.0/0")));
        assertTrue(e.getMessage().contains("--network-container"), e.getMessage());
    }

    /** The host's configuration with another default view and network containers (validated on construction). */
    private static DaemonConfig withNetworks(DaemonConfig c, String view, List<String> containers) {
        return c.toBuilder()
                .socketGroup(null)
                .networkView(view)
                .networkContainers(containers)
                .prefixLength(24)
                .releaseRetryMax(null)
                .bounds(null)
                .poolSize(0)
                .socketLimits(null)
                .build();
    }

    private static Map<String, String> env(String name, String value, String cniArgs) {
        Map<String, String> env = new HashMap<>(Map.of(
                "CNI_COMMAND",
                "ADD",
                "CNI_CONTAINERID",
                "c1",
                "CNI_IFNAME",
                "eth0",
                "CNI_NETNS",
                "/var/run/netns/none"));
        env.put(name, value);
        if (cniArgs != null) env.put("CNI_ARGS", cniArgs);
        return env;
    }

    /** The grid requests since {@code before} that could change it (anything but a GET). */
    private List<String> writesSince(Map<String, Long> before) {
        return grid.requestCounts().entrySet().stream()
                .filter(e -> !e.getKey().startsWith("GET"))
                .filter(e -> e.getValue() > before.getOrDefault(e.getKey(), 0L))
                .map(e -> e.getKey() + " x" + (e.getValue() - before.getOrDefault(e.getKey(), 0L)))
                .toList();
    }
}
