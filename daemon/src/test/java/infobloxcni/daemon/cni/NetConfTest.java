package infobloxcni.daemon.cni;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import infobloxcni.wire.CniError;
import infobloxcni.wire.CniVersion;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** {@link NetConf} alone: the netconf's fields, their defaults, and every refusal naming its field. No daemon, no grid. */
class NetConfTest {

    private static NetConf parse(String json) throws CniError {
        return NetConf.parse(json.getBytes(StandardCharsets.UTF_8));
    }

    private static String withIpam(String ipamFields) {
        return "{\"cniVersion\":\"1.0.0\",\"name\":\"net1\",\"ipam\":{\"type\":\"infoblox\""
                + (ipamFields.isEmpty() ? "" : "," + ipamFields) + "}}";
    }

    private static CniError refused(String json) {
        return assertThrows(CniError.class, () -> parse(json), json);
    }

    @Test
    void theLeastThereIsTakesEveryDefault() throws CniError {
        NetConf c = parse("{\"name\":\"net1\",\"ipam\":{\"type\":\"infoblox\"}}");
        assertEquals("0.1.0", c.cniVersion(), "no cniVersion: the oldest, as libcni reads it");
        assertEquals("net1", c.name());
        assertEquals("infoblox", c.ipamType());
        assertNull(c.subnet());
        assertNull(c.gateway());
        assertNull(c.networkView());
        assertEquals(List.of(), c.networkContainers());
        assertEquals(0, c.prefixLength(), "0: the daemon's");
        assertEquals(-1, c.poolSize(), "-1: the daemon's");
        assertEquals(0, c.routes().size());
        assertNull(c.dns());
        assertNull(c.runtimeMac());
        assertNull(c.prevResult());
        assertNull(c.validAttachments());
    }

    @Test
    void everyFieldItReads() throws CniError {
        NetConf c = parse("{\"cniVersion\":\"1.1.0\",\"name\":\"net.1_a-b\",\"dns\":{\"nameservers\":[\"9.9.9.9\"]},"
                + "\"runtimeConfig\":{\"mac\":\"AA:BB:CC:DD:EE:0F\"},"
                + "\"prevResult\":{\"ips\":[{\"address\":\"10.20.0.5/24\"}],\"ip4\":{\"ip\":\"10.20.0.6/24\"}},"
                + "\"cni.dev/valid-attachments\":[{\"containerID\":\"c1\",\"ifname\":\"eth0\"},{\"containerID\":\"c2\",\"ifname\":\"net1\"}],"
                + "\"ipam\":{\"type\":\"ib\",\"subnet\":\"10.20.0.0/24\",\"gateway\":\"0.0.0.1\",\"network-view\":\"cni view\","
                + "\"network-container\":\" 10.30.0.0/16 ,10.40.0.0/16\",\"prefix-length\":\"26\",\"pool-size\":4,"
                + "\"routes\":[{\"dst\":\"0.0.0.0/0\"},{\"dst\":\"192.168.0.0/16\",\"gw\":\"10.20.0.1\"}]}}");
        assertEquals("1.1.0", c.cniVersion());
        assertEquals("net.1_a-b", c.name());
        assertEquals("ib", c.ipamType());
        assertEquals("10.20.0.0/24", c.subnet().toString());
        assertEquals("0.0.0.1", c.gateway(), "kept as written: resolved against the subnet later");
        assertEquals("cni view", c.networkView());
        assertEquals(List.of("10.30.0.0/16", "10.40.0.0/16"), c.networkContainers());
        assertEquals(26, c.prefixLength());
        assertEquals(4, c.poolSize());
        assertEquals(2, c.routes().size());
        assertEquals("10.20.0.1", c.routes().get(1).get("gw").asText(), "routes pass through untouched");
        assertEquals("9.9.9.9", c.dns().get("nameservers").get(0).asText(), "the top-level dns when ipam has none");
        assertEquals("aa:bb:cc:dd:ee:0f", c.runtimeMac());
        assertEquals(List.of("10.20.0.5/24", "10.20.0.6/24"), c.prevResultAddresses());
        assertEquals(
                List.of(new NetConf.ValidAttachment("c1", "eth0"), new NetConf.ValidAttachment("c2", "net1")),
                c.validAttachments());
    }

    @Test
    void ipamDnsWinsOverTheTopLevelOne() throws CniError {
        NetConf c = parse(
                "{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"dns\":{\"domain\":\"top\"},\"ipam\":{\"type\":\"ib\",\"dns\":{\"domain\":\"ipam\"}}}");
        assertEquals("ipam", c.dns().get("domain").asText());
    }

