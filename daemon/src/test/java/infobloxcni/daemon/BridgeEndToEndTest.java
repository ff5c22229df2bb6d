package infobloxcni.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import infobloxcni.daemon.ExternalCommand.Result;
import infobloxcni.daemon.cni.NetConf;
import infobloxcni.wapisim.WapiSimulator;
import infobloxcni.wire.CniError;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * End to end with Debian's real CNI bridge plugin (containernetworking-plugins, /usr/lib/cni):
 * bridge -> bin/infoblox (the real plugin executable, a JVM) -> the daemon's Unix socket -> a
 * daemon in this JVM -> the WAPI simulator. Each container is a network namespace of its own; the
 * bridge plugin runs in a "host" namespace of the test's own, so nothing touches the machine's root
 * namespace and no packet leaves the test's namespaces.
 *
 * <p>Needs root, {@code ip netns} and {@code /usr/lib/cni/bridge}
 * ({@code apt-get install -y containernetworking-plugins iproute2}); skipped otherwise. Uses
 * {@code ping} (iputils-ping) when installed, else a TCP probe through bash's /dev/tcp.
 */
class BridgeEndToEndTest {
    private static final Duration PLUGIN_TIMEOUT = Duration.ofSeconds(40); // above ipam.daemon-timeout (30 s)
    private static final Duration SHORT = Duration.ofSeconds(10);
    private static final Path BRIDGE_PLUGIN = Path.of("/usr/lib/cni/bridge");
    private static final long PID = ProcessHandle.current().pid();
    private static final String HOST_NS = "ibt-host-" + PID;
    private static final String BRIDGE = "ibcni-br" + PID % 1000;
    private static final String NET = "10.77." + PID % 250 + ".";
    private static final String SUBNET = NET + "0/24";
    private static final Pattern OUR_NAMESPACE = Pattern.compile("ibt-(?:host|c\\d+)-(\\d+)");
    private static final Pattern INET = Pattern.compile("\\binet (\\d+\\.\\d+\\.\\d+\\.\\d+/\\d+)");
    private static final ObjectMapper STRICT_JSON =
            new ObjectMapper().enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    /** Every namespace this test created and has not deleted yet; the host namespace last. */
    private static final Set<String> NAMESPACES = ConcurrentHashMap.newKeySet();

    private static final AtomicInteger SEQ = new AtomicInteger();

    @TempDir
    static Path dir;

    static WapiSimulator grid;
    static TestHost host;
    /** The directory holding bin/infoblox: first on CNI_PATH. */
    static Path binDir;
    /** Extra environment for the plugin (INFOBLOX_CNI_PLUGIN_JAR when there is no built jar). */
    static final Map<String, String> PLUGIN_ENV = new HashMap<>();
    /** Why the network-namespace tests cannot run here, or null. */
    static String skipReason;

    record Container(String id, String netns) {
        String netnsPath() {
            return "/var/run/netns/" + netns;
        }
    }

    @BeforeAll
    static void setUp() throws Exception {
        binDir = findBinDir();
        // `mvn test` in the reactor runs before `package`: the plugin's classes do as well
        Path unpackaged = PluginJar.unlessPackaged(binDir, dir);
        if (unpackaged != null) PLUGIN_ENV.put("INFOBLOX_CNI_PLUGIN_JAR", unpackaged.toString());

        grid = TestHost.startGrid();
        host = new TestHost(grid, dir, "e2e-host").start();
        Runtime.getRuntime().addShutdownHook(new Thread(BridgeEndToEndTest::deleteAllNamespaces, "ibt-netns-cleanup"));

        skipReason = environmentProblem();
        if (skipReason != null) return;
        Result add = ExternalCommand.run(SHORT, "ip", "netns", "add", HOST_NS);
        if (!add.ok()) {
            skipReason = "`ip netns add` fails here: " + add;
            return;
        }
        NAMESPACES.add(HOST_NS);
        mustRun(SHORT, "ip", "netns", "exec", HOST_NS, "ip", "link", "set", "lo", "up");
    }

