package infobloxcni.daemon;

import static infobloxcni.daemon.TestHost.netconf;
import static infobloxcni.daemon.TestHost.withPrevResult;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import infobloxcni.wire.CniError;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Every allocation flow, against a simulated grid, through the daemon's real socket. */
class IpamFlowsTest extends GridAndDaemonTest {
    private static final String SUBNET_NET =
            netconf("1.0.0", "net1", "\"subnet\":\"10.10.0.0/24\",\"network-view\":\"cni_view\"");

    @Test
    void addReservesOnTheGridAndAnswersInTheConfiguredVersion() {
        var add = host.call("ADD", "c1", "eth0", SUBNET_NET);
        assertTrue(add.ok(), add.toString());
        JsonNode ip = add.json().path("ips").path(0);
        assertEquals(
                "10.10.0.2/24", ip.path("address").asText(), "gateway .1 is reserved, so the first container gets .2");
        assertEquals("10.10.0.1", ip.path("gateway").asText());
        assertFalse(ip.has("version"), "1.0.0 results carry no version field");
        assertEquals("1.0.0", add.json().path("cniVersion").asText());

        var reservation = reservationsOf("c1");
        assertEquals(1, reservation.size());
        assertEquals("10.10.0.2", reservation.getFirst().get("ipv4addr"));
        assertEquals(
                "infoblox-cni host=host-a net=net1 if=eth0",
                reservation.getFirst().get("comment"));
        assertEquals("cluster-1", ea(reservation.getFirst(), "Tenant ID"));
        assertEquals("True", ea(reservation.getFirst(), "Cloud API Owned"));
        var gateway = grid.objects("fixedaddress").stream()
                .filter(f -> "10.10.0.1".equals(f.get("ipv4addr")))
                .toList();
        assertEquals(1, gateway.size(), "the gateway is reserved on the grid");
        assertEquals("N/A", ea(gateway.getFirst(), "VM ID"));
        assertTrue(
                grid.objects("networkview").stream().anyMatch(v -> "cni_view".equals(v.get("name"))),
                "missing view was created");
        var network = grid.objects("network").stream()
                .filter(n -> "10.10.0.0/24".equals(n.get("network")))
                .toList();
        assertEquals("net1", ea(network.getFirst(), "Network Name"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"})
    void everyVersionGetsItsOwnLayout(String version) {
        String conf = netconf(
                version,
                "net1",
                "\"subnet\":\"10.10.0.0/24\",\"routes\":[{\"dst\":\"0.0.0.0/0\"}],"
                        + "\"dns\":{\"nameservers\":[\"10.10.0.53\"]}");
        var add = host.call("ADD", "c-" + version.replace('.', '-'), "eth0", conf);
        assertTrue(add.ok(), add.toString());
        JsonNode json = add.json();
        assertEquals(version, json.path("cniVersion").asText());
        assertEquals("10.10.0.53", json.path("dns").path("nameservers").path(0).asText());
        if (version.startsWith("0.1") || version.startsWith("0.2")) {
            assertTrue(json.path("ip4").path("ip").asText().startsWith("10.10.0."), json.toString());
            assertEquals("10.10.0.1", json.path("ip4").path("gateway").asText());
            assertEquals(
                    "0.0.0.0/0",
                    json.path("ip4").path("routes").path(0).path("dst").asText());
            assertFalse(json.has("ips"));
        } else {
            JsonNode ip = json.path("ips").path(0);
            assertEquals(version.startsWith("0.3") || version.equals("0.4.0"), ip.has("version"), json.toString());
            if (ip.has("version")) assertEquals("4", ip.path("version").asText());
            assertFalse(ip.has("interface"), "an IPAM result names no interface");
            assertEquals("0.0.0.0/0", json.path("routes").path(0).path("dst").asText());
        }
    }

    @Test
    void repeatedAddAnswersTheSameWithoutTouchingTheGrid() {
        String first = host.call("ADD", "c1", "eth0", SUBNET_NET).address();
        grid.resetCounters();
        var again = host.call("ADD", "c1", "eth0", SUBNET_NET);
        assertEquals(first, again.address());
        assertEquals(0, grid.totalRequests(), "answered from the journal");
        assertEquals(1, reservationsOf("c1").size());
    }

    @Test
    void aWarmDaemonSpendsOneWapiCallPerAdd() {
        host.call("ADD", "warm-up", "eth0", SUBNET_NET);
        grid.resetCounters();
        assertTrue(host.call("ADD", "c2", "eth0", SUBNET_NET).ok());
        assertEquals(1, grid.totalRequests());
        assertEquals(1, grid.requestCount("POST", "fixedaddress"));
    }

    @Test
    void distinctInterfacesOfOneContainerGetDistinctAddresses() {
        String a = host.call("ADD", "c1", "eth0", SUBNET_NET).address();
        String b = host.call("ADD", "c1", "net1", SUBNET_NET).address();
        assertNotEquals(a, b);
        assertTrue(host.call("DEL", "c1", "net1", SUBNET_NET).ok());
        host.awaitSettled();
        var left = reservationsOf("c1");
        assertEquals(1, left.size(), "DEL of one interface keeps the other");
        assertEquals(a.replace("/24", ""), left.getFirst().get("ipv4addr"));
    }

    @Test
    void podNameAndMacAreRecorded() {
        String conf = netconf("1.0.0", "net1", "\"subnet\":\"10.10.0.0/24\"")
                .replace("}}", "},\"runtimeConfig\":{\"mac\":\"AA:BB:CC:00:11:22\"}}");
        Map<String, String> env = TestHost.env("ADD", "c1", "eth0");
        env.put("CNI_ARGS", "IgnoreUnknown=1;K8S_POD_NAMESPACE=ns;K8S_POD_NAME=web-0");
        assertTrue(host.send(env, conf).ok());
        var r = reservationsOf("c1").getFirst();
        assertEquals("aa:bb:cc:00:11:22", r.get("mac"));
        assertEquals("web-0", r.get("name"));
        assertEquals("web-0", ea(r, "VM Name"));

        Map<String, String> env2 = Map.of(
                "CNI_COMMAND",
                "ADD",
                "CNI_CONTAINERID",
                "c2",
                "CNI_IFNAME",
                "eth0",
                "CNI_NETNS",
                "/nonexistent",
                "CNI_ARGS",
                "MAC=02:00:00:00:00:09");
        assertTrue(host.send(env2, netconf("1.0.0", "net1", "\"subnet\":\"10.10.0.0/24\""))
                .ok());
        assertEquals("02:00:00:00:00:09", reservationsOf("c2").getFirst().get("mac"));

        assertTrue(host.call("ADD", "c3", "eth0", SUBNET_NET).ok(), "an unreadable netns MAC never fails an ADD");
        assertEquals("00:00:00:00:00:00", reservationsOf("c3").getFirst().get("mac"));
    }

    @Test
    void delReleasesOnlyThisAttachmentAndIsIdempotent() {
        var c1 = host.call("ADD", "c1", "eth0", SUBNET_NET);
        host.call("ADD", "c2", "eth0", SUBNET_NET);
        String del = withPrevResult(SUBNET_NET, c1.stdout());
        assertTrue(host.call("DEL", "c1", "eth0", del).ok());
        host.awaitSettled();
        assertTrue(reservationsOf("c1").isEmpty());
        assertEquals(1, reservationsOf("c2").size());
        assertTrue(host.call("DEL", "c1", "eth0", del).ok(), "repeated DEL");
        assertTrue(host.call("DEL", "never-added", "eth0", SUBNET_NET).ok(), "DEL of something never added");
        assertTrue(
                grid.objects("fixedaddress").stream().anyMatch(f -> "10.10.0.1".equals(f.get("ipv4addr"))),
                "gateway untouched");

        Map<String, String> noNetns = Map.of("CNI_COMMAND", "DEL", "CNI_CONTAINERID", "c2", "CNI_IFNAME", "eth0");
        assertTrue(host.send(noNetns, SUBNET_NET).ok(), "DEL without a netns");
        host.awaitSettled();
        assertTrue(reservationsOf("c2").isEmpty());
    }

    @Test
    void delFindsAReservationTheJournalNeverKnewByVmIdNotByMac() {
        host.call("ADD", "warm", "eth0", SUBNET_NET);
        // as the original driver left it: its cloud EAs, no comment, zero MAC like every netns-less reservation
        grid.createObject(
                "fixedaddress",
                Map.of(
                        "ipv4addr",
                        "10.10.0.50",
                        "network_view",
                        "cni_view",
                        "mac",
                        "00:00:00:00:00:00",
                        "extattrs",
                        TestHost.originalDriversEas("legacy-1")));
        grid.createObject(
                "fixedaddress",
                Map.of(
                        "ipv4addr",
                        "10.10.0.51",
                        "network_view",
                        "cni_view",
                        "mac",
                        "00:00:00:00:00:00",
                        "extattrs",
                        Map.of("VM ID", Map.of("value", "someone-else"))));
        assertTrue(host.call("DEL", "legacy-1", "eth0", SUBNET_NET).ok());
        host.awaitSettled();
        assertTrue(reservationsOf("legacy-1").isEmpty());
        assertEquals(1, reservationsOf("someone-else").size(), "same MAC, other container: untouched");
        assertEquals(1, reservationsOf("warm").size());
    }

    @Test
    void checkPassesOnlyWhileTheGridHoldsTheReservation() {
        var add = host.call("ADD", "c1", "eth0", SUBNET_NET);
        String check = withPrevResult(SUBNET_NET, add.stdout());
        assertTrue(host.call("CHECK", "c1", "eth0", check).ok());

        String wrong = withPrevResult(SUBNET_NET, add.stdout().replace("10.10.0.2", "10.10.0.99"));
        var mismatch = host.call("CHECK", "c1", "eth0", wrong);
        assertEquals(CniError.RESERVATION_MISMATCH, mismatch.code(), mismatch.toString());

        grid.faults().outage(true);
        var down = host.call("CHECK", "c1", "eth0", check);
        assertEquals(CniError.TRY_AGAIN_LATER, down.code(), down.toString());
        grid.faults().outage(false);
        host.awaitGridUp();

        grid.deleteObject(String.valueOf(reservationsOf("c1").getFirst().get("_ref")));
        var gone = host.call("CHECK", "c1", "eth0", check);
        assertEquals(CniError.RESERVATION_MISMATCH, gone.code(), gone.toString());
        assertTrue(gone.msg().contains("c1"), gone.msg());
    }

    @Test
    void statusFollowsTheGrid() {
        String conf = netconf("1.1.0", "net1", "");
        assertTrue(host.call("STATUS", null, null, conf).ok());
        grid.faults().outage(true);
        var down = host.call("STATUS", null, null, conf);
        assertEquals(50, down.code(), down.toString());
        assertTrue(down.msg().contains("unreachable"), down.msg());
        grid.faults().outage(false);
        host.awaitGridUp();
        assertTrue(host.call("STATUS", null, null, conf).ok());
    }

    @Test
    void gcReleasesWhatTheRuntimeNoLongerLists() throws Exception {
        String conf = netconf("1.1.0", "net1", "\"subnet\":\"10.10.0.0/24\"");
        host.call("ADD", "keep", "eth0", conf);
        host.call("ADD", "stale", "eth0", conf);
        host.call("ADD", "other-net", "eth0", netconf("1.1.0", "net2", "\"subnet\":\"10.20.0.0/24\""));
        String gc = conf.substring(0, conf.length() - 1)
                + ",\"cni.dev/valid-attachments\":[{\"containerID\":\"keep\",\"ifname\":\"eth0\"}]}";
        var answer = host.call("GC", null, null, gc);
        assertTrue(answer.ok(), answer.toString());
        // GC answers once the intents are on disk; the releases run behind the answer, as a DEL's
        Eventually.await(
                "the stale attachment is released",
                () -> reservationsOf("stale").isEmpty());
        assertEquals(1, reservationsOf("keep").size());
        assertEquals(1, reservationsOf("other-net").size(), "GC of net1 leaves net2 alone");

        String empty = conf.substring(0, conf.length() - 1) + ",\"cni.dev/valid-attachments\":[]}";
        assertTrue(host.call("GC", null, null, empty).ok());
        Eventually.await(
                "nothing of net1 is valid: keep goes too",
                () -> reservationsOf("keep").isEmpty());
        assertEquals(1, reservationsOf("other-net").size(), "GC of net1 leaves net2 alone");
    }

    @Test
    void withoutASubnetOneIsCarvedAndSharedByName() {
        String a = netconf(
                "1.0.0",
                "carved",
                "\"network-container\":\"172.30.0.0/16\",\"prefix-length\":\"26\",\"gateway\":\"0.0.0.1\"");
        var first = host.call("ADD", "c1", "eth0", a);
        assertTrue(first.ok(), first.toString());
        assertEquals("172.30.0.2/26", first.address());
        assertEquals(
                "172.30.0.1",
                first.json().path("ips").path(0).path("gateway").asText(),
                "0.0.0.1 means host 1 of the subnet");
        var net = grid.objects("network").stream()
                .filter(n -> "carved".equals(ea(n, "Network Name")))
                .toList();
        assertEquals(1, net.size());
        assertEquals("172.30.0.0/26", net.getFirst().get("network"));

        var other = host.call(
                "ADD",
                "c2",
                "eth0",
                netconf("1.0.0", "carved-2", "\"network-container\":\"172.30.0.0/16\",\"prefix-length\":26"));
        assertEquals("172.30.0.66/26", other.address(), "a different network name gets the next subnet");
    }

    @Test
    void twoHostsRacingToCarveConvergeOnOneSubnet() throws Exception {
        try (TestHost b = new TestHost(grid, dir.resolve("b"), "host-b").start()) {
            String conf = netconf("1.0.0", "shared", "\"network-container\":\"172.31.0.0/16\"");
            ExecutorService pool = Executors.newFixedThreadPool(2);
            Future<TestHost.Answer> fa = pool.submit(() -> host.call("ADD", "a1", "eth0", conf));
            Future<TestHost.Answer> fb = pool.submit(() -> b.call("ADD", "b1", "eth0", conf));
            String addrA = fa.get().address();
            String addrB = fb.get().address();
            pool.shutdown();
            assertEquals(
                    addrA.substring(0, addrA.lastIndexOf('.')),
                    addrB.substring(0, addrB.lastIndexOf('.')),
                    addrA + " vs " + addrB);
            assertNotEquals(addrA, addrB);
            assertEquals(
                    addrA.substring(0, addrA.lastIndexOf('.')),
                    b.call("ADD", "b2", "eth0", conf).address().replaceFirst("\\.\\d+/24$", ""));
        }
    }

    @Test
    void aSubnetUsedByAnotherNetworkNameIsRefusedByName() {
        assertTrue(host.call("ADD", "c1", "eth0", SUBNET_NET).ok());
        var clash = host.call(
                "ADD",
                "c2",
                "eth0",
                netconf("1.0.0", "intruder", "\"subnet\":\"10.10.0.0/24\",\"network-view\":\"cni_view\""));
        assertEquals(CniError.NETWORK_NAME_CONFLICT, clash.code(), clash.toString());
        assertTrue(clash.msg().contains("net1") && clash.msg().contains("intruder"), clash.msg());
    }

    @Test
    void aFullNetworkIsAnErrorWithTheGridsTextAndLeavesNothingBehind() {
        String tiny = netconf("1.0.0", "tiny", "\"subnet\":\"10.99.0.0/29\"");
        Set<String> got = new HashSet<>();
        for (int i = 0; i < 5; i++)
            got.add(host.call("ADD", "t" + i, "eth0", tiny).address());
        assertEquals(5, got.size(), "/29: 6 hosts, one is the gateway");
        var full = host.call("ADD", "t-full", "eth0", tiny);
        assertEquals(CniError.NETWORK_FULL, full.code(), full.toString());
        assertTrue(full.msg().contains("Cannot find 1 available IP address(es)"), full.msg());
        assertEquals(1, full.exitCode(), "never success without an address");
        assertTrue(host.daemon().ipam().journal().all().stream()
                .noneMatch(a -> a.key().containerId().equals("t-full")));
        assertTrue(host.call("DEL", "t0", "eth0", tiny).ok());
        assertTrue(host.call("ADD", "t-full", "eth0", tiny).ok(), "a freed address is handed out again");
    }

    @Test
    void manyConcurrentAddsGetDistinctAddresses() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(16);
        ConcurrentLinkedQueue<String> addresses = new ConcurrentLinkedQueue<>();
        List<Future<?>> futures = new java.util.ArrayList<>();
        for (int i = 0; i < 60; i++) {
            String id = "p" + i;
            futures.add(pool.submit(() -> {
                var a = host.call("ADD", id, "eth0", SUBNET_NET);
                assertTrue(a.ok(), a.toString());
                addresses.add(a.address());
            }));
        }
        for (Future<?> f : futures) f.get();
        pool.shutdown();
        assertEquals(60, new HashSet<>(addresses).size());
        assertEquals(61, grid.objects("fixedaddress").size(), "60 containers + the gateway, nothing doubled");
    }

    @Test
    void aGridOutageIsTryAgainLaterAndTheRetryAllocatesOnce() {
        host.call("ADD", "warm", "eth0", SUBNET_NET);
        grid.faults().outage(true);
        var add = host.call("ADD", "c1", "eth0", SUBNET_NET);
        assertEquals(CniError.TRY_AGAIN_LATER, add.code(), add.toString());
        grid.faults().outage(false);
        host.awaitGridUp();
        // A warm connection cut by the outage may have carried the POST: the intent stays pending
        // (outcome unknown) so that the retry looks first. A refused connection leaves nothing.
        var intent = host.daemon().ipam().journal().get(new infobloxcni.store.AttachmentKey("net1", "c1", "eth0"));
        intent.ifPresent(a -> assertEquals(infobloxcni.store.AttachmentState.ADD_PENDING, a.state()));
        assertTrue(host.call("ADD", "c1", "eth0", SUBNET_NET).ok());
        assertEquals(1, reservationsOf("c1").size());
    }

    @Test
    void aLostAnswerIsAdoptedNotDuplicated() {
        host.call("ADD", "warm", "eth0", SUBNET_NET);
        grid.faults().dropAfterApplyingNext(1, "POST");
        var add = host.call("ADD", "c1", "eth0", SUBNET_NET);
        assertTrue(add.ok(), "the daemon looked, found its reservation and adopted it: " + add);
        assertEquals(1, reservationsOf("c1").size());
        assertEquals(reservationsOf("c1").getFirst().get("ipv4addr") + "/24", add.address());
    }

    @Test
    void aLostAnswerWhileTheGridStaysAwayIsRetriedWithoutDuplicate() {
        host.call("ADD", "warm", "eth0", SUBNET_NET);
        grid.faults().dropAfterApplyingNext(1, "POST");
        grid.faults().failNext(2, 503, "Server.Unavailable", "busy"); // the daemon's immediate look fails too
        var first = host.call("ADD", "c1", "eth0", SUBNET_NET);
        grid.faults().reset();
        if (!first.ok()) assertEquals(CniError.TRY_AGAIN_LATER, first.code(), first.toString());
        var retry = host.call("ADD", "c1", "eth0", SUBNET_NET);
        assertTrue(retry.ok(), retry.toString());
        assertEquals(1, reservationsOf("c1").size(), "the retry looked before it allocated");
    }
}