    @Test
    void undecodableConfigurationsAreCode6() {
        for (String json : List.of("", "not json", "[1,2]", "\"text\"", "{\"a\":")) {
            assertEquals(CniError.DECODE_FAILURE, refused(json).code(), json);
        }
        String huge = "{\"name\":\"n\",\"x\":[" + "0,".repeat((int) NetConf.MAX_TOKENS) + "0]}";
        CniError e = refused(huge);
        assertEquals(CniError.DECODE_FAILURE, e.code());
        assertTrue(e.getMessage().contains("too large"), e.getMessage());
    }

    @Test
    void anUnsupportedVersionIsCode1() {
        CniError e = refused("{\"cniVersion\":\"2.0.0\",\"name\":\"n\",\"ipam\":{\"type\":\"ib\"}}");
        assertEquals(CniError.INCOMPATIBLE_VERSION, e.code());
        assertTrue(e.getMessage().contains(CniVersion.SUPPORTED.toString()), e.getMessage());
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', quoteCharacter = '~', textBlock = """
            no name                   | {"cniVersion":"1.0.0","ipam":{"type":"ib"}}                                           | 'name'
            name with a space         | {"cniVersion":"1.0.0","name":"a b","ipam":{"type":"ib"}}                              | 'name'
            name starting with a dot  | {"cniVersion":"1.0.0","name":".n","ipam":{"type":"ib"}}                               | 'name'
            name not a string         | {"cniVersion":"1.0.0","name":5,"ipam":{"type":"ib"}}                                  | 'name'
            no ipam                   | {"cniVersion":"1.0.0","name":"n"}                                                     | 'ipam'
            ipam not an object        | {"cniVersion":"1.0.0","name":"n","ipam":"ib"}                                         | 'ipam'
            no ipam.type              | {"cniVersion":"1.0.0","name":"n","ipam":{}}                                           | 'ipam.type'
            IPv6 subnet               | {"cniVersion":"1.0.0","name":"n","ipam":{"type":"ib","subnet":"fd00::/64"}}           | 'ipam.subnet'
            subnet /31                | {"cniVersion":"1.0.0","name":"n","ipam":{"type":"ib","subnet":"10.0.0.0/31"}}         | 'ipam.subnet'
            subnet not a CIDR         | {"cniVersion":"1.0.0","name":"n","ipam":{"type":"ib","subnet":"10.0.0.0"}}            | 'ipam.subnet'
            gateway not an address    | {"cniVersion":"1.0.0","name":"n","ipam":{"type":"ib","gateway":"gw"}}                 | 'ipam.gateway'
            gateway is the network    | {"cniVersion":"1.0.0","name":"n","ipam":{"type":"ib","subnet":"10.0.0.0/24","gateway":"10.0.0.0"}} | 'ipam.gateway'
            view of spaces only       | {"cniVersion":"1.0.0","name":"n","ipam":{"type":"ib","network-view":" "}}             | 'ipam.network-view'
            17 containers             | {"cniVersion":"1.0.0","name":"n","ipam":{"type":"ib","network-container":"10.1.0.0/16,10.2.0.0/16,10.3.0.0/16,10.4.0.0/16,10.5.0.0/16,10.6.0.0/16,10.7.0.0/16,10.8.0.0/16,10.9.0.0/16,10.10.0.0/16,10.11.0.0/16,10.12.0.0/16,10.13.0.0/16,10.14.0.0/16,10.15.0.0/16,10.16.0.0/16,10.17.0.0/16"}} | 'ipam.network-container'
            prefix-length 31          | {"cniVersion":"1.0.0","name":"n","ipam":{"type":"ib","prefix-length":31}}             | 'ipam.prefix-length'
            prefix-length a word      | {"cniVersion":"1.0.0","name":"n","ipam":{"type":"ib","prefix-length":"big"}}          | 'ipam.prefix-length'
            pool-size 65              | {"cniVersion":"1.0.0","name":"n","ipam":{"type":"ib","pool-size":65}}                 | 'ipam.pool-size'
            pool-size negative        | {"cniVersion":"1.0.0","name":"n","ipam":{"type":"ib","pool-size":-1}}                 | 'ipam.pool-size'
            routes not an array       | {"cniVersion":"1.0.0","name":"n","ipam":{"type":"ib","routes":{}}}                    | 'ipam.routes'
            a route without dst       | {"cniVersion":"1.0.0","name":"n","ipam":{"type":"ib","routes":[{"gw":"10.0.0.1"}]}}   | 'ipam.routes'
            dns not an object         | {"cniVersion":"1.0.0","name":"n","dns":[],"ipam":{"type":"ib"}}                       | 'dns'
            runtimeConfig.mac         | {"cniVersion":"1.0.0","name":"n","runtimeConfig":{"mac":"aa:bb"},"ipam":{"type":"ib"}} | 'runtimeConfig.mac'
            valid-attachments no list | {"cniVersion":"1.1.0","name":"n","cni.dev/valid-attachments":{},"ipam":{"type":"ib"}} | 'cni.dev/valid-attachments'
            an attachment, no ifname  | {"cniVersion":"1.1.0","name":"n","cni.dev/valid-attachments":[{"containerID":"c"}],"ipam":{"type":"ib"}} | 'cni.dev/valid-attachments'
            """)
    void anInvalidFieldIsCode7NamingIt(String caseName, String json, String field) {
        CniError e = refused(json);
        assertEquals(CniError.INVALID_NETCONF, e.code(), caseName + ": " + e.getMessage());
        assertTrue(e.getMessage().contains(field), caseName + ": " + e.getMessage());
    }

    @Test
    void aNameOfTheMostLengthIsTakenAndOneMoreIsNot() throws CniError {
        String longest = "n".repeat(NetConf.MAX_NAME_LENGTH);
        assertEquals(
                longest,
                parse("{\"cniVersion\":\"1.0.0\",\"name\":\"" + longest + "\",\"ipam\":{\"type\":\"ib\"}}")
                        .name());
        assertEquals(
                CniError.INVALID_NETCONF,
                refused("{\"cniVersion\":\"1.0.0\",\"name\":\"" + longest + "n\",\"ipam\":{\"type\":\"ib\"}}")
                        .code());
    }

    @Test
    void theVersionToAnswerInIsTheConfigsWhenItIsOneWeSpeak() {
        assertEquals(
                "0.4.0",
                NetConf.versionOf("{\"cniVersion\":\"0.4.0\",\"name\":\"a b\"}".getBytes(StandardCharsets.UTF_8)),
                "even from a config that fails validation");
        assertEquals(
                CniVersion.LATEST, NetConf.versionOf("{\"cniVersion\":\"9.9.9\"}".getBytes(StandardCharsets.UTF_8)));
        assertEquals(CniVersion.LATEST, NetConf.versionOf("not json".getBytes(StandardCharsets.UTF_8)));
        assertEquals(CniVersion.LATEST, NetConf.versionOf(new byte[0]));
    }

    @Test
    void whatTheDaemonsDefaultsMakeOfACarvedNetwork() throws CniError {
        NetConf relative = parse(withIpam("\"gateway\":\"0.0.0.1\""));
        relative.checkEffective(24, List.of("10.30.0.0/16"));
        CniError wider = assertThrows(
                CniError.class,
                () -> parse(withIpam("\"prefix-length\":12")).checkEffective(24, List.of("10.30.0.0/16")));
        assertTrue(wider.getMessage().contains("'ipam.prefix-length'"), wider.getMessage());
        CniError full = assertThrows(
                CniError.class,
                () -> parse(withIpam("\"gateway\":\"10.30.0.1\"")).checkEffective(24, List.of("10.30.0.0/16")));
        assertEquals(CniError.INVALID_NETCONF, full.code());
        assertTrue(full.getMessage().contains("'ipam.gateway'"), full.getMessage());
        parse(withIpam("\"gateway\":\"10.30.0.1\""))
                .checkEffective(16, List.of("10.30.0.0/16")); // the carved network is the whole container
        parse(withIpam("\"subnet\":\"10.20.0.0/24\",\"prefix-length\":8"))
                .checkEffective(24, List.of("10.30.0.0/16")); // a subnet is not carved
    }

    @Test
    void aGatewayErrorReadsTheAddressOnceAndTheResolvedOneOnlyWhereItDiffers() {
        assertEquals(
                "field 'ipam.gateway': '10.31.1.1' is not a usable host address of 10.31.0.0/24",
                refused(withIpam("\"subnet\":\"10.31.0.0/24\",\"gateway\":\"10.31.1.1\""))
                        .getMessage());
        assertEquals(
                "field 'ipam.gateway': '0.0.0.255' -> 10.31.0.255 is not a usable host address of 10.31.0.0/24",
                refused(withIpam("\"subnet\":\"10.31.0.0/24\",\"gateway\":\"0.0.0.255\""))
                        .getMessage());
    }

    @Test
    void theNetworkNameOfAConfigThatFailsIsStillReadForItsLogLine() {
        assertEquals("net1", NetConf.nameOf(withIpam("\"subnet\":\"bogus\"").getBytes(StandardCharsets.UTF_8)));
        assertNull(NetConf.nameOf("{\"name\":\"a b\"}".getBytes(StandardCharsets.UTF_8)));
        assertNull(NetConf.nameOf("not json".getBytes(StandardCharsets.UTF_8)));
    }
}