    /** Null when root, the bridge plugin and `ip netns` are all there. Also removes namespaces of dead earlier runs. */
    private static String environmentProblem() throws Exception {
        int uid = (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid");
        if (uid != 0) return "needs root to create network namespaces (running as uid " + uid + ")";
        if (!Files.isExecutable(BRIDGE_PLUGIN)) {
            return BRIDGE_PLUGIN + " is missing: apt-get install -y containernetworking-plugins iproute2";
        }
        Result list = ExternalCommand.run(SHORT, "ip", "netns", "list");
        if (!list.ok()) return "`ip netns` fails here: " + list;
        for (String line : list.stdout().split("\n")) {
            String name = line.strip().split("\\s+")[0];
            Matcher m = OUR_NAMESPACE.matcher(name);
            if (m.matches() && ProcessHandle.of(Long.parseLong(m.group(1))).isEmpty()) {
                ExternalCommand.run(SHORT, "ip", "netns", "del", name); // left by a killed run of this test
            }
        }
        return null;
    }

    private static Path findBinDir() {
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            if (Files.isExecutable(p.resolve("bin").resolve("infoblox"))) return p.resolve("bin");
        }
        throw new AssertionError("bin/infoblox not found above " + Path.of("").toAbsolutePath());
    }

    @AfterEach
    void deleteContainerNamespaces() {
        for (String ns : List.copyOf(NAMESPACES)) {
            if (!ns.equals(HOST_NS)) deleteNamespace(ns);
        }
    }

    @AfterAll
    static void tearDown() {
        try {
            deleteAllNamespaces();
        } finally {
            if (host != null) host.close();
            if (grid != null) grid.close();
        }
    }

    private static void deleteAllNamespaces() {
        for (String ns : List.copyOf(NAMESPACES)) {
            if (!ns.equals(HOST_NS)) deleteNamespace(ns);
        }
        // the bridge and the host ends of the veths go with it
        if (NAMESPACES.contains(HOST_NS)) deleteNamespace(HOST_NS);
    }

    private static void deleteNamespace(String ns) {
        Result r = ExternalCommand.run(SHORT, "ip", "netns", "del", ns);
        if (r.ok() || !Files.exists(Path.of("/var/run/netns", ns))) {
            NAMESPACES.remove(ns);
        } else {
            System.err.println("BridgeEndToEndTest: could not delete namespace " + ns + ": " + r);
        }
    }

    // ---- helpers --------------------------------------------------------------------------------

    private static void assumeNamespaces() {
        assumeTrue(skipReason == null, () -> "skipped: " + skipReason);
    }

    private static Result mustRun(Duration timeout, String... argv) {
        Result r = ExternalCommand.run(timeout, argv);
        assertEquals(0, r.exit(), () -> "command failed: " + r);
        return r;
    }

    private static Container newContainer(String label) {
        String ns = "ibt-c" + SEQ.incrementAndGet() + "-" + PID;
        mustRun(SHORT, "ip", "netns", "add", ns);
        NAMESPACES.add(ns);
        return new Container("ibt-" + PID + "-" + label, ns);
    }

