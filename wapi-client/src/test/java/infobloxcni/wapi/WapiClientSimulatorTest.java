package infobloxcni.wapi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import infobloxcni.wapisim.WapiSimulator;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The client against a real, in-process, stateful WAPI simulator over real sockets: every client
 * operation, the typed errors the grid's answers map to, sessions, keep-alive, injected transport
 * faults and TLS. {@link WapiClientFailureTest} covers the transport oddities a simulator should not fake.
 */
@Timeout(20)
class WapiClientSimulatorTest {
    private static final String USER = "admin";
    private static final String PASSWORD = "infoblox";
    private static final String VIEW = "cni_view";
    private static final String NET = "10.20.0.0/24";

    private WapiSimulator sim;
    private WapiClient client;
    private final List<AutoCloseable> extra = new ArrayList<>();

    @BeforeEach
    void start() {
        sim = WapiSimulator.builder()
                .port(0)
                .credentials(USER, PASSWORD)
                .https(false)
                .build()
                .start();
        client = clientFor(sim, PASSWORD, Duration.ofSeconds(2));
    }

    @AfterEach
    void stop() throws Exception {
        for (AutoCloseable c : extra.reversed()) c.close();
        if (client != null) client.close();
        sim.close();
    }

    // ------------------------------------------------------------------ helpers

    private WapiClient clientFor(WapiSimulator s, String password, Duration readTimeout) {
        return new WapiClient(WapiConfig.of("127.0.0.1", s.port(), "2.5", USER, password, new SslVerify.System())
                .withHttps(false)
                .withTimeouts(Duration.ofSeconds(1), readTimeout, Duration.ofSeconds(5)));
    }

    private <T extends AutoCloseable> T closeLater(T c) {
        extra.add(c);
        return c;
    }

    /** Objects made directly in the simulator: no requests counted, no faults consumed. */
    private void seedViewAndNetwork(String cidr) {
        sim.createObject("networkview", Map.of("name", VIEW));
        sim.createObject("network", Map.of("network", cidr, "network_view", VIEW));
    }

    private static FixedAddressSpec pod(String containerId, String podName) {
        return new FixedAddressSpec(
                "02:42:0a:00:00:01",
                podName,
                "pod " + podName,
                null,
                Map.of("VM ID", containerId, "VM Name", podName, "CMP Type", "Kubernetes", "Cloud API Owned", "True"));
    }

    @SuppressWarnings("unchecked")
    private static String simEa(Map<String, Object> object, String name) {
        Map<String, Object> eas = (Map<String, Object>) object.get("extattrs");
        if (eas == null || !eas.containsKey(name)) return null;
        return String.valueOf(((Map<String, Object>) eas.get(name)).get("value"));
    }

    private List<String> fixedIps() {
        return sim.objects("fixedaddress").stream()
                .map(o -> (String) o.get("ipv4addr"))
                .toList();
    }

    // ------------------------------------------------------------------ network views

    @Test
    void networkViewsAreCreatedWithEasFoundAndNotDuplicated() {
        assertTrue(client.getNetworkView(VIEW).isEmpty(), "no such view yet");

        NetworkView created =
                client.createNetworkView(VIEW, Map.of("Tenant ID", "cluster-a", "CMP Type", "Kubernetes"));
        assertEquals(VIEW, created.name());
        assertTrue(created.ref().startsWith("networkview/"), created.ref());
        assertEquals(Map.of("Tenant ID", "cluster-a", "CMP Type", "Kubernetes"), created.extattrs());

        NetworkView found = client.getNetworkView(VIEW).orElseThrow();
        assertEquals(created, found);
        assertEquals("default", client.getNetworkView("default").orElseThrow().name());

        var dup = assertThrows(WapiException.Conflict.class, () -> client.createNetworkView(VIEW, Map.of()));
        assertEquals(400, dup.httpStatus());
        assertEquals("Client.Ibap.Data.Conflict", dup.gridCode());
        assertTrue(dup.gridText().contains("Duplicate object '" + VIEW + "'"), dup.gridText());
        assertEquals(2, sim.objects("networkview").size(), "default + cni_view, no duplicate");
    }

    // ------------------------------------------------------------------ networks

    @Test
    void networksAreCreatedWithTheirNameAndFoundByCidrOnlyInTheirView() {
        sim.createObject("networkview", Map.of("name", VIEW));
        Network created = client.createNetwork(VIEW, NET, Map.of("Network Name", "pods"));
        assertEquals(NET, created.cidr());
        assertEquals(VIEW, created.networkView());
        assertEquals(Map.of("Network Name", "pods"), created.extattrs());
        assertTrue(created.ref().startsWith("network/"), created.ref());

        assertEquals(created, client.getNetwork(VIEW, NET).orElseThrow());
        assertTrue(client.getNetwork("default", NET).isEmpty(), "same CIDR, other view");
        assertTrue(client.getNetwork(VIEW, "10.20.1.0/24").isEmpty());

        // the same CIDR may exist again in another view
        Network inDefault = client.createNetwork("default", NET, Map.of());
        assertNotEquals(created.ref(), inDefault.ref());
        assertEquals(created.ref(), client.getNetwork(VIEW, NET).orElseThrow().ref());
    }

