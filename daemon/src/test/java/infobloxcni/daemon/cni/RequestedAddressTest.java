package infobloxcni.daemon.cni;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import infobloxcni.wire.CniError;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The three conventions merged as host-local merges them, and every refusal naming where it was asked. */
class RequestedAddressTest {
    private static final String BASE =
            "{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"type\":\"bridge\",\"ipam\":{\"type\":\"infoblox\",\"subnet\":\"10.1.2.0/24\"}";

    /** An ADD from root may name a path that is not there yet (the MAC is then unknown). */
    private static final String NO_NETNS = "/var/run/netns/does-not-exist";

    private static CniRequest add(String extra, String cniArgs) throws CniError {
        Map<String, String> env = new HashMap<>(
                Map.of("CNI_COMMAND", "ADD", "CNI_CONTAINERID", "c1", "CNI_IFNAME", "eth0", "CNI_NETNS", NO_NETNS));
        if (cniArgs != null) env.put("CNI_ARGS", cniArgs);
        return CniRequest.parse(env, (BASE + extra + "}").getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void noConventionMeansTheGridChooses() throws CniError {
        assertNull(add("", null).requested());
        assertNull(add(",\"runtimeConfig\":{\"ips\":[]}", "IP=").requested());
    }

    @Test
    void cniArgsComesFirstThenArgsThenTheCapability() throws CniError {
        RequestedAddress r = add(
                        ",\"args\":{\"cni\":{\"ips\":[\"10.1.2.77\"]}},\"runtimeConfig\":{\"ips\":[\"10.1.2.77/24\"]}",
                        "IgnoreUnknown=1;IP=10.1.2.77")
                .requested();
        assertEquals("10.1.2.77", r.text());
        assertEquals(RequestedAddress.CNI_ARGS, r.field(), "the same address asked for three times is one request");
        assertEquals(
                RequestedAddress.ARGS,
                add(",\"args\":{\"cni\":{\"ips\":[\"10.1.2.9\"]}}", null)
                        .requested()
                        .field());
    }

    @Test
    void twoAddressesNameBothFields() {
        CniError e = assertThrows(
                CniError.class, () -> add(",\"runtimeConfig\":{\"ips\":[\"10.1.2.8/24\"]}", "IP=10.1.2.7"));
        assertEquals(CniError.INVALID_NETCONF, e.code());
        assertTrue(
                e.getMessage()
                        .contains("'runtimeConfig.ips': asks for 10.1.2.8, but 10.1.2.7 is asked for in 'CNI_ARGS IP'"),
                e.getMessage());
    }

    @Test
    void malformedEntriesAreRefusedNamingTheirSource() {
        CniError args = assertThrows(CniError.class, () -> add("", "IP=10.1.2.300"));
        assertEquals(CniError.INVALID_ENV, args.code(), "CNI_ARGS is an environment variable: " + args.getMessage());
        assertTrue(args.getMessage().contains("CNI_ARGS IP"), args.getMessage());
        CniError notArray = assertThrows(CniError.class, () -> add(",\"runtimeConfig\":{\"ips\":\"10.1.2.5\"}", null));
        assertTrue(notArray.getMessage().contains("'runtimeConfig.ips' must be an array"), notArray.getMessage());
        CniError number = assertThrows(CniError.class, () -> add(",\"args\":{\"cni\":{\"ips\":[5]}}", null));
        assertTrue(number.getMessage().contains("'args.cni.ips' must hold addresses as strings"), number.getMessage());
        CniError prefix =
                assertThrows(CniError.class, () -> add(",\"runtimeConfig\":{\"ips\":[\"10.1.2.5/33\"]}", null));
        assertEquals(CniError.INVALID_NETCONF, prefix.code());
    }

    @Test
    void theSubnetsOwnAddressesAreRefusedWhenTheSubnetIsKnown() {
        for (String ip : new String[] {"10.1.2.0", "10.1.2.1", "10.1.2.255", "10.1.3.4"}) {
            CniError e = assertThrows(CniError.class, () -> add("", "IP=" + ip), ip);
            assertEquals(CniError.INVALID_NETCONF, e.code(), ip);
            assertTrue(e.getMessage().startsWith("field 'CNI_ARGS IP': " + ip), e.getMessage());
        }
    }

    @Test
    void aDelIsNeverRefusedForWhatItsAddAskedFor() throws CniError {
        // the subnet changed since the ADD: the runtime must still be able to clean up
        Map<String, String> env =
                Map.of("CNI_COMMAND", "DEL", "CNI_CONTAINERID", "c1", "CNI_IFNAME", "eth0", "CNI_ARGS", "IP=10.9.9.9");
        CniRequest del = CniRequest.parse(env, (BASE + "}").getBytes(StandardCharsets.UTF_8));
        assertEquals("10.9.9.9", del.requested().text());
        CniRequest garbled = CniRequest.parse(
                Map.of("CNI_COMMAND", "DEL", "CNI_CONTAINERID", "c1", "CNI_IFNAME", "eth0", "CNI_ARGS", "IP=x"),
                (BASE + "}").getBytes(StandardCharsets.UTF_8));
        assertNull(garbled.requested());
    }

    @Test
    void aGatewayElsewhereFreesTheFirstHost() throws CniError {
        String withGateway = BASE.replace("\"subnet\"", "\"gateway\":\"10.1.2.254\",\"subnet\"");
        Map<String, String> env = Map.of(
                "CNI_COMMAND",
                "ADD",
                "CNI_CONTAINERID",
                "c1",
                "CNI_IFNAME",
                "eth0",
                "CNI_NETNS",
                NO_NETNS,
                "CNI_ARGS",
                "IP=10.1.2.1");
        CniRequest r = CniRequest.parse(env, (withGateway + "}").getBytes(StandardCharsets.UTF_8));
        assertEquals("10.1.2.1", r.requested().text());
    }
}
