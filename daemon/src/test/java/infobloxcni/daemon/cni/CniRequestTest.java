package infobloxcni.daemon.cni;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import infobloxcni.wire.CniError;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** {@link CniRequest} alone: the {@code CNI_*} variables a runtime sets, checked and named when wrong. No daemon, no grid. */
class CniRequestTest {
    private static final String NETCONF =
            "{\"cniVersion\":\"1.1.0\",\"name\":\"net1\",\"ipam\":{\"type\":\"infoblox\"}}";

    /** What a runtime sets for {@code command}, to be changed by each test. */
    private static Map<String, String> env(String command) {
        return new HashMap<>(Map.of(
                "CNI_COMMAND",
                command,
                "CNI_CONTAINERID",
                "c0ffee-1",
                "CNI_NETNS",
                "/proc/self/ns/net",
                "CNI_IFNAME",
                "eth0",
                "CNI_ARGS",
                "IgnoreUnknown=1;K8S_POD_NAMESPACE=ns;K8S_POD_NAME=web-0",
                "CNI_PATH",
                "/opt/cni/bin"));
    }

    private static CniRequest parse(Map<String, String> env, String netconf) throws CniError {
        return CniRequest.parse(env, netconf.getBytes(StandardCharsets.UTF_8));
    }

    /** Refused with {@code code}, the message naming {@code named}. */
    private static void refused(Map<String, String> env, String netconf, int code, String named) {
        CniError e = assertThrows(CniError.class, () -> parse(env, netconf), env.toString());
        assertEquals(code, e.code(), e.getMessage());
        assertTrue(e.getMessage().contains(named), e.getMessage());
    }

    private static Map<String, String> with(String name, String value) {
        Map<String, String> env = env("ADD");
        if (value == null) env.remove(name);
        else env.put(name, value);
        return env;
    }

    @Test
    void anAddAsARuntimeSendsIt() throws CniError {
        CniRequest r = parse(env("ADD"), NETCONF);
        assertEquals(CniRequest.Command.ADD, r.command());
        assertEquals("c0ffee-1", r.containerId());
        assertEquals("/proc/self/ns/net", r.netns());
        assertEquals("eth0", r.ifName());
        assertEquals(Map.of("IgnoreUnknown", "1", "K8S_POD_NAMESPACE", "ns", "K8S_POD_NAME", "web-0"), r.args());
        assertEquals("web-0", r.podName());
        assertEquals("net1", r.netConf().name());
        assertNull(r.mac(), "looked up later");
        assertEquals("aa:bb:cc:dd:ee:ff", r.withMac("aa:bb:cc:dd:ee:ff").mac());
    }

    @Test
    void versionNeedsNothingElse() throws CniError {
        CniRequest r = CniRequest.parse(Map.of("CNI_COMMAND", "VERSION"), new byte[0]);
        assertEquals(CniRequest.Command.VERSION, r.command());
        assertNull(r.netConf());
    }

    @Test
    void theCommandIsRequiredAndOneOfTheSix() {
        refused(with("CNI_COMMAND", null), NETCONF, CniError.INVALID_ENV, "CNI_COMMAND");
        refused(with("CNI_COMMAND", " "), NETCONF, CniError.INVALID_ENV, "CNI_COMMAND");
        refused(with("CNI_COMMAND", "add"), NETCONF, CniError.INVALID_ENV, "CNI_COMMAND");
    }

    @Test
    void verbsNeedTheVersionThatIntroducedThem() throws CniError {
        String v040 = NETCONF.replace("1.1.0", "0.4.0");
        refused(env("STATUS"), v040, CniError.INCOMPATIBLE_VERSION, "1.1.0");
        refused(env("GC"), v040, CniError.INCOMPATIBLE_VERSION, "1.1.0");
        refused(env("CHECK"), NETCONF.replace("1.1.0", "0.3.1"), CniError.INCOMPATIBLE_VERSION, "0.4.0");
        assertEquals(CniRequest.Command.CHECK, parse(env("CHECK"), v040).command());
    }

    @Test
    void statusAndGcNeedNoContainer() throws CniError {
        Map<String, String> env = env("GC");
        env.remove("CNI_CONTAINERID");
        env.remove("CNI_IFNAME");
        env.remove("CNI_NETNS");
        CniRequest r = parse(env, NETCONF);
        assertNull(r.containerId());
        assertEquals("ns", r.args().get("K8S_POD_NAMESPACE"));
    }