    @Test
    void networksAreFoundByANameWithSpacesAndSpecialCharacters() {
        sim.createObject("networkview", Map.of("name", VIEW));
        String odd = "blue net & co: 50%+1 #a/b?c=d;é*";
        client.createNetwork(VIEW, "10.30.0.0/24", Map.of("Network Name", odd));
        client.createNetwork(VIEW, "10.30.1.0/24", Map.of("Network Name", "blue net"));
        client.createNetwork(VIEW, "10.30.2.0/24", Map.of("Network Name", "blue net & co: 50% 1 #a/b?c=d;é*"));

        List<Network> hits = client.findNetworksByEa(VIEW, "Network Name", odd);
        assertEquals(List.of("10.30.0.0/24"), hits.stream().map(Network::cidr).toList());
        assertEquals(odd, hits.getFirst().extattrs().get("Network Name"));

        assertEquals(
                List.of("10.30.1.0/24"),
                client.findNetworksByEa(VIEW, "Network Name", "blue net").stream()
                        .map(Network::cidr)
                        .toList());
        assertTrue(client.findNetworksByEa("default", "Network Name", odd).isEmpty(), "other view");
        assertEquals(1, client.findNetworksByEa(null, "Network Name", odd).size(), "null view: every view");
    }

    @Test
    void overlappingNetworkIsAConflictKeepingTheGridText() {
        seedViewAndNetwork(NET);
        var overlap = assertThrows(
                WapiException.Conflict.class, () -> client.createNetwork(VIEW, "10.20.0.128/25", Map.of()));
        assertTrue(overlap.gridText().contains("overlaps with the existing network " + NET), overlap.gridText());
        assertTrue(overlap.getMessage().contains(overlap.gridText()), overlap.getMessage());

        var same = assertThrows(WapiException.Conflict.class, () -> client.createNetwork(VIEW, NET, Map.of()));
        assertTrue(same.gridText().contains("already exists"), same.gridText());
        assertEquals(1, sim.objects("network").size());
    }

    @Test
    void networkContainersAreCreatedAndFoundButAreNotNetworks() {
        sim.createObject("networkview", Map.of("name", VIEW));
        Network container = client.createNetworkContainer(VIEW, "10.50.0.0/16", Map.of("Tenant ID", "t1"));
        assertTrue(container.ref().startsWith("networkcontainer/"), container.ref());
        assertEquals("10.50.0.0/16", container.cidr());
        assertEquals(VIEW, container.networkView());
        assertEquals(Map.of("Tenant ID", "t1"), container.extattrs());

        assertEquals(container, client.getNetworkContainer(VIEW, "10.50.0.0/16").orElseThrow());
        assertTrue(client.getNetworkContainer("default", "10.50.0.0/16").isEmpty());
        assertTrue(client.getNetwork(VIEW, "10.50.0.0/16").isEmpty(), "a container is not a network");
        assertThrows(WapiException.Conflict.class, () -> client.createNetworkContainer(VIEW, "10.50.0.0/16", Map.of()));
    }

    @Test
    void nextAvailableNetworkCarvesConsecutiveTaggedSubnetsUntilTheContainerIsFull() {
        sim.createObject("networkview", Map.of("name", VIEW));
        client.createNetworkContainer(VIEW, "10.60.0.0/24", Map.of());
        long postsBefore = sim.requestCount("POST", "network");

        List<String> carved = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            Network n = client.createNextAvailableNetwork(VIEW, "10.60.0.0/24", 26, Map.of("Network Name", "net-" + i));
            assertEquals(VIEW, n.networkView());
            assertEquals("net-" + i, n.extattrs().get("Network Name"), "tagged in the same call");
            carved.add(n.cidr());
        }
        assertEquals(List.of("10.60.0.0/26", "10.60.0.64/26", "10.60.0.128/26", "10.60.0.192/26"), carved);
        assertEquals(4, sim.requestCount("POST", "network") - postsBefore, "one call per carved network");
        assertEquals(
                List.of("net-0", "net-1", "net-2", "net-3"),
                sim.objects("network").stream()
                        .map(o -> simEa(o, "Network Name"))
                        .toList());
        assertEquals(
                "net-2",
                client.getNetwork(VIEW, "10.60.0.128/26")
                        .orElseThrow()
                        .extattrs()
                        .get("Network Name"));

        WapiException full = assertThrows(
                WapiException.class,
                () -> client.createNextAvailableNetwork(VIEW, "10.60.0.0/24", 26, Map.of("Network Name", "net-4")));
        assertTrue(
                full instanceof WapiException.Rejected,
                "a full container is a refusal, got " + full.getClass().getSimpleName());
        assertEquals(400, full.httpStatus());
        assertTrue(full.gridText().contains("Cannot allocate a network of requested size /26"), full.gridText());
        assertTrue(full.getMessage().contains(full.gridText()), full.getMessage());
        assertEquals(4, sim.objects("network").size());