    static String netconf(String cniVersion) {
        String socketDir;
        try {
            socketDir =
                    NetConf.JSON.writeValueAsString(host.socket().getParent().toString());
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
        return "{\"cniVersion\":\"" + cniVersion + "\",\"name\":\"e2enet\",\"type\":\"bridge\",\"bridge\":\"" + BRIDGE
                + "\",\"isGateway\":true,\"ipMasq\":false,\"ipam\":{\"type\":\"infoblox\",\"subnet\":\"" + SUBNET
                + "\",\"socket-dir\":" + socketDir + ",\"daemon-timeout\":30}}";
    }

    /** The real bridge plugin, run in the test's host namespace, as a runtime would run it. */
    private static Result bridge(String command, Container c, String conf) {
        return bridge(command, c, conf, null);
    }

    /** As {@link #bridge(String, Container, String)}, with {@code CNI_ARGS} (null: none). */
    private static Result bridge(String command, Container c, String conf, String cniArgs) {
        Map<String, String> env = new HashMap<>(PLUGIN_ENV);
        if (cniArgs != null) env.put("CNI_ARGS", cniArgs);
        env.put("CNI_COMMAND", command);
        env.put("CNI_CONTAINERID", c.id());
        env.put("CNI_NETNS", c.netnsPath());
        env.put("CNI_IFNAME", "eth0");
        env.put("CNI_PATH", binDir + ":/usr/lib/cni");
        return ExternalCommand.run(PLUGIN_TIMEOUT, env, conf, "ip", "netns", "exec", HOST_NS, BRIDGE_PLUGIN.toString());
    }

    private static Result mustBridge(String command, Container c, String conf) {
        Result r = bridge(command, c, conf);
        assertEquals(0, r.exit(), () -> "bridge " + command + " of " + c + " failed:\n" + r);
        return r;
    }

    private static JsonNode json(Result r) {
        try {
            return STRICT_JSON.readTree(r.stdout());
        } catch (Exception e) {
            throw new AssertionError("stdout is not exactly one JSON document: " + e.getMessage() + "\n" + r, e);
        }
    }

    private static List<Map<String, Object>> reservationsOf(String containerId) {
        return TestHost.reservationsOf(grid, containerId);
    }

    /** A DEL is answered once its intent is on disk; its release follows behind the answer: wait for it, bounded. */
    private static void awaitReleased(String containerId, String what) {
        try {
            Eventually.await(
                    what + ": " + containerId, () -> reservationsOf(containerId).isEmpty());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    private static String addressIn(String netns, String ifName) {
        Result r = mustRun(SHORT, "ip", "netns", "exec", netns, "ip", "-4", "-o", "addr", "show", ifName);
        Matcher m = INET.matcher(r.stdout());
        assertTrue(m.find(), () -> "no IPv4 address on " + ifName + " in " + netns + ": " + r);
        return m.group(1);
    }

    private static String macIn(Container c) {
        // ip netns exec remounts /sys for the namespace, so this is the container's eth0
        return mustRun(SHORT, "ip", "netns", "exec", c.netns(), "cat", "/sys/class/net/eth0/address")
                .stdout()
                .strip();
    }

    /** The address an ADD result gives the container, whatever the result's layout. */
    private static String resultAddress(JsonNode result) {
        return result.has("ip4")
                ? result.path("ip4").path("ip").asText()
                : result.path("ips").path(0).path("address").asText();
    }

    /**
     * The container's eth0 holds exactly the address the grid reserved for its container ID, the
     * one the ADD result reports, and the reservation records eth0's MAC. Returns the address.
     */
    private static String assertAttached(Container c, Result add) {
        String inNamespace = addressIn(c.netns(), "eth0");
        List<Map<String, Object>> reservations = reservationsOf(c.id());
        assertEquals(
                1,
                reservations.size(),
                () -> "grid reservations for VM ID " + c.id() + ": " + reservations + "\nall fixedaddresses: "
                        + grid.objects("fixedaddress"));
        Map<String, Object> reservation = reservations.getFirst();
        assertEquals(
                reservation.get("ipv4addr") + "/24",
                inNamespace,
                () -> "eth0 in " + c.netns() + " vs the grid's reservation " + reservation);
        assertEquals(inNamespace, resultAddress(json(add)), () -> "the ADD result vs eth0: " + add);
        String mac = macIn(c);
        assertEquals(
                mac,
                reservation.get("mac"),
                () -> "the reservation's MAC should be eth0's (" + mac + "), as the daemon"
                        + " reads it with `nsenter --net=" + c.netnsPath() + " ip -o link show dev eth0`; reservation: "
                        + reservation);
        return inNamespace;
    }

    /** One packet each way between two of the test's own namespaces, across the bridge. */
    private static void assertReachable(Container from, String toAddress) {
        String to = toAddress.substring(0, toAddress.indexOf('/'));
        Path ping = Files.isExecutable(Path.of("/usr/bin/ping"))
                ? Path.of("/usr/bin/ping")
                : Files.isExecutable(Path.of("/bin/ping")) ? Path.of("/bin/ping") : null;
        if (ping != null) {
            Result r =
                    ExternalCommand.run(SHORT, "ip", "netns", "exec", from.netns(), ping.toString(), "-c1", "-W2", to);
            assertEquals(
                    0, r.exit(), () -> "ping from " + from.netns() + " to " + to + " through " + BRIDGE + ": " + r);
        } else {
            // No ping (iputils-ping) here: a TCP connect to a closed port that the peer's kernel
            // refuses (RST) proves the round trip just as well; unreachable would time out instead.
            Result r = ExternalCommand.run(
                    SHORT,
                    "ip",
                    "netns",
                    "exec",
                    from.netns(),
                    "timeout",
                    "5",
                    "bash",
                    "-c",
                    "exec 3<>/dev/tcp/" + to + "/9");
            assertTrue(
                    r.stderr().contains("Connection refused"),
                    () -> "TCP probe (no ping installed) from " + from.netns() + " to " + to + " got no answer: " + r);
        }
    }

    private static double median(List<Double> values) {
        List<Double> sorted = values.stream().sorted().toList();
        int n = sorted.size();
        return n % 2 == 1 ? sorted.get(n / 2) : (sorted.get(n / 2 - 1) + sorted.get(n / 2)) / 2;
    }

    // ---- tests ----------------------------------------------------------------------------------

    @Test
    void versionIsAnsweredByThePluginAsExactlyCniJson() throws Exception {
        Map<String, String> env = new HashMap<>(PLUGIN_ENV);
        env.put("CNI_COMMAND", "VERSION");
        Result r = ExternalCommand.run(
                SHORT,
                env,
                "{\"cniVersion\":\"1.0.0\"}",
                binDir.resolve("infoblox").toString());
        assertEquals(0, r.exit(), r::toString);
        JsonNode expected = STRICT_JSON.readTree("{\"cniVersion\":\"1.0.0\",\"supportedVersions\":"
                + "[\"0.1.0\",\"0.2.0\",\"0.3.0\",\"0.3.1\",\"0.4.0\",\"1.0.0\",\"1.1.0\"]}");
        assertEquals(expected, json(r), r::toString);
        assertTrue(r.stdout().startsWith("{"), () -> "nothing may precede the JSON on stdout: " + r);
    }

    @Test
    void addCheckDelOfTwoContainersThroughTheRealBridgePlugin() {
        assumeNamespaces();
        String conf = netconf("1.0.0");
        Container c1 = newContainer("one");
        Container c2 = newContainer("two");

        Result add1 = mustBridge("ADD", c1, conf);
        Result add2 = mustBridge("ADD", c2, conf);
        assertEquals("1.0.0", json(add1).path("cniVersion").asText(), add1::toString);
        String a1 = assertAttached(c1, add1);
        String a2 = assertAttached(c2, add2);
        assertNotEquals(a1, a2);
        String gateway = json(add1).path("ips").path(0).path("gateway").asText();
        assertEquals(NET + "1", gateway, add1::toString);
        assertEquals(
                gateway + "/24", addressIn(HOST_NS, BRIDGE), "isGateway: the bridge holds the gateway from our result");

        assertReachable(c1, a2);
        assertReachable(c2, a1);

        Result check1 = bridge("CHECK", c1, TestHost.withPrevResult(conf, add1.stdout()));
        assertEquals(0, check1.exit(), check1::toString);
        Result check2 = bridge("CHECK", c2, TestHost.withPrevResult(conf, add2.stdout()));
        assertEquals(0, check2.exit(), check2::toString);

        String del1 = TestHost.withPrevResult(conf, add1.stdout());
        mustBridge("DEL", c1, del1);
        awaitReleased(c1.id(), "DEL releases the container's reservation");
        assertEquals(1, reservationsOf(c2.id()).size(), "... and only that one");
        mustBridge("DEL", c1, del1); // again: DEL is idempotent
        assertEquals(1, reservationsOf(c2.id()).size());

        // the runtime tore the container down before the DEL: the netns path no longer exists
        deleteNamespace(c2.netns());
        assertTrue(Files.notExists(Path.of(c2.netnsPath())), c2.netnsPath());
        mustBridge("DEL", c2, TestHost.withPrevResult(conf, add2.stdout()));
        awaitReleased(c2.id(), "DEL without the netns still releases the reservation");
    }

    /**
     * Addresses asked for by the {@code ips} capability and by {@code CNI_ARGS IP=} reach the
     * containers' eth0 through the real bridge plugin (which hands the IPAM plugin its stdin and
     * environment as they are), are reachable, are refused to a third container with 106, and are
     * released by DEL.
     */
    @Test
    void requestedAddressesReachTheContainersThroughTheBridge() {
        assumeNamespaces();
        String conf = netconf("1.0.0");
        String asking77 = conf.substring(0, conf.length() - 1) + ",\"runtimeConfig\":{\"ips\":[\"" + NET + "77/24\"]}}";
        Container c1 = newContainer("req77");
        Container c2 = newContainer("req78");
        Container c3 = newContainer("req77b");

        Result add1 = mustBridge("ADD", c1, asking77);
        assertEquals(NET + "77/24", assertAttached(c1, add1));
        String ip78 = "IgnoreUnknown=1;IP=" + NET + "78";
        Result add2 = bridge("ADD", c2, conf, ip78);
        assertEquals(0, add2.exit(), add2::toString);
        assertEquals(NET + "78/24", assertAttached(c2, add2));
        assertReachable(c1, NET + "78/24");

        Result taken = bridge("ADD", c3, asking77);
        assertNotEquals(0, taken.exit(), taken::toString);
        assertEquals(CniError.ADDRESS_TAKEN, json(taken).path("code").asInt(), taken::toString);
        assertTrue(json(taken).path("msg").asText().contains("container " + c1.id()), taken::toString);
        assertTrue(reservationsOf(c3.id()).isEmpty());
        mustBridge("DEL", c3, conf);

        mustBridge("DEL", c1, TestHost.withPrevResult(asking77, add1.stdout()));
        awaitReleased(c1.id(), "DEL releases the requested address");
        Result del2 = bridge("DEL", c2, TestHost.withPrevResult(conf, add2.stdout()), ip78);
        assertEquals(0, del2.exit(), del2::toString);
        awaitReleased(c2.id(), "DEL releases it");
    }

    /**
     * A host-local netconf moved over by changing its type: its {@code ranges} (one set, one range)
     * is read as subnet, range and gateway; it used to be refused as unknown.
     */
    @Test
    void aHostLocalRangesNetconfWorksThroughTheBridge() {
        assumeNamespaces();
        String conf = netconf("1.0.0")
                .replace(
                        "\"subnet\":\"" + SUBNET + "\"",
                        "\"ranges\":[[{\"subnet\":\"" + SUBNET + "\",\"rangeStart\":\"" + NET + "200\",\"rangeEnd\":\""
                                + NET + "209\",\"gateway\":\"" + NET + "1\"}]],\"dataDir\":\"/var/lib/cni/networks\"");
        Container c = newContainer("ranges");
        Result add = mustBridge("ADD", c, conf);
        String address = assertAttached(c, add);
        int last = Integer.parseInt(address.substring(NET.length(), address.indexOf('/')));
        assertTrue(last >= 200 && last <= 209, "inside rangeStart..rangeEnd: " + address);
        assertEquals(NET + "1", json(add).path("ips").path(0).path("gateway").asText(), add::toString);
        mustBridge("CHECK", c, TestHost.withPrevResult(conf, add.stdout()));
        mustBridge("DEL", c, TestHost.withPrevResult(conf, add.stdout()));
        awaitReleased(c.id(), "DEL releases it");
    }

    @ParameterizedTest(name = "cniVersion {0}")
    @ValueSource(strings = {"0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0"})
    void olderCniVersionsWorkThroughTheBridgeToo(String version) {
        assumeNamespaces();
        String conf = netconf(version);
        Container c = newContainer("v" + version.replace(".", ""));
        Result add = mustBridge("ADD", c, conf);
        assertEquals(version, json(add).path("cniVersion").asText(), add::toString);
        assertAttached(c, add);
        String withPrev = TestHost.withPrevResult(conf, add.stdout());
        if (version.compareTo("0.4.0") >= 0) { // CHECK exists since 0.4.0
            Result check = bridge("CHECK", c, withPrev);
            assertEquals(0, check.exit(), check::toString);
        }
        mustBridge("DEL", c, withPrev);
        awaitReleased(c.id(), "DEL releases it");
    }

    @Test
    void parallelAddsAndDelsThroughTheBridgeGetDistinctAddresses() throws Exception {
        assumeNamespaces();
        String conf = netconf("1.0.0");
        List<Container> containers = new ArrayList<>();
        for (int i = 0; i < 6; i++) containers.add(newContainer("p" + i));
        List<Result> adds = new ArrayList<>();
        try (ExecutorService pool = Executors.newFixedThreadPool(containers.size())) {
            List<Future<Result>> futures = new ArrayList<>();
            for (Container c : containers) futures.add(pool.submit(() -> bridge("ADD", c, conf)));
            for (Future<Result> f : futures) adds.add(f.get());
        }
        Set<String> addresses = new HashSet<>();
        for (int i = 0; i < containers.size(); i++) {
            Result add = adds.get(i);
            assertEquals(0, add.exit(), add::toString);
            assertTrue(addresses.add(assertAttached(containers.get(i), add)), () -> "address given twice: " + adds);
        }
        try (ExecutorService pool = Executors.newFixedThreadPool(containers.size())) {
            List<Future<Result>> futures = new ArrayList<>();
            for (int i = 0; i < containers.size(); i++) {
                Container c = containers.get(i);
                String del = TestHost.withPrevResult(conf, adds.get(i).stdout());
                futures.add(pool.submit(() -> bridge("DEL", c, del)));
            }
            for (Future<Result> f : futures) {
                Result del = f.get();
                assertEquals(0, del.exit(), del::toString);
            }
        }
        for (Container c : containers) awaitReleased(c.id(), c.id());
    }

    @Test
    void addAndDelTimings() {
        assumeNamespaces();
        String conf = netconf("1.0.0");
        Container warm = newContainer("warm");
        mustBridge(
                "DEL",
                warm,
                TestHost.withPrevResult(conf, mustBridge("ADD", warm, conf).stdout()));

        int n = 10;
        List<Container> containers = new ArrayList<>();
        for (int i = 0; i < n; i++) containers.add(newContainer("t" + i));
        List<Double> addMillis = new ArrayList<>();
        List<String> results = new ArrayList<>();
        for (Container c : containers) {
            Result add = mustBridge("ADD", c, conf);
            addMillis.add(add.millis());
            results.add(add.stdout());
        }
        List<Double> delMillis = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            delMillis.add(mustBridge("DEL", containers.get(i), TestHost.withPrevResult(conf, results.get(i)))
                    .millis());
        }
        for (Container c : containers) awaitReleased(c.id(), "reservation left after DEL");
        System.out.printf(
                "bridge e2e: ADD median %.1f ms, DEL median %.1f ms (n=%d)%n", median(addMillis), median(delMillis), n);
        System.out.printf("bridge e2e: ADD ms %s%nbridge e2e: DEL ms %s%n", format(addMillis), format(delMillis));
    }

    private static String format(List<Double> values) {
        return values.stream().map(v -> String.format("%.0f", v)).toList().toString();
    }
}