    @Test
    void theContainerIdFollowsCnisRule() throws CniError {
        refused(with("CNI_CONTAINERID", null), NETCONF, CniError.INVALID_ENV, "CNI_CONTAINERID");
        refused(with("CNI_CONTAINERID", ""), NETCONF, CniError.INVALID_ENV, "CNI_CONTAINERID");
        for (String bad : List.of("-c", ".c", "_c", "c/d", "c d", "c\n", "c\u00e9", "c;d", "c".repeat(1025))) {
            refused(with("CNI_CONTAINERID", bad), NETCONF, CniError.INVALID_ENV, "CNI_CONTAINERID");
        }
        for (String good : List.of("c", "0", "a_b.c-d", "C".repeat(1024))) {
            assertEquals(good, parse(with("CNI_CONTAINERID", good), NETCONF).containerId());
        }
    }

    @Test
    void theInterfaceNameIsOneLinuxTakes() throws CniError {
        refused(with("CNI_IFNAME", null), NETCONF, CniError.INVALID_ENV, "CNI_IFNAME");
        for (String bad : List.of("", "e".repeat(16), "eth/0", "eth:0", "eth%d", "eth 0", ".", "..", "eth\t")) {
            refused(with("CNI_IFNAME", bad), NETCONF, CniError.INVALID_ENV, "CNI_IFNAME");
        }
        assertEquals(
                "e".repeat(15),
                parse(with("CNI_IFNAME", "e".repeat(15)), NETCONF).ifName());
    }

    @Test
    void onlyAnAddNeedsANetworkNamespaceThatIsOne() throws CniError {
        refused(with("CNI_NETNS", null), NETCONF, CniError.INVALID_ENV, "CNI_NETNS");
        refused(with("CNI_NETNS", "relative/ns"), NETCONF, CniError.INVALID_ENV, "CNI_NETNS");
        Map<String, String> del = env("DEL");
        del.put("CNI_NETNS", "");
        assertNull(parse(del, NETCONF).netns(), "a DEL after the namespace is gone");
        Map<String, String> check = env("CHECK");
        check.remove("CNI_NETNS");
        refused(check, NETCONF, CniError.INVALID_ENV, "CNI_NETNS");
    }

    @Test
    void cniArgsArePairs() throws CniError {
        assertEquals(Map.of(), CniRequest.parseArgs(null));
        assertEquals(Map.of(), CniRequest.parseArgs(" "));
        assertEquals(Map.of("A", "1", "B", "x=y", "C", ""), CniRequest.parseArgs("A=1;;B=x=y;C="));
        CniError noValue = assertThrows(CniError.class, () -> CniRequest.parseArgs("A=1;B"));
        assertEquals(CniError.INVALID_ENV, noValue.code());
        assertTrue(noValue.getMessage().contains("CNI_ARGS"), noValue.getMessage());
        assertThrows(CniError.class, () -> CniRequest.parseArgs("=1"));
        String most = "K=v;".repeat(CniRequest.MAX_ARGS);
        assertEquals(1, CniRequest.parseArgs(most).size());
        CniError tooMany = assertThrows(CniError.class, () -> CniRequest.parseArgs(most + "K=v"));
        assertTrue(tooMany.getMessage().contains(String.valueOf(CniRequest.MAX_ARGS)), tooMany.getMessage());
    }

    @Test
    void aPodNameIsADns1123Subdomain() throws CniError {
        for (String bad : List.of("Web", "web_0", "-web", "web-", "w".repeat(CniRequest.MAX_POD_NAME_LENGTH + 1))) {
            refused(with("CNI_ARGS", "K8S_POD_NAME=" + bad), NETCONF, CniError.INVALID_ENV, "K8S_POD_NAME");
        }
        assertEquals(
                "a.b-c.0",
                parse(with("CNI_ARGS", "K8S_POD_NAME=a.b-c.0"), NETCONF).podName());
        assertNull(parse(with("CNI_ARGS", "K8S_POD_NAME="), NETCONF).podName(), "empty: no pod name");
        assertNull(parse(with("CNI_ARGS", null), NETCONF).podName());
    }

    @Test
    void theNetconfIsCheckedToo() {
        refused(
                env("ADD"),
                "{\"cniVersion\":\"1.1.0\",\"ipam\":{\"type\":\"ib\"}}",
                CniError.INVALID_NETCONF,
                "'name'");
        refused(env("DEL"), "not json", CniError.DECODE_FAILURE, "JSON");
    }
}
