package infobloxcni.daemon;

import static infobloxcni.daemon.TestHost.netconf;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import infobloxcni.wire.CniError;
import infobloxcni.wire.Envelope;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Every CNI error code the daemon produces, and a socket that survives bad clients. */
class CniProtocolTest extends GridAndDaemonTest {
    private static final String GOOD = netconf("1.0.0", "net1", "\"subnet\":\"10.10.0.0/24\"");

    private TestHost.Answer add(String stdin) {
        return host.call("ADD", "c1", "eth0", stdin);
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(
            delimiter = '|',
            value = {
                "not JSON                | {nope                                                              | 6 | not valid JSON",
                "not an object           | [1,2]                                                              | 6 | JSON object",
                "unknown version         | {\"cniVersion\":\"9.9.9\",\"name\":\"n\",\"ipam\":{\"type\":\"infoblox\"}} | 1 | 9.9.9",
                "no name                 | {\"cniVersion\":\"1.0.0\",\"ipam\":{\"type\":\"infoblox\"}}             | 7 | 'name'",
                "bad name                | {\"cniVersion\":\"1.0.0\",\"name\":\"a b\",\"ipam\":{\"type\":\"infoblox\"}} | 7 | 'name'",
                "no ipam                 | {\"cniVersion\":\"1.0.0\",\"name\":\"n\"}                                | 7 | 'ipam'",
                "no ipam type            | {\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"ipam\":{}}                      | 7 | 'ipam.type'",
                "bad subnet              | {\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"ipam\":{\"type\":\"infoblox\",\"subnet\":\"10.0.0.1/24\"}} | 7 | 'ipam.subnet'",
                "ipv6 subnet             | {\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"ipam\":{\"type\":\"infoblox\",\"subnet\":\"fd00::/64\"}} | 7 | IPv6",
                "bad gateway             | {\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"ipam\":{\"type\":\"infoblox\",\"gateway\":\"10.0.0.300\"}} | 7 | 'ipam.gateway'",
                "gateway outside         | {\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"ipam\":{\"type\":\"infoblox\",\"subnet\":\"10.0.0.0/24\",\"gateway\":\"10.9.0.1\"}} | 7 | 'ipam.gateway'",
                "bad prefix length       | {\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"ipam\":{\"type\":\"infoblox\",\"prefix-length\":99}} | 7 | 'ipam.prefix-length'",
                "bad container           | {\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"ipam\":{\"type\":\"infoblox\",\"network-container\":\"10.0.0.0/8,x\"}} | 7 | 'ipam.network-container'",
                "bad routes              | {\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"ipam\":{\"type\":\"infoblox\",\"routes\":{}}} | 7 | 'ipam.routes'",
                "bad runtime mac         | {\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"runtimeConfig\":{\"mac\":\"zz\"},\"ipam\":{\"type\":\"infoblox\"}} | 7 | 'runtimeConfig.mac'",
            })
    void badConfigurationsGetTheRightCodeAndNameTheField(String caseName, String stdin, int code, String mentioned) {
        var answer = add(stdin);
        assertEquals(1, answer.exitCode(), answer.toString());
        assertEquals(code, answer.code(), answer.toString());
        assertTrue(answer.msg().contains(mentioned), caseName + ": " + answer.msg());
        assertTrue(grid.objects("fixedaddress").isEmpty(), "nothing reserved for a bad request");
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(
            delimiter = '|',
            value = {
                "CNI_COMMAND     | ",
                "CNI_COMMAND     | BOGUS",
                "CNI_CONTAINERID | ",
                "CNI_CONTAINERID | -starts-with-dash",
                "CNI_CONTAINERID | has/slash",
                "CNI_IFNAME      | ",
                "CNI_IFNAME      | much-too-long-interface-name",
                "CNI_NETNS       | ",
                "CNI_ARGS        | novalue",
            })
    void badEnvironmentIsCode4NamingTheVariable(String variable, String value) {
        Map<String, String> env = new HashMap<>(
                Map.of("CNI_COMMAND", "ADD", "CNI_CONTAINERID", "c1", "CNI_IFNAME", "eth0", "CNI_NETNS", "/x"));
        if (value == null) env.remove(variable);
        else env.put(variable, value);
        var answer = host.send(env, GOOD);
        assertEquals(4, answer.code(), answer.toString());
        assertTrue(answer.msg().contains(variable), answer.msg());
    }

    @Test
    void errorsAnswerInTheConfiguredVersion() {
        var answer = add(GOOD.replace("10.10.0.0/24", "10.10.0.0/33").replace("1.0.0", "0.4.0"));
        assertEquals("0.4.0", answer.json().path("cniVersion").asText());
    }

    @Test
    void versionIsAnsweredByTheDaemonToo() {
        var answer = host.send(Map.of("CNI_COMMAND", "VERSION"), "{\"cniVersion\":\"0.4.0\"}");
        assertTrue(answer.ok());
        assertEquals("0.4.0", answer.json().path("cniVersion").asText());
        assertEquals(7, answer.json().path("supportedVersions").size());
    }

    @Test
    void checkStatusAndGcRefuseVersionsThatLackThem() {
        assertEquals(
                1,
                host.call("CHECK", "c1", "eth0", GOOD.replace("1.0.0", "0.3.1")).code());
        assertEquals(1, host.call("STATUS", null, null, GOOD).code());
        assertEquals(1, host.call("GC", null, null, GOOD).code());
    }

    @Test
    void undefinedExtensibleAttributesAreReportedWithTheGridsText() {
        grid.removeEa("VM ID");
        var answer = add(GOOD);
        assertEquals(CniError.GRID_REJECTED, answer.code(), answer.toString());
        assertTrue(answer.msg().contains("VM ID"), answer.msg());
    }

    @Test
    void wrongCredentialsAreNotTryAgainLater() throws Exception {
        host.stop();
        var config = host.config();
        var wapi = config.wapi().withCredentials("admin", "wrong");
        host.start(config.toBuilder()
                .wapi(wapi)
                .socketGroup(null)
                .prefixLength(24)
                .clusterName("c")
                .cmpType("k")
                .hostId("host-a")
                .releaseRetryMax(null)
                .bounds(null)
                .poolSize(0)
                .socketLimits(null)
                .build());
        var answer = add(GOOD);
        assertEquals(CniError.GRID_AUTH_FAILED, answer.code(), answer.toString());
        assertTrue(!answer.stdout().contains("wrong"), "the password is never echoed");
    }

    @Test
    void malformedRequestsNeverTakeTheDaemonDown() throws Exception {
        for (byte[] junk : new byte[][] {
            "GET / HTTP/1.1\r\n\r\n".getBytes(),
            {'I', 'B', 'C', 'N', 'I', 1, (byte) 0xFF, (byte) 0xFF},
            {},
            new byte[100_000]
        }) {
            try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
                ch.connect(UnixDomainSocketAddress.of(host.socket()));
                ch.write(ByteBuffer.wrap(junk));
                ch.shutdownOutput();
                ch.read(ByteBuffer.allocate(4096));
            } catch (IOException ignored) {
                // the daemon may just close: fine
            }
        }
        var badAnswer = host.send(Map.of("CNI_COMMAND", "ADD"), "\u0000\u0001 binary");
        assertEquals(1, badAnswer.exitCode());
        assertTrue(add(GOOD).ok(), "still serving");
    }

    @Test
    void theSocketIsOwnerOnlyAndASecondDaemonIsRefused() throws Exception {
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(host.socket())));
        var second = new TestHost(grid, dir, "host-a");
        var e = assertThrows(Exception.class, second::start);
        assertTrue(e.getMessage().contains("locked") || e.getMessage().contains("already"), e.getMessage());
        assertTrue(add(GOOD).ok(), "the first daemon still serves");
    }

    @Test
    void aStaleSocketFileIsReplaced() throws Exception {
        host.stop();
        Files.createDirectories(host.socket().getParent());
        try (var stale = java.nio.channels.ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            stale.bind(UnixDomainSocketAddress.of(host.socket())); // bound, never accepting: then closed
        }
        assertTrue(Files.exists(host.socket()), "stale socket file left behind");
        host.start();
        assertTrue(add(GOOD).ok());
    }

    @Test
    void theDaemonStartsAndServesWhileTheGridIsDown() throws Exception {
        host.stop();
        grid.faults().outage(true);
        host.start();
        var status = host.call("STATUS", null, null, netconf("1.1.0", "net1", ""));
        assertEquals(50, status.code(), status.toString());
        var add = add(GOOD);
        assertEquals(CniError.TRY_AGAIN_LATER, add.code(), add.toString());
        assertTrue(host.call("DEL", "c9", "eth0", GOOD).ok(), "DEL succeeds for the runtime, release queued");
        grid.faults().outage(false);
        long deadline = System.currentTimeMillis() + 15_000;
        TestHost.Answer later;
        do {
            later = add(GOOD);
            if (!later.ok()) Thread.sleep(200);
        } while (!later.ok() && System.currentTimeMillis() < deadline);
        assertTrue(later.ok(), later.toString());
    }

    @Test
    void theEnvelopeLimitsHold() {
        Map<String, String> env = new HashMap<>();
        for (int i = 0; i < 70; i++) env.put("CNI_X" + i, "v");
        assertThrows(IllegalArgumentException.class, () -> new Envelope.Request(env, new byte[0]).toBytes());
    }
}