        var noContainer = assertThrows(
                WapiException.NotFound.class,
                () -> client.createNextAvailableNetwork(VIEW, "10.61.0.0/24", 26, Map.of()));
        assertTrue(
                noContainer.gridText().contains("Cannot find network container 10.61.0.0/24"), noContainer.gridText());
    }

    // ------------------------------------------------------------------ fixed addresses

    @Test
    void nextAvailableIpReturnsTheReservationInOneRoundTrip() {
        seedViewAndNetwork(NET);
        client.probe(); // warm: connection and session in place
        long before = sim.totalRequests();

        FixedAddress fa = client.reserveNextAvailableIp(VIEW, NET, pod("c0ffee", "web-0"));

        assertEquals(1, sim.totalRequests() - before, "one round trip, no follow-up GET; saw " + sim.requestCounts());
        assertEquals(1, sim.requestCount("POST", "fixedaddress"));
        assertEquals(0, sim.requestCount("GET", "fixedaddress"));
        assertEquals("10.20.0.1", fa.ipv4addr());
        assertEquals("02:42:0a:00:00:01", fa.mac());
        assertEquals("web-0", fa.name());
        assertEquals("pod web-0", fa.comment());
        assertEquals(NET, fa.network());
        assertEquals(VIEW, fa.networkView());
        assertEquals("MAC_ADDRESS", fa.matchClient());
        assertEquals("c0ffee", fa.ea("VM ID"));
        assertEquals(
                Map.of("VM ID", "c0ffee", "VM Name", "web-0", "CMP Type", "Kubernetes", "Cloud API Owned", "True"),
                fa.extattrs());
        assertTrue(fa.ref().startsWith("fixedaddress/"), fa.ref());

        Map<String, Object> stored = sim.object(fa.ref());
        assertNotNull(stored, "the returned ref names the stored object");
        assertEquals("10.20.0.1", stored.get("ipv4addr"));
        assertEquals("c0ffee", simEa(stored, "VM ID"));
    }

    @Test
    void nextAvailableIpTakesTheLowestFreeAddress() {
        seedViewAndNetwork(NET);
        FixedAddress a = client.reserveNextAvailableIp(VIEW, NET, pod("a", "a"));
        FixedAddress b = client.reserveNextAvailableIp(VIEW, NET, pod("b", "b"));
        FixedAddress c = client.reserveNextAvailableIp(VIEW, NET, pod("c", "c"));
        assertEquals(List.of("10.20.0.1", "10.20.0.2", "10.20.0.3"), List.of(a.ipv4addr(), b.ipv4addr(), c.ipv4addr()));

        sim.deleteObject(b.ref());
        assertEquals(
                "10.20.0.2",
                client.reserveNextAvailableIp(VIEW, NET, pod("d", "d")).ipv4addr(),
                "the freed hole first");
        assertEquals(
                "10.20.0.4",
                client.reserveNextAvailableIp(VIEW, NET, pod("e", "e")).ipv4addr());
    }

    @Test
    void aFullNetworkIsNetworkFullWithTheGridText() {
        seedViewAndNetwork("10.70.0.0/29");
        for (int i = 1; i <= 6; i++) {
            assertEquals(
                    "10.70.0." + i,
                    client.reserveNextAvailableIp(VIEW, "10.70.0.0/29", pod("c" + i, "p" + i))
                            .ipv4addr());
        }
        var full = assertThrows(
                WapiException.NetworkFull.class,
                () -> client.reserveNextAvailableIp(VIEW, "10.70.0.0/29", pod("c7", "p7")));
        assertEquals(400, full.httpStatus());
        assertTrue(full.gridText().contains("Cannot find 1 available IP address(es)"), full.gridText());
        assertTrue(full.getMessage().contains("Cannot find 1 available IP address(es)"), full.getMessage());
        assertEquals(6, sim.objects("fixedaddress").size());
        assertEquals(7, sim.requestCount("POST", "fixedaddress"), "the refusal is not retried");
    }

    @Test
    void aSpecificAddressIsReservedOnceAndSkippedByNextAvailable() {
        seedViewAndNetwork(NET);
        FixedAddress gw = client.reserveAddress(
                VIEW, "10.20.0.1", new FixedAddressSpec(null, "gateway", null, "RESERVED", Map.of("VM ID", "N/A")));
        assertEquals("10.20.0.1", gw.ipv4addr());
        assertEquals("RESERVED", gw.matchClient());
        assertEquals(FixedAddressSpec.NO_MAC, gw.mac());
        assertEquals("gateway", gw.name());
        assertEquals("N/A", gw.ea("VM ID"));
        assertEquals(NET, gw.network());

        var dup = assertThrows(
                WapiException.Conflict.class,
                () -> client.reserveAddress(
                        VIEW, "10.20.0.1", new FixedAddressSpec(null, "gateway", null, "RESERVED", Map.of())));
        assertTrue(dup.gridText().contains("10.20.0.1"), dup.gridText());
        assertEquals(1, sim.objects("fixedaddress").size());

        assertEquals(
                "10.20.0.2",
                client.reserveNextAvailableIp(VIEW, NET, pod("c1", "p1")).ipv4addr());
    }

    @Test
    void fixedAddressesAreFoundByContainerIdExactlyEvenWithDotsDashesUnderscores() {
        seedViewAndNetwork(NET);
        sim.createObject("network", Map.of("network", NET)); // same CIDR in the default view
        String id = "k8s_pod.web-1_abc.DEF-9";
        client.reserveNextAvailableIp(VIEW, NET, pod(id, "web-1"));
        client.reserveNextAvailableIp(VIEW, NET, pod("k8s_podXweb-1_abcXDEF-9", "regex-trap")); // '.' is not a wildcard
        client.reserveNextAvailableIp(VIEW, NET, pod(id + "-2", "longer"));
        client.reserveNextAvailableIp(VIEW, NET, pod("K8S_POD.WEB-1_ABC.DEF-9", "case-trap"));
        client.reserveNextAvailableIp("default", NET, pod(id, "other-view"));

        List<FixedAddress> hits = client.findFixedAddressesByEa(VIEW, "VM ID", id);
        assertEquals(List.of("web-1"), hits.stream().map(FixedAddress::name).toList());
        assertEquals("10.20.0.1", hits.getFirst().ipv4addr());
        assertEquals(id, hits.getFirst().ea("VM ID"));

        assertEquals(
                Set.of("web-1", "other-view"),
                Set.copyOf(client.findFixedAddressesByEa(null, "VM ID", id).stream()
                        .map(FixedAddress::name)
                        .toList()));
        assertTrue(client.findFixedAddressesByEa(VIEW, "VM ID", "k8s_pod").isEmpty(), "no prefix match");
    }

    @Test
    void fixedAddressesAreFoundByCommentRegexAndEas() {
        seedViewAndNetwork(NET);
        client.reserveNextAvailableIp(
                VIEW, NET, new FixedAddressSpec(null, "a", "pod ns1/web-1", null, Map.of("Tenant ID", "t1")));
        client.reserveNextAvailableIp(
                VIEW, NET, new FixedAddressSpec(null, "b", "pod ns1/web-2", null, Map.of("Tenant ID", "t2")));
        client.reserveNextAvailableIp(
                VIEW, NET, new FixedAddressSpec(null, "c", "pod ns2/web-1", null, Map.of("Tenant ID", "t1")));
        client.reserveAddress(VIEW, "10.20.0.254", new FixedAddressSpec(null, "gw", "gateway", "RESERVED", Map.of()));

        assertEquals(
                List.of("a", "b"),
                names(client.findFixedAddresses(VIEW, Map.of("comment~", "^pod ns1/web-\\d$"), Map.of())));
        assertEquals(List.of("a", "c"), names(client.findFixedAddresses(VIEW, Map.of("comment~", "web-1$"), Map.of())));
        assertEquals(
                List.of("b"),
                names(client.findFixedAddresses(VIEW, Map.of("comment~", "ns1/"), Map.of("Tenant ID", "t2"))));
        assertEquals(List.of("a", "c"), names(client.findFixedAddresses(VIEW, Map.of(), Map.of("Tenant ID", "t1"))));
        assertEquals(
                List.of("b"),
                names(client.findFixedAddresses(VIEW, Map.of("network", NET, "comment~", "web-2"), Map.of())));
        assertTrue(client.findFixedAddresses(VIEW, Map.of("comment~", "^ns1"), Map.of())
                .isEmpty());
    }

    private static List<String> names(List<FixedAddress> list) {
        return list.stream().map(FixedAddress::name).toList();
    }

    @Test
    void fixedAddressIsFoundByIpOnlyInItsView() {
        seedViewAndNetwork(NET);
        FixedAddress fa = client.reserveNextAvailableIp(VIEW, NET, pod("c1", "p1"));
        assertEquals(fa, client.findFixedAddressByIp(VIEW, "10.20.0.1").orElseThrow());
        assertTrue(client.findFixedAddressByIp(VIEW, "10.20.0.2").isEmpty());
        assertTrue(client.findFixedAddressByIp("default", "10.20.0.1").isEmpty());
    }

    @Test
    void anUndefinedEaIsRejectedWithTheGridText() {
        seedViewAndNetwork(NET);
        assertTrue(sim.removeEa("VM Name"));
        var rejected = assertThrows(
                WapiException.Rejected.class, () -> client.reserveNextAvailableIp(VIEW, NET, pod("c1", "p1")));
        assertEquals(400, rejected.httpStatus());
        assertEquals("Unknown extensible attribute: VM Name", rejected.gridText());
        assertTrue(rejected.getMessage().contains("Unknown extensible attribute: VM Name"), rejected.getMessage());
        assertTrue(sim.objects("fixedaddress").isEmpty());
        assertEquals(1, sim.requestCount("POST", "fixedaddress"), "a refusal is not retried");
    }

    @Test
    void withoutTheCloudEasEveryEaIsMissingAndCreatesAreRejected() {
        try (WapiSimulator bare = WapiSimulator.builder()
                        .port(0)
                        .credentials(USER, PASSWORD)
                        .cloudEas(false)
                        .build()
                        .start();
                WapiClient c = clientFor(bare, PASSWORD, Duration.ofSeconds(2))) {
            List<String> cloud = List.of("VM ID", "VM Name", "CMP Type");
            assertEquals(List.copyOf(cloud), List.copyOf(c.missingEaDefinitions(cloud)));
            var rejected = assertThrows(
                    WapiException.Rejected.class, () -> c.createNetworkView(VIEW, Map.of("Tenant ID", "t")));
            assertTrue(rejected.gridText().contains("Unknown extensible attribute: Tenant ID"), rejected.gridText());
            assertEquals(1, bare.objects("networkview").size(), "only the default view");
        }
    }

    // ------------------------------------------------------------------ EA definitions, probe

    @Test
    void missingEaDefinitionsListsExactlyTheUndefinedOnes() {
        List<String> wanted = List.of("VM ID", "VM Name", "Tenant ID", "CMP Type", "Cloud API Owned", "Network Name");
        assertEquals(Set.of(), client.missingEaDefinitions(wanted));

        assertTrue(sim.removeEa("VM Name"));
        assertEquals(List.of("VM Name"), List.copyOf(client.missingEaDefinitions(wanted)));

        assertEquals(
                List.of("Zone", "VM Name"),
                List.copyOf(client.missingEaDefinitions(List.of("Zone", "VM ID", "VM Name"))),
                "in the given order");
    }

    @Test
    void probeSucceedsWithGoodCredentials() {
        client.probe();
        assertEquals(1, sim.requestCount("GET", "networkview"));
        assertEquals(
                List.of(),
                sim.requestLog().stream().filter(l -> !l.endsWith("-> 200")).toList());
    }

    @Test
    void probeWithAWrongPasswordIsAnAuthenticationFailure() {
        WapiClient wrong = closeLater(clientFor(sim, "not-the-password", Duration.ofSeconds(2)));
        var e = assertThrows(WapiException.AuthenticationFailed.class, wrong::probe);
        assertEquals(401, e.httpStatus());
        assertFalse(e.getMessage().contains("not-the-password"));
        assertEquals(1, sim.requestCount("GET", "networkview"), "a 401 is not retried");
    }

    @Test
    void probeDuringAnOutageIsTransientAndRecoversAfterwards() {
        client.probe(); // a warm connection that the outage will reset
        sim.faults().outage(true);
        var e = assertThrows(WapiException.Transient.class, client::probe);
        assertFalse(e.mayHaveBeenApplied());
        assertEquals(0, e.httpStatus());
        assertNull(e.gridText());

        sim.faults().outage(false);
        client.probe();
    }

    @Test
    void aWriteRefusedByAnOutageCertainlyWasNotApplied() {
        seedViewAndNetwork(NET);
        sim.faults().outage(true);
        // a client with no pooled connection: the refusal comes at connect time, before anything is sent
        WapiClient cold = closeLater(clientFor(sim, PASSWORD, Duration.ofSeconds(2)));
        var e = assertThrows(
                WapiException.Transient.class, () -> cold.reserveNextAvailableIp(VIEW, NET, pod("c1", "p1")));
        assertFalse(e.mayHaveBeenApplied(), "connection refused: the POST never left; " + e.getMessage());
        assertEquals(0, e.httpStatus());
        sim.faults().outage(false);
        assertEquals(0, sim.totalRequests());
        assertTrue(sim.objects("fixedaddress").isEmpty());
        assertEquals(
                "10.20.0.1",
                cold.reserveNextAvailableIp(VIEW, NET, pod("c1", "p1")).ipv4addr(),
                "works again after the outage");
    }

    /** A simulator that closes keep-alive connections after 200 ms idle, as grids and middleboxes do (sooner than the client's pool). */
    private WapiSimulator idleClosingSimulator() {
        WapiSimulator s = closeLater(WapiSimulator.builder()
                .port(0)
                .credentials(USER, PASSWORD)
                .idleTimeout(Duration.ofMillis(200))
                .build()
                .start());
        s.createObject("networkview", Map.of("name", VIEW));
        s.createObject("network", Map.of("network", NET, "network_view", VIEW));
        return s;
    }

    private static void awaitNoOpenConnections(WapiSimulator s) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(3).toNanos();
        while (s.openConnections() > 0 && System.nanoTime() < deadline) Thread.sleep(20);
        assertEquals(0, s.openConnections(), "the simulator closed the idle connection");
        Thread.sleep(50); // let the FIN reach the client's socket
    }

    @Test
    void aWriteAfterTheGridClosedAnIdleConnectionIsNeverAppliedTwice() throws Exception {
        WapiSimulator s = idleClosingSimulator();
        WapiClient c = closeLater(clientFor(s, PASSWORD, Duration.ofSeconds(2)));
        c.probe();
        awaitNoOpenConnections(s);
        try {
            FixedAddress fa = c.reserveNextAvailableIp(VIEW, NET, pod("idle-1", "p1"));
            assertEquals("10.20.0.1", fa.ipv4addr());
        } catch (WapiException.Transient e) {
            if (!e.mayHaveBeenApplied()) assertEquals(0, s.requestCount("POST", "fixedaddress"), e.getMessage());
        }
        assertTrue(s.requestCount("POST", "fixedaddress") <= 1, "never sent twice: " + s.requestLog());
        assertEquals(
                s.requestCount("POST", "fixedaddress"),
                s.objects("fixedaddress").size());
        // reads are safe to repeat: they go through on a fresh connection whatever happened above
        awaitNoOpenConnections(s);
        assertTrue(c.getNetwork(VIEW, NET).isPresent());
    }

    @Test
    // A grid closes idle keep-alive connections; okhttp checks pooled connections only after 10 s
    // idle. After a quiet spell (over 2 s) the client sends a POST on a fresh connection.
    void aWriteAfterTheGridClosedAnIdleConnectionGoesThroughOnAFreshConnection() throws Exception {
        WapiSimulator s = idleClosingSimulator();
        WapiClient c = closeLater(clientFor(s, PASSWORD, Duration.ofSeconds(2)));
        c.probe();
        awaitNoOpenConnections(s);
        Thread.sleep(2200);
        assertEquals(
                "10.20.0.1",
                c.reserveNextAvailableIp(VIEW, NET, pod("idle-1", "p1")).ipv4addr());
        assertEquals(1, s.requestCount("POST", "fixedaddress"));
        assertEquals(1, s.objects("fixedaddress").size());
    }

    // ------------------------------------------------------------------ session and keep-alive

    @Test
    void theSessionCookieIsPresentedAndBasicAuthReturnsWhenItExpires() throws Exception {
        try (WapiSimulator s = WapiSimulator.builder()
                        .port(0)
                        .credentials(USER, PASSWORD)
                        .sessionTimeout(Duration.ofMillis(800))
                        .build()
                        .start();
                WapiClient c = clientFor(s, PASSWORD, Duration.ofSeconds(2))) {
            c.probe();
            c.getNetworkView("default");
            c.getNetworkView("default");
            assertEquals(3, s.totalRequests());
            assertTrue(
                    s.requestLog().stream().allMatch(l -> l.endsWith("-> 200")),
                    s.requestLog().toString());

            Thread.sleep(1000); // the session expires on the grid side
            long before = s.totalRequests();
            assertEquals("default", c.getNetworkView("default").orElseThrow().name());
            // 401 on the stale cookie proves the client presented it instead of Basic; then Basic once more
            assertEquals(2, s.totalRequests() - before, s.requestLog().toString());
            List<String> log = s.requestLog();
            assertTrue(log.get(log.size() - 2).endsWith("-> 401"), log.toString());
            assertTrue(log.getLast().endsWith("-> 200"), log.toString());

            before = s.totalRequests();
            c.probe();
            assertEquals(1, s.totalRequests() - before, "a fresh session is in use again");
        }
    }

    @Test
    void closeLogsOutOfTheSession() {
        WapiClient c = clientFor(sim, PASSWORD, Duration.ofSeconds(2));
        c.probe();
        c.close();
        assertEquals(1, sim.requestCount("POST", "logout"));
        assertTrue(
                sim.requestLog().getLast().matches("POST /wapi/v2\\.5/logout.* -> 200"),
                sim.requestLog().toString());
    }

    @Test
    void sequentialCallsReuseKeptAliveConnections() {
        sim.createObject("networkview", Map.of("name", VIEW));
        sim.resetCounters();
        for (int i = 0; i < 20; i++) {
            if (i % 2 == 0) client.probe();
            else assertTrue(client.getNetworkView(VIEW).isPresent());
        }
        assertEquals(20, sim.totalRequests());
        long accepted = sim.connectionsAccepted();
        assertTrue(accepted >= 1 && accepted <= 2, "20 calls over " + accepted + " connections");
    }

    // ------------------------------------------------------------------ searches

    /**
     * Issue 15: searches passed {@code _max_results=100000} and no paging, so beyond 100,000
     * results a grid truncates them silently (and past 1000 without it refuses). A search now
     * pages: every result comes back, in pages of 1000.
     */
    @Test
    @Timeout(180) // 100,001 objects on a loaded 2-core machine
    void aSearchReturnsEveryResultPageByPageBeyondAnyFixedLimit() {
        sim.createObject("networkview", Map.of("name", VIEW));
        sim.createObject("network", Map.of("network", "10.128.0.0/15", "network_view", VIEW));
        int count = 100_001;
        for (int i = 0; i < count; i++) {
            sim.createObject(
                    "fixedaddress",
                    Map.of(
                            "ipv4addr",
                            "10." + (128 + i / 62_500) + "." + (i / 250 % 250) + "." + (1 + i % 250),
                            "network_view",
                            VIEW,
                            "mac",
                            "00:00:00:00:00:00",
                            "comment",
                            "many"));
        }
        sim.resetCounters();
        // the daemon's own timeouts (20 s a read): a page of 1,000 out of 100,001 is slow on a busy host, not down
        WapiClient patient = closeLater(
                new WapiClient(WapiConfig.of("127.0.0.1", sim.port(), "2.5", USER, PASSWORD, new SslVerify.System())
                        .withHttps(false)
                        .withTimeouts(Duration.ofSeconds(5), Duration.ofSeconds(20), Duration.ofSeconds(60))));
        List<FixedAddress> all = patient.findFixedAddresses(VIEW, Map.of("comment", "many"), Map.of());
        assertEquals(count, all.size(), "none truncated");
        assertEquals(count, all.stream().map(FixedAddress::ipv4addr).distinct().count(), "none twice");
        assertEquals(101, sim.requestCount("GET", "fixedaddress"), "101 pages of at most 1000");
    }

    /** Page ids expire on a grid: a walk whose next page id is unknown by the time it asks starts again, once. */
    @Test
    void aSearchWhosePageIdExpiredMidWalkStartsAgainAndMissesNothing() {
        sim.createObject("networkview", Map.of("name", VIEW));
        sim.createObject("network", Map.of("network", "10.130.0.0/20", "network_view", VIEW));
        for (int i = 0; i < 2500; i++) {
            sim.createObject(
                    "fixedaddress",
                    Map.of(
                            "ipv4addr",
                            "10.130." + (i / 250) + "." + (1 + i % 250),
                            "network_view",
                            VIEW,
                            "mac",
                            "00:00:00:00:00:00",
                            "comment",
                            "walk"));
        }
        java.util.concurrent.atomic.AtomicInteger pages = new java.util.concurrent.atomic.AtomicInteger();
        client.observeCalls(call -> {
            if (call.objectType().equals("fixedaddress") && pages.incrementAndGet() == 1) sim.expirePageIds();
        });
        List<FixedAddress> all = client.findFixedAddresses(VIEW, Map.of("comment", "walk"), Map.of());
        assertEquals(2500, all.size());
        assertEquals(2500, all.stream().map(FixedAddress::ipv4addr).distinct().count());
    }

    // ------------------------------------------------------------------ injected faults

    @Test
    void aServiceUnavailableReadIsRetriedWithBackoffAndGoesThrough() {
        sim.faults().failNext(2, 503, "Server.Unavailable", "The grid is restarting", "GET");
        assertTrue(client.getNetworkView("default").isPresent(), "the third attempt goes through");
        assertEquals(3, sim.requestCount("GET", "networkview"));
        assertEquals(0, sim.faults().pendingFailures());

        sim.faults().failNext(3, 503, "Server.Unavailable", "The grid is restarting", "GET");
        var e = assertThrows(WapiException.Transient.class, () -> client.getNetworkView("default"));
        assertFalse(e.mayHaveBeenApplied());
        assertEquals(503, e.httpStatus());
        assertEquals("The grid is restarting", e.gridText());
        assertTrue(client.getNetworkView("default").isPresent(), "the next call goes through");
    }

    @Test
    void aLostResponseToAReservationMayHaveBeenAppliedAndIsNeverResent() {
        seedViewAndNetwork(NET);
        client.probe();
        sim.faults().dropAfterApplyingNext(1, "POST");

        var e = assertThrows(
                WapiException.Transient.class, () -> client.reserveNextAvailableIp(VIEW, NET, pod("lost-1", "p1")));
        assertTrue(e.mayHaveBeenApplied(), e.getMessage());
        assertEquals(0, e.httpStatus());
        assertEquals(1, sim.requestCount("POST", "fixedaddress"), "the client must not re-send the POST");
        assertEquals(List.of("10.20.0.1"), fixedIps(), "the grid did apply it, exactly once");
        assertEquals("lost-1", simEa(sim.objects("fixedaddress").getFirst(), "VM ID"));

        // what the documented recovery does: look before writing again
        List<FixedAddress> found = client.findFixedAddressesByEa(VIEW, "VM ID", "lost-1");
        assertEquals(
                List.of("10.20.0.1"), found.stream().map(FixedAddress::ipv4addr).toList());
    }

    @Test
    void aWriteCutBeforeTheGridAppliedItIsTransientAndCreatedNothing() {
        seedViewAndNetwork(NET);
        client.probe();
        sim.faults().dropBeforeApplyingNext(1, "POST");

        var e = assertThrows(
                WapiException.Transient.class, () -> client.reserveNextAvailableIp(VIEW, NET, pod("cut-1", "p1")));
        // The client cannot tell "cut before applying" from "cut after applying": the request was sent,
        // so by its documented rule the POST may have been applied.
        assertTrue(e.mayHaveBeenApplied(), e.getMessage());
        assertEquals(1, sim.requestCount("POST", "fixedaddress"), "not re-sent");
        assertTrue(sim.objects("fixedaddress").isEmpty());
        assertTrue(client.findFixedAddressesByEa(VIEW, "VM ID", "cut-1").isEmpty());
    }

    @Test
    void aReadCutBeforeAnswerIsRetriedTransparently() {
        client.probe();
        sim.faults().dropBeforeApplyingNext(1, "GET");
        assertEquals("default", client.getNetworkView("default").orElseThrow().name());
        assertEquals(3, sim.requestCount("GET", "networkview"), "probe + cut read + its retry");
        assertEquals(0, sim.faults().pendingDropsBefore());

        sim.faults().dropBeforeApplyingNext(3, "GET");
        var e = assertThrows(WapiException.Transient.class, () -> client.getNetworkView("default"));
        assertFalse(e.mayHaveBeenApplied());
        assertEquals(6, sim.requestCount("GET", "networkview"), "at most three attempts");
    }

    @Test
    void aSlowReadHitsTheReadTimeoutQuickly() {
        WapiClient impatient = closeLater(clientFor(sim, PASSWORD, Duration.ofMillis(300)));
        impatient.probe();
        sim.faults().latency(Duration.ofMillis(1500));
        long started = System.nanoTime();
        var e = assertThrows(WapiException.Transient.class, () -> impatient.getNetworkView("default"));
        long ms = (System.nanoTime() - started) / 1_000_000;
        assertFalse(e.mayHaveBeenApplied());
        assertTrue(e.getMessage().contains("no answer in time"), e.getMessage());
        assertTrue(ms < 1000, "read timeout of 300 ms must cut the call short, took " + ms + " ms");
        assertEquals(1, sim.requestCount("GET", "networkview") - 1, "a timed-out call is not repeated");
        sim.faults().latency(Duration.ZERO);
    }

    @Test
    void aSlowWriteTimesOutAsMaybeAppliedAndTheGridAppliesItOnce() throws Exception {
        seedViewAndNetwork(NET);
        WapiClient impatient = closeLater(clientFor(sim, PASSWORD, Duration.ofMillis(250)));
        impatient.probe();
        sim.faults().latency(Duration.ofMillis(1200));
        long started = System.nanoTime();
        var e = assertThrows(
                WapiException.Transient.class, () -> impatient.reserveNextAvailableIp(VIEW, NET, pod("slow-1", "p1")));
        long ms = (System.nanoTime() - started) / 1_000_000;
        assertTrue(e.mayHaveBeenApplied(), e.getMessage());
        assertTrue(ms < 1000, "read timeout of 250 ms must cut the call short, took " + ms + " ms");
        sim.faults().latency(Duration.ZERO);

        long deadline = System.nanoTime() + Duration.ofSeconds(3).toNanos();
        while (sim.objects("fixedaddress").isEmpty() && System.nanoTime() < deadline) Thread.sleep(20);
        assertEquals(List.of("10.20.0.1"), fixedIps(), "applied by the grid after the client gave up");
        assertEquals(1, sim.requestCount("POST", "fixedaddress"), "never re-sent");
    }

    // ------------------------------------------------------------------ TLS

    @Nested
    @Timeout(30)
    class Https {
        private WapiSimulator tls;

        @BeforeEach
        void startTls() {
            tls = WapiSimulator.builder()
                    .port(0)
                    .credentials(USER, PASSWORD)
                    .https(true)
                    .build()
                    .start();
        }

        @AfterEach
        void stopTls() throws Exception {
            for (AutoCloseable c : extra.reversed()) c.close(); // log out while the simulator still listens
            extra.clear();
            tls.close();
        }

        private WapiClient tlsClient(String host, WapiSimulator s, SslVerify verify) {
            return closeLater(new WapiClient(WapiConfig.of(host, s.port(), "2.5", USER, PASSWORD, verify)
                    .withTimeouts(Duration.ofSeconds(1), Duration.ofSeconds(3), Duration.ofSeconds(5))));
        }

        @Test
        void theGridCaFileIsTrustedWithHostnameVerification() {
            SslVerify ca = SslVerify.parse(tls.caCertificatePem().toString());
            assertTrue(ca instanceof SslVerify.CaFile, ca.getClass().getName());
            WapiClient c = tlsClient("127.0.0.1", tls, ca);
            assertTrue(
                    c.config().baseUrl().startsWith("https://127.0.0.1:"),
                    c.config().baseUrl());
            c.probe();
            NetworkView v = c.createNetworkView(VIEW, Map.of("Tenant ID", "t1"));
            assertEquals(v, c.getNetworkView(VIEW).orElseThrow());
            assertEquals(2, tls.objects("networkview").size());
        }

        @Test
        void theJdkTrustStoreRefusesTheSelfSignedGridWithATlsMessage() {
            WapiClient c = tlsClient("127.0.0.1", tls, new SslVerify.System());
            var e = assertThrows(WapiException.Transient.class, c::probe);
            assertTrue(e.getMessage().contains("TLS"), e.getMessage());
            assertFalse(e.mayHaveBeenApplied());
            assertEquals(0, tls.totalRequests(), "nothing reached the WAPI layer");

            var write = assertThrows(WapiException.Transient.class, () -> c.createNetworkView(VIEW, Map.of()));
            assertFalse(write.mayHaveBeenApplied(), "a failed handshake sent nothing: " + write.getMessage());
            assertEquals(1, tls.objects("networkview").size());
        }

        @Test
        void verificationOffTrustsAnything() {
            SslVerify off = SslVerify.parse("false");
            assertTrue(off instanceof SslVerify.Disabled);
            WapiClient c = tlsClient("127.0.0.1", tls, off);
            c.probe();
            assertTrue(c.getNetworkView("default").isPresent());
        }

        @Test
        void theCaFileDoesNotExcuseAHostNameTheCertificateDoesNotName() {
            // listen on every address so that 127.0.0.2 (not in the certificate) reaches the simulator too
            try (WapiSimulator wide = WapiSimulator.builder()
                    .port(0)
                    .bindAddress("0.0.0.0")
                    .credentials(USER, PASSWORD)
                    .https(true)
                    .build()
                    .start()) {
                boolean reachable;
                try {
                    tlsClient("127.0.0.2", wide, new SslVerify.Disabled()).probe();
                    reachable = true;
                } catch (WapiException.Transient e) {
                    reachable = false;
                }
                assumeTrue(reachable, "127.0.0.2 is not a loopback address here");
                SslVerify ca = SslVerify.parse(wide.caCertificatePem().toString());
                tlsClient("127.0.0.1", wide, ca).probe(); // the CA itself is fine
                long before = wide.totalRequests();
                var e = assertThrows(
                        WapiException.Transient.class,
                        () -> tlsClient("127.0.0.2", wide, ca).probe());
                assertTrue(
                        e.getMessage().contains("TLS")
                                || e.getMessage().toLowerCase().contains("hostname"),
                        e.getMessage());
                assertEquals(before, wide.totalRequests(), "nothing sent to a host whose name was not verified");
            }
        }
    }
}
